"""One self-contained HTML page per training run.

Everything is inside the file: figures are inline SVG (text kept as text, ids prefixed per
figure), the style sheet is inline, there is no script, and a Content-Security-Policy
forbids the page from loading anything at all.  The page opens with a diagnosis of the run
(:mod:`gradwise.insight.diagnosis`: learned well, overfitting, underfitting, diverged, did
not learn, gradient problems, each with its evidence and advice), then the summary, the
run's setup (the optimizer's settings as used, the loss, the parameter count, the split
sizes, the command line and the versions), the training curves, the gradient monitor's flow
picture and verdicts, for classification the confusion matrix and the worst-misclassified
samples, the optional extras (histograms, LR range test, landscapes, batch modes), the
per-epoch table and a glossary.  Every column name is explained in a tooltip and in the
glossary.  Tables scroll inside their box, so the page fits a phone's width.

A run folder keeps what the page needs beyond its histories: ``run_facts.json``
(:mod:`gradwise.runs.run_facts`) and ``monitor.json``
(:mod:`gradwise.insight.monitor_records`), so a page rebuilt from the folder has every
section the train-time page had.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gradwise.errors import GradwiseError
from gradwise.viz.report_page import Page, e, glossary_html, term
from gradwise.viz.report_sections import (
    diagnosis_section,
    epoch_section,
    health_section,
    setup_section,
    summary_section,
)

FACTS_FILE = "run_facts.json"
MONITOR_FILE = "monitor.json"


class ReportError(GradwiseError, ValueError):
    """:func:`report` was given something it cannot build a page from; the message says what is valid."""


def read_run(run_dir: Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """``(History, config, test metrics)`` of a run folder; a missing or damaged folder raises ReportError."""
    from gradwise.train.history import History

    if not run_dir.is_dir():
        raise ReportError(f"report: {run_dir} is not a folder; pass a run folder written by 'gradwise train' or "
                          "'gradwise demo', or a History")
    hist_path = run_dir / "history.json"
    if not hist_path.is_file():
        raise ReportError(f"report: {run_dir} has no history.json; pass a run folder written by 'gradwise train' "
                          "or 'gradwise demo' (a finished run)")
    config = read_json(run_dir / "config.json")
    metrics = read_json(run_dir / "metrics.json")
    try:
        history = History.from_json(hist_path)
    except (ValueError, KeyError, TypeError) as exc:
        raise ReportError(f"report: {hist_path} is damaged ({type(exc).__name__}: {exc})") from None
    return history, config, metrics


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path`` (``{}`` when the file is absent)."""
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"report: {path} is not valid JSON: {exc}") from None
    return value if isinstance(value, dict) else {}


def read_records(run_dir: Path) -> Any:
    """The run folder's saved monitor records, or ``None`` when it has none."""
    from gradwise.insight.monitor_records import MonitorRecordsError, load_monitor_records

    path = run_dir / MONITOR_FILE
    if not path.is_file():
        return None
    try:
        return load_monitor_records(path)
    except MonitorRecordsError as exc:
        raise ReportError(f"report: {exc}") from None


def title_of(cfg: Mapping[str, Any], folder: str | None) -> str:
    """``gradwise run: digits, mlp:64,32, adam lr=0.001 (folder)`` from whatever settings there are."""
    parts = [str(cfg[k]) for k in ("dataset", "model") if cfg.get(k) is not None]
    if cfg.get("optimizer") is not None:
        parts.append(str(cfg["optimizer"]) + (f" lr={cfg['lr']}" if cfg.get("lr") is not None else ""))
    return "gradwise run" + (": " + ", ".join(parts) if parts else "") + (f" ({folder})" if folder else "")


def report(source: Any, monitor: Any = None, path: str | os.PathLike[str] | None = None, *,
           config: Mapping[str, Any] | None = None, test_metrics: Mapping[str, Any] | None = None,
           facts: Mapping[str, Any] | None = None, histograms: Any = None, lr_finder: Any = None,
           landscapes: Sequence[Any] = (), batch_modes: Any = None, title: str | None = None) -> Path:
    """Write one self-contained HTML page about a training run; returns its path.

    ``source`` is a run folder (``config.json``, ``history.json``, ``metrics.json``,
    ``run_facts.json`` and ``monitor.json`` are read from it; the page goes to
    ``<folder>/report.html`` unless ``path`` is given) or a :class:`~gradwise.train.History`
    (then ``path`` is required).  Optional parts: ``monitor`` (a
    :class:`~gradwise.insight.GradientMonitor` or saved
    :class:`~gradwise.insight.monitor_records.MonitorRecords`: gradient flow and the health
    verdicts; default: the folder's ``monitor.json``), ``facts`` (the run's facts, default the
    folder's ``run_facts.json``), ``histograms`` (a :class:`~gradwise.insight.HistogramRecorder`),
    ``lr_finder`` (an :class:`~gradwise.insight.LRFinderResult`), ``landscapes``
    (``Interpolation``/``Surface`` records), ``batch_modes`` (a
    :class:`~gradwise.insight.BatchModeComparison`).
    """
    from gradwise.insight.monitor_records import monitor_records
    from gradwise.version import __version__
    from gradwise.viz.curves import training_curves
    from gradwise.viz.report_classification import classification_section

    run_dir: Path | None = None
    if isinstance(source, (str, os.PathLike)):
        run_dir = Path(source)
        history, cfg, metrics = read_run(run_dir)
    elif hasattr(source, "epochs") and hasattr(source, "steps"):
        history, cfg, metrics = source, {}, {}
    else:
        raise ReportError(f"report: source must be a run folder or a gradwise.train.History, got "
                          f"{type(source).__name__}")
    cfg = dict(config) if config is not None else cfg
    metrics = dict(test_metrics) if test_metrics is not None else metrics
    if facts is None:
        facts = read_json(run_dir / FACTS_FILE) if run_dir is not None else {}
    if monitor is None and run_dir is not None:
        records = read_records(run_dir)
    else:
        if monitor is not None and not monitor.steps_seen:
            raise ReportError("report: the monitor has no records yet; pass it to fit(callbacks=[monitor]) before "
                              "the report, or leave monitor out")
        records = monitor_records(monitor) if monitor is not None else None
    if path is None:
        if run_dir is None:
            raise ReportError("report: path= is required when the source is a History (there is no run folder to "
                              "write report.html into)")
        path = run_dir / "report.html"
    if title is None:
        title = title_of(cfg, run_dir.name if run_dir is not None else None)
    page = Page()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    page.add(f"<header><h1>{e(title)}</h1><p class=\"sub\">Generated by gradwise {e(__version__)} on "
             f"{e(stamp)}" + (f" from <code>{e(run_dir)}</code>" if run_dir is not None else "") + "</p></header>")
    diagnosis_section(page, history, facts, records)
    summary_section(page, history, metrics, facts)
    setup_section(page, cfg, facts)
    if len(history) or len(history.steps.get("step", ())):
        page.add('<section id="curves"><h2>Training curves</h2>')
        page.figure(training_curves(history), "training-curves",
                    "Loss per batch and per epoch, metrics per epoch, learning rate and global gradient norm per "
                    "step.")
        page.add("</section>")
    health_section(page, records)
    classification_section(page, facts)
    _extras(page, histograms, lr_finder, landscapes, batch_modes)
    epoch_section(page, history)
    page.add(glossary_html())
    page.add("<footer><p>Self-contained page: no scripts, no external files.</p></footer>")
    from gradwise.atomic_files import write_text_atomic

    write_text_atomic(path, page.html(title))
    return Path(path)


def _extras(page: Page, histograms: Any, lr_finder: Any, landscapes: Sequence[Any], batch_modes: Any) -> None:
    from gradwise.viz.curves import weight_histograms
    from gradwise.viz.descent_plots import plot_batch_modes, plot_lr_finder
    from gradwise.viz.landscape_plots import plot_interpolation, plot_surface

    if histograms is not None and histograms.names:
        page.add('<section id="histograms"><h2>Weights and gradients over epochs</h2>')
        page.figure(weight_histograms(histograms), "histograms",
                    "Histogram of every parameter (left) and of its last gradient (right) after each epoch.")
        page.add("</section>")
    if lr_finder is not None:
        page.add(f'<section id="lr-finder"><h2>Learning-rate {term("LR range test", "range test")}</h2>')
        page.figure(plot_lr_finder(lr_finder), "lr-finder", lr_finder.stop_reason)
        page.add("<ul>" + "".join(f"<li><b>{e(s.name)}</b>: lr = {s.lr:.3g}: {e(s.reason)}</li>"
                                  for s in lr_finder.suggestions) + "</ul></section>")
    if landscapes:
        page.add('<section id="landscape"><h2>Loss landscape</h2>')
        for i, rec in enumerate(landscapes):
            if hasattr(rec, "alphas") and hasattr(rec, "start_loss"):
                page.figure(plot_interpolation(rec), f"landscape-{i}",
                            "Loss along the straight line between two parameter sets.")
            else:
                cap = f"Loss surface: {e(rec.kind)}."
                if "filter-normalised" in rec.kind:
                    cap += f" The two directions are random and {term('filter normalisation', 'filter-normalised')}."
                page.figure(plot_surface(rec), f"landscape-{i}", cap, caption_html=True)
        page.add("</section>")
    if batch_modes is not None:
        page.add('<section id="batch-modes"><h2>Full-batch, stochastic and mini-batch descent</h2>')
        page.figure(plot_batch_modes(batch_modes), "batch-modes",
                    "Training loss per mode against epochs, gradient evaluations and wall time; mini-batch gradient "
                    "variance against batch size.")
        page.add(f"<pre>{e(batch_modes.variance.to_text())}</pre></section>")


def write_run_report(run_dir: str | os.PathLike[str], history: Any = None, monitor: Any = None,
                     **extras: Any) -> Path:
    """``<run_dir>/report.html`` for a run folder (what ``gradwise demo``/``train`` call at the end).

    ``history`` defaults to the folder's ``history.json``; ``monitor`` and ``extras`` (the
    keyword arguments of :func:`report`) add their sections.
    """
    run_dir = Path(run_dir)
    if history is None:
        return report(run_dir, monitor, run_dir / "report.html", **extras)
    extras.setdefault("config", read_json(run_dir / "config.json"))
    extras.setdefault("test_metrics", read_json(run_dir / "metrics.json"))
    extras.setdefault("facts", read_json(run_dir / FACTS_FILE))
    title = extras.pop("title", None) or title_of(extras["config"], run_dir.name)
    if monitor is None:
        monitor = read_records(run_dir)
    return report(history, monitor, run_dir / "report.html", title=title, **extras)
