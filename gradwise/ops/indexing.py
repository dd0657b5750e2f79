"""Indexing: ``t[key]``, item assignment, gather / scatter / scatter_add, index_select / index_add,
masked_fill and take_along_dim.

The gradient of reading ``x[key]`` scatters the incoming gradient back into
zeros of ``x``'s shape, *adding* at repeated integer indices (``np.add.at``):
``x[[0, 0, 1]].sum()`` gives ``x.grad = [2, 1, 0, ...]``.  Each scatter op's own
gradient is the matching gather, so second derivatives exist.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.errors import DimError, DtypeError, IndexOutOfRangeError, ShapeError, format_shape
from gradwise.ops.dims import normalize_dim, shape_of
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import AnomalyHints, Prepared, defop


def _as_index_array(k: Any) -> Any:
    data = getattr(k, "_data", None)
    if data is not None and not isinstance(k, np.ndarray) and hasattr(k, "grad_fn"):
        k = data  # a Tensor used as an index
    if isinstance(k, list):
        k = np.asarray(k)
    if isinstance(k, np.ndarray):
        if k.dtype.kind == "b":
            return k
        if k.dtype.kind in "iu":
            return k.astype(np.intp, copy=False)
        if k.size == 0:
            return k.astype(np.intp)
        raise DtypeError(f"indexing: index arrays must be integer or bool, got {k.dtype.name}")
    return k


def normalize_key(shape: tuple[int, ...], key: Any) -> tuple[Any, ...]:
    """``key`` as a tuple with Tensor/list indices turned into arrays, bounds checked."""
    if not isinstance(key, tuple):
        key = (key,)
    key = tuple(_as_index_array(k) for k in key)
    consumed = sum(k.ndim if isinstance(k, np.ndarray) and k.dtype.kind == "b" else
                   (0 if (k is None or k is Ellipsis) else 1) for k in key)
    if consumed > len(shape):
        raise IndexOutOfRangeError(f"indexing: too many indices ({consumed}) for a tensor of shape "
                              f"{format_shape(shape)} ({len(shape)} dimensions)")
    dim = 0
    for k in key:
        if k is Ellipsis:
            dim += len(shape) - consumed
            continue
        if k is None:
            continue
        if isinstance(k, np.ndarray) and k.dtype.kind == "b":
            if k.shape != shape[dim:dim + k.ndim]:
                raise IndexOutOfRangeError(
                    f"indexing: boolean mask of shape {format_shape(k.shape)} does not match the "
                    f"indexed dimensions {format_shape(shape[dim:dim + k.ndim])} of a tensor of shape "
                    f"{format_shape(shape)}")
            dim += k.ndim
            continue
        size = shape[dim]
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            if not -size <= k < size:
                raise IndexOutOfRangeError(f"indexing: index {int(k)} is out of range for dimension {dim} "
                                      f"of size {size} (valid: {-size} to {size - 1})")
        elif isinstance(k, np.ndarray) and k.size:
            lo, hi = int(k.min()), int(k.max())
            if lo < -size or hi >= size:
                bad = lo if lo < -size else hi
                raise IndexOutOfRangeError(f"indexing: index {bad} is out of range for dimension {dim} "
                                      f"of size {size} (valid: {-size} to {size - 1})")
        dim += 1
    return key


def _is_basic(key: tuple[Any, ...]) -> bool:
    return not any(isinstance(k, np.ndarray) for k in key)


def _prepare_getitem(input: Any, key: Any) -> Prepared:
    return (input,), {"key": normalize_key(shape_of(input), key)}


def _index_scatter(g: Any, shape: tuple[int, ...], key: tuple[Any, ...]) -> Any:
    # zeros of `shape` with g added at x[key]; np.add.at accumulates repeated indices
    z = np.zeros(shape, dtype=np.asarray(g).dtype)
    if _is_basic(key):
        z[key] = g
    else:
        np.add.at(z, key, g)
    return z


GETITEM = defop(
    "getitem", lambda x, key: np.asarray(x)[key],
    (lambda b, g, out, x, key: b.index_scatter(g, shape=x.shape, key=key),),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)),), {"key": (slice(0, 2), 1)}),
        Sample((rng.standard_normal((3, 4)),), {"key": (Ellipsis, None, slice(None, None, -2))}),
        Sample((rng.standard_normal((3, 4)),), {"key": (np.array([0, 2, 0]),)}),
        Sample((rng.standard_normal((3, 4)),), {"key": (np.array([1, 1]), np.array([0, 3]))}),
        Sample((rng.standard_normal((3, 4)),), {"key": (rng.random((3, 4)) < 0.5,)}),
    ]),
    # Basic indexing returns a view, so the result shares the input's version counter
    # (advanced indexing copies; sharing there only makes in-place checks stricter).
    prepare=_prepare_getitem, saves_out=False, method=False, function=False, view=True,
    doc="``input[key]`` with NumPy's rules (Tensor.__getitem__).",
)

INDEX_SCATTER = defop(
    "index_scatter", _index_scatter,
    # adjoint of reading x[key]: reading g[key]
    (lambda b, g, out, src, shape, key: b.getitem(g, key=key),),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3,)),), {"shape": (4, 2), "key": (np.array([0, 3, 0]), 1)}),
        Sample((rng.standard_normal((2, 2)),), {"shape": (3, 4), "key": (slice(1, 3), slice(0, 2))}),
    ]),
    saves_inputs=False, saves_out=False, method=False, function=False,
    doc="Zeros of ``shape`` with ``src`` added at ``[key]`` (the gradient of indexing).",
)


def _prepare_index_put(input: Any, value: Any, key: Any) -> Prepared:
    return (input, value), {"key": normalize_key(shape_of(input), key)}


def _index_put(x: Any, v: Any, key: tuple[Any, ...]) -> Any:
    r = np.array(x, copy=True)
    try:
        r[key] = v
    except ValueError:
        raise ShapeError(f"item assignment: value of shape {format_shape(np.shape(v))} cannot be "
                         f"broadcast to the indexed shape {format_shape(r[key].shape)}") from None
    return r


INDEX_PUT = defop(
    "index_put", _index_put,
    # The overwritten positions get no gradient; the value gets g read at the key.
    (lambda b, g, out, x, v, key: b.index_put(g, 0.0, key=key),
     lambda b, g, out, x, v, key: b.getitem(g, key=key)),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((4,))), {"key": (1,)}, (0, 1)),
        Sample((rng.standard_normal((3, 4)), rng.standard_normal(())), {"key": (slice(0, 2), 2)}, (0, 1)),
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((2, 4))),
               {"key": (np.array([2, 0]),)}, (0, 1)),
    ]),
    prepare=_prepare_index_put, saves_inputs=False, saves_out=False, method=False, function=False,
    doc="A copy of ``input`` with ``input[key] = value`` (Tensor.__setitem__).",
)


def _along(index: np.ndarray, dim: int) -> tuple[Any, ...]:
    # Full index tuple for "position index[...] along dim, same position elsewhere".
    grids: list[np.ndarray] = list(np.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


def _check_index(op: str, x_shape: tuple[int, ...], index: Any, dim: int,
                 same_ndim: bool = True) -> np.ndarray:
    idx = _as_index_array(index)
    if not isinstance(idx, np.ndarray) or idx.dtype.kind not in "iu":
        raise DtypeError(f"{op}: index must be an integer tensor (int64), got "
                         f"{getattr(idx, 'dtype', type(idx).__name__)}")
    if same_ndim and idx.ndim != len(x_shape):
        raise ShapeError(f"{op}: index has {idx.ndim} dimensions but input has {len(x_shape)} "
                         f"(shapes {format_shape(idx.shape)} and {format_shape(x_shape)}); they must match")
    size = x_shape[dim]
    if idx.size and (idx.min() < -size or idx.max() >= size):
        bad = int(idx.min()) if idx.min() < -size else int(idx.max())
        raise IndexOutOfRangeError(f"{op}: index {bad} is out of range for dimension {dim} of size {size}")
    return idx


def _index_along(op: str, shape: tuple[int, ...], index: Any, dim: int) -> tuple[int, np.ndarray]:
    """The normalised ``dim`` and the checked ``index`` of gather/scatter: in range along ``dim``,
    and no larger than the input in every other dimension (as PyTorch requires)."""
    d = normalize_dim(dim, len(shape), op)
    idx = _check_index(op, shape, index, d)
    for i, (a, s) in enumerate(zip(idx.shape, shape)):
        if i != d and a > s:
            raise ShapeError(f"{op}: index shape {format_shape(idx.shape)} exceeds input shape "
                             f"{format_shape(shape)} in dimension {i}")
    return d, idx


def _prepare_gather(input: Any, dim: int, index: Any) -> Prepared:
    d, idx = _index_along("gather", shape_of(input), index, dim)
    return (input,), {"dim": d, "index": idx}


def _gather(x: Any, dim: int, index: np.ndarray) -> Any:
    # PyTorch's gather reads x[..., index, ...] with index no larger than x off `dim`.
    x = np.asarray(x)
    crop = tuple(slice(0, n) if i != dim else slice(None) for i, n in enumerate(index.shape))
    return x[crop][_along(index, dim)]


def _scatter_add(base: Any, src: Any, dim: int, index: np.ndarray) -> Any:
    r = np.array(base, copy=True)
    src = np.asarray(src)
    crop = tuple(slice(0, n) for n in index.shape)
    np.add.at(r, _along(index, dim), src[crop])
    return r


GATHER = defop(
    "gather", _gather,
    # adjoint of gathering: add g back at the gathered positions
    (lambda b, g, out, x, dim, index: b.scatter_add(x * 0.0, g, dim=dim, index=index),),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)),), {"dim": 1, "index": rng.integers(0, 4, (3, 5))}),
        Sample((rng.standard_normal((3, 4)),), {"dim": 0, "index": rng.integers(0, 3, (2, 3))}),
    ]),
    prepare=_prepare_gather, saves_out=False,
    doc="``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (PyTorch's gather).\n\n"
        ">>> import gradwise as gw\n>>> x = gw.tensor([[1.0, 2.0], [3.0, 4.0]])\n"
        ">>> x.gather(1, gw.tensor([[1], [0]])).tolist()\n[[2.0], [3.0]]",
)


def _prepare_scatter_add(input: Any, dim: int, index: Any, src: Any) -> Prepared:
    shape = shape_of(input)
    d = normalize_dim(dim, len(shape), "scatter_add")
    idx = _check_index("scatter_add", shape, index, d)
    return (input, src), {"dim": d, "index": idx}


SCATTER_ADD = defop(
    "scatter_add", _scatter_add,
    (lambda b, g, out, base, src, dim, index: g,
     lambda b, g, out, base, src, dim, index: b.gather(g, dim=dim, index=index)),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 5))),
               {"dim": 1, "index": rng.integers(0, 4, (3, 5))}, (0, 1)),
    ]),
    prepare=_prepare_scatter_add, saves_inputs=False, saves_out=False, inplace=True,
    doc="A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate).",
)


def _prepare_scatter(input: Any, dim: int, index: Any, src: Any = None, value: Any = None, *,
                     reduce: str | None = None) -> Prepared:
    # PyTorch's two overloads: scatter(dim, index, src) and scatter(dim, index, value)
    if reduce is not None:
        raise ValueError(f"scatter: reduce={reduce!r} is not supported (PyTorch deprecates it); use "
                         "scatter_add for reduce='add'")
    if (src is None) == (value is None):
        raise TypeError("scatter() takes one of src (a tensor) or value (a number), got "
                        + ("neither" if src is None else "both"))
    shape = shape_of(input)
    d, idx = _index_along("scatter", shape, index, dim)
    source = src if src is not None else value
    s_shape = shape_of(source)
    if s_shape and (len(s_shape) != idx.ndim or any(a > b for a, b in zip(idx.shape, s_shape))):
        raise ShapeError(f"scatter: src of shape {format_shape(s_shape)} must have the index's "
                         f"{idx.ndim} dimensions, each at least as large as the index "
                         f"{format_shape(idx.shape)}")
    if hasattr(source, "item") and not s_shape and not hasattr(source, "grad_fn"):
        source = source.item()   # a NumPy scalar
    return (input, source), {"dim": d, "index": idx}


def _scatter(base: Any, src: Any, dim: int, index: np.ndarray) -> Any:
    r = np.array(base, copy=True)
    src = np.asarray(src)
    values = src if src.ndim == 0 else src[tuple(slice(0, n) for n in index.shape)]
    r[_along(index, dim)] = values   # repeated positions: one of the values (the last, in NumPy)
    return r


def _scatter_src_grad(b: Any, g: Any, out: Any, base: Any, src: Any, dim: int, index: np.ndarray) -> Any:
    # each src element read from g where it was written; a src larger than the index
    # gets zeros where it was not read (a 0-d src: the node sums the broadcast gradient)
    gathered = b.gather(g, dim=dim, index=index)
    shape = tuple(src.shape)
    if not shape or shape == tuple(index.shape):
        return gathered
    return b.index_scatter(gathered, shape=shape, key=tuple(slice(0, n) for n in index.shape))


def _unique_rows(rng: np.random.Generator, rows: int, n: int, k: int) -> np.ndarray:
    return np.stack([rng.permutation(n)[:k] for _ in range(rows)])


SCATTER = defop(
    "scatter", _scatter,
    # the overwritten positions of input get no gradient; src gets g read where it was written
    (lambda b, g, out, base, src, dim, index: b.scatter(g, 0.0, dim=dim, index=index),
     _scatter_src_grad),
    # distinct positions along dim: with repeats only one write survives, whose src gradient is
    # then (as in PyTorch, where the survivor is unspecified) not what finite differences see
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 2))),
               {"dim": 1, "index": _unique_rows(rng, 3, 4, 2)}, (0, 1)),
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 3))),
               {"dim": 1, "index": _unique_rows(rng, 3, 4, 2)}, (0, 1)),
        Sample((rng.standard_normal((4, 2)), rng.standard_normal(())),
               {"dim": 0, "index": _unique_rows(rng, 2, 4, 3).T}, (0, 1)),
    ]),
    prepare=_prepare_scatter, saves_out=False, inplace=True,
    doc="A copy of ``input`` with ``src`` (a tensor) or ``value`` (a number) written at ``index``\n"
        "along ``dim``: ``out[index[i][j]][j] = src[i][j]`` for ``dim=0`` (PyTorch's scatter).\n\n"
        ">>> import gradwise as gw\n>>> gw.zeros(2, 3).scatter(1, gw.tensor([[2], [0]]), 1.0).tolist()\n"
        "[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]",
)


def _prepare_index_select(input: Any, dim: int, index: Any) -> Prepared:
    shape = shape_of(input)
    d = normalize_dim(dim, len(shape), "index_select")
    idx = _check_index("index_select", shape, index, d, same_ndim=False)
    if idx.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {format_shape(idx.shape)}")
    return (input,), {"dim": d, "index": idx}


def _index_add(base: Any, src: Any, dim: int, index: np.ndarray) -> Any:
    r = np.array(base, copy=True)
    # NumPy's stubs type ufunc.at's indices as an integer array only; a tuple index is valid.
    np.add.at(r, (slice(None),) * dim + (index,), src)  # type: ignore[arg-type]
    return r


INDEX_SELECT = defop(
    "index_select", lambda x, dim, index: np.take(x, index, axis=dim),
    (lambda b, g, out, x, dim, index: b.index_add(x * 0.0, g, dim=dim, index=index),),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)),), {"dim": 1, "index": np.array([3, 0, 3])}),
        Sample((rng.standard_normal((3, 4)),), {"dim": 0, "index": np.array([2])}),
    ]),
    prepare=_prepare_index_select, saves_out=False,
    doc="Entries of ``input`` at ``index`` along ``dim``.",
)


def _prepare_index_add(input: Any, dim: int, index: Any, source: Any) -> Prepared:
    shape = shape_of(input)
    d = normalize_dim(dim, len(shape), "index_add")
    return (input, source), {"dim": d, "index": _check_index("index_add", shape, index, d, False)}


INDEX_ADD = defop(
    "index_add", _index_add,
    (lambda b, g, out, base, src, dim, index: g,
     lambda b, g, out, base, src, dim, index: b.index_select(g, dim=dim, index=index)),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 3))),
               {"dim": 1, "index": np.array([3, 0, 3])}, (0, 1)),
    ]),
    prepare=_prepare_index_add, saves_inputs=False, saves_out=False, inplace=True,
    doc="A copy of ``input`` with ``source`` added at ``index`` along ``dim``.",
)


def _prepare_masked_fill(input: Any, mask: Any, value: Any) -> Prepared:
    m = _as_index_array(mask)
    if not isinstance(m, np.ndarray) or m.dtype.kind != "b":
        raise DtypeError("masked_fill: mask must be a bool tensor")
    try:
        np.broadcast_shapes(m.shape, shape_of(input))
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {format_shape(m.shape)} does not broadcast to "
                         f"the input's shape {format_shape(shape_of(input))}") from None
    if hasattr(value, "item") and not isinstance(value, np.ndarray):
        value = value.item()
    return (input,), {"mask": m, "value": value}


MASKED_FILL = defop(
    "masked_fill", lambda x, mask, value: np.where(mask, np.asarray(x).dtype.type(value), x),
    (lambda b, g, out, x, mask, value: b.where(mask, 0.0, g),),
    Domain(make=lambda rng: [Sample((rng.standard_normal((3, 4)),),
                                    {"mask": rng.random((3, 4)) < 0.5, "value": -1.0}),
                             Sample((rng.standard_normal((3, 4)),),
                                    {"mask": rng.random((1, 4)) < 0.5, "value": 0.0})]),
    prepare=_prepare_masked_fill, saves_inputs=False, saves_out=False, inplace=True,
    # Where the mask holds, the input is discarded: its gradient is 0 there, and 0 * inf = nan.
    anomaly=AnomalyHints(branches=((0, "input"),)),
    doc="``value`` where ``mask`` is true, ``input`` elsewhere.\n\n"
        ">>> import gradwise as gw\n>>> x = gw.tensor([1.0, -2.0])\n"
        ">>> x.masked_fill(x < 0, 0.0).tolist()\n[1.0, 0.0]",
)


def _prepare_take_along(input: Any, indices: Any, dim: int | None = None) -> Prepared:
    shape = shape_of(input)
    if dim is None:
        raise DimError("take_along_dim: pass dim (flattened inputs: use input.flatten() first)")
    d = normalize_dim(dim, len(shape), "take_along_dim")
    idx = _check_index("take_along_dim", shape, indices, d)
    return (input,), {"dim": d, "indices": idx}


def _take_along(x: Any, dim: int, indices: np.ndarray) -> Any:
    return np.take_along_axis(np.asarray(x), indices, axis=dim)


def _put_along_add(base: Any, src: Any, dim: int, indices: np.ndarray) -> Any:
    r = np.array(base, copy=True)
    full = np.broadcast_shapes(indices.shape[:dim] + (1,) + indices.shape[dim + 1:],
                               r.shape[:dim] + (1,) + r.shape[dim + 1:])
    idx = np.broadcast_to(indices, full[:dim] + (indices.shape[dim],) + full[dim + 1:])
    np.add.at(r, _along(idx, dim), np.broadcast_to(src, idx.shape))
    return r


TAKE_ALONG_DIM = defop(
    "take_along_dim", _take_along,
    (lambda b, g, out, x, dim, indices: b.put_along_dim_add(x * 0.0, g, dim=dim, indices=indices),),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)),), {"dim": 1, "indices": rng.integers(0, 4, (3, 2))}),
        Sample((rng.standard_normal((3, 4)),), {"dim": 0, "indices": rng.integers(0, 3, (1, 4))}),
    ]),
    prepare=_prepare_take_along, saves_out=False,
    doc="``np.take_along_axis``: entries at ``indices`` along ``dim`` (broadcasting elsewhere).",
)

PUT_ALONG_DIM_ADD = defop(
    "put_along_dim_add", _put_along_add,
    (lambda b, g, out, base, src, dim, indices: g,
     lambda b, g, out, base, src, dim, indices: b.take_along_dim(g, dim=dim, indices=indices)),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 2))),
               {"dim": 1, "indices": rng.integers(0, 4, (3, 2))}, (0, 1)),
    ]),
    saves_inputs=False, saves_out=False, method=False, function=False,
    doc="Adjoint of take_along_dim: ``src`` added into ``base`` at ``indices`` along ``dim``.",
)
