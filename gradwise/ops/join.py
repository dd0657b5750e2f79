"""Joining tensors: ``cat`` (alias ``concatenate``) and ``stack``.

Both take any number of inputs; input ``i``'s gradient is its slice of the
incoming gradient (``g[..., offset_i:offset_i + size_i, ...]`` for ``cat``,
``g[..., i, ...]`` for ``stack``).  Splitting (``split``, ``chunk``, ``unbind``)
returns several tensors, so it lives with the multi-output wrappers in
:mod:`gradwise.api.multi`, built from indexing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.errors import ShapeError, format_shape
from gradwise.ops.dims import normalize_dim, shape_of
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import Prepared, VariadicGrads, defop


def _tensors(op: str, tensors: Any) -> tuple[Any, ...]:
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{op}: expected a non-empty list or tuple of tensors, got {type(tensors).__name__}")
    return tuple(tensors)


def _prepare_cat(tensors: Any, dim: int = 0, *, axis: int | None = None) -> Prepared:
    ts = _tensors("cat", tensors)
    if axis is not None:
        dim = axis
    shapes = [shape_of(t) for t in ts]
    nd = len(shapes[0])
    d = normalize_dim(dim, nd, "cat")
    for i, s in enumerate(shapes):
        if len(s) != nd:
            raise ShapeError(f"cat: tensor {i} has {len(s)} dimensions {format_shape(s)} but tensor 0 "
                             f"has {nd} {format_shape(shapes[0])}; all must have the same number")
        for k in range(nd):
            if k != d and s[k] != shapes[0][k]:
                raise ShapeError(
                    f"cat: sizes must match except in dimension {d}: tensor 0 has shape "
                    f"{format_shape(shapes[0])}, tensor {i} has shape {format_shape(s)} "
                    f"(they differ in dimension {k}: {shapes[0][k]} vs {s[k]})")
    offsets = np.cumsum([0] + [s[d] for s in shapes]).tolist()
    return ts, {"dim": d, "offsets": tuple(int(o) for o in offsets)}


def _cat_rule(i: int) -> Any:
    def rule(b: Any, g: Any, out: Any, *inputs: Any, dim: int, offsets: tuple[int, ...]) -> Any:
        key = (slice(None),) * dim + (slice(offsets[i], offsets[i + 1]),)
        return b.getitem(g, key=key)
    return rule


CAT = defop(
    "cat", lambda *xs, dim, offsets: np.concatenate(xs, axis=dim),
    VariadicGrads(_cat_rule),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((2, 3)), rng.standard_normal((1, 3)), rng.standard_normal((2, 3))),
               {"dim": 0, "offsets": (0, 2, 3, 5)}, (0, 1, 2)),
        Sample((rng.standard_normal((2, 1)), rng.standard_normal((2, 3))),
               {"dim": 1, "offsets": (0, 1, 4)}, (0, 1)),
    ]),
    prepare=_prepare_cat, saves_inputs=False, saves_out=False, method=False,
    aliases=("concatenate", "concat"),
    doc="Join tensors along an existing dimension ``dim``.\n\n"
        ">>> import gradwise as gw\n>>> gw.cat([gw.ones(2, 3), gw.zeros(1, 3)]).shape\n(3, 3)",
)


def _prepare_stack(tensors: Any, dim: int = 0, *, axis: int | None = None) -> Prepared:
    ts = _tensors("stack", tensors)
    if axis is not None:
        dim = axis
    shapes = [shape_of(t) for t in ts]
    for i, s in enumerate(shapes):
        if s != shapes[0]:
            raise ShapeError(f"stack: all tensors must have the same shape; tensor 0 is "
                             f"{format_shape(shapes[0])} but tensor {i} is {format_shape(s)}")
    return ts, {"dim": normalize_dim(dim, len(shapes[0]) + 1, "stack")}


def _stack_rule(i: int) -> Any:
    def rule(b: Any, g: Any, out: Any, *inputs: Any, dim: int) -> Any:
        return b.getitem(g, key=(slice(None),) * dim + (i,))
    return rule


STACK = defop(
    "stack", lambda *xs, dim: np.stack(xs, axis=dim),
    VariadicGrads(_stack_rule),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 3))), {"dim": 1}, (0, 1)),
        Sample((rng.standard_normal((3,)),) * 1 + (rng.standard_normal((3,)),), {"dim": 0}, (0, 1)),
    ]),
    prepare=_prepare_stack, saves_inputs=False, saves_out=False, method=False,
    doc="Join same-shaped tensors along a new dimension ``dim``.\n\n"
        ">>> import gradwise as gw\n>>> gw.stack([gw.ones(3), gw.zeros(3)], dim=1).shape\n(3, 2)",
)
