"""One self-contained HTML page per training run.

Everything is inside the file: figures are inline SVG (text kept as text, ids prefixed per
figure), the style sheet is inline, there is no script, and a Content-Security-Policy
forbids the page from loading anything at all.  The page shows the run's configuration,
its training curves, per-epoch records and, when given, the gradient monitor's flow
picture and health verdicts, weight/gradient histograms, an LR range test, loss
landscapes and a batch-mode comparison.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.errors import GradwiseError
from gradwise.viz.figure_files import to_svg

_CSS = """
:root { --fg: #1d2330; --muted: #5b6474; --line: #dde1e8; --bg: #f6f7f9; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 0 0 12px; }
.sub, figcaption, footer, .note { color: var(--muted); font-size: 13px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px;
          margin-top: 18px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.card b { display: block; font-size: 20px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
#config td { text-align: left; }
.scroll { overflow-x: auto; max-height: 420px; overflow-y: auto; }
figure.plot { margin: 8px 0 4px; }
figure.plot svg { max-width: 100%; height: auto; display: block; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; color: #fff; }
.healthy { background: #2e7d32; } .vanishing, .stalled { background: #ef6c00; } .noisy { background: #8d6e00; }
.exploding, .dead { background: #c62828; } .saturated { background: #6a1b9a; }
ul.advice li { margin: 2px 0; }
code { background: #eef0f4; padding: 0 4px; border-radius: 3px; }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class ReportError(GradwiseError, ValueError):
    """:func:`report` was given something it cannot build a page from; the message says what is valid."""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _num(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return "-"
        return f"{x:.4g}"
    return _e(x)


class _Page:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.figures = 0

    def add(self, text: str) -> None:
        self.parts.append(text)

    def figure(self, fig: Any, name: str, caption: str) -> None:
        self.figures += 1
        svg = to_svg(fig, f"f{self.figures}")
        self.add(f'<figure class="plot" id="fig-{_e(name)}">{svg}<figcaption>{_e(caption)}</figcaption></figure>')


def _read_run(run_dir: Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from gradwise.train.history import History

    if not run_dir.is_dir():
        raise ReportError(f"report: {run_dir} is not a folder; pass a run folder written by 'gradwise train' or "
                          "'gradwise demo', or a History")
    hist_path = run_dir / "history.json"
    if not hist_path.is_file():
        raise ReportError(f"report: {run_dir} has no history.json; pass a run folder written by 'gradwise train' "
                          "or 'gradwise demo' (a finished run)")
    config = _json(run_dir / "config.json")
    metrics = _json(run_dir / "metrics.json")
    return History.from_json(hist_path), config, metrics


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"report: {path} is not valid JSON: {exc}") from None
    return value if isinstance(value, dict) else {}


def _summary(page: _Page, history: Any, test_metrics: Mapping[str, Any]) -> None:
    epochs, steps = history.epochs, history.steps
    cards: list[tuple[str, Any]] = [("epochs", len(history)), ("optimizer steps", len(steps.get("step", ())))]
    if len(steps.get("wall_time", ())):
        cards.append(("training time (s)", float(steps["wall_time"][-1])))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in epochs and len(epochs[key]):
            cards.append((f"final {key}", float(epochs[key][-1])))
    cards += [(k, v) for k, v in test_metrics.items()]
    page.add('<section id="summary"><h2>Summary</h2><div class="cards">' +
             "".join(f'<div class="card">{_e(k)}<b>{_num(v)}</b></div>' for k, v in cards) + "</div></section>")


def _config(page: _Page, config: Mapping[str, Any]) -> None:
    if not config:
        return
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v if isinstance(v, str) else json.dumps(v))}</td></tr>"
                   for k, v in config.items())
    page.add(f'<section id="config"><h2>Configuration</h2><table><tr><th>setting</th><th>value</th></tr>{rows}'
             "</table></section>")


def _health(page: _Page, monitor: Any) -> None:
    from gradwise.viz.curves import gradient_flow

    page.add('<section id="health"><h2>Gradient flow and health</h2>')
    if monitor is None:
        page.add('<p class="note">No gradient monitor was attached to this run. Pass '
                 "<code>callbacks=[GradientMonitor(model)]</code> to <code>fit</code> and the monitor to "
                 "<code>report(..., monitor=...)</code> to see per-layer gradient norms and verdicts.</p></section>")
        return
    page.figure(gradient_flow(monitor), "gradient-flow",
                "Gradient norm of every layer, input side first (log scale); right: the same over time.")
    rep = monitor.report()
    page.add(f'<p>Overall: <span class="badge {_e(rep.verdict)}">{_e(rep.verdict)}</span> &nbsp; '
             f"{rep.steps_observed} steps observed (steps {rep.first_step}-{rep.last_step}); first/last layer "
             f"gradient norm {_num(rep.first_to_last_ratio)} (x{_num(rep.decay_per_layer)} per layer)</p>")
    head = ["layer", "verdict", "grad norm", "x last layer", "update/weight", "cv", "dead", "saturated"]
    rows = []
    for lv in rep.layers:
        f = lv.figures
        cells = [_e(lv.label), f'<span class="badge {_e(lv.verdict)}">{_e(lv.verdict)}</span>', _num(f.grad_norm),
                 _num(f.relative_grad_norm), _num(f.update_ratio), _num(f.grad_norm_cv), _pct(f.dead_fraction),
                 _pct(f.saturated_fraction)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    page.add('<table id="verdicts"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows) +
             "</table>")
    findings = [f"<li><b>{_e(lv.label)}</b>: {_e(e.text)}</li>" for lv in rep.flagged for e in lv.evidence]
    if findings:
        page.add("<h3>Findings</h3><ul>" + "".join(findings) + "</ul>")
    if rep.advice:
        page.add('<h3>Advice</h3><ul class="advice">' + "".join(f"<li>{_e(a)}</li>" for a in rep.advice) + "</ul>")
    page.add("</section>")


def _pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.0%}"


def _epoch_table(page: _Page, history: Any) -> None:
    epochs = history.epochs
    if not len(history):
        return
    keys = [k for k in epochs if k != "samples_seen"]
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    rows = []
    for i in range(len(history)):
        cells = [str(int(epochs[k][i]) + 1) if k == "epoch" else _num(epochs[k][i]) for k in keys]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    page.add(f'<section id="epochs"><h2>Per-epoch records</h2><div class="scroll"><table><tr>{head}</tr>'
             + "".join(rows) + "</table></div></section>")


def _title(cfg: Mapping[str, Any], folder: str | None) -> str:
    """``gradwise run: digits, mlp:64,32, adam lr=0.001 (folder)`` from whatever settings there are."""
    parts = [str(cfg[k]) for k in ("dataset", "model") if cfg.get(k) is not None]
    if cfg.get("optimizer") is not None:
        parts.append(str(cfg["optimizer"]) + (f" lr={cfg['lr']}" if cfg.get("lr") is not None else ""))
    return "gradwise run" + (": " + ", ".join(parts) if parts else "") + (f" ({folder})" if folder else "")


def report(source: Any, monitor: Any = None, path: str | os.PathLike[str] | None = None, *,
           config: Mapping[str, Any] | None = None, test_metrics: Mapping[str, Any] | None = None,
           histograms: Any = None, lr_finder: Any = None, landscapes: Sequence[Any] = (),
           batch_modes: Any = None, title: str | None = None) -> Path:
    """Write one self-contained HTML page about a training run; returns its path.

    ``source`` is a run folder (``config.json``, ``history.json`` and ``metrics.json`` are read
    from it; the page goes to ``<folder>/report.html`` unless ``path`` is given) or a
    :class:`~gradwise.train.History` (then ``path`` is required).  Optional parts: ``monitor``
    (a :class:`~gradwise.insight.GradientMonitor`: gradient flow and the health verdicts),
    ``histograms`` (a :class:`~gradwise.insight.HistogramRecorder`), ``lr_finder`` (an
    :class:`~gradwise.insight.LRFinderResult`), ``landscapes`` (``Interpolation``/``Surface``
    records), ``batch_modes`` (a :class:`~gradwise.insight.BatchModeComparison`).
    """
    from gradwise.viz.curves import training_curves, weight_histograms
    from gradwise.viz.descent_plots import plot_batch_modes, plot_lr_finder
    from gradwise.viz.landscape_plots import plot_interpolation, plot_surface

    run_dir: Path | None = None
    if isinstance(source, (str, os.PathLike)):
        run_dir = Path(source)
        history, cfg, metrics = _read_run(run_dir)
    elif hasattr(source, "epochs") and hasattr(source, "steps"):
        history, cfg, metrics = source, {}, {}
    else:
        raise ReportError(f"report: source must be a run folder or a gradwise.train.History, got "
                          f"{type(source).__name__}")
    cfg = dict(config) if config is not None else cfg
    metrics = dict(test_metrics) if test_metrics is not None else metrics
    if path is None:
        if run_dir is None:
            raise ReportError("report: path= is required when the source is a History (there is no run folder to "
                              "write report.html into)")
        path = run_dir / "report.html"
    if title is None:
        title = _title(cfg, run_dir.name if run_dir is not None else None)
    page = _Page()
    from gradwise.version import __version__

    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    page.add(f"<header><h1>{_e(title)}</h1><p class=\"sub\">Generated by gradwise {_e(__version__)} on "
             f"{_e(stamp)}" + (f" from <code>{_e(run_dir)}</code>" if run_dir is not None else "") + "</p></header>")
    _summary(page, history, metrics)
    _config(page, cfg)
    if len(history) or len(history.steps.get("step", ())):
        page.add('<section id="curves"><h2>Training curves</h2>')
        page.figure(training_curves(history), "training-curves",
                    "Loss per batch and per epoch, metrics per epoch, learning rate and global gradient norm per "
                    "step.")
        page.add("</section>")
    _health(page, monitor)
    if histograms is not None and histograms.names:
        page.add('<section id="histograms"><h2>Weights and gradients over epochs</h2>')
        page.figure(weight_histograms(histograms), "histograms",
                    "Histogram of every parameter (left) and of its last gradient (right) after each epoch.")
        page.add("</section>")
    if lr_finder is not None:
        page.add('<section id="lr-finder"><h2>Learning-rate range test</h2>')
        page.figure(plot_lr_finder(lr_finder), "lr-finder", lr_finder.stop_reason)
        page.add("<ul>" + "".join(f"<li><b>{_e(s.name)}</b>: lr = {s.lr:.3g}: {_e(s.reason)}</li>"
                                  for s in lr_finder.suggestions) + "</ul></section>")
    if landscapes:
        page.add('<section id="landscape"><h2>Loss landscape</h2>')
        for i, rec in enumerate(landscapes):
            if hasattr(rec, "alphas") and hasattr(rec, "start_loss"):
                page.figure(plot_interpolation(rec), f"landscape-{i}",
                            "Loss along the straight line between two parameter sets.")
            else:
                page.figure(plot_surface(rec), f"landscape-{i}", f"Loss surface: {rec.kind}.")
        page.add("</section>")
    if batch_modes is not None:
        page.add('<section id="batch-modes"><h2>Full-batch, stochastic and mini-batch descent</h2>')
        page.figure(plot_batch_modes(batch_modes), "batch-modes",
                    "Training loss per mode against epochs, gradient evaluations and wall time; mini-batch gradient "
                    "variance against batch size.")
        page.add(f"<pre>{_e(batch_modes.variance.to_text())}</pre></section>")
    _epoch_table(page, history)
    page.add("<footer><p>Self-contained page: no scripts, no external files.</p></footer>")
    text = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>\n" + "\n".join(page.parts) +
            "\n</main></body></html>\n")
    from gradwise.atomic_files import write_text_atomic

    write_text_atomic(path, text)
    return Path(path)


def write_run_report(run_dir: str | os.PathLike[str], history: Any = None, monitor: Any = None,
                     **extras: Any) -> Path:
    """``<run_dir>/report.html`` for a run folder (what ``gradwise demo``/``train`` call at the end).

    ``history`` defaults to the folder's ``history.json``; ``monitor`` and ``extras`` (the
    keyword arguments of :func:`report`) add their sections.
    """
    run_dir = Path(run_dir)
    if history is None:
        return report(run_dir, monitor, run_dir / "report.html", **extras)
    extras.setdefault("config", _json(run_dir / "config.json"))
    extras.setdefault("test_metrics", _json(run_dir / "metrics.json"))
    title = extras.pop("title", None) or _title(extras["config"], run_dir.name)
    return report(history, monitor, run_dir / "report.html", title=title, **extras)
