"""Shape ops that only re-index memory: reshape, permute, transpose, squeeze, unsqueeze.

Each is its own adjoint up to the inverse re-indexing: the gradient of a
reshape is a reshape back, of a permutation the inverse permutation.  Outputs
may share memory with the input, so they share its version counter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.errors import ShapeError, format_shape
from gradwise.ops.dims import normalize_dim, normalize_dims, shape_arg, shape_of
from gradwise.ops.domain import Domain
from gradwise.ops.registry import defop

_VIEW = {"saves_out": False, "view": True}


def _reshape(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    try:
        return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)
    except ValueError:
        size = int(np.prod(np.shape(x), dtype=np.int64))
        raise ShapeError(f"reshape/view: cannot reshape a tensor of shape "
                         f"{format_shape(np.shape(x))} ({size} elements) into {shape}; the number "
                         "of elements must stay the same (one dimension may be -1)") from None


def _prepare_reshape(input: Any, *shape: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (input,), {"shape": shape_arg(shape)}


RESHAPE = defop(
    "reshape", _reshape,
    (lambda b, g, out, x, shape: b.reshape(g, shape=x.shape),),
    Domain(("real",), (((2, 3, 4),),), attrs=({"shape": (6, -1)}, {"shape": (24,)})),
    prepare=_prepare_reshape, **_VIEW, aliases=("view",),
    doc="The same elements in a new shape; one dimension may be -1.\n\n"
        ">>> import gradwise as gw\n>>> gw.arange(6).reshape(2, 3).shape\n(2, 3)",
)


def _prepare_flatten(input: Any, start_dim: int = 0,
                     end_dim: int = -1) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = shape_of(input)
    if not shape:
        return (input,), {"shape": (1,)}
    s = normalize_dim(start_dim, len(shape), "flatten")
    e = normalize_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    new = shape[:s] + (int(np.prod(shape[s:e + 1], dtype=np.int64)),) + shape[e + 1:]
    return (input,), {"shape": new}


FLATTEN = defop(
    "flatten", _reshape,
    (lambda b, g, out, x, shape: b.reshape(g, shape=x.shape),),
    Domain(("real",), (((2, 3, 4),),), attrs=({"shape": (2, 12)},)),
    prepare=_prepare_flatten, **_VIEW,
    doc="Merge dimensions ``start_dim..end_dim`` into one (default: all).",
)


def _prepare_unflatten(input: Any, dim: int, sizes: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = shape_of(input)
    d = normalize_dim(dim, len(shape), "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if -1 in sizes:
        known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
        sizes = tuple(shape[d] // known if s == -1 else s for s in sizes)
    if int(np.prod(sizes, dtype=np.int64)) != shape[d]:
        raise ShapeError(f"unflatten: sizes {sizes} do not multiply to dimension {dim}'s "
                         f"size {shape[d]}")
    return (input,), {"shape": shape[:d] + sizes + shape[d + 1:]}


UNFLATTEN = defop(
    "unflatten", _reshape,
    (lambda b, g, out, x, shape: b.reshape(g, shape=x.shape),),
    Domain(("real",), (((2, 12),),), attrs=({"shape": (2, 3, 4)},)),
    prepare=_prepare_unflatten, **_VIEW,
    doc="Split dimension ``dim`` into ``sizes``.",
)


def _inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


def _prepare_permute(input: Any, *dims: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    nd = len(shape_of(input))
    dims = shape_arg(dims)
    perm = tuple(normalize_dim(d, nd, "permute") for d in dims)
    if sorted(perm) != list(range(nd)):
        raise ShapeError(f"permute: dims {dims} must be a permutation of 0..{nd - 1} for a "
                         f"{nd}-dimensional tensor")
    return (input,), {"dims": perm}


PERMUTE = defop(
    "permute", lambda x, dims: np.transpose(x, dims),
    (lambda b, g, out, x, dims: b.permute(g, dims=_inverse(dims)),),
    Domain(("real",), (((2, 3, 4),),), attrs=({"dims": (2, 0, 1)},)),
    prepare=_prepare_permute, saves_inputs=False, **_VIEW,
    doc="Reorder dimensions: output dimension i is input dimension ``dims[i]``.",
)


def _prepare_transpose(input: Any, dim0: int, dim1: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    nd = len(shape_of(input))
    return (input,), {"dim0": normalize_dim(dim0, nd, "transpose"),
                      "dim1": normalize_dim(dim1, nd, "transpose")}


TRANSPOSE = defop(
    "transpose", lambda x, dim0, dim1: x.swapaxes(dim0, dim1) if type(x) is np.ndarray else np.swapaxes(x, dim0, dim1),
    # A swap of two dimensions is its own inverse.
    (lambda b, g, out, x, dim0, dim1: b.transpose(g, dim0=dim0, dim1=dim1),),
    Domain(("real",), (((2, 3, 4),),), attrs=({"dim0": 0, "dim1": 2},)),
    prepare=_prepare_transpose, saves_inputs=False, **_VIEW, aliases=("swapaxes", "swapdims"),
    doc="Swap dimensions ``dim0`` and ``dim1``.",
)


def _prepare_movedim(input: Any, source: Any, destination: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    nd = len(shape_of(input))
    src = source if isinstance(source, (tuple, list)) else (source,)
    dst = destination if isinstance(destination, (tuple, list)) else (destination,)
    src = tuple(normalize_dim(d, nd, "movedim") for d in src)
    dst = tuple(normalize_dim(d, nd, "movedim") for d in dst)
    if len(src) != len(dst):
        raise ShapeError(f"movedim: source {source} and destination {destination} differ in length")
    rest = [d for d in range(nd) if d not in src]
    perm = [0] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(rest)
    for i in range(nd):
        if i not in dst:
            perm[i] = next(it)
    return (input,), {"dims": tuple(perm)}


MOVEDIM = defop(
    "movedim", lambda x, dims: np.transpose(x, dims),
    (lambda b, g, out, x, dims: b.permute(g, dims=_inverse(dims)),),
    Domain(("real",), (((2, 3, 4),),), attrs=({"dims": (1, 2, 0)},)),
    prepare=_prepare_movedim, saves_inputs=False, **_VIEW, aliases=("moveaxis",),
    doc="Move dimension(s) ``source`` to position(s) ``destination``.",
)


def _prepare_squeeze(input: Any, dim: Any = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = shape_of(input)
    dims = normalize_dims(dim, len(shape), "squeeze")
    if dims is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    # PyTorch leaves a dimension of size != 1 alone instead of failing.
    dims = tuple(d for d in dims if shape[d] == 1)
    return (input,), {"shape": tuple(s for i, s in enumerate(shape) if i not in dims)}


SQUEEZE = defop(
    "squeeze", _reshape,
    (lambda b, g, out, x, shape: b.reshape(g, shape=x.shape),),
    Domain(("real",), (((2, 1, 3),),), attrs=({"shape": (2, 3)},)),
    prepare=_prepare_squeeze, **_VIEW,
    doc="Remove dimensions of size 1 (all, or those in ``dim``).",
)


def _prepare_unsqueeze(input: Any, dim: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    nd = len(shape_of(input))
    return (input,), {"dim": normalize_dim(dim, nd + 1, "unsqueeze")}


UNSQUEEZE = defop(
    "unsqueeze", lambda x, dim: np.expand_dims(x, dim),
    (lambda b, g, out, x, dim: b.squeeze_dim(g, dim=dim),),
    Domain(("real",), (((2, 3),),), attrs=({"dim": 1}, {"dim": -1})),
    prepare=_prepare_unsqueeze, saves_inputs=False, **_VIEW,
    doc="Insert a dimension of size 1 at ``dim``.",
)

SQUEEZE_DIM = defop(
    "squeeze_dim", lambda x, dim: np.squeeze(x, axis=dim),
    (lambda b, g, out, x, dim: b.unsqueeze(g, dim=dim),),
    Domain(("real",), (((2, 1, 3),),), attrs=({"dim": 1}, {"dim": -2})),
    saves_inputs=False, **_VIEW, method=False, function=False,
    doc="Remove one dimension of size 1 (the adjoint of ``unsqueeze``).",
)
