"""Reductions over ``dim`` (an int, a tuple of ints, or None for all) with ``keepdim``.

A reduction's gradient is the incoming gradient broadcast back over the
reduced dimensions; :func:`expand_back` re-inserts them (when ``keepdim`` was
false) so that broadcasting lines up.  NumPy's ``axis``/``keepdims`` spellings
are accepted; an empty ``dim`` tuple means every dimension, as in PyTorch.

``max``/``min`` with a ``dim`` return ``(values, indices)`` and live in
:mod:`gradwise.api.multi` (argmax plus ``take_along_dim``).  var, std,
median and norm are in :mod:`gradwise.ops.reduce_stats`; cumulative sums and
products in :mod:`gradwise.ops.cumulative`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.errors import DimError, ShapeError, format_shape
from gradwise.ops import cumulative  # noqa: F401  (cumprod: prod's gradient at zeros uses it)
from gradwise.ops.dims import normalize_dim, normalize_dims, shape_of
from gradwise.ops.domain import Domain
from gradwise.ops.registry import Prepare, Prepared, defop

_SHAPES = (((3, 4),), ((2, 3, 4),), ((5,),))
_DIM_ATTRS = ({"dim": None, "keepdim": False}, {"dim": (1,), "keepdim": False},
              {"dim": (0,), "keepdim": True}, {"dim": (0, -1), "keepdim": False})


def reduce_domain(kind: str = "real", **kwargs: Any) -> Domain:
    """Domain for a reduction: several shapes, each with several dim/keepdim choices."""
    # (dim (1,) on a 1-D input is out of range, so 1-D cases use dim=None and dim=(0,) only)
    return Domain((kind,), _SHAPES[:2], attrs=_DIM_ATTRS, **kwargs)


def _dims(dim: Any, axis: Any, input: Any, op: str) -> tuple[int, ...] | None:
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: got both dim={dim!r} and its NumPy spelling axis={axis!r}")
        dim = axis
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        return None
    return normalize_dims(dim, len(shape_of(input)), op)


def reduction_prepare(op: str, *, dtype: bool = False) -> Prepare:
    """A ``prepare`` for ``op(input, dim=None, keepdim=False[, *, dtype])`` that names ``op`` in errors."""
    if dtype:
        def prepare(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
                    axis: Any = None, keepdims: Any = None) -> Prepared:
            attrs = {"dim": _dims(dim, axis, input, op),
                     "keepdim": bool(keepdim if keepdims is None else keepdims)}
            if dtype is not None:
                attrs["dtype"] = np.dtype(dtype)
            return (input,), attrs
        return prepare

    def prepare_plain(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
                      keepdims: Any = None) -> Prepared:
        return (input,), {"dim": _dims(dim, axis, input, op),
                          "keepdim": bool(keepdim if keepdims is None else keepdims)}
    return prepare_plain


prepare_reduce = reduction_prepare("reduce")
"""Generic ``dim``/``keepdim`` normalisation (errors say "reduce"; op families use reduction_prepare)."""


def expand_back(b: Any, g: Any, x: Any, dim: tuple[int, ...] | None, keepdim: bool) -> Any:
    """Reshape a reduced gradient ``g`` so it broadcasts against the input ``x``."""
    if keepdim or dim is None:
        return g if keepdim else b.reshape(g, shape=(1,) * x.ndim) if x.ndim else g
    shape = list(x.shape)
    for d in dim:
        shape[d] = 1
    return b.reshape(g, shape=tuple(shape))


def _count(x: Any, dim: tuple[int, ...] | None) -> int:
    shape = np.shape(x)
    if dim is None:
        return math.prod(shape)
    return math.prod([shape[d] for d in dim])


def _sum(x: Any, dim: tuple[int, ...] | None = None, keepdim: bool = False, dtype: Any = None) -> Any:
    if dtype is None and type(x) is np.ndarray and x.dtype.kind in "fc":
        # np.sum minus its Python wrapper.  NumPy's overloads of ufunc.reduce only take a literal
        # keepdims (True or False), not a bool variable.
        return np.add.reduce(x, axis=dim, keepdims=keepdim)  # type: ignore[call-overload]
    return np.sum(x, axis=dim, keepdims=keepdim, dtype=dtype)


SUM = defop(
    "sum", _sum,
    # Each element contributes with slope 1: broadcast g back over the reduced dims.
    (lambda b, g, out, x, dim, keepdim, dtype=None: b.broadcast_to(expand_back(b, g, x, dim, keepdim),
                                                                   shape=x.shape),),
    reduce_domain(),
    prepare=reduction_prepare("sum", dtype=True), saves_out=False,
    doc="Sum over ``dim`` (all dimensions by default); bool and int inputs sum to int64.\n\n"
        ">>> import gradwise as gw\n>>> gw.ones(2, 3).sum(dim=1).tolist()\n[3.0, 3.0]",
)


def _mean(x: Any, dim: tuple[int, ...] | None = None, keepdim: bool = False, dtype: Any = None) -> Any:
    return np.mean(x, axis=dim, keepdims=keepdim, dtype=dtype)


MEAN = defop(
    "mean", _mean,
    # d mean / dx_i = 1/n for each of the n reduced elements.
    (lambda b, g, out, x, dim, keepdim, dtype=None: b.broadcast_to(
        expand_back(b, g, x, dim, keepdim) * (1.0 / _count(x, dim)), shape=x.shape),),
    reduce_domain(),
    prepare=reduction_prepare("mean", dtype=True), saves_out=False,
    doc="Mean over ``dim`` (all dimensions by default).\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([[1.0, 2.0], [3.0, 5.0]]).mean(dim=0).tolist()\n[2.0, 3.5]",
)


def _others_product(b: Any, x: Any, dim: Any) -> Any:
    """``prod_{j != i} x_j`` over the reduced elements, by exclusive cumulative products."""
    nd = x.ndim
    if nd == 0:
        return x * 0.0 + 1.0
    red = tuple(range(nd)) if dim is None else dim
    keep = tuple(d for d in range(nd) if d not in red)
    perm = keep + red
    kept = tuple(x.shape[d] for d in keep)
    row = b.reshape(b.permute(x, dims=perm), shape=kept + (-1,))
    k = len(keep)
    both = (b.cumprod(row, dim=k, reverse=False, exclusive=True)
            * b.cumprod(row, dim=k, reverse=True, exclusive=True))
    both = b.reshape(both, shape=tuple(x.shape[d] for d in perm))
    return b.permute(both, dims=tuple(int(i) for i in np.argsort(perm)))


def _prod_grad(b: Any, g: Any, out: Any, x: Any, dim: Any, keepdim: bool, dtype: Any = None) -> Any:
    # d prod / dx_i = prod_{j != i} x_j, which is out / x_i when no x is 0.  With zeros
    # it is the product of an exclusive cumprod from the left and one from the right: a
    # polynomial without division, whose own derivatives (through cumprod's exact rule)
    # are right at the zeros too.
    ge = expand_back(b, g, x, dim, keepdim)
    if not bool(b.any(x == 0, dim=None, keepdim=False)):
        return ge * expand_back(b, out, x, dim, keepdim) / x
    return ge * _others_product(b, x, dim)


PROD = defop(
    "prod", lambda x, dim=None, keepdim=False, dtype=None: np.prod(x, axis=dim, keepdims=keepdim,
                                                                    dtype=dtype),
    (_prod_grad,),
    # Inputs with one and several zeros are tested in tests/ops/test_reduce.py.
    reduce_domain("positive"),
    prepare=reduction_prepare("prod", dtype=True),
    doc="Product over ``dim``; gradients are exact (first and second order) with zeros.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([2.0, 3.0, 4.0]).prod().item()\n24.0",
)


def _extreme_grad(b: Any, g: Any, out: Any, x: Any, dim: Any, keepdim: bool) -> Any:
    # The gradient goes to the elements equal to the selected value, split evenly among
    # ties (PyTorch's amax/amin, and max/min/median without dim).  A NaN result is
    # selected by the NaN inputs.
    oe = expand_back(b, out, x, dim, keepdim)
    hit = x == oe
    if bool(b.any(out != out, dim=None, keepdim=False)):
        hit = hit | ((x != x) & (oe != oe))
    count = b.sum(hit, dim=dim, keepdim=True)
    return expand_back(b, g, x, dim, keepdim) * hit / count


def _extreme(name: str, fn: Any) -> Any:
    def forward(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
        try:
            return fn(x, axis=dim, keepdims=keepdim)
        except ValueError:
            raise ShapeError(f"{name}: cannot reduce a tensor of shape {format_shape(np.shape(x))} over "
                             f"dim {dim}: a maximum or minimum of zero elements is undefined") from None
    return forward


AMAX = defop(
    "amax", _extreme("amax", np.amax), (_extreme_grad,), reduce_domain("distinct"),
    prepare=reduction_prepare("amax"),
    doc="Maximum over ``dim`` (all by default); ties share the gradient evenly.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([[1.0, 5.0], [7.0, 2.0]]).amax(dim=1).tolist()\n[5.0, 7.0]",
)
AMIN = defop(
    "amin", _extreme("amin", np.amin), (_extreme_grad,), reduce_domain("distinct"),
    prepare=reduction_prepare("amin"),
    doc="Minimum over ``dim`` (all by default); ties share the gradient evenly.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([[1.0, 5.0], [7.0, 2.0]]).amin(dim=1).tolist()\n[1.0, 2.0]",
)


def _arg_prepare(op: str) -> Prepare:
    def prepare(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
                keepdims: Any = None) -> Prepared:
        if axis is not None:
            dim = axis
        if isinstance(dim, (tuple, list)):
            raise DimError(f"{op}: dim must be a single int or None, got {dim!r}")
        nd = len(shape_of(input))
        return (input,), {"dim": None if dim is None else normalize_dim(dim, nd, op),
                          "keepdim": bool(keepdim if keepdims is None else keepdims)}
    return prepare


prepare_arg = _arg_prepare("argmax")


def _argext(name: str, fn: Any) -> Any:
    def forward(x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
        try:
            r = fn(x, axis=dim, keepdims=keepdim if dim is not None else False)
        except ValueError:
            raise ShapeError(f"{name}: a tensor of shape {format_shape(np.shape(x))} has no elements "
                             f"along dim {dim}") from None
        if dim is None and keepdim:
            r = np.reshape(r, (1,) * np.ndim(x))
        return np.asarray(r, dtype=np.int64)
    return forward


_ARG_DOMAIN = Domain(("distinct",), (((3, 4),),), attrs=({"dim": None, "keepdim": False},
                                                       {"dim": 1, "keepdim": True}))
ARGMAX = defop("argmax", _argext("argmax", np.argmax), (None,), _ARG_DOMAIN, prepare=_arg_prepare("argmax"),
               doc="Index (int64) of the maximum over ``dim`` (of the flattened input when ``dim`` is\n"
                   "None); the first one at ties, a NaN if there is one.\n\n"
                   ">>> import gradwise as gw\n>>> gw.tensor([[1.0, 5.0], [7.0, 2.0]]).argmax(dim=1).tolist()"
                   "\n[1, 0]")
ARGMIN = defop("argmin", _argext("argmin", np.argmin), (None,), _ARG_DOMAIN, prepare=_arg_prepare("argmin"),
               doc="Index (int64) of the minimum over ``dim`` (of the flattened input when ``dim`` is\n"
                   "None); the first one at ties.\n\n"
                   ">>> import gradwise as gw\n>>> gw.tensor([3.0, 1.0, 2.0]).argmin().item()\n1")


_BOOL_DOMAIN = Domain(("bool",), (((3, 4),),), attrs=({"dim": None, "keepdim": False},
                                                    {"dim": (1,), "keepdim": False}))
ALL = defop("all", lambda x, dim=None, keepdim=False: np.all(x, axis=dim, keepdims=keepdim), (None,),
            _BOOL_DOMAIN, prepare=reduction_prepare("all"),
            doc="True where every element over ``dim`` is non-zero (a bool tensor, no gradient).\n\n"
                ">>> import gradwise as gw\n>>> gw.tensor([[1, 0], [2, 3]]).all(dim=1).tolist()\n[False, True]")
ANY = defop("any", lambda x, dim=None, keepdim=False: np.any(x, axis=dim, keepdims=keepdim), (None,),
            _BOOL_DOMAIN, prepare=reduction_prepare("any"),
            doc="True where some element over ``dim`` is non-zero (a bool tensor, no gradient).\n\n"
                ">>> import gradwise as gw\n>>> gw.tensor([[1, 0], [0, 0]]).any(dim=1).tolist()\n[True, False]")
COUNT_NONZERO = defop(
    "count_nonzero", lambda x, dim=None, keepdim=False: np.asarray(
        np.count_nonzero(x, axis=dim, keepdims=keepdim), dtype=np.int64),
    (None,), _BOOL_DOMAIN, prepare=reduction_prepare("count_nonzero"),
    doc="Number (int64) of non-zero elements over ``dim``.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([[1.0, 0.0], [2.0, 3.0]]).count_nonzero(dim=1).tolist()\n[1, 2]")


def _logsumexp(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    # Subtract the max first: exp never overflows and the largest term is exp(0) = 1.
    # (An infinite max is left out of the shift: all -inf gives -inf, a +inf gives +inf.)
    m = np.amax(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):     # log(0) = -inf for an all -inf slice
        r = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    if not keepdim:
        r = np.squeeze(r, axis=dim) if dim is not None else np.reshape(r, ())
    return r


# logsumexp, softmax and log_softmax are primitives for numerical stability (the max is
# subtracted inside the forward) and speed (one node, a rule that reuses the output).
LOGSUMEXP = defop(
    "logsumexp", _logsumexp,
    # d/dx_i log sum_j exp(x_j) = softmax(x)_i = exp(x_i - out)
    (lambda b, g, out, x, dim, keepdim: expand_back(b, g, x, dim, keepdim)
     * b.exp(x - expand_back(b, out, x, dim, keepdim)),),
    reduce_domain(),
    prepare=reduction_prepare("logsumexp"),
    doc="``log(sum(exp(x)))`` over ``dim``, computed stably.\n\n"
        ">>> import gradwise as gw\n"
        ">>> gw.tensor([1000.0, 1000.0]).logsumexp(dim=0).item()\n1000.693...",
)


def _softmax_prepare(op: str) -> Prepare:
    def prepare(input: Any, dim: Any, dtype: Any = None) -> Prepared:
        # dim is required: PyTorch deprecated choosing it implicitly.
        attrs: dict[str, Any] = {"dim": normalize_dim(dim, max(len(shape_of(input)), 1), op)}
        if dtype is not None:
            attrs["dtype"] = np.dtype(dtype)
        return (input,), attrs
    return prepare


prepare_softmax = _softmax_prepare("softmax")


def _softmax(x: Any, dim: int, dtype: Any = None) -> Any:
    if dtype is not None:
        x = np.asarray(x, dtype=dtype)
    e = np.exp(x - np.maximum.reduce(x, axis=dim, keepdims=True))
    e /= np.add.reduce(e, axis=dim, keepdims=True)
    return e


def _log_softmax(x: Any, dim: int, dtype: Any = None) -> Any:
    if dtype is not None:
        x = np.asarray(x, dtype=dtype)
    shifted = x - np.maximum.reduce(x, axis=dim, keepdims=True)
    shifted -= np.log(np.add.reduce(np.exp(shifted), axis=dim, keepdims=True))
    return shifted


_SOFTMAX_DOMAIN = Domain(("real",), (((3, 4),), ((2, 3, 4),)), attrs=({"dim": 1}, {"dim": 0}))

SOFTMAX = defop(
    "softmax", _softmax,
    # J = diag(s) - s s^T, so J^T g = s * (g - sum(g * s))
    (lambda b, g, out, x, dim, dtype=None: out * (g - b.sum(g * out, dim=(dim,), keepdim=True)),),
    _SOFTMAX_DOMAIN,
    prepare=prepare_softmax, saves_inputs=False,
    doc="``exp(x) / sum(exp(x))`` along ``dim`` (required); the max is subtracted first, so\n"
        "large inputs do not overflow.  ``dtype`` casts the input first.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([[1000.0, 0.0]]).softmax(dim=1).tolist()\n[[1.0, 0.0]]",
)

LOG_SOFTMAX = defop(
    "log_softmax", _log_softmax,
    # out = x - logsumexp(x):  dx = g - softmax * sum(g) = g - exp(out) * sum(g)
    (lambda b, g, out, x, dim, dtype=None: g - b.exp(out) * b.sum(g, dim=(dim,), keepdim=True),),
    _SOFTMAX_DOMAIN,
    prepare=_softmax_prepare("log_softmax"), saves_inputs=False,
    doc="``log(softmax(x))`` along ``dim`` (required), finite even where softmax underflows.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([[1000.0, 0.0]]).log_softmax(dim=1).tolist()\n"
        "[[0.0, -1000.0]]",
)
