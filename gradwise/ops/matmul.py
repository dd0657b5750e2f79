"""Matrix product ``@`` with NumPy's semantics: batched, broadcasting, 1-D cases.

For ``C = A @ B`` (matrices): ``dA = dC @ B^T`` and ``dB = A^T @ dC``.  Batch
dimensions that broadcasting stretched are summed by the autograd node.  A 1-D
operand is treated as a row (left) or column (right) vector and the added
dimension removed again, exactly as ``numpy.matmul`` does in the forward.

Both operands must have one dtype, as in PyTorch (no promotion: ``float32 @ float64``
raises "mat1 and mat2 must have the same dtype, but got Float and Double"); a float64
input fed to a float32 ``linear`` layer raises the same, with the conversion to make.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.dtypes import require_same_dtype
from gradwise.errors import ShapeError, format_shape
from gradwise.ops.domain import Domain
from gradwise.ops.registry import defop


def _matmul(a: Any, b: Any) -> np.ndarray:
    if type(a) is np.ndarray and type(b) is np.ndarray and a.dtype is not b.dtype:
        require_same_dtype("matmul", ("mat1", "mat2"), a, b)
    try:
        if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2:
            return a.dot(b)   # same result as matmul for two matrices, a cheaper call
        if getattr(a, "ndim", 0) > 2 and getattr(b, "ndim", 0) == 2 and a.shape[-1] == b.shape[0]:
            # A stack of matrices times one matrix: one GEMM over the stacked rows instead of
            # one per matrix (NumPy loops over the stack; the rows are a view when ``a`` is
            # contiguous, else one copy).
            return np.matmul(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + (b.shape[1],))
        return np.matmul(a, b)
    except ValueError:
        raise ShapeError(_matmul_message(np.shape(a), np.shape(b))) from None


def _matmul_message(sa: tuple[int, ...], sb: tuple[int, ...]) -> str:
    if len(sa) == 0 or len(sb) == 0:
        return (f"matmul: both operands need at least 1 dimension, got {format_shape(sa)} @ "
                f"{format_shape(sb)}; use * for a product with a scalar")
    ka = sa[-1]
    kb = sb[-2] if len(sb) >= 2 else sb[0]
    if ka != kb:
        where = "second-to-last" if len(sb) >= 2 else "only"
        msg = (f"matmul: {format_shape(sa)} @ {format_shape(sb)}: the inner dimensions disagree: "
               f"the first operand's last dimension is {ka} but the second operand's {where} "
               f"dimension is {kb}.")
        if len(sb) >= 2 and sb[-1] == ka:
            flipped = sb[:-2] + (sb[-1], sb[-2])
            msg += (f" Hint: transpose the second operand (.T or .mT) to get "
                    f"{format_shape(flipped)}; e.g. x @ weight.T for a (out, in) weight.")
        elif len(sa) >= 2 and sa[-2] == kb:
            msg += " Hint: transpose the first operand (.T or .mT)."
        return msg
    return (f"matmul: batch dimensions {format_shape(sa[:-2])} and {format_shape(sb[:-2])} of "
            f"{format_shape(sa)} @ {format_shape(sb)} cannot be broadcast together")


def _swap(b: Any, m: Any) -> Any:
    return b.transpose(m, dim0=-1, dim1=-2)


def _grad_a(b: Any, g: Any, out: Any, x: Any, y: Any) -> Any:
    if y.ndim == 1:
        if x.ndim == 1:            # (k,) @ (k,) -> ()
            return g * y
        # (..., m, k) @ (k,) -> (..., m):  dA = g[..., :, None] * y
        return b.unsqueeze(g, dim=-1) * y
    if x.ndim == 1:                # (k,) @ (..., k, n) -> (..., n): dA = (g[..., None, :] @ B^T)[..., 0, :]
        # (the node sums the batch dims, but the inserted axis must go: with k == n the
        # shapes would already match and nothing else would remove it)
        return b.squeeze_dim(b.matmul(b.unsqueeze(g, dim=-2), _swap(b, y)), dim=-2)
    return b.matmul(g, _swap(b, y))


def _grad_b(b: Any, g: Any, out: Any, x: Any, y: Any) -> Any:
    if x.ndim == 1:
        if y.ndim == 1:            # dot product
            return g * x
        # (k,) @ (..., k, n): dB = x[:, None] * g[..., None, :]
        return b.unsqueeze(x, dim=-1) * b.unsqueeze(g, dim=-2)
    if y.ndim == 1:                # (..., m, k) @ (k,): dB = (g[..., None, :] @ A)[..., 0, :], batch summed
        return b.squeeze_dim(b.matmul(b.unsqueeze(g, dim=-2), x), dim=-2)
    return b.matmul(_swap(b, x), g)


MATMUL = defop(
    "matmul", _matmul,
    (_grad_a, _grad_b),
    Domain(("real", "real"), (
        ((3, 4), (4, 5)),          # matrix @ matrix
        ((2, 3, 4), (4, 2)),       # batch @ matrix (broadcast)
        ((2, 1, 3, 4), (5, 4, 2)),  # batch dims that both broadcast
        ((4,), (4, 3)),            # vector @ matrix
        ((3,), (3, 3)),            # vector @ square matrix (input and output shapes coincide)
        ((3, 3), (3,)),            # square matrix @ vector
        ((3, 4), (4,)),            # matrix @ vector
        ((2, 3, 4), (4,)),         # batch @ vector
        ((4,), (2, 4, 3)),         # vector @ batch
        ((4,), (4,)),              # dot
    )),
    saves_out=False,
    doc="Matrix product with NumPy's rules (batched, broadcasting, 1-D operands).\n\n"
        ">>> import gradwise as gw\n>>> (gw.ones(32, 64) @ gw.ones(64, 10)).shape\n(32, 10)",
)


def _linear_dtypes(x: Any, w: Any, bias: Any) -> None:
    # PyTorch's checks: the input against the weight (mat1, mat2), then the bias against them
    x, w = np.asarray(x), np.asarray(w)
    require_same_dtype("linear", ("mat1", "mat2"), x, w, layer=True)
    if bias is not None:
        require_same_dtype("linear", ("bias", "weight"), np.asarray(bias), w)


def _linear(x: Any, w: Any, bias: Any = None) -> np.ndarray:
    if type(x) is np.ndarray and type(w) is np.ndarray and x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[1]:
        if x.dtype is not w.dtype or (bias is not None and bias.dtype is not w.dtype):
            _linear_dtypes(x, w, bias)
        # The common case first: ndarray.dot is the leanest call into GEMM for a matrix pair,
        # and an out-of-place bias add is faster than an in-place one on small arrays.
        m, k = x.shape
        n = w.shape[0]
        if m < n and k >= 64 and (bias is None or type(bias) is np.ndarray):
            # A batch narrower than the layer: BLAS runs (W x^T) faster than (x W^T) here
            # (measured 5-45% on OpenBLAS); transpose back while adding the bias, one pass.
            r = w.dot(x.T)
            out = np.empty((m, n), dtype=r.dtype)
            if bias is None:
                np.copyto(out, r.T)
            else:
                np.add(r.T, bias, out=out)
            return out
        out = x.dot(w.T)
        return out if bias is None else out + bias
    _linear_dtypes(x, w, bias)
    xs, ws = np.shape(x), np.shape(w)
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise ShapeError(f"linear: input of shape {format_shape(xs)} does not fit a weight of shape "
                         f"{format_shape(ws)} (out_features, in_features): the input's last dimension "
                         f"must be {ws[1] if len(ws) == 2 else 'in_features'}")
    out = _matmul(x, np.swapaxes(w, 0, 1))
    return out if bias is None else out + bias


def _linear_grad_weight(b: Any, g: Any, out: Any, x: Any, w: Any, bias: Any = None) -> Any:
    # dW = g^T x summed over every batch dimension: flatten them into one
    n_out, n_in = w.shape
    if g.ndim != 2 or x.ndim != 2:
        g = b.reshape(g, shape=(-1, n_out))
        x = b.reshape(x, shape=(-1, n_in))
    return b.matmul(b.transpose(g, dim0=0, dim1=1), x)


LINEAR = defop(
    "linear", _linear,
    # y = x W^T + b:  dx = g W,  dW = g^T x,  db = g summed over batch dims (by the node)
    (lambda b, g, out, x, w, bias=None: b.matmul(g, w), _linear_grad_weight,
     lambda b, g, out, x, w, bias=None: g),
    Domain(("real", "real", "real"), (((4, 3), (2, 3), (2,)), ((3,), (2, 3), (2,)),
                                      ((2, 4, 3), (5, 3), (5,)))),
    saves_out=False, method=False,
    doc="``input @ weight.T + bias`` (a primitive for speed: one node instead of three).\n\n"
        ">>> import gradwise as gw\n>>> gw.linear(gw.ones(8, 3), gw.ones(2, 3), gw.zeros(2)).shape\n(8, 2)",
)
