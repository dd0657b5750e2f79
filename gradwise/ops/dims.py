"""Argument normalisation shared by the op families: ``dim`` and shape arguments."""

from __future__ import annotations

from typing import Any

from gradwise.errors import DimError


def normalize_dim(dim: Any, ndim: int, op: str) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-dimensional input.

    >>> normalize_dim(-1, 3, "sum")
    2
    """
    try:
        d = int(dim)
    except TypeError:
        raise DimError(f"{op}: dim must be an int, got {dim!r}") from None
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= d <= hi:
        raise DimError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimension"
                       f"{'s' if ndim != 1 else ''} (valid: {lo} to {hi})")
    return d % max(ndim, 1)


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """``dim`` (None, int, or a tuple/list of ints) as a sorted tuple of axes, or None for all."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        dims = tuple(normalize_dim(d, ndim, op) for d in dim)
        if len(set(dims)) != len(dims):
            raise DimError(f"{op}: dim {tuple(dim)} repeats a dimension")
        return tuple(sorted(dims))
    return (normalize_dim(dim, ndim, op),)


def shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` as a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def ndim_of(x: Any) -> int:
    """Number of dimensions of a Tensor, an array or a Python number."""
    return getattr(x, "ndim", 0)


def shape_of(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", ()))
