"""``kl_divergence(p, q)`` and ``register_kl``, as in ``torch.distributions.kl``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradwise.api import functions as _ops
from gradwise.autograd.tensor import Tensor
from gradwise.distributions.bernoulli import Bernoulli
from gradwise.distributions.categorical import Categorical
from gradwise.distributions.distribution import Distribution
from gradwise.distributions.normal import Normal

KLFn = Callable[[Any, Any], Tensor]

_KL_REGISTRY: dict[tuple[type, type], KLFn] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[KLFn], KLFn]:
    """Decorator: register ``fn(p, q)`` as the KL divergence of ``type_p`` from ``type_q``."""
    if not (isinstance(type_p, type) and issubclass(type_p, Distribution)
            and isinstance(type_q, type) and issubclass(type_q, Distribution)):
        raise TypeError("register_kl takes two subclasses of Distribution")

    def decorator(fn: KLFn) -> KLFn:
        _KL_REGISTRY[type_p, type_q] = fn
        return fn

    return decorator


def _lookup(type_p: type, type_q: type) -> KLFn | None:
    """The most specific registered pair (closest in both MROs)."""
    best: tuple[int, int] | None = None
    found = None
    for (tp, tq), fn in _KL_REGISTRY.items():
        if issubclass(type_p, tp) and issubclass(type_q, tq):
            rank = (type_p.__mro__.index(tp), type_q.__mro__.index(tq))
            if best is None or rank < best:
                best, found = rank, fn
    return found


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p ‖ q), elementwise over the batch shape, differentiable in both distributions' parameters.

    >>> import gradwise as gw
    >>> from gradwise.distributions import Normal, kl_divergence
    >>> kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0)).item()
    0.5
    """
    fn = _lookup(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} "
                                  f"and q type {type(q).__name__}")
    return fn(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


def _masked(t: Tensor, inf_mask: np.ndarray, zero_mask: np.ndarray) -> Tensor:
    """``t`` with +inf where ``inf_mask`` and 0 where ``zero_mask`` (the latter wins)."""
    inf_mask, zero_mask = np.broadcast_to(inf_mask, t.shape), np.broadcast_to(zero_mask, t.shape)
    if inf_mask.any():
        t = _ops.where(inf_mask, float("inf"), t)
    if zero_mask.any():
        t = _ops.where(zero_mask, 0.0, t)
    return t


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    t = p.probs * (p.logits - q.logits)
    pp, qp = np.asarray(p.probs._data), np.asarray(q.probs._data)
    return _masked(t, qp == 0, pp == 0).sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    # softplus(-x) = -logsigmoid(x)
    t1 = p.probs * (p.logits.logsigmoid() - q.logits.logsigmoid())
    t2 = (1 - p.probs) * ((-p.logits).logsigmoid() - (-q.logits).logsigmoid())
    pp, qp = np.asarray(p.probs._data), np.asarray(q.probs._data)
    return _masked(t1, qp == 0, pp == 0) + _masked(t2, qp == 1, pp == 1)
