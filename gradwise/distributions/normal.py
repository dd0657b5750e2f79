"""``Normal(loc, scale)``, as ``torch.distributions.Normal``."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from gradwise.api.creation import as_tensor
from gradwise.api.random import resolve
from gradwise.autograd.tensor import Tensor
from gradwise.distributions.distribution import (
    POSITIVE,
    REAL,
    Constraint,
    Distribution,
    ShapeLike,
    as_shape,
    broadcast_all,
    to_tensor,
)

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class Normal(Distribution):
    """The normal distribution N(``loc``, ``scale``²); ``loc`` and ``scale`` broadcast.

    ``rsample`` is reparameterised (``loc + eps * scale``), so gradients reach both parameters.

    >>> import gradwise as gw
    >>> from gradwise.distributions import Normal
    >>> d = Normal(gw.tensor([0.0, 1.0]), 2.0)
    >>> d.batch_shape
    gradwise.Size([2])
    >>> d.sample((5,), generator=gw.Generator().manual_seed(0)).shape
    (5, 2)
    >>> round(Normal(0.0, 1.0).log_prob(gw.tensor(0.0)).item(), 4)
    -0.9189
    """

    arg_constraints: ClassVar[dict[str, Constraint]] = {"loc": REAL, "scale": POSITIVE}
    support: ClassVar[Constraint] = REAL
    has_rsample: ClassVar[bool] = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    def expand(self, batch_shape: ShapeLike) -> Normal:
        shape = as_shape(batch_shape)
        return Normal(self.loc.broadcast_to(shape), self.scale.broadcast_to(shape), validate_args=False)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

    def rsample(self, sample_shape: ShapeLike = (), *, generator: Any = None) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = as_tensor(resolve(generator).standard_normal(shape).astype(self.loc.dtype, copy=False))
        return self.loc + eps * self.scale

    def _value(self, value: Any) -> Tensor:
        value = to_tensor(value, self.loc.dtype)
        if self._validate_args:
            self._validate_sample(value)
        return value

    def log_prob(self, value: Any) -> Tensor:
        value = self._value(value)
        return -((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log() - _LOG_SQRT_2PI

    def cdf(self, value: Any) -> Tensor:
        value = self._value(value)
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

    def entropy(self) -> Tensor:
        return 0.5 + _LOG_SQRT_2PI + self.scale.log()

    def icdf(self, value: Any) -> Tensor:
        raise NotImplementedError("Normal.icdf needs erfinv, which gradwise does not have yet")

