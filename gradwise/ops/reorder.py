"""Ops that move or replicate elements: flip, roll, repeat/tile, pad, tril/triu, diagonal.

Each is linear, so its gradient is its adjoint: flip is its own adjoint, roll's
is the opposite roll, repeat's sums the copies, pad's crops (constant) or adds
the mirrored/replicated border back onto the edge it came from (reflect,
replicate, circular), diagonal's writes the diagonal into zeros.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from gradwise.errors import ShapeError, format_shape
from gradwise.ops.dims import normalize_dim, normalize_dims, shape_arg, shape_of
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import Prepared, defop


def _prepare_flip(input: Any, *dims: Any, **kwargs: Any) -> Prepared:
    # flip(x, 0, 1), flip(x, (0, 1)), flip(x, dims=[0, 1]) as in PyTorch
    if "dims" in kwargs:
        if dims:
            raise TypeError("flip(): dims given both positionally and as dims=")
        dims = (kwargs.pop("dims"),)
    if kwargs:
        raise TypeError(f"flip() got unexpected keyword arguments {sorted(kwargs)}")
    if not dims:
        raise TypeError('flip() missing 1 required argument: "dims"')
    nd = len(shape_of(input))
    flipped = normalize_dims(shape_arg(dims), nd, "flip") or ()
    # a 0-d tensor has nothing to flip (dim 0 / -1 name it, as in PyTorch)
    return (input,), {"dims": flipped if nd else ()}


FLIP = defop(
    "flip", lambda x, dims: np.flip(x, dims),
    (lambda b, g, out, x, dims: b.flip(g, dims=dims),),
    Domain(("real",), (((3, 4),),), attrs=({"dims": (1,)}, {"dims": (0, 1)})),
    prepare=_prepare_flip, saves_inputs=False, saves_out=False,
    doc="Reverse the order of elements along ``dims``.",
)


def _prepare_roll(input: Any, shifts: Any, dims: Any = None) -> Prepared:
    nd = len(shape_of(input))
    if dims is None:
        # the flattened tensor: one shift (PyTorch also takes it as a 1-tuple)
        if isinstance(shifts, (tuple, list)):
            if len(shifts) != 1:
                raise ShapeError(f"roll: shifts {tuple(shifts)} need dims of the same length "
                                 "(without dims the flattened tensor takes one shift)")
            shifts = shifts[0]
        return (input,), {"shifts": int(shifts), "dims": None}
    dims_t = dims if isinstance(dims, (tuple, list)) else (dims,)
    shifts_t = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
    if len(dims_t) != len(shifts_t):
        raise ShapeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return (input,), {"shifts": tuple(int(s) for s in shifts_t),
                      "dims": tuple(normalize_dim(d, nd, "roll") for d in dims_t)}


def _neg_shift(shifts: Any) -> Any:
    return tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts


ROLL = defop(
    "roll", lambda x, shifts, dims: np.roll(x, shifts, axis=dims),
    (lambda b, g, out, x, shifts, dims: b.roll(g, shifts=_neg_shift(shifts), dims=dims),),
    Domain(("real",), (((3, 4),),), attrs=({"shifts": (1,), "dims": (1,)}, {"shifts": 2, "dims": None},
                                           {"shifts": (1, -2), "dims": (0, 1)})),
    prepare=_prepare_roll, saves_inputs=False, saves_out=False,
    doc="Shift elements cyclically by ``shifts`` along ``dims`` (the flattened tensor if None).",
)


def _repeat_grad(b: Any, g: Any, out: Any, x: Any, reps: tuple[int, ...]) -> Any:
    # out is x tiled; view g as (r0, s0, r1, s1, ...) and sum over the copy axes r_k.
    xs = tuple(x.shape)
    lead = len(reps) - len(xs)
    shape = (1,) * lead + xs
    inter = []
    for r, s in zip(reps, shape):
        inter += [r, s]
    summed = b.sum(b.reshape(g, shape=tuple(inter)), dim=tuple(range(0, 2 * len(reps), 2)), keepdim=False)
    return b.reshape(summed, shape=xs)


def _prepare_repeat(input: Any, *sizes: Any) -> Prepared:
    reps = shape_arg(sizes)
    nd = len(shape_of(input))
    if len(reps) < nd:
        raise ShapeError(f"repeat: the number of repeats {len(reps)} must be at least the number of "
                         f"dimensions {nd} of the input (use tile for fewer)")
    return (input,), {"reps": reps}


def _prepare_tile(input: Any, dims: Any) -> Prepared:
    reps = shape_arg((dims,))
    nd = len(shape_of(input))
    return (input,), {"reps": (1,) * (nd - len(reps)) + reps}


REPEAT = defop(
    "repeat", lambda x, reps: np.tile(x, reps), (_repeat_grad,),
    Domain(("real",), (((2, 3),),), attrs=({"reps": (2, 1)}, {"reps": (3, 2, 2)})),
    prepare=_prepare_repeat, saves_out=False,
    doc="Tile the tensor ``sizes`` times along each dimension (PyTorch's ``repeat``).\n\n"
        ">>> import gradwise as gw\n>>> gw.ones(2, 3).repeat(2, 1).shape\n(4, 3)",
)
TILE = defop(
    "tile", lambda x, reps: np.tile(x, reps), (_repeat_grad,),
    Domain(("real",), (((2, 3),),), attrs=({"reps": (1, 2)},)),
    prepare=_prepare_tile, saves_out=False,
    doc="Like repeat; fewer repeats than dimensions are padded with ones on the left.",
)

_PAD_MODES: dict[str, Literal["constant", "reflect", "edge", "wrap"]] = {
    "constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
"""Public (PyTorch) pad mode -> ``np.pad`` mode."""


def _prepare_pad(input: Any, pad: Any, mode: str = "constant", value: float | None = None) -> Prepared:
    shape = shape_of(input)
    pad = tuple(int(p) for p in pad)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode={mode!r} is not valid; choose one of {tuple(_PAD_MODES)}")
    if len(pad) % 2 or len(pad) // 2 > len(shape):
        raise ShapeError(f"pad: the pad tuple must have an even length of at most {2 * len(shape)} "
                         f"for an input of shape {format_shape(shape)}, got {len(pad)}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported; slice the tensor instead")
    # PyTorch order: (last_left, last_right, second_last_left, ...)
    widths = [(0, 0)] * len(shape)
    for k in range(len(pad) // 2):
        widths[len(shape) - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    for d, (lo, hi) in enumerate(widths):
        if mode == "reflect" and (lo >= shape[d] or hi >= shape[d]) and (lo or hi):
            raise ShapeError(f"pad: reflect padding ({lo}, {hi}) must be smaller than dimension {d}'s "
                             f"size {shape[d]}")
    return (input,), {"widths": tuple(widths), "mode": mode, "value": float(value or 0.0)}


def _pad(x: Any, widths: tuple[tuple[int, int], ...], mode: str, value: float) -> Any:
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_PAD_MODES[mode])


def _unpad(g: Any, widths: tuple[tuple[int, int], ...], mode: str) -> Any:
    # Adjoint of padding: each output element was copied from one input element;
    # add it back there, dimension by dimension.
    g = np.asarray(g)
    if mode == "constant":
        return g[tuple(slice(lo, g.shape[d] - hi) for d, (lo, hi) in enumerate(widths))]
    for d, (lo, hi) in enumerate(widths):
        if not (lo or hi):
            continue
        n = g.shape[d] - lo - hi
        src = np.pad(np.arange(n), (lo, hi), mode=_PAD_MODES[mode])
        shape = list(g.shape)
        shape[d] = n
        r = np.zeros(shape, dtype=g.dtype)
        # NumPy's stubs type ufunc.at's indices as an integer array only; a tuple index is valid.
        np.add.at(r, (slice(None),) * d + (src,), g)  # type: ignore[arg-type]
        g = r
    return g


PAD = defop(
    "pad", _pad,
    (lambda b, g, out, x, widths, mode, value: b.unpad(g, widths=widths, mode=mode),),
    Domain(("real",), (((3, 4),),), attrs=(
        {"widths": ((0, 0), (1, 2)), "mode": "constant", "value": 0.5},
        {"widths": ((2, 1), (1, 2)), "mode": "reflect", "value": 0.0},
        {"widths": ((1, 0), (3, 1)), "mode": "replicate", "value": 0.0},
        {"widths": ((1, 1), (2, 0)), "mode": "circular", "value": 0.0}),
    ),
    prepare=_prepare_pad, saves_inputs=False, saves_out=False,
    doc="Pad with PyTorch's pad tuple (last dimension first): modes constant, reflect, "
        "replicate, circular.\n\n"
        ">>> import gradwise as gw\n>>> gw.pad(gw.ones(2, 2), (1, 1)).shape\n(2, 4)",
)

UNPAD = defop(
    "unpad", _unpad,
    (lambda b, g, out, x, widths, mode: b.pad(g, widths=widths, mode=mode, value=0.0),),
    Domain(make=lambda rng: [Sample((rng.standard_normal((5, 6)),),
                                    {"widths": ((1, 1), (2, 1)), "mode": m}) for m in
                             ("constant", "reflect", "replicate", "circular")]),
    saves_inputs=False, saves_out=False, method=False, function=False,
    doc="The adjoint of ``pad`` (its gradient).",
)


def _prepare_tri(input: Any, diagonal: int = 0) -> Prepared:
    if len(shape_of(input)) < 2:
        raise ShapeError(f"tril/triu: input must have at least 2 dimensions, got "
                         f"{format_shape(shape_of(input))}")
    return (input,), {"diagonal": int(diagonal)}


TRIL = defop(
    "tril", lambda x, diagonal: np.tril(x, diagonal),
    (lambda b, g, out, x, diagonal: b.tril(g, diagonal=diagonal),),
    Domain(("real",), (((3, 4),), ((2, 3, 3),)), attrs=({"diagonal": 0}, {"diagonal": -1})),
    prepare=_prepare_tri, saves_inputs=False, saves_out=False, inplace=True,
    doc="Lower triangle (elements on and below diagonal ``diagonal``), the rest zero.",
)
TRIU = defop(
    "triu", lambda x, diagonal: np.triu(x, diagonal),
    (lambda b, g, out, x, diagonal: b.triu(g, diagonal=diagonal),),
    Domain(("real",), (((3, 4),), ((2, 3, 3),)), attrs=({"diagonal": 0}, {"diagonal": 1})),
    prepare=_prepare_tri, saves_inputs=False, saves_out=False, inplace=True,
    doc="Upper triangle (elements on and above diagonal ``diagonal``), the rest zero.",
)


def _prepare_diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Prepared:
    nd = len(shape_of(input))
    d1, d2 = normalize_dim(dim1, nd, "diagonal"), normalize_dim(dim2, nd, "diagonal")
    if d1 == d2:
        raise ShapeError(f"diagonal: dim1 and dim2 must differ, both are {d1}")
    return (input,), {"offset": int(offset), "dim1": d1, "dim2": d2}


def _diagonal(x: Any, offset: int, dim1: int, dim2: int) -> Any:
    return np.array(np.diagonal(x, offset, dim1, dim2))  # a copy: NumPy's view is read-only


def _diagonal_scatter(g: Any, shape: tuple[int, ...], offset: int, dim1: int, dim2: int) -> Any:
    z = np.zeros(shape, dtype=np.asarray(g).dtype)
    zv = np.moveaxis(z, (dim1, dim2), (-2, -1))  # a view of z
    n = np.shape(g)[-1]
    i = np.arange(n) + max(-offset, 0)
    j = np.arange(n) + max(offset, 0)
    zv[..., i, j] = g
    return z


DIAGONAL = defop(
    "diagonal", _diagonal,
    (lambda b, g, out, x, offset, dim1, dim2: b.diagonal_scatter(g, shape=x.shape, offset=offset,
                                                                  dim1=dim1, dim2=dim2),),
    Domain(("real",), (((3, 4),), ((2, 3, 3),)), attrs=({"offset": 0, "dim1": 0, "dim2": 1},
                                                        {"offset": 1, "dim1": 0, "dim2": 1})),
    prepare=_prepare_diagonal, saves_out=False,
    doc="The diagonal at ``offset`` of the matrices in dims ``dim1``, ``dim2`` (moved last).",
)

DIAGONAL_SCATTER = defop(
    "diagonal_scatter", _diagonal_scatter,
    (lambda b, g, out, src, shape, offset, dim1, dim2: b.diagonal(g, offset=offset, dim1=dim1,
                                                                  dim2=dim2),),
    Domain(make=lambda rng: [Sample((rng.standard_normal((3,)),),
                                    {"shape": (3, 4), "offset": 1, "dim1": 0, "dim2": 1})]),
    saves_inputs=False, saves_out=False, method=False, function=False,
    doc="Zeros of ``shape`` with ``src`` written on a diagonal (adjoint of ``diagonal``).",
)
