"""Convolution as three bilinear ops that are each other's gradients.

For ``y = conv(x, w)`` (cross-correlation, NCHW, weight ``(O, C/groups, kH, kW)``):

* ``conv_transpose(g, w)`` is the adjoint in ``x`` (the input gradient, and
  PyTorch's ``conv_transpose2d``);
* ``conv_weight(x, g)`` is the adjoint in ``w`` (the weight gradient).

Because ``<u, conv_transpose(g, w)> = <conv(u, w), g>`` and
``<u, conv_weight(x, g)> = <conv(x, u), g>``, every gradient of every one of
the three is again one of the three: second derivatives come for free.

All three share the attributes ``stride, pad (top, bottom, left, right),
dilation, groups, in_hw (the image size), kernel (kH, kW)``.  1-D inputs
``(N, C, L)`` run as 2-D with a height of 1.  The forward is im2col (one copy
of a strided view, see :func:`_columns`) plus one batched GEMM that yields NCHW
directly; the weight gradient is the same columns against the output gradient;
the transposed op is one GEMM plus one strided add per kernel tap (col2im).

The input and the weight must share a dtype, as in PyTorch: a float64 input to a
float32 convolution raises (``gradwise.conv2d`` checks first, naming itself).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from gradwise.dtypes import require_same_dtype
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import defop


def _as2d(a: Any) -> np.ndarray:
    a = np.asarray(a)
    return a[:, :, None, :] if a.ndim == 3 else a


def _out_hw(in_hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
            pad: tuple[int, int, int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    ho = (in_hw[0] + pad[0] + pad[1] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    wo = (in_hw[1] + pad[2] + pad[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    return ho, wo


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
             pad: tuple[int, int, int, int], dilation: tuple[int, int],
             out_hw: tuple[int, int], fill: float = 0.0) -> np.ndarray:
    """A read-only view ``(N, C, Ho, Wo, kH, kW)`` of the padded input's windows."""
    if any(pad):
        x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])), constant_values=fill)
    n, c = x.shape[:2]
    s = x.strides
    return as_strided(x, shape=(n, c, out_hw[0], out_hw[1], kernel[0], kernel[1]),
                      strides=(s[0], s[1], s[2] * stride[0], s[3] * stride[1],
                               s[2] * dilation[0], s[3] * dilation[1]), writeable=False)


def _columns(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
             pad: tuple[int, int, int, int], dilation: tuple[int, int],
             out_hw: tuple[int, int], groups: int) -> np.ndarray:
    """im2col, batch-major: ``(N, groups, C/groups * kH * kW, Ho * Wo)``.

    One copy of a strided view whose innermost axis walks along an output row, so the
    copy moves runs of ``Wo`` elements (the window-major layout would move single
    elements).  Row ``(c, i, j)`` of sample ``n`` holds ``x[n, c, i*dh + s*ho, j*dw + s*wo]``
    over the output positions ``(ho, wo)``: with the weight as a ``(O, C*kH*kW)`` matrix the
    convolution is one batched GEMM whose result is already NCHW.
    """
    if any(pad):
        x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])))
    n, c = x.shape[:2]
    s = x.strides
    win = as_strided(x, shape=(n, c, kernel[0], kernel[1], out_hw[0], out_hw[1]),
                     strides=(s[0], s[1], s[2] * dilation[0], s[3] * dilation[1],
                              s[2] * stride[0], s[3] * stride[1]), writeable=False)
    return win.reshape(n, groups, (c // groups) * kernel[0] * kernel[1], out_hw[0] * out_hw[1])


def _conv(x: Any, w: Any, *, stride: tuple[int, int], pad: tuple[int, int, int, int],
          dilation: tuple[int, int], groups: int, in_hw: tuple[int, int],
          kernel: tuple[int, int]) -> np.ndarray:
    one_d = np.ndim(x) == 3
    x, w = _as2d(x), _as2d(w)
    require_same_dtype("conv", ("input", "weight"), x, w, layer=True)
    ho, wo = _out_hw(x.shape[2:], kernel, stride, pad, dilation)
    cols = _columns(x, kernel, stride, pad, dilation, (ho, wo), groups)   # (N, G, Cg*K, P)
    o = w.shape[0]
    # (G, Og, Cg*K) @ (N, G, Cg*K, P) -> (N, G, Og, P): NCHW without a transpose.
    out = np.matmul(w.reshape(groups, o // groups, -1), cols).reshape(x.shape[0], o, ho, wo)
    return out[:, :, 0, :] if one_d else out


def _conv_transpose(y: Any, w: Any, *, stride: tuple[int, int], pad: tuple[int, int, int, int],
                    dilation: tuple[int, int], groups: int, in_hw: tuple[int, int],
                    kernel: tuple[int, int]) -> np.ndarray:
    # col2im: one batched GEMM gives every tap's contribution, then each of the kH * kW taps
    # is added onto the (padded) image with one strided slice.
    one_d = np.ndim(y) == 3
    y, w = _as2d(y), _as2d(w)
    require_same_dtype("conv_transpose", ("input", "weight"), y, w, layer=True)
    n, o, ho, wo = y.shape
    cg, og = w.shape[1], o // groups
    c = cg * groups
    hp, wp = in_hw[0] + pad[0] + pad[1], in_hw[1] + pad[2] + pad[3]
    wt = w.reshape(groups, og, -1).transpose(0, 2, 1)                       # (G, Cg*K, Og)
    cols = np.matmul(wt, y.reshape(n, groups, og, ho * wo))                 # (N, G, Cg*K, P)
    cols = cols.reshape(n, c, kernel[0], kernel[1], ho, wo)
    xp = np.zeros((n, c, hp, wp), dtype=cols.dtype)
    sh, sw = stride
    dh, dw = dilation
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[:, :, i, j]
    if any(pad):
        xp = np.ascontiguousarray(xp[:, :, pad[0]:pad[0] + in_hw[0], pad[2]:pad[2] + in_hw[1]])
    return xp[:, :, 0, :] if one_d else xp


def _conv_weight(x: Any, y: Any, *, stride: tuple[int, int], pad: tuple[int, int, int, int],
                 dilation: tuple[int, int], groups: int, in_hw: tuple[int, int],
                 kernel: tuple[int, int]) -> np.ndarray:
    # Correlate the input windows with the output gradient, summed over batch and positions.
    one_d = np.ndim(x) == 3
    x, y = _as2d(x), _as2d(y)
    n, o, ho, wo = y.shape
    og = o // groups
    cols = _columns(x, kernel, stride, pad, dilation, (ho, wo), groups)    # (N, G, Cg*K, P)
    ym = y.reshape(n, groups, og, ho * wo)
    if og <= ho * wo:
        # One GEMM per sample, (Og, P) @ (P, Cg*K), then a sum over the batch: the per-sample
        # products are no larger than the columns themselves.
        out = np.matmul(ym, cols.transpose(0, 1, 3, 2)).sum(axis=0)         # (G, Og, Cg*K)
    else:
        # Many channels on few positions: fold the batch into the GEMM instead.
        a = ym.transpose(1, 2, 0, 3).reshape(groups, og, n * ho * wo)
        bm = cols.transpose(1, 0, 3, 2).reshape(groups, n * ho * wo, -1)
        out = np.matmul(a, bm)
    out = out.reshape(o, x.shape[1] // groups, kernel[0], kernel[1])
    return out[:, :, 0, :] if one_d else out


def _attrs(stride: Any = (1, 1), pad: Any = (0, 0, 0, 0), dilation: Any = (1, 1), groups: int = 1,
           in_hw: Any = (5, 5), kernel: Any = (3, 3)) -> dict[str, Any]:
    return {"stride": tuple(stride), "pad": tuple(pad), "dilation": tuple(dilation),
            "groups": groups, "in_hw": tuple(in_hw), "kernel": tuple(kernel)}


# The three rules of each op (see the module docstring for the adjoint identities).
CONV = defop(
    "conv", _conv,
    (lambda b, g, out, x, w, **a: b.conv_transpose(g, w, **a),
     lambda b, g, out, x, w, **a: b.conv_weight(x, g, **a)),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))),
               _attrs(pad=(1, 1, 1, 1)), (0, 1)),
        Sample((rng.standard_normal((1, 4, 5, 6)), rng.standard_normal((2, 2, 2, 3))),
               _attrs(stride=(2, 1), pad=(0, 1, 1, 0), dilation=(1, 2), groups=2, in_hw=(5, 6),
                      kernel=(2, 3)), (0, 1)),
        Sample((rng.standard_normal((2, 2, 7)), rng.standard_normal((3, 2, 3))),
               _attrs(stride=(1, 2), pad=(0, 0, 1, 1), in_hw=(1, 7), kernel=(1, 3)), (0, 1)),
    ]),
    saves_out=False, method=False, function=False,
    doc="Cross-correlation of NCHW (or NCL) input with an (O, C/groups, kH, kW) weight.",
)

CONV_TRANSPOSE = defop(
    "conv_transpose", _conv_transpose,
    (lambda b, g, out, y, w, **a: b.conv(g, w, **a),
     lambda b, g, out, y, w, **a: b.conv_weight(g, y, **a)),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((3, 2, 3, 3))),
               _attrs(pad=(1, 1, 1, 1)), (0, 1)),
        Sample((rng.standard_normal((1, 2, 2, 3)), rng.standard_normal((2, 2, 2, 2))),
               _attrs(stride=(2, 2), pad=(0, 0, 0, 0), groups=2, in_hw=(4, 6), kernel=(2, 2)), (0, 1)),
    ]),
    saves_out=False, method=False, function=False,
    doc="The adjoint of ``conv`` in its input: transposed convolution (input gradient).",
)

CONV_WEIGHT = defop(
    "conv_weight", _conv_weight,
    (lambda b, g, out, x, y, **a: b.conv_transpose(y, g, **a),
     lambda b, g, out, x, y, **a: b.conv(x, g, **a)),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 3, 5, 5))),
               _attrs(pad=(1, 1, 1, 1)), (0, 1)),
        Sample((rng.standard_normal((1, 4, 5, 6)), rng.standard_normal((1, 2, 3, 3))),
               _attrs(stride=(2, 1), pad=(0, 1, 1, 0), dilation=(1, 2), groups=2, in_hw=(5, 6),
                      kernel=(2, 3)), (0, 1)),
    ]),
    saves_out=False, method=False, function=False,
    doc="The adjoint of ``conv`` in its weight (the weight gradient).",
)
