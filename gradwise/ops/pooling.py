"""Pooling: max_pool2d and avg_pool2d (with its adjoint) on NCHW input.

Output sizes, padding and ``ceil_mode`` follow PyTorch (the last window must
start inside the input or its left padding).  max_pool is a running maximum over
the kernel's taps, each tap a strided view of the (padded) input, so no window is
copied.  Its gradient goes to the first maximum of each window, accumulating where
windows overlap: the ``max_pool2d_scatter`` op, whose gradient is the matching
gather, so second derivatives exist.  avg_pool reads the windows as convolution does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.errors import ShapeError, format_shape
from gradwise.ops.conv import _windows
from gradwise.ops.dims import shape_of
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import Prepared, defop


def _pair(v: Any, name: str, op: str) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def pool_out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length for one spatial dimension."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def prepare_pool(op: str, input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool) -> dict[str, Any]:
    """Shared argument checks; returns kernel, stride, pad (with ceil-mode extra), dilation, out_hw."""
    shape = shape_of(input)
    if len(shape) != 4:
        raise ShapeError(f"{op}: expected a 4-D (N, C, H, W) input, got shape {format_shape(shape)}")
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == [] else _pair(stride, "stride", op)
    p = _pair(padding, "padding", op)
    d = _pair(dilation, "dilation", op)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}")
    out = []
    pads = []
    for ax in range(2):
        n = shape[2 + ax]
        o = pool_out_size(n, k[ax], s[ax], p[ax], d[ax], ceil_mode)
        if o <= 0:
            raise ShapeError(f"{op}: kernel {k} (dilation {d}) is larger than the padded input "
                             f"{shape[2:]} (padding {p}); the output would be empty")
        out.append(o)
        need = (o - 1) * s[ax] + d[ax] * (k[ax] - 1) + 1
        pads += [p[ax], max(p[ax], need - n - p[ax])]
    return {"kernel": k, "stride": s, "pad": tuple(pads), "dilation": d, "out_hw": tuple(out)}


def _prepare_max_pool(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                      dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Prepared:
    if return_indices:
        raise ValueError("max_pool2d: return_indices=True is not supported")
    return (input,), prepare_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def _max_windows(x: Any, kernel: Any, stride: Any, pad: Any, dilation: Any, out_hw: Any) -> np.ndarray:
    x = np.asarray(x)
    win = _windows(x, kernel, stride, pad, dilation, out_hw, fill=-np.inf)
    return win.reshape(win.shape[:4] + (-1,))


def _taps(x: np.ndarray, kernel: Any, stride: Any, dilation: Any, out_hw: Any) -> list[np.ndarray]:
    """The kH * kW strided views ``x[:, :, i*dh::sh, j*dw::sw]`` (each (N, C, Ho, Wo)) of a padded
    input, in window order: tap ``(i, j)`` of every window at once, with no copy."""
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out_hw
    return [x[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
            for i in range(kernel[0]) for j in range(kernel[1])]


def _pad_inf(x: np.ndarray, pad: Any) -> np.ndarray:
    if any(pad):
        return np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])), constant_values=-np.inf)
    return x


def _max_pool(x: Any, kernel: Any, stride: Any, pad: Any, dilation: Any, out_hw: Any) -> np.ndarray:
    # A running maximum over the kernel's taps: kH * kW - 1 elementwise passes over the
    # output's size, no window copy.  np.maximum propagates NaN, as PyTorch does.
    taps = _taps(_pad_inf(np.asarray(x), pad), kernel, stride, dilation, out_hw)
    if len(taps) == 1:
        return taps[0].copy()
    out = np.maximum(taps[0], taps[1])
    for t in taps[2:]:
        np.maximum(out, t, out=out)
    return out


def _argmax_positions(x: Any, kernel: Any, stride: Any, pad: Any, dilation: Any,
                      out_hw: Any) -> np.ndarray:
    # Index arithmetic only (no gradient flows through it): the flat H*W position of each
    # window's first maximum, as (N, C, Ho*Wo).
    xa = np.asarray(x)
    h, w = xa.shape[2:]
    k = np.argmax(_max_windows(xa, kernel, stride, pad, dilation, out_hw), axis=-1)
    ki, kj = np.divmod(k, kernel[1])
    rows = np.arange(out_hw[0])[:, None] * stride[0] + ki * dilation[0] - pad[0]
    cols = np.arange(out_hw[1])[None, :] * stride[1] + kj * dilation[1] - pad[2]
    return (rows * w + cols).reshape(xa.shape[0], xa.shape[1], -1)


def max_pool_scatter_reference(g: Any, x: Any, kernel: Any, stride: Any, pad: Any, dilation: Any,
                               out_hw: Any) -> np.ndarray:
    """The reference form of the max-pool gradient: ``g`` added at each window's first
    maximum, located by ``argmax`` over a copy of the windows (also handles NaN windows)."""
    n, c, h, w = np.shape(x)
    g = np.asarray(g)
    pos = _argmax_positions(x, kernel, stride, pad, dilation, out_hw)
    flat = np.zeros((n, c, h * w), dtype=g.dtype)
    np.add.at(flat, (np.arange(n)[:, None, None], np.arange(c)[None, :, None], pos), g.reshape(n, c, -1))
    return flat.reshape(n, c, h, w)


def _max_pool_scatter(g: Any, x: Any, out: Any, kernel: Any, stride: Any, pad: Any, dilation: Any,
                      out_hw: Any) -> np.ndarray:
    # Tap by tap, in window order: a position gets g where it equals the window's maximum and
    # no earlier tap of that window did (the first maximum, as PyTorch).  A NaN maximum matches
    # nothing, so such (rare) inputs take the argmax path.
    g, x, out = np.asarray(g), np.asarray(x), np.asarray(out)
    if out.dtype.kind == "f" and np.isnan(out).any():
        return max_pool_scatter_reference(g, x, kernel, stride, pad, dilation, out_hw)
    xp = _pad_inf(x, pad)
    gx = np.zeros(xp.shape, dtype=g.dtype)
    # Windows that do not overlap write disjoint positions: assign instead of accumulating.
    disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
    taken = None
    for tx, tg in zip(_taps(xp, kernel, stride, dilation, out_hw), _taps(gx, kernel, stride, dilation, out_hw)):
        hit = tx == out
        if taken is None:
            taken = hit
        else:
            hit &= ~taken
            taken |= hit
        if disjoint:
            np.multiply(g, hit, out=tg)
        else:
            tg += g * hit
    if any(pad):
        gx = np.ascontiguousarray(gx[:, :, pad[0]:pad[0] + x.shape[2], pad[2]:pad[2] + x.shape[3]])
    return gx


def _max_pool_grad(b: Any, g: Any, out: Any, x: Any, **a: Any) -> Any:
    return b.max_pool2d_scatter(g, x, out, **a)


def _max_pool_gather(b: Any, g: Any, out: Any, src: Any, x: Any, pooled: Any, **a: Any) -> Any:
    # The adjoint of the scatter: each window reads the incoming gradient at its first maximum.
    n, c, h, w = x.shape
    pos = _argmax_positions(x, **a)
    taken = b.take_along_dim(b.reshape(g, shape=(n, c, h * w)), dim=2, indices=pos)
    return b.reshape(taken, shape=(n, c) + tuple(a["out_hw"]))


def _pool_attrs(k: Any, s: Any, p: Any, o: Any, d: Any = (1, 1)) -> dict[str, Any]:
    return {"kernel": k, "stride": s, "pad": p, "dilation": d, "out_hw": o}


MAX_POOL2D = defop(
    "max_pool2d", _max_pool, (_max_pool_grad,),
    Domain(make=lambda rng: [
        Sample((rng.permutation(50).reshape(2, 1, 5, 5) * 0.1,),
               _pool_attrs((2, 2), (2, 2), (0, 0, 0, 0), (2, 2))),
        Sample((rng.permutation(36).reshape(1, 1, 6, 6) * 0.1,),
               _pool_attrs((3, 3), (2, 2), (1, 1, 1, 2), (3, 3))),
        Sample((rng.permutation(30).reshape(1, 2, 3, 5) * 0.1,),
               _pool_attrs((2, 2), (1, 2), (0, 0, 0, 0), (1, 2), (2, 1))),
    ]),
    prepare=_prepare_max_pool, method=False,
    doc="Max over (kH, kW) windows of NCHW input; gradient to each window's first maximum.\n\n"
        ">>> import gradwise as gw\n>>> gw.max_pool2d(gw.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()\n"
        "[[[[5.0, 7.0], [13.0, 15.0]]]]",
)




def _scatter_samples(rng: np.random.Generator) -> list[Sample]:
    out = []
    assert MAX_POOL2D.domain is not None  # declared with a Domain above
    for sample in MAX_POOL2D.domain.samples(rng):
        x, a = sample.args[0], sample.attrs
        pooled = _max_pool(x, **a)
        out.append(Sample((rng.standard_normal(pooled.shape), x, pooled), a, (0,)))
    return out


# A primitive for speed: the scatter tap by tap, without the argmax over copied windows.
MAX_POOL2D_SCATTER = defop(
    "max_pool2d_scatter", _max_pool_scatter, (_max_pool_gather, None, None),
    Domain(make=_scatter_samples),
    saves_out=False, method=False, function=False,
    doc="The gradient of max_pool2d: ``src`` (N, C, Ho, Wo) added at each window's first maximum "
        "of ``x``, whose pooled values are ``pooled``; the result has ``x``'s shape.",
)


def _avg_divisor(in_hw: tuple[int, ...], kernel: Any, stride: Any, pad: Any, out_hw: Any,
                 count_include_pad: bool, divisor_override: Any) -> np.ndarray:
    # PyTorch: the window is clipped to the padded input for count_include_pad, else to the input.
    if divisor_override:
        return np.full(out_hw, float(divisor_override))
    sizes = []
    for ax in range(2):
        start = np.arange(out_hw[ax]) * stride[ax] - pad[2 * ax]
        end = np.minimum(start + kernel[ax], in_hw[ax] + pad[2 * ax])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, in_hw[ax])
        sizes.append(end - start)
    return np.outer(sizes[0], sizes[1]).astype(np.float64)


def _prepare_avg_pool(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                      ceil_mode: bool = False, count_include_pad: bool = True,
                      divisor_override: Any = None) -> Prepared:
    a = prepare_pool("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    in_hw = shape_of(input)[2:]
    div = _avg_divisor(in_hw, a["kernel"], a["stride"], a["pad"], a["out_hw"], count_include_pad,
                       divisor_override)
    return (input,), {"kernel": a["kernel"], "stride": a["stride"], "pad": a["pad"],
                      "out_hw": a["out_hw"], "in_hw": tuple(in_hw), "divisor": div}


def _avg_pool(x: Any, kernel: Any, stride: Any, pad: Any, out_hw: Any, in_hw: Any,
              divisor: Any) -> np.ndarray:
    x = np.asarray(x)
    win = _windows(x, kernel, stride, pad, (1, 1), out_hw)
    return (win.sum(axis=(4, 5)) / divisor).astype(x.dtype, copy=False)


def _avg_pool_adjoint(g: Any, kernel: Any, stride: Any, pad: Any, out_hw: Any, in_hw: Any,
                      divisor: Any) -> np.ndarray:
    # Spread each output's gradient evenly (1/divisor) over its window.
    g = np.asarray(g)
    n, c = g.shape[:2]
    scaled = (g / divisor).astype(g.dtype, copy=False)
    hp, wp = in_hw[0] + pad[0] + pad[1], in_hw[1] + pad[2] + pad[3]
    xp = np.zeros((n, c, hp, wp), dtype=g.dtype)
    ho, wo = out_hw
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            xp[:, :, i:i + stride[0] * (ho - 1) + 1:stride[0],
               j:j + stride[1] * (wo - 1) + 1:stride[1]] += scaled
    return np.ascontiguousarray(xp[:, :, pad[0]:pad[0] + in_hw[0], pad[2]:pad[2] + in_hw[1]])


def _avg_samples(rng: np.random.Generator) -> list[Sample]:
    out = []
    cases = (((2, 1, 5, 5), 2, 2, 0, False, True), ((1, 2, 5, 6), 3, 2, 1, True, False),
             ((1, 1, 4, 4), 3, 1, 1, False, True))
    for shape, k, s, p, ceil, cip in cases:
        x = rng.standard_normal(shape)
        (_,), attrs = _prepare_avg_pool(x, k, s, p, ceil, cip)
        out.append(Sample((x,), attrs))
    return out


AVG_POOL2D = defop(
    "avg_pool2d", _avg_pool,
    (lambda b, g, out, x, **a: b.avg_pool2d_adjoint(g, **a),),
    Domain(make=_avg_samples),
    prepare=_prepare_avg_pool, saves_inputs=False, saves_out=False, method=False,
    doc="Mean over (kH, kW) windows of NCHW input (PyTorch's padding/ceil_mode/count_include_pad).\n\n"
        ">>> import gradwise as gw\n>>> gw.avg_pool2d(gw.ones(1, 1, 4, 4), 2).shape\n(1, 1, 2, 2)",
)


def _avg_adjoint_samples(rng: np.random.Generator) -> list[Sample]:
    out = []
    for s in _avg_samples(rng):
        ho, wo = s.attrs["out_hw"]
        out.append(Sample((rng.standard_normal(s.args[0].shape[:2] + (ho, wo)),), s.attrs))
    return out


AVG_POOL2D_ADJOINT = defop(
    "avg_pool2d_adjoint", _avg_pool_adjoint,
    (lambda b, g, out, y, **a: b.avg_pool2d(g, **a),),
    Domain(make=_avg_adjoint_samples),
    saves_inputs=False, saves_out=False, method=False, function=False,
    doc="The adjoint of avg_pool2d (its gradient).",
)
