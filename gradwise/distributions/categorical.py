"""``Categorical(probs=None, logits=None)``, as ``torch.distributions.Categorical``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from gradwise.api.creation import as_tensor
from gradwise.api.random import resolve
from gradwise.autograd.tensor import Tensor
from gradwise.distributions.distribution import (
    NONNEGATIVE,
    REAL,
    Constraint,
    Distribution,
    ShapeLike,
    as_shape,
    clamp_probs,
    to_tensor,
)


class Categorical(Distribution):
    """A distribution over ``0 .. K-1``, given by ``probs`` (non-negative weights, normalised
    along the last dimension) or ``logits`` (unnormalised log-probabilities), not both.

    ``probs`` of shape ``(B, K)`` gives ``batch_shape`` ``(B,)``; samples are int64 indices.

    >>> import gradwise as gw
    >>> from gradwise.distributions import Categorical
    >>> d = Categorical(probs=gw.tensor([[1.0, 3.0], [1.0, 1.0]]))
    >>> d.batch_shape
    gradwise.Size([2])
    >>> d.probs.tolist()
    [[0.25, 0.75], [0.5, 0.5]]
    >>> d.sample((4,), generator=gw.Generator().manual_seed(0)).shape
    (4, 2)
    >>> round(d.log_prob(gw.tensor([1, 0]))[0].item(), 4)
    -0.2877
    """

    arg_constraints: ClassVar[dict[str, Constraint]] = {"probs": NONNEGATIVE, "logits": REAL}
    has_enumerate_support: ClassVar[bool] = True

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self._probs: Tensor | None = None
        self._logits: Tensor | None = None
        if probs is not None:
            p = to_tensor(probs)
            if p.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self._given = "probs"
            self._probs = p
            if validate_args or (validate_args is None and self._validate_default):
                # checked before normalising, so that negative weights are reported as given
                self._check("probs", p, NONNEGATIVE, "parameter")
            self._probs = p / p.sum(-1, keepdim=True)
            param = p
        else:
            lg = to_tensor(logits)
            if lg.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self._given = "logits"
            self._logits = lg - lg.logsumexp(-1, keepdim=True)
            param = lg
        self._num_events = int(param.shape[-1])
        super().__init__(param.shape[:-1], (), validate_args)

    def _param_names(self) -> tuple[str, ...]:
        return (self._given,)

    @property
    def support(self) -> Constraint:  # type: ignore[override]
        k = self._num_events
        return (f"IntegerInterval(lower_bound=0, upper_bound={k - 1})",
                lambda a: (a % 1 == 0) & (a >= 0) & (a <= k - 1))

    @property
    def probs(self) -> Tensor:
        """The normalised probabilities, ``(*batch_shape, K)``."""
        if self._probs is None:
            assert self._logits is not None
            self._probs = self._logits.softmax(-1)
        return self._probs

    @property
    def logits(self) -> Tensor:
        """The normalised log-probabilities (``logsumexp`` 0 along the last dimension)."""
        if self._logits is None:
            self._logits = clamp_probs(self.probs).log()
        return self._logits

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self._batch_shape + (self._num_events,)

    def expand(self, batch_shape: ShapeLike) -> Categorical:
        shape = as_shape(batch_shape) + (self._num_events,)
        if self._given == "probs":
            return Categorical(probs=self.probs.broadcast_to(shape), validate_args=False)
        return Categorical(logits=self.logits.broadcast_to(shape), validate_args=False)

    @property
    def mean(self) -> Tensor:
        """Not defined for a categorical: NaN (as torch)."""
        return as_tensor(np.full(self._batch_shape, np.nan, dtype=self.probs.dtype))

    @property
    def variance(self) -> Tensor:
        """Not defined for a categorical: NaN (as torch)."""
        return self.mean

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    def sample(self, sample_shape: ShapeLike = (), *, generator: Any = None) -> Tensor:
        shape = as_shape(sample_shape) + self._batch_shape
        cdf = np.cumsum(np.asarray(self.probs._data, dtype=np.float64), axis=-1)
        u = resolve(generator).random(shape) * cdf[..., -1]   # total exactly the last cumulative value
        idx = (cdf <= u[..., None]).sum(-1)
        return as_tensor(np.minimum(idx, self._num_events - 1).astype(np.int64))

    def log_prob(self, value: Any) -> Tensor:
        value = to_tensor(value, np.int64)
        if self._validate_args:
            self._validate_sample(value)
        index = np.asarray(value._data).astype(np.int64)
        shape = np.broadcast_shapes(index.shape, self._batch_shape)
        logits = self.logits
        if logits.shape[:-1] != shape:
            logits = logits.broadcast_to(shape + (self._num_events,))
        picked = as_tensor(np.broadcast_to(index, shape)[..., None])
        return logits.gather(-1, picked).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = np.arange(self._num_events, dtype=np.int64).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = np.broadcast_to(values, (self._num_events,) + self._batch_shape).copy()
        return as_tensor(values)

