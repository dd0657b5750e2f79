"""Loss functions (PyTorch's definitions), each a composite of table ops.

``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (per element).
The error of one prediction is what a loss measures: the simplest is the
difference ``y_pred - y_true``; squaring it (MSE) or taking its absolute value
(L1) makes every miss count positive.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.api import creation as _creation
from gradwise.api import functions as _ops
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape

_REDUCTIONS = ("mean", "sum", "none")
cross_entropy = _ops.cross_entropy
nll_loss = _ops.nll_loss


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction={reduction!r} is not valid; choose one of {_REDUCTIONS}")


def _same_shape(op: str, input: Tensor, target: Any) -> Tensor:
    if not isinstance(target, Tensor):
        target = _creation.as_tensor(np.asarray(target, dtype=input.dtype))
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeError(f"{op}: prediction of shape {format_shape(input.shape)} and target of shape "
                         f"{format_shape(target.shape)} differ; they must match (reshape or squeeze the "
                         "prediction, e.g. pred.squeeze(-1))")
    return target


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: ``(y_pred - y)^2``, reduced.

    >>> import gradwise as gw
    >>> gw.nn.functional.mse_loss(gw.tensor([1.0, 3.0]), gw.tensor([0.0, 1.0])).item()
    2.5
    """
    t = _same_shape("mse_loss", input, target)
    d = input - t
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error: ``|y_pred - y|``, reduced."""
    t = _same_shape("l1_loss", input, target)
    return _reduce((input - t).abs(), reduction, "l1_loss")


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``d = y_pred - y``."""
    t = _same_shape("huber_loss", input, target)
    a = (input - t).abs()
    quad = a.clamp(max=delta)
    return _reduce(quad * quad * 0.5 + (a - quad) * delta, reduction, "huber_loss")


def smooth_l1_loss(input: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (Huber divided by beta)."""
    t = _same_shape("smooth_l1_loss", input, target)
    if beta == 0:
        return l1_loss(input, t, reduction)
    a = (input - t).abs()
    quad = a.clamp(max=beta)
    return _reduce(quad * quad * (0.5 / beta) + (a - quad), reduction, "smooth_l1_loss")


def binary_cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """``-w [y log p + (1 - y) log(1 - p)]`` for probabilities ``p``; each log is clamped to
    at least -100 (PyTorch), so p = 0 or 1 gives a large finite loss."""
    t = _same_shape("binary_cross_entropy", input, target)
    pmin, pmax = float(input._data.min()) if input.numel() else 0.0, float(input._data.max()) if input.numel() else 0.0
    if pmin < 0 or pmax > 1:
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], got values in "
                         f"[{pmin:g}, {pmax:g}]; use binary_cross_entropy_with_logits for raw scores")
    loss = -(t * input.log().clamp(min=-100.0) + (1.0 - t) * (1.0 - input).log().clamp(min=-100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """BCE on logits ``x``, stable for any x: with ``l = 1 + (pos_weight - 1) y``,
    ``loss = (1 - y) x + l softplus(-x)``  (equal to ``-[pw y log s(x) + (1-y) log(1-s(x))]``)."""
    t = _same_shape("binary_cross_entropy_with_logits", input, target)
    sp = _ops.softplus(-input)
    if pos_weight is not None:
        loss = (1.0 - t) * input + (1.0 + (pos_weight - 1.0) * t) * sp
    else:
        loss = (1.0 - t) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """``y (log y - x)`` with ``x`` log-probabilities (``exp(t) (t - x)`` when ``log_target``).
    Use ``reduction='batchmean'`` for the mathematical KL divergence per sample."""
    t = _same_shape("kl_div", input, target)
    if log_target:
        loss = t.exp() * (t - input)
    else:
        # 0 log 0 = 0: the term vanishes where the target is zero
        loss = _ops.where(t > 0, t * (t.clamp(min=1e-45).log() - input), t * 0.0)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0]
    return _reduce(loss, reduction, "kl_div")


def multi_margin_loss(input: Tensor, target: Any, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge: ``sum_{i != y} max(0, margin - x_y + x_i)^p / C`` per sample."""
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    t = np.asarray(target._data if isinstance(target, Tensor) else target)
    n, c = input.shape
    x_y = input.gather(1, _creation.tensor(t.reshape(-1, 1)))
    h = (input - x_y + margin).clamp(min=0.0)
    if p == 2:
        h = h * h
    if weight is not None:
        h = h * weight[_creation.tensor(t)].reshape(-1, 1)
    mask = np.ones((n, c), dtype=input.dtype)
    mask[np.arange(n), t] = 0
    return _reduce((h * _creation.tensor(mask)).sum(dim=1) / c, reduction, "multi_margin_loss")


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` for ``y = 1``, ``max(0, cos(x1, x2) - margin)`` for ``y = -1``."""
    t = np.asarray(target._data if isinstance(target, Tensor) else target)
    dot = (input1 * input2).sum(dim=-1)
    cos = dot / ((input1 * input1).sum(dim=-1) * (input2 * input2).sum(dim=-1) + 1e-12).sqrt()
    pos = _creation.tensor(t == 1)
    loss = _ops.where(pos, 1.0 - cos, (cos - margin).clamp(min=0.0))
    return _reduce(loss, reduction, "cosine_embedding_loss")


def gaussian_nll_loss(input: Tensor, target: Any, var: Tensor, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """``0.5 (log max(var, eps) + (x - y)^2 / max(var, eps))`` (+ ``0.5 log 2 pi`` if ``full``)."""
    t = _same_shape("gaussian_nll_loss", input, target)
    if (var._data < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entries")
    v = var.clamp(min=eps)
    loss = (v.log() + (input - t) ** 2 / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")
