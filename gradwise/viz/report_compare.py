"""Several runs on one page: their curves overlaid (training loss, validation loss, the metric) in
one figure, a table of the settings in which they differ, and each run's final figures and
diagnosis.  What ``gradwise report RUN1 RUN2 ...`` writes.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure
from gradwise.viz.html_report import FACTS_FILE, ReportError, read_json, read_records, read_run
from gradwise.viz.report_page import Page, e, glossary_html, num, table, term
from gradwise.viz.report_sections import relevant_config, settings_text, task_kind


class _Run:
    def __init__(self, path: Path, label: str) -> None:
        self.path, self.label = path, label
        self.history, self.config, self.metrics = read_run(path)
        self.facts = read_json(path / FACTS_FILE)
        self.records = read_records(path)


def _labels(paths: Sequence[Path]) -> list[str]:
    """Folder names, or the paths as given where two folders share a name."""
    names = [p.name or str(p) for p in paths]
    return [str(p) if names.count(n) > 1 else n for p, n in zip(paths, names)]


def load_runs(run_dirs: Sequence[str | os.PathLike[str]]) -> list[Any]:
    """Read every run folder first (a missing or damaged one raises :class:`ReportError` naming it)."""
    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        raise ReportError(f"compare_runs: give at least two run folders to compare, got {len(paths)}")
    return [_Run(p, label) for p, label in zip(paths, _labels(paths))]


def _metric(runs: Sequence[Any]) -> str | None:
    for key in ("val_accuracy", "accuracy", "val_r2", "r2"):
        if all(key in r.history.epochs for r in runs):
            return key
    return None


def compare_figure(runs: Sequence[Any]) -> Any:
    """Training loss, validation loss and the shared metric against the epoch, one colour per run."""
    metric = _metric(runs)
    panels = [("loss", "training loss"), ("val_loss", "validation loss")] + ([(metric, metric)] if metric else [])
    fig = figure(4.2 * len(panels), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for ax, (key, name) in zip(axes, panels):
        drawn = False
        for r, c in zip(runs, colours):
            ys = r.history.epochs.get(key)
            if ys is None or not len(ys):
                continue
            ys = np.asarray(ys, dtype=np.float64)
            ax.plot(np.arange(1, len(ys) + 1), np.where(np.isfinite(ys), ys, np.nan), "o-", ms=3, color=c,
                    label=r.label)
            bad = np.flatnonzero(~np.isfinite(ys))
            if bad.size:        # a diverged run: an x on the top edge at every epoch whose value is not finite
                ax.plot(bad + 1, np.ones(bad.size), "x", color=c, ms=7, clip_on=False,
                        transform=ax.get_xaxis_transform(), label=f"{r.label}: not finite")
            drawn = True
        if drawn and key.endswith("loss"):
            finite = [float(v) for r in runs for v in r.history.epochs.get(key, ()) if np.isfinite(v) and v > 0]
            if finite and max(finite) / min(finite) > 50:
                ax.set_yscale("log")
        if not drawn:
            ax.text(0.5, 0.5, f"no {name} recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set(title=name, xlabel="epoch", ylabel=name)
    entries: dict[str, Any] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, h)
    if entries:
        fig.legend(list(entries.values()), list(entries), loc="outside lower center", ncols=min(4, len(entries)),
                   fontsize=8)
    return fig


def differing_settings(runs: Sequence[Any]) -> list[tuple[str, list[str]]]:
    """``(setting, value per run)`` for every setting whose value is not the same in all runs
    (config.json, plus the optimizer as used and the loss from run_facts.json)."""
    def settings(r: Any) -> dict[str, str]:
        out = {k: str(v) for k, v in relevant_config(r.config).items()}
        opt = r.facts.get("optimizer")
        if isinstance(opt, dict):
            out["optimizer (as used)"] = f"{opt.get('name')}({settings_text(opt.get('settings') or {})})"
        if isinstance(r.facts.get("parameters"), dict):
            out["parameters"] = f"{r.facts['parameters'].get('total'):,}"
        return out

    each = [settings(r) for r in runs]
    keys = list(dict.fromkeys(k for s in each for k in s))
    return [(k, [s.get(k, "-") for s in each]) for k in keys if len({s.get(k, "-") for s in each}) > 1]


def compare_runs(run_dirs: Sequence[str | os.PathLike[str]], path: str | os.PathLike[str]) -> Path:
    """Write one HTML page comparing the runs in ``run_dirs`` to ``path``; returns the path.

    Every folder is read before anything is written: a missing or damaged one raises
    :class:`~gradwise.viz.ReportError` and leaves ``path`` untouched.
    """
    from gradwise.atomic_files import write_text_atomic
    from gradwise.insight.diagnosis import diagnose
    from gradwise.version import __version__

    runs = load_runs(run_dirs)
    page = Page()
    title = f"gradwise: {len(runs)} runs compared"
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    page.add(f"<header><h1>{e(title)}</h1><p class=\"sub\">Generated by gradwise {e(__version__)} on {e(stamp)}: "
             + ", ".join(f"<code>{e(r.path)}</code>" for r in runs) + "</p></header>")
    page.add('<section id="curves"><h2>Curves</h2>')
    page.figure(compare_figure(runs), "compare-curves", "Each colour is one run; the x axis counts epochs.")
    page.add("</section>")
    diff = differing_settings(runs)
    page.add('<section id="settings"><h2>Settings that differ</h2>')
    if diff:
        page.add(table(["setting"] + [r.label for r in runs], [[e(k)] + [e(v) for v in vals] for k, vals in diff],
                       table_id="differing-settings", cls="left", raw_head=True))
    else:
        page.add('<p class="note">The runs have the same settings.</p>')
    page.add("</section>")
    keys = list(dict.fromkeys(k for r in runs for k in ("loss", "val_loss", "accuracy", "val_accuracy", "r2",
                                                          "val_r2") if k in r.history.epochs))
    tests = list(dict.fromkeys(k for r in runs for k in r.metrics))
    rows = []
    for r in runs:
        d = diagnose({k: list(v) for k, v in r.history.epochs.items()}, list(r.history.steps.get("loss", ())),
                     task=task_kind(r.history, r.facts),
                     chance=r.facts.get("chance") if isinstance(r.facts.get("chance"), (int, float)) else None,
                     gradient=r.records.report() if r.records is not None else None)
        finals = [num(r.history.epochs[k][-1]) if k in r.history.epochs and len(r.history.epochs[k]) else "-"
                  for k in keys]
        rows.append([e(r.label), str(len(r.history))] + finals + [num(r.metrics.get(k)) for k in tests]
                    + ['<span class="wrap">' + e(" / ".join(f.title for f in d.findings)) + "</span>"])
    page.add('<section id="results"><h2>Results</h2>'
             + table(["run", term("epoch", "epochs")] + [term(k, f"final {k}") for k in keys]
                     + [term(k) for k in tests] + ['<span class="wrap">diagnosis</span>'], rows,
                     table_id="results-table", raw_head=True) + "</section>")
    page.add(glossary_html(["epoch", *keys, *tests]))
    page.add(f"<footer><p>Self-contained page: no scripts, no external files. Hover a {term('loss', 'term')} for "
             "its meaning.</p></footer>")
    write_text_atomic(path, page.html(title))
    return Path(path)
