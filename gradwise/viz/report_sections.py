"""The sections of a run's HTML report: the diagnosis, the summary cards, the run's setup, the
gradient health and the per-epoch table.  Each function appends HTML to a
:class:`~gradwise.viz.report_page.Page`; none reads files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from gradwise.viz.report_page import Page, e, num, pct, table, term

# settings of config.json that only some optimizers read
_MOMENTUM_OPTIMIZERS = ("momentum", "nesterov")


def task_kind(history: Any, facts: Mapping[str, Any]) -> str:
    """``classification`` or ``regression``: from the run's facts, else from its metrics."""
    if facts.get("task") in ("classification", "regression"):
        return str(facts["task"])
    return "regression" if "r2" in history.epochs or "mse" in history.epochs else "classification"


def diagnosis_section(page: Page, history: Any, facts: Mapping[str, Any], records: Any) -> Any:
    """The headline: every finding with its evidence and advice (returns the Diagnosis)."""
    from gradwise.insight.diagnosis import RULES, diagnose

    kind = task_kind(history, facts)
    chance = facts.get("chance")
    d = diagnose({k: list(v) for k, v in history.epochs.items()}, list(history.steps.get("loss", ())), task=kind,
                 chance=chance if isinstance(chance, (int, float)) else None,
                 gradient=records.report() if records is not None else None)
    parts = ['<section id="diagnosis"><h2>Diagnosis</h2>']
    for f in d.findings:
        parts.append(f'<div class="finding {e(f.severity)}" id="finding-{e(f.kind)}"><h3>{e(f.title)}</h3><ul>'
                     + "".join(f"<li>{e(x)}</li>" for x in f.evidence) + "</ul>"
                     + "".join(f'<p class="advice">{e(a)}</p>' for a in f.advice)
                     + (f'<p class="note">Rule: {e(RULES[f.kind])}</p>' if f.kind in RULES else "") + "</div>")
    if kind == "classification" and chance is None:
        parts.append('<p class="note">The chance level is unknown for this run (no run_facts.json), so "did not '
                     'learn" was not judged.</p>')
    if records is None:
        parts.append('<p class="note">No gradient records: gradient problems were not judged.</p>')
    parts.append('<p class="note">How each finding is decided: <code>gradwise.insight.diagnosis</code>.</p>'
                 "</section>")
    page.add("".join(parts))
    return d


def summary_section(page: Page, history: Any, test_metrics: Mapping[str, Any], facts: Mapping[str, Any]) -> None:
    epochs, steps = history.epochs, history.steps
    cards: list[tuple[str, str, Any]] = [("epoch", "epochs", len(history)),
                                         ("samples_seen", "optimizer steps", len(steps.get("step", ())))]
    if len(steps.get("wall_time", ())):
        cards.append(("wall_time", "training time (s)", float(steps["wall_time"][-1])))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "r2", "val_r2"):
        if key in epochs and len(epochs[key]):
            cards.append((key, f"final {key}", float(epochs[key][-1])))
    if isinstance(facts.get("chance"), (int, float)):
        cards.append(("chance level", "chance level", facts["chance"]))
    cards += [(k, k, v) for k, v in test_metrics.items()]
    page.add('<section id="summary"><h2>Summary</h2><div class="cards">' +
             "".join(f'<div class="card">{term(t, label)}<b>{num(v)}</b></div>' for t, label, v in cards) +
             "</div></section>")


def settings_text(settings: Mapping[str, Any]) -> str:
    def show(v: Any) -> str:
        if isinstance(v, list):
            return "(" + ", ".join(show(x) for x in v) + ")"
        return f"{v:g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k}={show(v)}" for k, v in settings.items())


def relevant_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """config.json without the settings the run's optimizer ignored (momentum for Adam...)."""
    out = dict(config)
    if "optimizer" in out and out["optimizer"] not in _MOMENTUM_OPTIMIZERS:
        out.pop("momentum", None)
    return out


def setup_section(page: Page, config: Mapping[str, Any], facts: Mapping[str, Any]) -> None:
    """What the run was: command, data, model, optimizer as used, loss, sizes, versions; then config.json."""
    rows: list[tuple[str, str]] = []
    if facts.get("command"):
        rows.append(("command line", f"<code>{e(facts['command'])}</code>"))
    for key in ("dataset", "model", "activation"):
        if key in config:
            rows.append((key, e(config[key])))
    params = facts.get("parameters")
    if isinstance(params, Mapping):
        extra = "" if params.get("trainable") == params.get("total") else f" ({num(params.get('trainable'))} trainable)"
        rows.append((term("parameters"), f"{params.get('total', 0):,}{extra}"))
    opt = facts.get("optimizer")
    if isinstance(opt, Mapping):
        rows.append(("optimizer (as used)", f"<code>{e(opt.get('name'))}({e(settings_text(opt.get('settings', {})))})"
                                             "</code>"))
    elif "optimizer" in config:
        shown: dict[str, Any] = {k: config[k] for k in ("lr", "momentum", "weight_decay")
                                 if k in relevant_config(config)}
        rows.append(("optimizer (from config.json)", e(f"{config['optimizer']} " + settings_text(shown))))
    loss = facts.get("loss")
    if isinstance(loss, Mapping):
        rows.append((term("loss"), e(loss.get("name")) + (f" (reduction {e(loss['reduction'])})"
                                                          if loss.get("reduction") else "")))
    splits = facts.get("splits")
    if isinstance(splits, Mapping):
        rows.append((term("split sizes"), ", ".join(f"{k} {int(v):,}" for k, v in splits.items())))
    for key, label in (("epochs", "epochs"), ("batch_size", "batch size"), ("mode", "descent mode"),
                       ("scheduler", "LR schedule"), ("seed", "seed")):
        if key in config:
            rows.append((term(label), e(config[key])))
    versions = facts.get("versions")
    if isinstance(versions, Mapping):
        rows.append(("versions", e(", ".join(f"{k} {v}" for k, v in versions.items()))))
    parts = ['<section id="setup"><h2>Setup</h2>']
    if rows:
        parts.append(table(["setting", "value"], rows, table_id="run-setup", cls="kv", raw_head=True))
    if not facts:
        parts.append('<p class="note">Not known for this page: the optimizer\'s own settings, the loss, the '
                     "parameter count and the split sizes (a run folder keeps them in run_facts.json).</p>")
    parts.append(model_summary_html(facts))
    if config:
        cfg_rows = [(e(k), e(v if isinstance(v, str) else json.dumps(v))) for k, v in relevant_config(config).items()]
        parts.append('<details><summary>All settings</summary>'
                     + table(["setting", "value"], cfg_rows, table_id="config", cls="kv", raw_head=True)
                     + "</details>")
    parts.append("</section>")
    page.add("".join(parts))


def model_summary_html(facts: Mapping[str, Any]) -> str:
    """The model: the layer table of ``facts["model_summary"]`` (``gradwise.summary(model).to_dict()``,
    saved by the run) with its totals, else the model's printed structure."""
    summary = facts.get("model_summary")
    if isinstance(summary, Mapping) and isinstance(summary.get("layers"), list) and summary["layers"]:
        rows = []
        for r in summary["layers"]:
            indent = "&nbsp;&nbsp;" * int(r.get("depth", 0) or 0)
            shapes = ", ".join("(" + ", ".join(str(d) for d in s) + ")" for s in r.get("output_shapes") or [])
            rows.append([indent + e(r.get("label", r.get("name"))), e(shapes), num(r.get("parameters")),
                         num(r.get("non_trainable"))])
        totals = [f"{k.replace('_', ' ')}: {summary[k]:,}" for k in ("total_parameters", "trainable_parameters")
                  if isinstance(summary.get(k), int)]
        if isinstance(summary.get("memory_per_sample"), int):
            totals.append(f"training memory per sample (activations and their gradients): "
                          f"{summary['memory_per_sample']:,} bytes")
        return ('<h3 id="model-summary">Model</h3>'
                + table(["layer", "output shape", "parameters", "non-trainable"], rows, table_id="model-summary-table",
                        raw_head=True)
                + ('<p class="note">' + e("; ".join(totals)) + " (output shapes for one sample)</p>" if totals else ""))
    if facts.get("model"):
        return f'<h3 id="model-summary">Model</h3><pre>{e(facts["model"])}</pre>'
    return ""


def health_section(page: Page, records: Any) -> None:
    """Gradient flow figure, the verdict table with explained columns, findings and advice."""
    from gradwise.viz.curves import gradient_flow

    page.add('<section id="health"><h2>Gradient flow and health</h2>')
    if records is None:
        page.add('<p class="note">No gradient monitor records are saved with this run. Runs trained by '
                 "<code>gradwise train</code>/<code>demo</code> save them in <code>monitor.json</code>; in Python, "
                 "pass <code>callbacks=[GradientMonitor(model)]</code> to <code>fit</code> and the monitor to "
                 "<code>report(..., monitor=...)</code>, or rebuild them with "
                 "<code>gradwise report RUN --replay</code>.</p></section>")
        return
    page.figure(gradient_flow(records), "gradient-flow",
                "Gradient norm of every layer, input side first (log scale); right: the same over time.")
    rep = records.report()
    window = records.window_text() if hasattr(records, "window_text") else f"{rep.steps_observed} samples"
    ratio = ""
    if len(rep.layers) > 1:
        ratio = (f"; first/last layer gradient norm {num(rep.first_to_last_ratio)} "
                 f"(x{num(rep.decay_per_layer)} {term('per layer', 'per layer')})")
    page.add(f'<p>Overall: <span class="badge {e(rep.verdict)}">{e(rep.verdict)}</span> &nbsp; '
             f"{term('window', 'Window')}: {e(window)}{ratio}.</p>")
    clipped = math.isfinite(rep.clip_factor) and rep.clip_factor < 0.999
    head = ["layer", "verdict", "grad norm"] + (["raw norm"] if clipped else []) + \
        ["x last layer", "update/weight", "cv", "dead", "saturated"]
    rows = []
    for lv in rep.layers:
        f = lv.figures
        rows.append([e(lv.label), f'<span class="badge {e(lv.verdict)}">{e(lv.verdict)}</span>', num(f.grad_norm)]
                    + ([num(f.raw_grad_norm)] if clipped else [])
                    + [num(f.relative_grad_norm), num(f.update_ratio), num(f.grad_norm_cv), pct(f.dead_fraction),
                       pct(f.saturated_fraction)])
    page.add(table(head, rows, table_id="verdicts"))
    if clipped:
        page.add(f'<p class="note">Gradients were clipped: the applied norm is {num(rep.clip_factor)} x the raw '
                 "norm (median); the verdicts use the applied gradients.</p>")
    findings = [f"<li><b>{e(lv.label)}</b>: {e(ev.text)}</li>" for lv in rep.flagged for ev in lv.evidence]
    if findings:
        page.add("<h3>Findings</h3><ul>" + "".join(findings) + "</ul>")
    if rep.advice:
        page.add('<h3>Advice</h3><ul class="advice">' + "".join(f"<li>{e(a)}</li>" for a in rep.advice) + "</ul>")
    page.add("</section>")


def epoch_section(page: Page, history: Any) -> None:
    epochs = history.epochs
    if not len(history):
        return
    keys = [k for k in epochs if k != "samples_seen"]
    rows = [[str(int(epochs[k][i]) + 1) if k == "epoch" else num(epochs[k][i]) for k in keys]
            for i in range(len(history))]
    page.add('<section id="epochs"><h2>Per-epoch records</h2>' + table(keys, rows, table_id="epoch-table", tall=True)
             + "</section>")
