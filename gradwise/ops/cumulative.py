"""Cumulative sums and products along one ``dim``.

Both ops carry two attributes besides ``dim``: ``reverse`` (accumulate from the
end) and ``exclusive`` (leave the element itself out: ``out_i`` covers ``j < i``
instead of ``j <= i``).  The public ``cumsum``/``cumprod`` use neither; the
gradient rules need them (the adjoint of a cumulative sum is a reversed one, and
``prod_{j != i} x_j`` is an exclusive product from the left times one from the
right).

``cumprod``'s gradient is exact when the input contains zeros, and so is its
second derivative; see :func:`_cumprod_grad`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.ops.dims import normalize_dim, shape_of
from gradwise.ops.domain import Domain
from gradwise.ops.registry import Prepared, defop


def _cast(x: Any, dtype: Any) -> np.ndarray:
    x = np.asarray(x)
    return x if dtype is None else x.astype(dtype, copy=False)


def _shift(x: np.ndarray, dim: int, reverse: bool, fill: Any) -> np.ndarray:
    """``y_i = x_{i-1}`` (``x_{i+1}`` when ``reverse``), ``fill`` where that index falls off the end."""
    y = np.empty_like(x)
    n = x.shape[dim]
    lead = (slice(None),) * dim
    if reverse:
        y[lead + (slice(0, n - 1),)] = x[lead + (slice(1, n),)]
        y[lead + (slice(n - 1, n),)] = fill
    else:
        y[lead + (slice(1, n),)] = x[lead + (slice(0, n - 1),)]
        y[lead + (slice(0, 1),)] = fill
    return y


def _scan(ufunc: Any, x: np.ndarray, dim: int, reverse: bool, exclusive: bool) -> np.ndarray:
    if x.ndim == 0:
        return np.full_like(x, ufunc.identity) if exclusive else np.array(x)
    if exclusive:
        x = _shift(x, dim, reverse, ufunc.identity)
    if reverse:
        return np.flip(ufunc.accumulate(np.flip(x, dim), axis=dim), dim)
    return ufunc.accumulate(x, axis=dim)


def _prepare(name: str) -> Any:
    def prepare(input: Any, dim: int, *, dtype: Any = None, axis: Any = None) -> Prepared:
        if axis is not None:
            dim = axis
        attrs: dict[str, Any] = {"dim": normalize_dim(dim, max(len(shape_of(input)), 1), name),
                                 "reverse": False, "exclusive": False}
        if dtype is not None:
            attrs["dtype"] = np.dtype(dtype)
        return (input,), attrs
    return prepare


def _cumsum(x: Any, dim: int, reverse: bool = False, exclusive: bool = False, dtype: Any = None) -> Any:
    x = _cast(x, dtype)
    if not (reverse or exclusive) and x.ndim:
        return np.cumsum(x, axis=dim)
    return _scan(np.add, x, dim, reverse, exclusive)


def _cumprod(x: Any, dim: int, reverse: bool = False, exclusive: bool = False, dtype: Any = None) -> Any:
    x = _cast(x, dtype)
    if not (reverse or exclusive) and x.ndim:
        return np.cumprod(x, axis=dim)
    return _scan(np.multiply, x, dim, reverse, exclusive)


_SCAN_ATTRS = tuple({"dim": d, "reverse": r, "exclusive": e}
                    for d, r, e in ((1, False, False), (0, True, False), (1, False, True), (0, True, True)))

CUMSUM = defop(
    "cumsum", _cumsum,
    # out_i = sum_{j in S(i)} x_j, so dx_j = sum_{i : j in S(i)} g_i: the same scan run the
    # other way (S(i) = {j <= i}, or j < i when exclusive; mirrored when reverse).
    (lambda b, g, out, x, dim, reverse, exclusive, dtype=None:
     b.cumsum(g, dim=dim, reverse=not reverse, exclusive=exclusive),),
    Domain(("real",), (((3, 4),), ((2, 3, 4),)), attrs=_SCAN_ATTRS),
    prepare=_prepare("cumsum"), saves_inputs=False, saves_out=False,
    doc="Cumulative sum along ``dim``: ``out[i] = x[0] + ... + x[i]`` (same shape as the input).\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([1.0, 2.0, 3.0]).cumsum(0).tolist()\n[1.0, 3.0, 6.0]",
)


def _cumprod_grad(b: Any, g: Any, out: Any, x: Any, dim: int, reverse: bool, exclusive: bool,
                  dtype: Any = None) -> Any:
    # d out_i / d x_k = prod_{j in S(i), j != k} x_j  for k in S(i).
    if not bool(b.any(x == 0, dim=None, keepdim=False)):
        # Without zeros that is out_i / x_k: dx_k = (sum_{i : k in S(i)} g_i out_i) / x_k.
        return b.cumsum(g * out, dim=dim, reverse=not reverse, exclusive=exclusive) / x
    if isinstance(x, np.ndarray):
        # First-order backward: O(n) and exact at this point (zeros included).
        return _grad_with_zeros(g, x, dim, reverse, exclusive)
    # create_graph=True: a formula that equals the polynomial above identically, so that
    # its own derivative (the second derivative of cumprod) is exact at the zeros too.
    return _grad_polynomial(b, g, x, dim, reverse, exclusive)


def _grad_with_zeros(g: np.ndarray, x: np.ndarray, dim: int, reverse: bool, exclusive: bool) -> np.ndarray:
    """The gradient of ``cumprod`` at an input with zeros, in NumPy (first order only)."""
    if x.ndim == 0:
        return np.zeros_like(g) if exclusive else np.array(g)
    g = np.broadcast_to(g, x.shape)
    if reverse:
        g, x = np.flip(g, dim), np.flip(x, dim)
    if exclusive:
        # out = inclusive cumprod of y, y_i = x_{i-1} (y_0 = 1): dx_k = dy_{k+1}, and dx_{n-1} = 0.
        r = _shift(_inclusive_grad(g, _shift(x, dim, False, 1), dim), dim, True, 0)
    else:
        r = _inclusive_grad(g, x, dim)
    return np.flip(r, dim) if reverse else r


def _inclusive_grad(g: np.ndarray, x: np.ndarray, dim: int) -> np.ndarray:
    # Let z be the first zero along dim (PyTorch's derivation in cumprod_backward):
    #  k < z: every out_i with i >= z is 0 whatever x_k is, so dx_k = sum_{k<=i<z} g_i out_i / x_k,
    #         and x_k != 0 there.  (g * out is already 0 for i >= z.)
    #  k = z: dx_z = prod_{j<z} x_j * sum_{i>=z} g_i prod_{z<j<=i} x_j.
    #  k > z: every term keeps the factor x_z = 0, so dx_k = 0.
    seen = np.cumsum(x == 0, axis=dim)
    before = seen == 0
    first = (seen == 1) & (x == 0)
    safe = np.where(before, x, 1)
    out = np.cumprod(x, axis=dim)
    grad = np.where(before, np.flip(np.cumsum(np.flip(g * out, dim), axis=dim), dim) / safe, 0)
    left = np.cumprod(safe, axis=dim)                       # at z: prod_{j<z} x_j
    tail = np.cumprod(np.where((seen >= 1) & ~first, x, 1), axis=dim)   # at i >= z: prod_{z<j<=i} x_j
    at_z = np.sum(np.where(seen >= 1, g * tail, 0), axis=dim, keepdims=True)
    return np.where(first, left * at_z, grad)


def _grad_polynomial(b: Any, g: Any, x: Any, dim: int, reverse: bool, exclusive: bool) -> Any:
    """``dx_k = sum_{i : k in S(i)} g_i prod_{j in S(i), j != k} x_j`` with recorded ops, O(n^2).

    Row k of an (n, n) matrix holds x with x_k replaced by 1; its cumprod (same
    direction and exclusivity) is ``prod_{j in S(i), j != k} x_j`` at column i.
    """
    nd = x.ndim
    if nd == 0:
        return g * 0.0 if exclusive else g + x * 0.0
    n = x.shape[dim]
    perm = tuple(d for d in range(nd) if d != dim) + (dim,)
    back = tuple(int(i) for i in np.argsort(perm))
    xp, gp = b.permute(x, dims=perm), b.permute(g, dims=perm)
    rows = b.where(np.eye(n, dtype=bool), 1.0, b.unsqueeze(xp, dim=nd - 1))     # (..., k, j)
    c = b.cumprod(rows, dim=nd, reverse=reverse, exclusive=exclusive)            # (..., k, i)
    k, i = np.arange(n)[:, None], np.arange(n)[None, :]
    in_s = (k >= i if reverse else k <= i) & (k != i if exclusive else True)     # k in S(i)
    grad = b.sum(b.where(in_s, c * b.unsqueeze(gp, dim=nd - 1), 0.0), dim=(nd,), keepdim=False)
    return b.permute(grad, dims=back)


CUMPROD = defop(
    "cumprod", _cumprod, (_cumprod_grad,),
    # Inputs with zeros are tested (first and second order) in tests/ops/test_reduce.py.
    Domain(("positive",), (((3, 4),), ((2, 3, 4),)), attrs=_SCAN_ATTRS),
    prepare=_prepare("cumprod"),
    doc="Cumulative product along ``dim``: ``out[i] = x[0] * ... * x[i]``.  The gradient is\n"
        "exact (first and second order) also where the input contains zeros.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([2.0, 0.0, 3.0]).cumprod(0).tolist()\n[2.0, 0.0, 0.0]",
)
