"""Reductions over ``dim`` (an int, a tuple of ints, or None for all) with ``keepdim``.

A reduction's gradient is the incoming gradient broadcast back over the
reduced dimensions; ``_expand_back`` re-inserts them (when ``keepdim`` was
false) so that broadcasting lines up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.errors import DimError
from gradwise.ops.dims import normalize_dim, normalize_dims, shape_of
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import Prepared, defop

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


def _prepare_var(input: Any, dim: Any = None, keepdim: bool = False, *, correction: Any = None,
                 unbiased: bool | None = None) -> Prepared:
    # PyTorch: correction=1 (Bessel) unless unbiased=False or correction is given.
    if correction is None:
        correction = 0 if unbiased is False else 1
    (x,), attrs = prepare_reduce(input, dim, keepdim)
    attrs["correction"] = int(correction)
    return (x,), attrs


def _var(x: Any, dim: Any = None, keepdim: bool = False, correction: int = 1) -> Any:
    return np.var(x, axis=dim, ddof=correction, keepdims=keepdim)


def _var_grad(b: Any, g: Any, out: Any, x: Any, dim: Any, keepdim: bool, correction: int) -> Any:
    # d var / dx_i = 2 (x_i - mean) / (N - correction)
    n = _count(x, dim) - correction
    centered = x - b.mean(x, dim=dim, keepdim=True)
    return expand_back(b, g, x, dim, keepdim) * centered * (2.0 / n)


def _std_grad(b: Any, g: Any, out: Any, x: Any, dim: Any, keepdim: bool, correction: int) -> Any:
    # d std = d var / (2 std) = (x_i - mean) / ((N - correction) std)
    n = _count(x, dim) - correction
    centered = x - b.mean(x, dim=dim, keepdim=True)
    return expand_back(b, g / out, x, dim, keepdim) * centered * (1.0 / n)


_VAR_ATTRS = tuple(dict(a, correction=c) for a in _DIM_ATTRS for c in (1, 0))

VAR = defop(
    "var", _var, (_var_grad,),
    Domain(("real",), _SHAPES[:2], attrs=_VAR_ATTRS),
    prepare=_prepare_var, saves_out=False,
    doc="Variance over ``dim`` with ``correction`` (1 = unbiased, PyTorch's default).\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([1.0, 2.0, 3.0, 4.0]).var().item()\n1.666666...",
)

STD = defop(
    "std", lambda x, dim=None, keepdim=False, correction=1: np.sqrt(_var(x, dim, keepdim, correction)),
    (_std_grad,),
    Domain(("real",), _SHAPES[:2], attrs=_VAR_ATTRS),
    prepare=_prepare_var,
    doc="Standard deviation over ``dim`` (square root of :func:`var`).",
)


def _prod_grad(b: Any, g: Any, out: Any, x: Any, dim: Any, keepdim: bool) -> Any:
    # d prod / dx_i = prod_{j != i} x_j.  Without zeros that is out / x_i.  With one zero
    # in a slice, only the zero's position gets a gradient (the product of the others);
    # with two or more, every partial derivative is zero.  Dividing by a "safe" x keeps
    # inf/nan out of the unused branch, so second derivatives stay finite too.
    ge = expand_back(b, g, x, dim, keepdim)
    is_zero = x == 0
    if not bool(b.any(is_zero, dim=None, keepdim=False)):
        return b.broadcast_to(ge * expand_back(b, out, x, dim, keepdim) / x, shape=x.shape)
    safe = b.where(is_zero, 1.0, x)
    nonzero_prod = expand_back(b, b.prod(safe, dim=dim, keepdim=keepdim), x, dim, keepdim)
    zeros = b.sum(is_zero, dim=dim, keepdim=True)
    grad = b.where(zeros == 0, nonzero_prod / safe, b.where(is_zero * (zeros == 1), nonzero_prod, 0.0))
    return ge * grad


PROD = defop(
    "prod", lambda x, dim=None, keepdim=False: np.prod(x, axis=dim, keepdims=keepdim),
    (_prod_grad,),
    reduce_domain("positive"),
    prepare=prepare_reduce,
    doc="Product over ``dim``; gradients are exact when the input contains zeros.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([2.0, 3.0, 4.0]).prod().item()\n24.0",
)


def _extreme_grad(b: Any, g: Any, out: Any, x: Any, dim: Any, keepdim: bool) -> Any:
    # The gradient goes to the elements equal to the extreme value, split evenly
    # among ties (PyTorch's amax/amin and full max/min).
    hit = x == expand_back(b, out, x, dim, keepdim)
    count = b.sum(hit, dim=dim, keepdim=True)
    return expand_back(b, g, x, dim, keepdim) * hit / count


AMAX = defop(
    "amax", lambda x, dim=None, keepdim=False: np.amax(x, axis=dim, keepdims=keepdim),
    (_extreme_grad,), reduce_domain("distinct"), prepare=prepare_reduce,
    doc="Maximum over ``dim``; ties share the gradient evenly.",
)
AMIN = defop(
    "amin", lambda x, dim=None, keepdim=False: np.amin(x, axis=dim, keepdims=keepdim),
    (_extreme_grad,), reduce_domain("distinct"), prepare=prepare_reduce,
    doc="Minimum over ``dim``; ties share the gradient evenly.",
)


def prepare_arg(input: Any, dim: Any = None, keepdim: bool = False) -> Prepared:
    """``dim`` for argmax-like ops: one int or None (the flattened input)."""
    if isinstance(dim, (tuple, list)):
        raise DimError(f"argmax/argmin: dim must be a single int or None, got {dim!r}")
    nd = len(shape_of(input))
    return (input,), {"dim": None if dim is None else normalize_dim(dim, nd, "argmax"),
                      "keepdim": bool(keepdim)}


def _argext(fn: Any) -> Any:
    def forward(x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
        r = fn(x, axis=dim, keepdims=keepdim if dim is not None else False)
        if dim is None and keepdim:
            r = np.reshape(r, (1,) * np.ndim(x))
        return np.asarray(r, dtype=np.int64)
    return forward


_ARG_DOMAIN = Domain(("distinct",), (((3, 4),),), attrs=({"dim": None, "keepdim": False},
                                                       {"dim": 1, "keepdim": True}))
ARGMAX = defop("argmax", _argext(np.argmax), (None,), _ARG_DOMAIN, prepare=prepare_arg,
               doc="Index of the maximum over ``dim`` (int64; the first one at ties).")
ARGMIN = defop("argmin", _argext(np.argmin), (None,), _ARG_DOMAIN, prepare=prepare_arg,
               doc="Index of the minimum over ``dim`` (int64; the first one at ties).")

_BOOL_DOMAIN = Domain(("bool",), (((3, 4),),), attrs=({"dim": None, "keepdim": False},
                                                    {"dim": (1,), "keepdim": False}))
ALL = defop("all", lambda x, dim=None, keepdim=False: np.all(x, axis=dim, keepdims=keepdim), (None,),
            _BOOL_DOMAIN, prepare=prepare_reduce, doc="True where every element over ``dim`` is true.")
ANY = defop("any", lambda x, dim=None, keepdim=False: np.any(x, axis=dim, keepdims=keepdim), (None,),
            _BOOL_DOMAIN, prepare=prepare_reduce, doc="True where some element over ``dim`` is true.")
COUNT_NONZERO = defop(
    "count_nonzero", lambda x, dim=None, keepdim=False: np.asarray(
        np.count_nonzero(x, axis=dim, keepdims=keepdim), dtype=np.int64),
    (None,), _BOOL_DOMAIN, prepare=prepare_reduce, doc="Number of non-zero elements over ``dim``.")


def _logsumexp(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    # Subtract the max first: exp never overflows and the largest term is exp(0) = 1.
    m = np.amax(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    if not keepdim:
        r = np.squeeze(r, axis=dim) if dim is not None else np.reshape(r, ())
    return r


LOGSUMEXP = defop(
    "logsumexp", _logsumexp,
    # d/dx_i log sum_j exp(x_j) = softmax(x)_i = exp(x_i - out)
    (lambda b, g, out, x, dim, keepdim: expand_back(b, g, x, dim, keepdim)
     * b.exp(x - expand_back(b, out, x, dim, keepdim)),),
    reduce_domain(),
    prepare=prepare_reduce,
    doc="``log(sum(exp(x)))`` over ``dim``, computed stably (primitive for stability).\n\n"
        ">>> import gradwise as gw\n"
        ">>> gw.tensor([1000.0, 1000.0]).logsumexp(dim=0).item()\n1000.693...",
)


def prepare_softmax(input: Any, dim: int, dtype: Any = None) -> Prepared:
    """``dim`` is required (PyTorch deprecated the implicit choice)."""
    return (input,), {"dim": normalize_dim(dim, max(len(shape_of(input)), 1), "softmax")}


def _softmax(x: Any, dim: int) -> Any:
    e = np.exp(x - np.amax(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


def _log_softmax(x: Any, dim: int) -> Any:
    shifted = x - np.amax(x, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


_SOFTMAX_DOMAIN = Domain(("real",), (((3, 4),), ((2, 3, 4),)), attrs=({"dim": 1}, {"dim": 0}))

SOFTMAX = defop(
    "softmax", _softmax,
    # J = diag(s) - s s^T, so J^T g = s * (g - sum(g * s))
    (lambda b, g, out, x, dim: out * (g - b.sum(g * out, dim=(dim,), keepdim=True)),),
    _SOFTMAX_DOMAIN, prepare=prepare_softmax, saves_inputs=False,
    doc="``exp(x) / sum(exp(x))`` along ``dim`` (primitive for stability: max subtracted).\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([[1000.0, 0.0]]).softmax(dim=1).tolist()\n[[1.0, 0.0]]",
)

LOG_SOFTMAX = defop(
    "log_softmax", _log_softmax,
    # d log_softmax: g - softmax * sum(g)
    (lambda b, g, out, x, dim: g - b.exp(out) * b.sum(g, dim=(dim,), keepdim=True),),
    _SOFTMAX_DOMAIN, prepare=prepare_softmax, saves_inputs=False,
    doc="``log(softmax(x))`` along ``dim``, finite even where softmax underflows.",
)


def _prepare_cum(input: Any, dim: int, *, dtype: Any = None) -> Prepared:
    return (input,), {"dim": normalize_dim(dim, max(len(shape_of(input)), 1), "cumsum"),
                      "reverse": False}


def _cumsum(x: Any, dim: int, reverse: bool = False) -> Any:
    if np.ndim(x) == 0:
        return np.asarray(x)
    if reverse:
        return np.flip(np.cumsum(np.flip(x, dim), axis=dim), dim)
    return np.cumsum(x, axis=dim)


CUMSUM = defop(
    "cumsum", _cumsum,
    # out_i = sum_{j<=i} x_j, so dx_j = sum_{i>=j} g_i: a cumulative sum in reverse.
    (lambda b, g, out, x, dim, reverse: b.cumsum(g, dim=dim, reverse=not reverse),),
    Domain(("real",), (((3, 4),),), attrs=({"dim": 1, "reverse": False}, {"dim": 0, "reverse": True})),
    prepare=_prepare_cum, saves_inputs=False, saves_out=False,
    doc="Cumulative sum along ``dim``.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([1.0, 2.0, 3.0]).cumsum(0).tolist()\n[1.0, 3.0, 6.0]",
)

CUMPROD = defop(
    "cumprod", lambda x, dim: np.cumprod(x, axis=dim) if np.ndim(x) else np.asarray(x),
    # out_i = prod_{j<=i} x_j, so dx_j = sum_{i>=j} g_i out_i / x_j (inputs without zeros;
    # at an exact zero the division is replaced by 0 and the gradient is not exact).
    (lambda b, g, out, x, dim: b.cumsum(g * out, dim=dim, reverse=True) / x,),
    Domain(("positive",), (((3, 4),),), attrs=({"dim": 1}, {"dim": 0})),
    prepare=lambda x, dim, *, dtype=None: ((x,), {"dim": normalize_dim(
        dim, max(len(shape_of(x)), 1), "cumprod")}),
    doc="Cumulative product along ``dim``.  Its gradient assumes no input is exactly 0.",
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
    (x,), attrs = prepare_reduce(input, dim, keepdim)
    attrs["p"] = float(p)
    return (x,), attrs


def _norm(x: Any, p: float = 2.0, dim: Any = None, keepdim: bool = False) -> Any:
    a = np.abs(x)
    if p == 2.0:
        return np.sqrt(np.sum(a * a, axis=dim, keepdims=keepdim))
    if p == 1.0:
        return np.sum(a, axis=dim, keepdims=keepdim)
    if p == np.inf:
        return np.amax(a, axis=dim, keepdims=keepdim)
    if p == -np.inf:
        return np.amin(a, axis=dim, keepdims=keepdim)
    if p == 0.0:
        return np.sum(a != 0, axis=dim, keepdims=keepdim).astype(a.dtype)
    return np.sum(a ** p, axis=dim, keepdims=keepdim) ** (1.0 / p)


def _norm_grad(b: Any, g: Any, out: Any, x: Any, p: float, dim: Any, keepdim: bool) -> Any:
    ge = expand_back(b, g, x, dim, keepdim)
    oe = expand_back(b, out, x, dim, keepdim)
    if p == 0.0:
        return x * 0.0
    if p == 1.0:
        return ge * b.sign(x)
    if p in (np.inf, -np.inf):
        return _extreme_grad(b, g, out, b.abs(x), dim, keepdim) * b.sign(x)
    # d ||x||_p / dx_i = sign(x_i) |x_i|^(p-1) / ||x||^(p-1); at the zero vector the
    # subgradient 0 is used (PyTorch's choice) instead of 0/0.
    safe = b.where(oe == 0, 1.0, oe)
    if p == 2.0:
        return b.where(oe == 0, 0.0, ge * x / safe)
    return b.where(oe == 0, 0.0, ge * b.sign(x) * b.abs(x) ** (p - 1.0) / safe ** (p - 1.0))


def _norm_make(rng: np.random.Generator) -> list[Sample]:
    out = []
    for p in (2.0, 1.0, 3.0, np.inf, -np.inf):
        kind = rng.uniform(0.2, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
        if p in (np.inf, -np.inf):  # distinct magnitudes, no ties
            kind = (rng.permutation(12).reshape(3, 4) * 0.3 + 0.2) * rng.choice([-1.0, 1.0], (3, 4))
        out.append(Sample((kind,), {"p": p, "dim": None, "keepdim": False}))
        out.append(Sample((kind,), {"p": p, "dim": (1,), "keepdim": True}))
    return out


NORM = defop(
    "norm", _norm, (_norm_grad,), Domain(make=_norm_make), prepare=_prepare_norm,
    doc="Vector p-norm over ``dim`` (p = 2 / 'fro' default, 1, inf, -inf, 0 or any p > 0).\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([3.0, 4.0]).norm().item()\n5.0",
)
