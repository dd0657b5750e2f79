"""The ``Distribution`` base class and the helpers its subclasses share.

Parameters are gradwise Tensors, and ``log_prob``, ``entropy``, ``rsample`` and the KL
divergences are built from gradwise ops, so their results are differentiable with respect
to the parameters.  Samples are drawn with NumPy through a ``gradwise.Generator``
(``generator=``, else gradwise's default generator, which ``gw.manual_seed`` resets).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from gradwise.api import functions as _ops
from gradwise.api.creation import as_tensor
from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import get_default_dtype
from gradwise.size import Size

ShapeLike = Sequence[int] | int

# a constraint: a name (as torch prints it) and an elementwise check on an array
Constraint = tuple[str, Callable[[np.ndarray], np.ndarray]]

REAL: Constraint = ("Real()", lambda a: a == a)
POSITIVE: Constraint = ("GreaterThan(lower_bound=0.0)", lambda a: a > 0)
UNIT_INTERVAL: Constraint = ("Interval(lower_bound=0.0, upper_bound=1.0)", lambda a: (a >= 0) & (a <= 1))
NONNEGATIVE: Constraint = ("GreaterThanEq(lower_bound=0.0)", lambda a: a >= 0)
BOOLEAN: Constraint = ("Boolean()", lambda a: (a == 0) | (a == 1))


def as_shape(shape: ShapeLike) -> tuple[int, ...]:
    """``()``, ``5``, ``(2, 3)`` or a ``Size`` -> a tuple of ints."""
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def to_tensor(x: Any, dtype: Any = None) -> Tensor:
    """A parameter or value as a Tensor; numbers and lists get ``dtype`` (default: the default dtype)."""
    if isinstance(x, Tensor):
        return x
    return as_tensor(np.asarray(x, dtype=dtype if dtype is not None else get_default_dtype()))


def broadcast_all(*values: Any) -> tuple[Tensor, ...]:
    """torch's ``broadcast_all``: Tensors keep their dtype, numbers take the first Tensor's
    floating dtype (or the default dtype); all are broadcast to one shape (differentiably)."""
    dtype = next((v.dtype for v in values if isinstance(v, Tensor) and np.issubdtype(v.dtype, np.floating)),
                 get_default_dtype())
    tensors = [to_tensor(v, dtype) for v in values]
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if t.shape == shape else _ops.broadcast_to(t, shape) for t in tensors)


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities clamped to ``[eps, 1 - eps]`` (as torch's ``clamp_probs``)."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


class Distribution:
    """The base of the distributions, with torch's API.

    ``batch_shape`` holds independent distributions of the same family; ``event_shape``
    is the shape of one draw (``()`` for the scalar distributions here).  ``sample``
    (and ``rsample``) return ``sample_shape + batch_shape + event_shape``.

    ``validate_args`` (default: :meth:`set_default_validate_args`, True as in torch)
    checks the parameters at construction and the values given to ``log_prob``, and raises
    ``ValueError`` naming the offending argument.
    """

    has_rsample: ClassVar[bool] = False
    has_enumerate_support: ClassVar[bool] = False
    arg_constraints: ClassVar[dict[str, Constraint]] = {}
    support: ClassVar[Constraint] = REAL
    _validate_default: ClassVar[bool] = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for distributions made without ``validate_args``."""
        if value not in (True, False):
            raise ValueError("validate_args must be True or False")
        Distribution._validate_default = value

    def __init__(self, batch_shape: ShapeLike = (), event_shape: ShapeLike = (),
                 validate_args: bool | None = None) -> None:
        self._batch_shape = as_shape(batch_shape)
        self._event_shape = as_shape(event_shape)
        self._validate_args = self._validate_default if validate_args is None else bool(validate_args)
        if self._validate_args:
            for name in self._param_names():
                self._check(name, getattr(self, name), self.arg_constraints[name], "parameter")

    def _param_names(self) -> tuple[str, ...]:
        """The parameters this instance was made with (``probs`` or ``logits``, not both)."""
        return tuple(self.arg_constraints)

    # ---- shapes
    @property
    def batch_shape(self) -> Size:
        return Size(self._batch_shape)

    @property
    def event_shape(self) -> Size:
        return Size(self._event_shape)

    def _extended_shape(self, sample_shape: ShapeLike = ()) -> tuple[int, ...]:
        return as_shape(sample_shape) + self._batch_shape + self._event_shape

    # ---- validation
    def _check(self, name: str, value: Tensor, constraint: Constraint, what: str) -> None:
        label, ok = constraint
        with np.errstate(invalid="ignore"):
            good = np.asarray(ok(np.asarray(value._data)))
        if not good.all() and what == "value":
            raise ValueError(
                f"Expected value argument (Tensor of shape {tuple(value.shape)}) to be within the support "
                f"({label}) of the distribution {self!r}, but found invalid values:\n{value}")
        if not good.all():
            raise ValueError(
                f"Expected {what} {name} (Tensor of shape {tuple(value.shape)}) of distribution "
                f"{self!r} to satisfy the constraint {label}, but found invalid values:\n{value}")

    def _validate_sample(self, value: Tensor) -> None:
        """Check ``value``'s shape against the batch and event shapes and its values against the support."""
        shape = tuple(value.shape)
        event = self._event_shape
        if event and shape[len(shape) - len(event):] != event:
            raise ValueError(f"The right-most size of value must match event_shape: {shape} vs {event}.")
        try:
            np.broadcast_shapes(shape, self._batch_shape + event)
        except ValueError:
            raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                             f"{shape} vs {self._batch_shape + event}.") from None
        self._check("value", value, self.support, "value")

    # ---- the interface
    def sample(self, sample_shape: ShapeLike = (), *, generator: Any = None) -> Tensor:
        """Draws of shape ``sample_shape + batch_shape + event_shape``, without gradient."""
        if self.has_rsample:
            return self.rsample(sample_shape, generator=generator).detach()
        raise NotImplementedError(f"{type(self).__name__} does not implement sample")

    def rsample(self, sample_shape: ShapeLike = (), *, generator: Any = None) -> Tensor:
        """Reparameterised draws: differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    def sample_n(self, n: int, *, generator: Any = None) -> Tensor:
        return self.sample((n,), generator=generator)

    def log_prob(self, value: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def cdf(self, value: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    def expand(self, batch_shape: ShapeLike) -> Distribution:
        raise NotImplementedError(f"{type(self).__name__} does not implement expand")

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def __repr__(self) -> str:
        params = []
        for name in self._param_names():
            v = getattr(self, name)
            params.append(f"{name}: {v if v.numel() == 1 else Size(v.shape)}")
        return f"{type(self).__name__}({', '.join(params)})"
