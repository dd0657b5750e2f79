"""Per-step statistics of gradients and activations, on plain NumPy arrays.

Everything is computed in float64 whatever the tensor's dtype (a float32 sum of
squares over a million entries loses digits the verdicts rely on), and under
``np.errstate(all="ignore")``: a gradient that overflowed to ``inf`` or became
``nan`` is a finding to report, not a warning to raise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.nn.registry import activation_of

# The fields recorded per parameter per sampled step, in ring-buffer column order.
# ``raw_grad_norm`` is read right after backward (before any clipping); the other
# gradient figures describe the gradient the optimizer applied when the step was
# observed (``observe_update``), else the one read after backward.
PARAM_FIELDS = ("raw_grad_norm", "grad_norm", "grad_mean_abs", "grad_max_abs", "grad_std",
                "zero_fraction", "weight_norm", "update_norm", "update_ratio")

# Per layer: its own output (pre-activation for Linear, say) and the output of the
# activation module that follows it.
LAYER_FIELDS = ("output_mean", "output_std", "activation_mean", "activation_std",
                "dead_fraction", "saturated_fraction")

# Which modules are activations, and their families, come from the activation registry
# (gradwise/nn/registry.py), looked up by class.  Dead units: exact zeros for negative input
# (ReLU), so a unit that is zero for every sample of a batch passes no gradient at all.
# Saturation "sigmoid"/"tanh": flat tails where the derivative is nearly zero; "clip": exact
# bounds with zero derivative outside them.


def as_float64(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def l2_norm(a: np.ndarray) -> float:
    """``sqrt(sum a^2)`` in float64 (``inf`` when it overflows, ``nan`` when ``a`` holds a NaN)."""
    flat = as_float64(a).ravel()
    with np.errstate(all="ignore"):
        return math.sqrt(float(flat @ flat)) if flat.size else 0.0


def gradient_stats(g: np.ndarray) -> tuple[float, float, float, float, float]:
    """``(norm, mean |g|, max |g|, std, fraction of exact zeros)`` of one gradient array.

    >>> [round(v, 4) for v in gradient_stats(np.array([3.0, -4.0, 0.0, 0.0]))]
    [5.0, 1.75, 4.0, 2.4875, 0.5]
    """
    g64 = as_float64(g).ravel()
    if g64.size == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    with np.errstate(all="ignore"):
        a = np.abs(g64)
        return (l2_norm(g64), float(a.mean()), float(a.max()), float(g64.std()),
                float(np.count_nonzero(g64 == 0) / g64.size))


def dead_fraction(y: np.ndarray) -> float:
    """Fraction of units whose output is exactly zero for every sample of the batch.

    A unit is one position of the output without the batch (first) dimension: a
    feature of a ``(N, F)`` output, a (channel, row, column) of a ``(N, C, H, W)`` one.
    An unbatched ``(F,)`` output counts each element as its own one-sample unit.

    >>> dead_fraction(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]))
    0.3333333333333333
    """
    y = np.asarray(y)
    if y.size == 0:
        return math.nan
    if y.ndim < 2:
        return float(np.count_nonzero(y == 0) / y.size)
    return float(np.all(y == 0, axis=0).mean())


def saturated_fraction(y: np.ndarray, kind: str, margin: float, bounds: tuple[float, float] = (-1.0, 1.0)) -> float:
    """Fraction of outputs in the flat tails of a saturating activation.

    ``kind="sigmoid"``: within ``margin`` of 0 or 1 (derivative ``y(1-y) < margin``, at most
    4% of its peak 1/4 for margin 0.01); ``"tanh"``: ``|y| >= 1 - margin`` (derivative
    ``1 - y^2 < 2 margin``); ``"clip"``: at or beyond ``bounds`` (derivative exactly zero).

    >>> saturated_fraction(np.array([0.001, 0.5, 0.995, 0.3]), "sigmoid", 0.01)
    0.5
    """
    y = as_float64(y)
    if y.size == 0:
        return math.nan
    if kind == "sigmoid":
        flat = (y <= margin) | (y >= 1.0 - margin)
    elif kind == "tanh":
        flat = np.abs(y) >= 1.0 - margin
    else:
        flat = (y <= bounds[0]) | (y >= bounds[1])
    return float(np.count_nonzero(flat) / y.size)


def output_stats(y: np.ndarray) -> tuple[float, float]:
    """``(mean, std)`` of every element of an output, in float64."""
    y = as_float64(y)
    if y.size == 0:
        return math.nan, math.nan
    with np.errstate(all="ignore"):
        return float(y.mean()), float(y.std())


def activation_stats(module: Any, y: np.ndarray, margin: float,
                     dead_min_samples: int = 8) -> tuple[float, float, float, float]:
    """``(mean, std, dead fraction, saturated fraction)`` of an activation module's output;
    the fractions are NaN where they do not apply (no dead units for a sigmoid, no
    saturation for a ReLU, no dead-unit count on batches under ``dead_min_samples``)."""
    entry = activation_of(module)
    mean, std = output_stats(y)
    batch = y.shape[0] if y.ndim >= 2 else 1
    dead = dead_fraction(y) if entry is not None and entry.dead_units and batch >= dead_min_samples else math.nan
    sat = math.nan
    if entry is not None and entry.saturation is not None:
        sat = saturated_fraction(y, entry.saturation, margin, entry.clip_bounds(module))
    return mean, std, dead, sat
