"""Where each op's tests draw their inputs from.

Central finite differences are only meaningful where the op is smooth and
defined, so every op declares a :class:`Domain`: the value range of each array
input (``positive`` for ``log``, ``kinkfree`` for ``abs`` and ``relu`` so that a
step of ``eps`` never crosses the kink) and a few shape cases that exercise
broadcasting.  Ops whose inputs need structure (an SPD matrix for
``cholesky``, index arrays for ``gather``) pass ``make`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int, ...]

# Value ranges a test can ask for, each as a function of (rng, shape) -> float64 array.
KINDS: dict[str, Callable[[np.random.Generator, Shape], np.ndarray]] = {
    # Standard normal: smooth ops defined everywhere.
    "real": lambda r, s: r.standard_normal(s),
    # Bounded away from 0 and from overflow: log, sqrt, pow bases, divisors of one sign.
    "positive": lambda r, s: r.uniform(0.5, 2.0, s),
    # Strictly inside (-1, 1) away from the ends: arcsin, arccos, atanh.
    "unit": lambda r, s: r.uniform(-0.8, 0.8, s),
    # Either sign but |x| in [0.5, 2]: divisors, reciprocal.
    "nonzero": lambda r, s: r.uniform(0.5, 2.0, s) * r.choice([-1.0, 1.0], s),
    # Either sign with |x| >= 0.1: ops with a kink at 0 (abs, relu, leaky_relu, sign).
    "kinkfree": lambda r, s: r.uniform(0.1, 2.0, s) * r.choice([-1.0, 1.0], s),
    # Small magnitudes, for exp-like ops whose second difference would lose digits.
    "small": lambda r, s: r.uniform(-1.0, 1.0, s),
    # Distinct values, well separated, so max/min/sort have no ties near eps.
    "distinct": lambda r, s: (r.permutation(int(np.prod(s, dtype=int))).reshape(s) * 0.3
                              + r.uniform(-0.05, 0.05, s)),
    # Booleans (no gradient): masks for where/logical ops.
    "bool": lambda r, s: r.random(s) < 0.5,
    # Small non-negative integers (no gradient): floor_divide, remainder operands.
    "int": lambda r, s: r.integers(1, 5, s),
}


@dataclass(frozen=True)
class Sample:
    """One concrete call of an op for tests.

    ``args`` are the positional inputs (float64 arrays for the differentiable
    ones, anything else for the rest), ``attrs`` the attributes, and ``diff``
    the positions of ``args`` that the test differentiates.
    """

    args: tuple[Any, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    diff: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Domain:
    """How the table test draws samples for one op.

    Either give ``kinds`` (one per positional input, keys of :data:`KINDS`)
    with ``shapes`` (a tuple of cases, each one shape per input) and
    ``attrs`` (a tuple of attribute dicts, each combined with each shape case),
    or give ``make(rng) -> list[Sample]`` for structured inputs.

    ``second_order=False`` skips the second-derivative check (only for rules
    that are documented as not twice differentiable).  ``diff`` lists the input
    positions to differentiate; by default every input whose kind is not
    ``bool``/``int``.
    """

    kinds: tuple[str, ...] = ()
    shapes: tuple[tuple[Shape, ...], ...] = ()
    attrs: tuple[dict[str, Any], ...] = ({},)
    make: Callable[[np.random.Generator], list[Sample]] | None = None
    second_order: bool = True
    diff: tuple[int, ...] | None = None

    def samples(self, rng: np.random.Generator) -> list[Sample]:
        """Concrete samples drawn from ``rng`` (float64)."""
        if self.make is not None:
            return list(self.make(rng))
        if not self.kinds:
            raise ValueError("Domain needs kinds (with shapes) or make")
        diff = self.diff
        if diff is None:
            diff = tuple(i for i, k in enumerate(self.kinds) if k not in ("bool", "int"))
        out = []
        for shapes in self.shapes:
            if len(shapes) != len(self.kinds):
                raise ValueError(f"shape case {shapes} has {len(shapes)} shapes for {len(self.kinds)} inputs")
            for attrs in self.attrs:
                args = tuple(np.asarray(KINDS[k](rng, s)) for k, s in zip(self.kinds, shapes))
                out.append(Sample(args, dict(attrs), diff))
        return out


def unary(kind: str = "real", **kwargs: Any) -> Domain:
    """Domain for a one-input elementwise op: a matrix, a vector and a scalar."""
    return Domain((kind,), (((3, 4),), ((5,),), ((),)), **kwargs)


def binary(kind_a: str = "real", kind_b: str = "real", **kwargs: Any) -> Domain:
    """Domain for a two-input elementwise op, on shapes that broadcast both ways."""
    shapes = (((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (2, 3)))
    return Domain((kind_a, kind_b), shapes, **kwargs)
