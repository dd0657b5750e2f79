"""Jupyter displays (``_repr_html_``) of the insight records: the gradient monitor's report, the LR
range test, the dimension audit and the hand-derivation trace.

Each function takes the record and returns self-contained HTML (inline styles, user strings
escaped, readable 420 px wide; see :mod:`gradwise.train.html_repr`).  The records' ``__repr__``
is their text table (``to_text()``), so a cell's plain-text output reads the same.

>>> from gradwise.insight.derivations import derive
>>> page = derivation_html(derive("one_layer_scalar"))
>>> "closed form vs autograd" in page and "<script" not in page
True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from gradwise.errors import format_shape
from gradwise.train.html_repr import badge, box, details, esc, num, paragraph, svg_chart, table

if TYPE_CHECKING:  # pragma: no cover
    from gradwise.insight.derivations import Derivation
    from gradwise.insight.lr_finder import LRFinderResult
    from gradwise.insight.report import GradientReport
    from gradwise.insight.shapes import ShapeAudit

# what each column of the gradient table means, shown as a tooltip on its heading
GRADIENT_COLUMNS = {
    "layer": "the layer's name in the model and its kind (with the activation that follows it)",
    "verdict": "healthy, or the first rule that fired (see Findings)",
    "grad norm": "median L2 norm of the layer's gradient over the observed steps",
    "x last": "this layer's gradient norm divided by the last layer's: far below 1 vanishing, far above "
              "exploding",
    "upd/w": "median size of one optimizer step relative to the weights, ||dw|| / ||w|| (about 1e-3 is typical)",
    "cv": "coefficient of variation of the gradient norm over the steps (std / mean): how noisy it is",
    "dead": "share of the layer's units whose activation gradient was always zero",
    "sat": "share of outputs in the flat tails of a saturating activation (sigmoid, tanh)",
}


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.0%}"


def gradient_report_html(report: GradientReport) -> str:
    """The verdict, one row per layer (tooltips explain the columns), the findings and the advice."""
    n = len(report.layers)
    span = f"step {report.first_step}" if report.first_step == report.last_step else \
        f"steps {report.first_step}-{report.last_step}"
    head = ["#", "layer", "verdict", "grad norm", "x last", "upd/w", "cv", "dead", "sat"]
    rows = []
    for i, lv in enumerate(report.layers):
        f = lv.figures
        rows.append([str(i), esc(lv.label), badge(lv.verdict), num(f.grad_norm, 3), num(f.relative_grad_norm, 3),
                     num(f.update_ratio, 3), num(f.grad_norm_cv, 3), _pct(f.dead_fraction),
                     _pct(f.saturated_fraction)])
    body = [f'<div style="margin:4px 0">overall: {badge(report.verdict)}</div>']
    if n > 1:
        body.append(paragraph(f"first/last layer gradient norm: {num(report.first_to_last_ratio, 3)} "
                              f"(x{num(report.decay_per_layer, 3)} per layer)"))
    body.append(table(head, rows, left=3, raw=True, titles=[GRADIENT_COLUMNS.get(h, "") for h in head]))
    if report.flagged:
        findings = []
        for lv in report.flagged:
            items = "".join(f"<li>{esc(e.text)} <span style='color:#555'>[{esc(e.figure)} {esc(num(e.value, 3))} "
                            f"{esc(e.comparison)} {esc(num(e.threshold, 3))}]</span></li>" for e in lv.evidence)
            findings.append(f"<div><b>{esc(lv.label)}</b>: {badge(lv.verdict)}<ul style='margin:2px 0 4px 18px;"
                            f"padding:0'>{items}</ul></div>")
        body.append(details("Findings", "".join(findings), open_=True))
    if report.advice:
        advice = "".join(f"<li>{esc(a)}</li>" for a in report.advice)
        body.append(details("Advice", f"<ul style='margin:2px 0 0 18px;padding:0'>{advice}</ul>", open_=True))
    t = report.thresholds
    body.append(details("Thresholds", paragraph(
        f"vanishing <= {t.vanishing_ratio:g} x last layer; exploding >= {t.exploding_ratio:g} x last or "
        f"update/weight >= {t.update_ratio_high:g}; stalled <= {t.update_ratio_low:g}; noisy cv >= {t.noisy_cv:g}; "
        f"dead >= {t.dead_fraction:.0%} of units; saturated >= {t.saturated_fraction:.0%} of outputs")))
    steps = f"{report.steps_observed} step{'s' if report.steps_observed != 1 else ''} observed"
    return box(f"Gradient health: {report.verdict}", "".join(body),
               subtitle=f"{n} layer{'s' if n != 1 else ''}; {steps}, window {span}")


def lr_finder_html(result: LRFinderResult) -> str:
    """The loss against the learning rate (log axis) with the suggestions marked, then a table of them."""
    marks = [(s.lr, s.name) for s in result.suggestions]
    chart = svg_chart([("raw loss", result.lrs, result.losses), ("smoothed", result.lrs, result.smoothed)],
                      logx=True, marks=marks, xlabel="learning rate (log scale)", ylabel="loss",
                      title="loss vs learning rate")
    rows = [[s.name, num(s.lr, 3), num(s.loss, 4)] for s in result.suggestions]
    reasons = "".join(f"<li><b>{esc(s.name)}</b>: {esc(s.reason)}</li>" for s in result.suggestions)
    body = chart + table(["suggestion", "lr", "smoothed loss"], rows, left=1) + \
        f'<ul style="margin:4px 0 0 18px;padding:0;font-size:12px">{reasons}</ul>' + \
        paragraph(f"stopped: {result.stop_reason}", muted=True)
    return box("LR range test", body, subtitle=f"{len(result.lrs)} iterations, lr {num(result.lrs[0], 3)} -> "
                                               f"{num(result.lrs[-1], 3)}")


def shape_audit_html(audit: ShapeAudit) -> str:
    """One row per layer call (input, output, parameter and gradient shapes), then the failure if any."""
    rows = []
    for r in audit.layers:
        params = "; ".join(f"{k} {format_shape(v)} -> "
                           f"{format_shape(g) if (g := r.gradient_shapes[k]) else 'no grad'}"
                           for k, v in r.parameter_shapes.items())
        rows.append([r.name, r.kind, ", ".join(format_shape(s) for s in r.input_shapes),
                     format_shape(r.output_shape) if r.output_shape is not None else "-", params or "-",
                     f"{r.parameters:,}"])
    body = table(["layer", "type", "input", "output", "parameters (shape -> gradient shape)", "count"], rows, left=5,
                 wrap=(4,))
    body += paragraph(f"total parameters: {audit.total_parameters:,}")
    if audit.failure is not None:
        f = audit.failure
        body += ('<div style="border-left:3px solid #c62828;padding-left:6px;margin-top:4px">'
                 f'<b>failed at layer {esc(f.name)} ({esc(f.kind)})</b> with input '
                 f'{esc(", ".join(format_shape(s) for s in f.input_shapes))}: {esc(f.message)}<br>'
                 f'fix: {esc(f.suggestion)}</div>')
    n = len(audit.layers)
    return box("Dimension audit: " + ("ok" if audit.ok else "FAILED"), body,
               subtitle=f"{n} layer call{'s' if n != 1 else ''} traced forward and backward")


def _matrix(value: np.ndarray) -> str:
    text = np.array2string(value, precision=4, suppress_small=True, max_line_width=60)
    return (f'<pre style="margin:0;font-size:11px;white-space:pre;overflow-x:auto">{esc(text)}</pre>')


def derivation_html(d: Derivation) -> str:
    """Each step's formula and dimension check (values folded away), then closed form vs autograd."""
    inputs = ", ".join(f"{k} {format_shape(v.shape)}" for k, v in d.inputs.items())
    # one block per step rather than a wide table: formulas stay whole at 420 px
    steps = "".join(
        f'<div style="border-bottom:1px solid #e0e0e0;padding:3px 0"><b>{esc(s.name)}</b> = '
        f'<code style="white-space:pre-wrap">{esc(s.formula)}</code>'
        f'<div style="color:#555;font-size:12px;padding-left:12px">shapes: {esc(s.shapes)}</div>'
        f'<details style="padding-left:12px;font-size:12px"><summary style="cursor:pointer">value '
        f'{esc(format_shape(s.shape))}</summary>{_matrix(s.value)}</details></div>' for s in d.steps)
    body = paragraph(f"inputs: {inputs}") + steps
    grads = [[f"dE/d{g.weight}", format_shape(g.closed_form.shape), f"{g.max_abs_difference:.3e}"]
             for g in d.gradients]
    body += '<div style="margin-top:6px;font-weight:600">closed form vs autograd</div>'
    body += table(["gradient", "shape", "max |difference|"], grads, left=1)
    return box(f"Derivation {d.case.name}", body, subtitle=d.case.description)
