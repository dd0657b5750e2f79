"""The building blocks of the HTML report: the page, its style sheet, escaping and number
formatting, tables that scroll inside their box, and the glossary of every term the report uses.

A term is explained where it appears (``<abbr title=...>``, which a mouse shows as a tooltip)
and in the glossary section at the end of the page (for touch screens and for reading):
:func:`term` writes the first, :func:`glossary_html` the second from the same :data:`GLOSSARY`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from gradwise.viz.figure_files import to_svg

CSS = """
:root { --fg: #1d2330; --muted: #5b6474; --line: #dde1e8; --bg: #f6f7f9; --card: #fff; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; } h2 { font-size: 19px; margin: 0 0 12px; }
h3 { font-size: 16px; margin: 14px 0 6px; }
.sub, figcaption, footer, .note { color: var(--muted); font-size: 13px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px;
          margin-top: 18px; min-width: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; flex: 0 1 auto; }
.card b { display: block; font-size: 20px; }
.scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
.scroll.tall { max-height: 420px; overflow-y: auto; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
table.left th, table.left td { text-align: left; }
table.kv th, table.kv td { text-align: left; white-space: normal; overflow-wrap: anywhere; }
table.kv td:first-child { white-space: nowrap; }
th .wrap, td .wrap { white-space: normal; display: inline-block; min-width: 14em; text-align: left; }
abbr[title] { text-decoration: underline dotted; cursor: help; }
figure.plot { margin: 8px 0 4px; max-width: 100%; overflow-x: auto; }
figure.plot svg, figure.plot img { max-width: 100%; height: auto; display: block; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; color: #fff; }
.healthy, .good { background: #2e7d32; } .vanishing, .stalled, .warning { background: #ef6c00; }
.noisy { background: #8d6e00; } .exploding, .dead, .bad { background: #c62828; } .saturated { background: #6a1b9a; }
.finding { border-left: 5px solid #8d96a8; padding: 6px 12px; margin: 10px 0; background: #fafbfc; }
.finding.good { border-color: #2e7d32; background: #f1f8f1; } .finding.warning { border-color: #ef6c00;
  background: #fff6ec; } .finding.bad { border-color: #c62828; background: #fdf0f0; }
.finding h3 { margin: 2px 0 4px; color: var(--fg); } .finding ul { margin: 4px 0; padding-left: 20px; }
.finding .advice { font-weight: 600; }
ul.advice li { margin: 2px 0; }
code, pre { background: #eef0f4; border-radius: 3px; overflow-wrap: anywhere; }
code { padding: 0 4px; } pre { padding: 8px; overflow-x: auto; white-space: pre; }
dl.glossary dt { font-weight: 600; margin-top: 8px; } dl.glossary dd { margin: 2px 0 0 16px; }
td.cm { text-align: center; min-width: 34px; }
@media (max-width: 600px) {
  main { padding: 10px 8px 32px; }
  section { padding: 12px 10px; }
  h1 { font-size: 20px; }
  .card { min-width: 0; flex: 1 1 40%; padding: 6px 8px; }
  .card b { font-size: 16px; }
  th, td { padding: 3px 6px; }
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# Every term the report uses, with what it means.  Keys are what the page shows.
GLOSSARY: dict[str, str] = {
    "grad norm": "The L2 norm of a layer's gradient (all its parameters together), as applied by the optimizer "
                 "(after any clipping): the median over the monitor's window of sampled steps.",
    "raw norm": "The layer's gradient norm right after backward, before gradient clipping.",
    "x last layer": "The layer's gradient norm divided by the last layer's. About 0.05-1 is normal; at or below "
                    "1e-3 the layer learns a thousand times slower than the output layer (vanishing), at or above "
                    "1e3 its gradient explodes.",
    "per layer": "The factor by which the gradient norm changes per layer on its way back to the input: "
                 "(x last layer) ** (1 / layers in between). Near 1 is healthy.",
    "update/weight": "How far one optimizer step moves the layer's weights relative to their size: "
                     "||dw|| / ||w|| per step (median). About 1e-3 is typical; at or below 1e-5 the layer is "
                     "stalled; at or above 0.5 steps are so large the training is unstable.",
    "cv": "Coefficient of variation of the layer's gradient norm over the window: its standard deviation "
          "divided by its mean. Mini-batch noise gives 0.1-0.8; 2 or more means spikes or heavy tails (noisy).",
    "dead": "The share of the units after this layer (ReLU...) that output exactly 0 for every sample of the batch: "
            "they pass no gradient and cannot recover. 50% or more is flagged.",
    "saturated": "The share of sigmoid/tanh outputs within 1% of their bounds, where the activation's slope is "
                 "nearly 0 and little gradient passes. 50% or more is flagged.",
    "verdict": "The gradient health of a layer: healthy, or the worst problem found (exploding, dead, vanishing, "
               "saturated, stalled, noisy); the findings list the figure and threshold behind each.",
    "window": "The monitor samples one step in every k and keeps the last N samples; the verdicts are judged "
              "on those.",
    "chance level": "The accuracy of always predicting the most common class of the training labels. A model at "
                    "this accuracy has learned nothing.",
    "epoch": "One pass over the training split.",
    "loss": "The training loss: the mean over the epoch's mini-batches (weighted by batch size), or per step in the "
            "curves. Measured while the weights change during the epoch.",
    "val_loss": "The loss on the validation split: samples held out of the training data, never trained on. "
                "Every val_ column is measured on it after the epoch.",
    "accuracy": "The share of samples whose highest-scoring class is the true class.",
    "mse": "Mean squared error (on standardised targets during training; in the targets' units for test_ figures).",
    "mae": "Mean absolute error (as mse, without squaring).",
    "r2": "Coefficient of determination: 1 - mse / variance of the targets. 1 is perfect, 0 is no better than "
          "predicting the mean, below 0 worse.",
    "lr": "The learning rate at the end of the epoch (of the first parameter group).",
    "grad_norm": "The global L2 norm of all gradients at a step, before any clipping.",
    "samples_seen": "Gradient evaluations so far: samples processed by backward.",
    "wall_time": "Seconds since training started.",
    "test_": "Figures on the test split, measured once after training (regression: in the targets' own units).",
    "confusion matrix": "Rows are the true classes, columns the predicted ones: the diagonal counts the correct "
                        "predictions, every other cell one kind of mistake.",
    "worst misclassified": "The wrongly predicted test samples with the highest loss (-log of the probability the "
                           "model gave the true class): the mistakes the model was most sure of.",
    "filter normalisation": "Loss landscapes: a random direction in weight space is rescaled so that each filter "
                            "(each output unit's weights) has the same norm as the trained weights' filter. Without "
                            "it, the picture depends on the weights' scale rather than on the landscape "
                            "(Li et al. 2018).",
    "2/λ bound": "Plain gradient descent on a quadratic with largest curvature λ (the top Hessian eigenvalue) is "
                 "stable only for lr < 2/λ; above it each step overshoots more than the last. With heavy-ball "
                 "momentum β the bound is 2(1+β)/λ.",
    "LR range test": "Trains for a few hundred steps while the learning rate grows exponentially and plots the "
                     "(smoothed) loss; a good rate is where the loss falls fastest, well before it diverges.",
    "parameters": "Trainable numbers in the model (weights and biases).",
    "descent mode": "full: one update per epoch from all training samples; sgd: one update per sample; "
                    "minibatch: one update per batch of batch-size samples.",
    "LR schedule": "How the learning rate changes during training (none: constant).",
    "confidence": "The probability the model gave to the class it predicted.",
    "split sizes": "Samples in the training split (trained on), the validation split (held out of the training "
                   "data, seeded) and the test split (used once, at the end).",
}


def e(x: Any) -> str:
    """``x`` as HTML-escaped text."""
    return html.escape(str(x), quote=True)


def num(x: Any) -> str:
    """A number for a table cell: 4 significant digits, ``-`` for None/NaN."""
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return "-" if math.isnan(x) else f"{x:.4g}"
    return e(x)


def pct(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.0%}"


def glossary_key(name: str) -> str | None:
    """The glossary entry for a shown name (``val_accuracy`` -> ``accuracy`` via the val_ entry...)."""
    if name in GLOSSARY:
        return name
    if name.startswith("test_"):
        return "test_"
    if name.startswith("val_"):
        base = name[4:]
        return base if base in GLOSSARY else "val_loss"
    return None


def term(name: str, shown: str | None = None) -> str:
    """``shown`` (default ``name``) with its explanation as a tooltip when the glossary has it."""
    key = glossary_key(name)
    text = e(shown if shown is not None else name)
    if key is None:
        return text
    tip = GLOSSARY[key]
    if name.startswith("val_") and key != "val_loss":
        tip = "On the validation split (held out of the training data). " + tip
    return f'<abbr title="{e(tip)}">{text}</abbr>'


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, table_id: str | None = None,
          cls: str | None = None, tall: bool = False, raw_head: bool = False) -> str:
    """A table inside a box that scrolls sideways (and down when ``tall``), so it never widens the page.
    Header names get their glossary tooltip; cells are HTML already."""
    attrs = (f' id="{e(table_id)}"' if table_id else "") + (f' class="{e(cls)}"' if cls else "")
    heads = "".join(f"<th>{h if raw_head else term(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll{" tall" if tall else ""}"><table{attrs}><tr>{heads}</tr>{body}</table></div>'


def glossary_html(used: Iterable[str] | None = None) -> str:
    """The glossary section (every term, or only ``used`` ones, in glossary order)."""
    keep = set(GLOSSARY) if used is None else {k for k in (glossary_key(u) for u in used) if k}
    items = "".join(f'<dt id="g-{e(k.replace(" ", "-"))}">{e(k)}</dt><dd>{e(v)}</dd>'
                    for k, v in GLOSSARY.items() if k in keep)
    return f'<section id="glossary"><h2>Glossary</h2><dl class="glossary">{items}</dl></section>'


class Page:
    """The parts of one HTML page, in order, and a counter that keeps figure ids unique."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.figures = 0

    def add(self, text: str) -> None:
        self.parts.append(text)

    def figure(self, fig: Any, name: str, caption: str, caption_html: bool = False) -> None:
        """``fig`` inlined as SVG with a caption."""
        self.figures += 1
        svg = to_svg(fig, f"f{self.figures}")
        cap = caption if caption_html else e(caption)
        self.add(f'<figure class="plot" id="fig-{e(name)}">{svg}<figcaption>{cap}</figcaption></figure>')

    def html(self, title: str) -> str:
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{e(title)}</title><style>{CSS}</style></head><body><main>\n" + "\n".join(self.parts) +
                "\n</main></body></html>\n")
