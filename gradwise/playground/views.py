"""What the page draws, as plain JSON-ready data: the decision boundary on a grid, the gradient
monitor's verdicts per layer, and weight and gradient histograms.

The boundary is sent as bytes (base64): the probability of class 1 at each grid point, quantised to
0..255, row by row from the top (``y = +BOX``) down, left to right.  4096 bytes per update is
cheap at 10+ updates per second.

>>> finite_or_none(float("nan")), finite_or_none(0.25)
(None, 0.25)
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from gradwise.api.creation import from_numpy
from gradwise.autograd.grad_mode import no_grad
from gradwise.insight.monitor import GradientMonitor
from gradwise.insight.verdicts import MonitorError
from gradwise.nn.module import Module
from gradwise.playground import recipe

GRID = 64
HIST_BINS = 24


def finite_or_none(v: float) -> float | None:
    """``v`` rounded to 6 significant digits, or ``None`` when it is inf/NaN (JSON has no NaN)."""
    return float(f"{v:.6g}") if math.isfinite(v) else None


def grid_features(names: tuple[str, ...], size: int = GRID) -> np.ndarray:
    """The input features at the ``size x size`` grid points covering ``[-BOX, BOX]^2``, top row first:
    shape ``(size * size, len(names))``.

    >>> grid_features(("x", "y"), 2).tolist()
    [[-1.5, 1.5], [1.5, 1.5], [-1.5, -1.5], [1.5, -1.5]]
    """
    ticks = np.linspace(-recipe.BOX, recipe.BOX, size, dtype=np.float32)
    gx, gy = np.meshgrid(ticks, ticks[::-1])
    return recipe.features(np.stack([gx.ravel(), gy.ravel()], axis=1), names)


def probabilities(model: Module, x: np.ndarray, loss: str) -> np.ndarray:
    """The model's probability of class 1 at inputs ``x`` ``(N, F)``: softmax of the logits for
    cross-entropy, the second output clipped to [0, 1] for MSE (which regresses on one-hot labels)."""
    model.eval()
    with no_grad(), np.errstate(all="ignore"):
        out = model(from_numpy(x)).numpy().astype(np.float64)
    model.train()
    if loss == "cross_entropy":
        # softmax of two logits is the sigmoid of their difference
        p = 1.0 / (1.0 + np.exp(-np.clip(out[:, 1] - out[:, 0], -60, 60)))
    else:
        p = np.clip(out[:, 1], 0.0, 1.0)
    return np.where(np.isfinite(p), p, 0.5)


def boundary(model: Module, grid: np.ndarray, loss: str) -> dict[str, Any]:
    """``{"size": side, "data": base64 of uint8 probabilities}`` over the grid from :func:`grid_features`."""
    p = probabilities(model, grid, loss)
    q = np.round(p * 255).astype(np.uint8)
    return {"size": int(round(math.sqrt(len(q)))), "data": base64.b64encode(q.tobytes()).decode("ascii")}


def gradient_health(monitor: GradientMonitor, step: int) -> dict[str, Any]:
    """The monitor's report as ``{"verdict", "advice", "layers": [{"name", "label", "kind", "activation",
    "verdict", "grad_norm", "relative", "update_ratio", "advice"}...]}`` (empty before the first update)."""
    if step == 0:
        return {"verdict": None, "advice": [], "layers": []}
    try:
        report = monitor.report()
    except MonitorError:
        return {"verdict": None, "advice": [], "layers": []}
    return {
        "verdict": report.verdict,
        "advice": list(report.advice),
        "layers": [{"name": lv.name, "label": lv.label, "kind": lv.kind, "activation": lv.activation,
                    "verdict": lv.verdict,
                    "grad_norm": finite_or_none(lv.figures.grad_norm),
                    "relative": finite_or_none(lv.figures.relative_grad_norm),
                    "update_ratio": finite_or_none(lv.figures.update_ratio),
                    "advice": list(lv.advice)} for lv in report.layers],
    }


def _hist(values: np.ndarray) -> dict[str, Any]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {"lo": 0.0, "hi": 0.0, "counts": []}
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    counts, _ = np.histogram(v, bins=HIST_BINS, range=(lo, hi))
    return {"lo": finite_or_none(lo), "hi": finite_or_none(hi), "counts": counts.tolist()}


def histograms(model: Module) -> list[dict[str, Any]]:
    """Per weight matrix (biases left out: a handful of numbers): the histogram of its values and of
    its latest gradient, ``{"name", "weight": {"lo", "hi", "counts"}, "grad": {...}}``."""
    out = []
    for name, p in model.named_parameters():
        if not name.endswith("weight"):
            continue
        w = np.asarray(p.detach().numpy(), dtype=np.float64).ravel()
        g = np.asarray(p.grad.numpy(), dtype=np.float64).ravel() if p.grad is not None else np.empty(0)
        out.append({"name": name, "weight": _hist(w), "grad": _hist(g)})
    return out
