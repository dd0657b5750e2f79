"""Loss functions (PyTorch's definitions), each a composite of table ops.

``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (per element).  The signatures
are PyTorch's, positions included, with its deprecated ``size_average`` and ``reduce`` flags:
when either is given it decides the reduction (``legacy_reduction``) and a ``UserWarning``
names the ``reduction=`` to use instead.
The error of one prediction is what a loss measures: the simplest is the
difference ``y_pred - y_true``; squaring it (MSE) or taking its absolute value
(L1) makes every miss count positive.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from gradwise.api import creation as _creation
from gradwise.api import functions as _ops
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape

_REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(op: str, size_average: bool | None, reduce: bool | None, reduction: str,
                     stacklevel: int = 3) -> str:
    """The reduction of a call with PyTorch's deprecated flags, by its rules: without either
    flag, ``reduction`` itself; otherwise (a missing flag counts as True) ``reduce=False`` gives
    ``'none'``, else ``size_average=False`` gives ``'sum'``, else ``'mean'``, and a ``UserWarning``
    names the ``reduction=`` to pass instead.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     legacy_reduction("mse_loss", False, None, "mean"), legacy_reduction("mse_loss", True, False, "sum")
    ('sum', 'none')
    >>> legacy_reduction("mse_loss", None, None, "sum")
    'sum'

    A string where ``size_average`` stands is the reduction (gradwise's earlier signatures took
    ``reduction`` third): ``mse_loss(x, y, "sum")`` sums, without a warning.
    """
    if size_average is None and reduce is None:
        return reduction
    if isinstance(size_average, str) and reduce is None:
        # gradwise's earlier positional form, f(input, target, "sum"): the string is the reduction
        return size_average
    for name, flag in (("size_average", size_average), ("reduce", reduce)):
        if flag is not None and not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{op}: {name}={flag!r} is PyTorch's deprecated bool flag (True, False or None); pass "
                            "the reduction by keyword: reduction='mean', 'sum' or 'none'")
    average = True if size_average is None else bool(size_average)
    reduced = True if reduce is None else bool(reduce)
    out = "none" if not reduced else ("mean" if average else "sum")
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{out}' instead.",
                  UserWarning, stacklevel=stacklevel)
    return out


def cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy (``gradwise.cross_entropy``, formula there) with PyTorch's
    ``nn.functional`` signature.

    >>> import gradwise as gw
    >>> gw.nn.functional.cross_entropy(gw.tensor([[0.0, 0.0]]), gw.tensor([1]), reduction="sum").item()
    0.6931...
    """
    reduction = legacy_reduction("cross_entropy", size_average, reduce, reduction)
    return _ops.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def nll_loss(input: Tensor, target: Any, weight: Any = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood (``gradwise.nll_loss``) with PyTorch's ``nn.functional`` signature."""
    reduction = legacy_reduction("nll_loss", size_average, reduce, reduction)
    return _ops.nll_loss(input, target, weight, ignore_index, reduction)


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


def mse_loss(input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean") -> Tensor:
    """Mean squared error: ``(y_pred - y)^2``, reduced.

    >>> import gradwise as gw
    >>> gw.nn.functional.mse_loss(gw.tensor([1.0, 3.0]), gw.tensor([0.0, 1.0])).item()
    2.5
    """
    reduction = legacy_reduction("mse_loss", size_average, reduce, reduction)
    t = _same_shape("mse_loss", input, target)
    d = input - t
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean") -> Tensor:
    """Mean absolute error: ``|y_pred - y|``, reduced."""
    reduction = legacy_reduction("l1_loss", size_average, reduce, reduction)
    t = _same_shape("l1_loss", input, target)
    return _reduce((input - t).abs(), reduction, "l1_loss")


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``d = y_pred - y``."""
    t = _same_shape("huber_loss", input, target)
    a = (input - t).abs()
    quad = a.clamp(max=delta)
    return _reduce(quad * quad * 0.5 + (a - quad) * delta, reduction, "huber_loss")


def smooth_l1_loss(input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (Huber divided by beta)."""
    reduction = legacy_reduction("smooth_l1_loss", size_average, reduce, reduction)
    t = _same_shape("smooth_l1_loss", input, target)
    if beta == 0:
        return l1_loss(input, t, reduction=reduction)
    a = (input - t).abs()
    quad = a.clamp(max=beta)
    return _reduce(quad * quad * (0.5 / beta) + (a - quad), reduction, "smooth_l1_loss")


def binary_cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``-w [y log p + (1 - y) log(1 - p)]`` for probabilities ``p``; each log is clamped to
    at least -100 (PyTorch), so p = 0 or 1 gives a large finite loss."""
    reduction = legacy_reduction("binary_cross_entropy", size_average, reduce, reduction)
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
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """BCE on logits ``x``, stable for any x: with ``l = 1 + (pos_weight - 1) y``,
    ``loss = (1 - y) x + l softplus(-x)``  (equal to ``-[pw y log s(x) + (1-y) log(1-s(x))]``)."""
    reduction = legacy_reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    t = _same_shape("binary_cross_entropy_with_logits", input, target)
    sp = _ops.softplus(-input)
    if pos_weight is not None:
        loss = (1.0 - t) * input + (1.0 + (pos_weight - 1.0) * t) * sp
    else:
        loss = (1.0 - t) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """``y (log y - x)`` with ``x`` log-probabilities (``exp(t) (t - x)`` when ``log_target``).
    Use ``reduction='batchmean'`` for the mathematical KL divergence per sample."""
    reduction = legacy_reduction("kl_div", size_average, reduce, reduction)
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
                      weight: Tensor | None = None, size_average: bool | None = None, reduce: bool | None = None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge: ``sum_{i != y} max(0, margin - x_y + x_i)^p / C`` per sample."""
    reduction = legacy_reduction("multi_margin_loss", size_average, reduce, reduction)
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
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` for ``y = 1``, ``max(0, cos(x1, x2) - margin)`` for ``y = -1``."""
    reduction = legacy_reduction("cosine_embedding_loss", size_average, reduce, reduction)
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
