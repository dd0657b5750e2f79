"""Reductions over ``dim`` (an int, a tuple of ints, or None for all) with ``keepdim``.

A reduction's gradient is the incoming gradient broadcast back over the
reduced dimensions; ``_expand_back`` re-inserts them (when ``keepdim`` was
false) so that broadcasting lines up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.ops.dims import normalize_dims, shape_of
from gradwise.ops.domain import Domain
from gradwise.ops.registry import defop

_SHAPES = (((3, 4),), ((2, 3, 4),), ((5,),))
_DIM_ATTRS = ({"dim": None, "keepdim": False}, {"dim": (1,), "keepdim": False},
              {"dim": (0,), "keepdim": True}, {"dim": (0, -1), "keepdim": False})


def reduce_domain(kind: str = "real", **kwargs: Any) -> Domain:
    """Domain for a reduction: several shapes, each with several dim/keepdim choices."""
    # (dim (1,) on a 1-D input is out of range, so 1-D cases use dim=None and dim=(0,) only)
    return Domain((kind,), _SHAPES[:2], attrs=_DIM_ATTRS, **kwargs)


def prepare_reduce(input: Any, dim: Any = None, keepdim: bool = False, *,
                   axis: Any = None, keepdims: Any = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Normalise ``dim``/``keepdim`` (NumPy's ``axis``/``keepdims`` accepted too)."""
    if axis is not None:
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return (input,), {"dim": normalize_dims(dim, len(shape_of(input)), "reduce"),
                      "keepdim": bool(keepdim)}


def expand_back(b: Any, g: Any, x: Any, dim: tuple[int, ...] | None, keepdim: bool) -> Any:
    """Reshape a reduced gradient ``g`` so it broadcasts against the input ``x``."""
    if keepdim or dim is None:
        return g if keepdim else b.reshape(g, shape=(1,) * x.ndim) if x.ndim else g
    shape = list(x.shape)
    for d in dim:
        shape[d] = 1
    return b.reshape(g, shape=tuple(shape))


def _sum(x: Any, dim: tuple[int, ...] | None = None, keepdim: bool = False) -> Any:
    return np.sum(x, axis=dim, keepdims=keepdim)


def _count(x: Any, dim: tuple[int, ...] | None) -> int:
    shape = np.shape(x)
    if dim is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[d] for d in dim], dtype=np.int64))


SUM = defop(
    "sum", _sum,
    # Each element contributes with slope 1: broadcast g back over the reduced dims.
    (lambda b, g, out, x, dim, keepdim: b.broadcast_to(expand_back(b, g, x, dim, keepdim),
                                                       shape=x.shape),),
    reduce_domain(),
    prepare=prepare_reduce, saves_out=False,
    doc="Sum over ``dim`` (all dimensions by default).\n\n"
        ">>> import gradwise as gw\n>>> gw.ones(2, 3).sum(dim=1).tolist()\n[3.0, 3.0]",
)


def _mean(x: Any, dim: tuple[int, ...] | None = None, keepdim: bool = False) -> Any:
    return np.mean(x, axis=dim, keepdims=keepdim)


MEAN = defop(
    "mean", _mean,
    # d mean / dx_i = 1/n for each of the n reduced elements.
    (lambda b, g, out, x, dim, keepdim: b.broadcast_to(
        expand_back(b, g, x, dim, keepdim) * (1.0 / _count(x, dim)), shape=x.shape),),
    reduce_domain(),
    prepare=prepare_reduce, saves_out=False,
    doc="Mean over ``dim`` (all dimensions by default).",
)
