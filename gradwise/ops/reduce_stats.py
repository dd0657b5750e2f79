"""Statistics and norms: var, std, median (and the k-th value's index), the vector p-norm.

Split from :mod:`gradwise.ops.reduce` (same ``dim``/``keepdim`` conventions and
helpers).  ``median(dim)`` and ``kthvalue`` return ``(values, indices)``: their
public functions live in :mod:`gradwise.api.reductions` and use
``kth_index`` (no gradient) plus ``take_along_dim``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.errors import ShapeError
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.reduce import (
    _DIM_ATTRS,
    _SHAPES,
    _count,
    _dims,
    _extreme_grad,
    expand_back,
    reduction_prepare,
)
from gradwise.ops.registry import AnomalyHints, Prepare, Prepared, defop


def _var_prepare(op: str) -> Prepare:
    def prepare(input: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
                correction: Any = None, axis: Any = None, keepdims: Any = None,
                ddof: Any = None) -> Prepared:
        # PyTorch's overloads: var(x, dim, *, correction=1, keepdim), the older
        # var(x, dim, unbiased, keepdim) and var(x, unbiased); NumPy's ddof= is correction=.
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        if ddof is not None:
            correction = ddof
        if correction is not None and unbiased is not None:
            raise TypeError(f"{op}: give either correction={correction!r} or unbiased={unbiased!r}, not both")
        if correction is None:
            correction = 0 if unbiased is False else 1
        return (input,), {"dim": _dims(dim, axis, input, op),
                          "keepdim": bool(keepdim if keepdims is None else keepdims),
                          "correction": int(correction)}
    return prepare


def _var(x: Any, dim: Any = None, keepdim: bool = False, correction: int = 1) -> Any:
    if _count(x, dim) - correction > 0:
        return np.var(x, axis=dim, ddof=correction, keepdims=keepdim)
    # n <= correction: PyTorch divides by max(0, n - correction), giving inf or nan.
    with np.errstate(divide="ignore", invalid="ignore"):
        c = x - np.mean(x, axis=dim, keepdims=True)
        return np.sum(c * c, axis=dim, keepdims=keepdim) / 0.0


def _var_scale(x: Any, dim: Any, correction: int) -> float:
    n = _count(x, dim) - correction
    return 1.0 / n if n > 0 else float("nan")


def _var_grad(b: Any, g: Any, out: Any, x: Any, dim: Any, keepdim: bool, correction: int) -> Any:
    # d var / dx_i = 2 (x_i - mean) / (N - correction)
    centered = x - b.mean(x, dim=dim, keepdim=True)
    return expand_back(b, g, x, dim, keepdim) * centered * (2.0 * _var_scale(x, dim, correction))


def _std_grad(b: Any, g: Any, out: Any, x: Any, dim: Any, keepdim: bool, correction: int) -> Any:
    # d std = d var / (2 std) = (x_i - mean) / ((N - correction) std); where std = 0 (all
    # elements equal) the subgradient 0 is used, as PyTorch does, instead of 0/0.
    flat = out == 0
    g_over = b.where(flat, 0.0, g / b.where(flat, 1.0, out))
    centered = x - b.mean(x, dim=dim, keepdim=True)
    return expand_back(b, g_over, x, dim, keepdim) * centered * _var_scale(x, dim, correction)


_VAR_ATTRS = tuple(dict(a, correction=c) for a in _DIM_ATTRS for c in (1, 0))

VAR = defop(
    "var", _var, (_var_grad,),
    Domain(("real",), _SHAPES[:2], attrs=_VAR_ATTRS),
    prepare=_var_prepare("var"), saves_out=False,
    doc="Variance over ``dim``: ``sum((x - mean)**2) / (N - correction)``; ``correction=1``\n"
        "(Bessel, PyTorch's default; ``unbiased=False`` means 0).\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([1.0, 2.0, 3.0, 4.0]).var().item()\n1.666666...",
)

STD = defop(
    "std", lambda x, dim=None, keepdim=False, correction=1: np.sqrt(_var(x, dim, keepdim, correction)),
    (_std_grad,),
    Domain(("real",), _SHAPES[:2], attrs=_VAR_ATTRS),
    prepare=_var_prepare("std"),
    doc="Standard deviation over ``dim`` (square root of :func:`var`, same arguments).\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([1.0, 3.0]).std(unbiased=False).item()\n1.0",
)


def _median_all(x: Any) -> Any:
    flat = np.ravel(x)
    if flat.size == 0:
        raise ShapeError("median: the median of a tensor with no elements is undefined")
    k = (flat.size - 1) // 2          # PyTorch: the lower of the two middle values
    v = np.partition(flat, k)[k]
    if flat.dtype.kind in "fc" and np.isnan(flat).any():
        v = flat.dtype.type(np.nan)
    return np.asarray(v)


MEDIAN = defop(
    "median", _median_all,
    (lambda b, g, out, x: _extreme_grad(b, g, out, x, None, False),),
    Domain(("distinct",), (((3, 4),), ((5,),))),
    method=False, function=False,   # public median() (with and without dim): gradwise.api.reductions
    doc="Median of all elements (the lower middle value for an even count); ties share the gradient.",
)


def _kth_index(x: Any, k: int, dim: int, nan: bool = False) -> Any:
    # Index of the k-th smallest (0-based) along dim, kept as a size-1 dim for take_along_dim.
    x = np.asarray(x)
    r = np.take(np.argpartition(x, k, axis=dim), [k], axis=dim)
    if nan and x.dtype.kind == "f":
        isnan = np.isnan(x)
        has = isnan.any(axis=dim, keepdims=True)
        if has.any():   # median propagates NaN: select the first NaN of the slice
            r = np.where(has, np.argmax(isnan, axis=dim, keepdims=True), r)
    return r.astype(np.int64, copy=False)


KTH_INDEX = defop(
    "kth_index", _kth_index, (None,),
    Domain(("distinct",), (((3, 4),),), attrs=({"k": 1, "dim": 1, "nan": True}, {"k": 0, "dim": 0})),
    method=False, function=False,
    doc="Indices (int64, ``dim`` kept with size 1) of the ``k``-th smallest value along ``dim``.",
)


def _prepare_norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, *,
                  ord: Any = None) -> Prepared:
    if ord is not None:
        p = ord
    if p in ("fro", None):
        p = 2.0
    elif p == "nuc":
        raise ValueError("norm: p='nuc' (nuclear norm) is not supported; use gradwise.linalg.svdvals "
                         "and sum the singular values")
    if isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not valid; use a number, float('inf'), -float('inf') or 'fro'")
    (x,), attrs = reduction_prepare("norm")(input, dim, keepdim)
    attrs["p"] = float(p)
    return (x,), attrs


def _norm(x: Any, p: float = 2.0, dim: Any = None, keepdim: bool = False) -> Any:
    if p == 2.0:
        return np.sqrt(np.sum(x * x, axis=dim, keepdims=keepdim))
    a = np.abs(x)
    if p == 1.0:
        return np.sum(a, axis=dim, keepdims=keepdim)
    if p == np.inf:
        return np.amax(a, axis=dim, keepdims=keepdim)
    if p == -np.inf:
        return np.amin(a, axis=dim, keepdims=keepdim)
    if p == 0.0:
        return np.sum(a != 0, axis=dim, keepdims=keepdim).astype(a.dtype)
    with np.errstate(divide="ignore"):   # p < 0 with a zero element: 0 ** p = inf, the norm 0
        return np.sum(a ** p, axis=dim, keepdims=keepdim) ** (1.0 / p)


def _norm_grad(b: Any, g: Any, out: Any, x: Any, p: float, dim: Any, keepdim: bool) -> Any:
    ge = expand_back(b, g, x, dim, keepdim)
    if p == 0.0:
        return x * 0.0
    if p == 1.0:
        return ge * b.sign(x)
    if p in (np.inf, -np.inf):
        return _extreme_grad(b, g, out, b.abs(x), dim, keepdim) * b.sign(x)
    # d ||x||_p / dx_i = sign(x_i) |x_i|^(p-1) / ||x||^(p-1); at the zero vector the
    # subgradient 0 is used (PyTorch's choice) instead of 0/0.
    oe = expand_back(b, out, x, dim, keepdim)
    zero_norm = oe == 0
    safe = b.where(zero_norm, 1.0, oe)
    if p == 2.0:
        return b.where(zero_norm, 0.0, ge * x / safe)
    if p < 1.0:
        # |x_i|^(p-1) is infinite at x_i = 0: PyTorch gives such elements gradient 0.
        zero = x == 0
        scaled = b.where(zero, 0.0, b.sign(x) * b.where(zero, 1.0, b.abs(x)) ** (p - 1.0))
    else:
        scaled = b.sign(x) * b.abs(x) ** (p - 1.0)
    return b.where(zero_norm, 0.0, ge * scaled / safe ** (p - 1.0))


def _norm_make(rng: np.random.Generator) -> list[Sample]:
    out = []
    for p in (2.0, 1.0, 3.0, 1.5, 0.5, np.inf, -np.inf):
        x = rng.uniform(0.2, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
        if p in (np.inf, -np.inf):  # distinct magnitudes, no ties
            x = (rng.permutation(12).reshape(3, 4) * 0.3 + 0.2) * rng.choice([-1.0, 1.0], (3, 4))
        out.append(Sample((x,), {"p": p, "dim": None, "keepdim": False}))
        out.append(Sample((x,), {"p": p, "dim": (1,), "keepdim": True}))
    x = rng.uniform(0.2, 2.0, (2, 3, 4)) * rng.choice([-1.0, 1.0], (2, 3, 4))
    out.append(Sample((x,), {"p": 2.0, "dim": (0, 2), "keepdim": False}))
    return out


NORM = defop(
    "norm", _norm, (_norm_grad,), Domain(make=_norm_make), prepare=_prepare_norm,
    # (sum |x|^p)^(1/p) is a root: 0 at the zero vector, where its slope is infinite.
    anomaly=AnomalyHints(sqrt_like="a norm"),
    doc="Vector p-norm over ``dim`` (all elements by default): ``p`` = 2 / 'fro' (default), 1,\n"
        "inf, -inf, 0 (count of non-zeros) or any p > 0.  The gradient of the 2-norm at the\n"
        "zero vector is 0 (a subgradient), as in PyTorch.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([3.0, 4.0]).norm().item()\n5.0",
)
