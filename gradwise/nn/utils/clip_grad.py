"""``nn.utils.clip_grad_norm_`` and ``clip_grad_value_``: gradient clipping."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError


class NonFiniteGradientError(GradwiseError, RuntimeError):
    """clip_grad_norm_ found a NaN or infinite total norm with error_if_nonfinite=True."""


def _grads(parameters: Any) -> list[Tensor]:
    """The ``.grad`` tensors of the parameters that have one (updated in place by the callers)."""
    ps = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in ps if p.grad is not None]


def clip_grad_norm_(parameters: Any, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so their total ``norm_type``-norm is at most ``max_norm``;
    returns the total norm before clipping (the cure for exploding gradients).

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.zeros(2)); w.grad = gw.tensor([3.0, 4.0])
    >>> gw.nn.utils.clip_grad_norm_([w], 1.0).item(), [round(v, 4) for v in w.grad.tolist()]
    (5.0, [0.6, 0.8])
    """
    grads = _grads(parameters)
    if not grads:
        return Tensor(0.0)
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        total = max(float(np.abs(g._data).max()) for g in grads)
    else:
        total = float(sum(float(np.sum(np.abs(g._data.astype(np.float64)) ** norm_type)) for g in grads)
                      ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise NonFiniteGradientError(f"clip_grad_norm_: the total norm of the gradients is {total}; a NaN or "
                                     "infinite gradient (check the learning rate and the loss), or pass "
                                     "error_if_nonfinite=False")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g._data = g._data * g.dtype.type(coef)
    return Tensor(total)


def clip_grad_value_(parameters: Any, clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``."""
    for g in _grads(parameters):
        g._data = np.clip(g._data, -clip_value, clip_value)
