"""``Bernoulli(probs=None, logits=None)``, as ``torch.distributions.Bernoulli``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from gradwise.api.creation import as_tensor
from gradwise.api.random import resolve
from gradwise.autograd.tensor import Tensor
from gradwise.distributions.distribution import (
    BOOLEAN,
    REAL,
    UNIT_INTERVAL,
    Constraint,
    Distribution,
    ShapeLike,
    as_shape,
    broadcast_all,
    clamp_probs,
    to_tensor,
)


class Bernoulli(Distribution):
    """0/1 draws, 1 with probability ``probs`` (or ``sigmoid(logits)``); give one, not both.

    ``log_prob`` and ``entropy`` are computed from the logits with ``logsigmoid``, so they
    stay finite and accurate for large logits.  Samples have the parameter's dtype.

    >>> import gradwise as gw
    >>> from gradwise.distributions import Bernoulli
    >>> d = Bernoulli(logits=gw.tensor([0.0, 100.0]))
    >>> d.log_prob(gw.tensor([1.0, 1.0])).tolist()
    [-0.6931471824645996, -0.0]
    >>> d.mean.tolist()
    [0.5, 1.0]
    """

    arg_constraints: ClassVar[dict[str, Constraint]] = {"probs": UNIT_INTERVAL, "logits": REAL}
    support: ClassVar[Constraint] = BOOLEAN
    has_enumerate_support: ClassVar[bool] = True

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self._probs: Tensor | None = None
        self._logits: Tensor | None = None
        if probs is not None:
            self._given = "probs"
            (self._probs,) = broadcast_all(probs)
            param = self._probs
        else:
            self._given = "logits"
            (self._logits,) = broadcast_all(logits)
            param = self._logits
        super().__init__(param.shape, (), validate_args)

    def _param_names(self) -> tuple[str, ...]:
        return (self._given,)

    @property
    def probs(self) -> Tensor:
        if self._probs is None:
            assert self._logits is not None
            self._probs = self._logits.sigmoid()
        return self._probs

    @property
    def logits(self) -> Tensor:
        if self._logits is None:
            p = clamp_probs(self.probs)
            self._logits = p.log() - (-p).log1p()
        return self._logits

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self._batch_shape

    def expand(self, batch_shape: ShapeLike) -> Bernoulli:
        shape = as_shape(batch_shape)
        if self._given == "probs":
            return Bernoulli(probs=self.probs.broadcast_to(shape), validate_args=False)
        return Bernoulli(logits=self.logits.broadcast_to(shape), validate_args=False)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        p = np.asarray(self.probs._data)
        m = (p >= 0.5).astype(p.dtype)
        m[p == 0.5] = np.nan
        return as_tensor(m)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: ShapeLike = (), *, generator: Any = None) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = np.asarray(self.probs._data)
        return as_tensor((resolve(generator).random(shape) < p).astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        value = to_tensor(value, self.logits.dtype)
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        if value.dtype != logits.dtype:
            value = value.to(logits.dtype)
        # value * l - softplus(l), with softplus(l) = -logsigmoid(-l): stable for any l
        return value * logits + (-logits).logsigmoid()

    def entropy(self) -> Tensor:
        # softplus(l) - p * l (torch's binary_cross_entropy_with_logits(l, p))
        return -(-self.logits).logsigmoid() - self.probs * self.logits

    def enumerate_support(self, expand: bool = True) -> Tensor:
        dtype = self.probs.dtype if self._probs is not None else self.logits.dtype
        values = np.arange(2, dtype=dtype).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = np.broadcast_to(values, (2,) + self._batch_shape).copy()
        return as_tensor(values)
