"""One LSTM layer over a whole sequence as one op (a primitive for speed: one graph node
per layer instead of about fifteen per time step, and the backward through time written
out on arrays, as PyTorch's fused CPU LSTM does).

``lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh)`` runs PyTorch's equations, gates in its
order i, f, g, o, over ``x`` (T, N, I) from the state ``h0, c0`` (N, H):

    a_t = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T
    i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)

The output packs everything the backward reads, gate-major so that every per-step
operation runs on contiguous (N, H) blocks: ``out[k, t]`` for ``k`` = i, f, g, o, c, h
(6, T, N, H).  The layer exposes ``out[5]`` (the hidden states) and ``out[4, -1]``.

Its gradient is the backward through time: ``dc`` carried back by the forget gate, ``dh``
by ``W_hh``, giving the gradient ``da_t`` of every step's gate pre-activations; those of
``x``, ``W_ih``, ``W_hh`` and the biases then follow with one GEMM each, computed only for
the inputs that need them (:class:`~gradwise.ops.registry.JointGrads`).  On arrays this
runs as in-place NumPy over preallocated buffers, with the gate derivatives and
``tanh(c)`` computed for all steps at once; under ``create_graph=True`` the same
equations run on recorded ops (:func:`lstm_layer_grads_reference`), so second
derivatives exist.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import JointGrads, Later, defop

# sigmoid(x) = (1 + tanh(x / 2)) / 2: all four gates go through one tanh when the i, f, o
# pre-activations are halved (exact in floating point) and the result mapped by
# SCALE * t + SHIFT, which leaves the g gate as tanh(x).
_SCALE = (0.5, 0.5, 1.0, 0.5)
_SHIFT = (0.5, 0.5, 0.0, 0.5)


def _gate_vector(values: tuple[float, ...], dtype: np.dtype) -> np.ndarray:
    return np.array(values, dtype=dtype).reshape(4, 1, 1)


def _lstm_layer(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None) -> np.ndarray:
    x, h0, c0, w_ih, w_hh = (np.asarray(v) for v in (x, h0, c0, w_ih, w_hh))
    t_len, n, n_in = x.shape
    hd = w_hh.shape[1]
    dtype = np.result_type(x, h0, c0, w_ih, w_hh, *(b for b in (b_ih, b_hh) if b is not None))
    scale = _gate_vector(_SCALE, dtype)
    shift = _gate_vector(_SHIFT, dtype)
    # Input projections of every step at once, gate-major: four (T*N, I) @ (I, H) GEMMs.
    w_ih4 = (w_ih.reshape(4, hd, n_in) * scale).astype(dtype, copy=False).transpose(0, 2, 1)
    pre = np.matmul(x.reshape(t_len * n, n_in).astype(dtype, copy=False), w_ih4)      # (4, T*N, H)
    for b in (b_ih, b_hh):
        if b is not None:
            pre += np.asarray(b, dtype=dtype).reshape(4, 1, hd) * scale
    pre = pre.reshape(4, t_len, n, hd)
    w_hh4 = np.ascontiguousarray((w_hh.reshape(4, hd, hd) * scale).transpose(0, 2, 1), dtype=dtype)
    out = np.empty((6, t_len, n, hd), dtype=dtype)
    ig = np.empty((n, hd), dtype=dtype)
    h, c = h0.astype(dtype, copy=False), c0.astype(dtype, copy=False)
    for t in range(t_len):
        a = out[:4, t]                                  # (4, N, H): i, f, g, o
        np.matmul(h, w_hh4, out=a)
        a += pre[:, t]
        np.tanh(a, out=a)
        a *= scale
        a += shift
        c_new, h_new = out[4, t], out[5, t]
        np.multiply(a[1], c, out=c_new)                 # c = f c_{t-1} + i g
        np.multiply(a[0], a[2], out=ig)
        c_new += ig
        np.tanh(c_new, out=h_new)                       # h = o tanh(c)
        h_new *= a[3]
        h, c = h_new, c_new
    return out


def _bptt_arrays(g: np.ndarray, out: np.ndarray, c0: np.ndarray, w_hh: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(da, dh0, dc0)``: the gradient of every step's gate pre-activations (4, T, N, H)
    and of the initial state, from ``g``, the gradient of the packed output."""
    _, t_len, n, hd = out.shape
    dtype = out.dtype
    acts, cs = out[:4], out[4]
    tcs = np.tanh(cs)
    # Each gate's local derivative, for all steps at once: s (1 - s) for the sigmoid gates,
    # 1 - g^2 for the tanh gate; and o (1 - tanh(c)^2), how dL/dh_t reaches c_t.
    deriv = acts - acts * acts
    np.subtract(1.0, acts[2] * acts[2], out=deriv[2])
    o_dtc = acts[3] * (1.0 - tcs * tcs)
    g = np.asarray(g, dtype=dtype)
    g_act, g_c, g_h = g[:4], g[4], g[5]
    # Gradients into the packed gate slots, or into c at every step, are rare (a layer's
    # users read h, and c only at the last step): skip the additions where they are zero.
    gate_grads = bool(g_act.any())
    c_steps = set(np.flatnonzero(g_c.any(axis=(1, 2))).tolist())
    w4 = np.ascontiguousarray(np.asarray(w_hh, dtype=dtype).reshape(4, hd, hd))    # da_k @ W_k -> dh
    da = np.empty((4, t_len, n, hd), dtype=dtype)
    dh = np.zeros((n, hd), dtype=dtype)
    dc = np.zeros((n, hd), dtype=dtype)
    tmp = np.empty((n, hd), dtype=dtype)
    back = np.empty((4, n, hd), dtype=dtype)
    c0 = np.asarray(c0, dtype=dtype)
    for t in range(t_len - 1, -1, -1):
        dh += g_h[t]
        if t in c_steps:
            dc += g_c[t]
        np.multiply(dh, o_dtc[t], out=tmp)                       # c_t -> h_t
        dc += tmp
        d = da[:, t]
        np.multiply(dc, acts[2, t], out=d[0])                    # dL/di = dc g
        np.multiply(dc, cs[t - 1] if t else c0, out=d[1])        # dL/df = dc c_{t-1}
        np.multiply(dc, acts[0, t], out=d[2])                    # dL/dg = dc i
        np.multiply(dh, tcs[t], out=d[3])                        # dL/do = dh tanh(c)
        if gate_grads:
            d += g_act[:, t]
        d *= deriv[:, t]                                         # through the nonlinearities
        dc *= acts[1, t]                                         # c_{t-1}: forget-gated
        np.matmul(d, w4, out=back)                               # h_{t-1} through W_hh
        np.add.reduce(back, axis=0, out=dh)
    return da, dh, dc


def _lstm_layer_grads_arrays(g: np.ndarray, out: np.ndarray, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any,
                             b_ih: Any, b_hh: Any) -> tuple[Any, ...]:
    da, dh0, dc0 = _bptt_arrays(g, out, c0, w_hh)
    _, t_len, n, hd = out.shape
    dtype = out.dtype
    flat = da.reshape(4, t_len * n, hd)
    flat_t = flat.transpose(0, 2, 1)                             # (4, H, T*N)

    def d_x() -> np.ndarray:
        n_in = np.shape(x)[2]
        w4 = np.asarray(w_ih, dtype=dtype).reshape(4, hd, n_in)
        return np.add.reduce(np.matmul(flat, w4), axis=0).reshape(t_len, n, n_in)

    def d_w_ih() -> np.ndarray:
        xs = np.asarray(x, dtype=dtype).reshape(t_len * n, -1)
        return np.matmul(flat_t, xs).reshape(4 * hd, -1)

    def d_w_hh() -> np.ndarray:
        h_prev = np.concatenate([np.asarray(h0, dtype=dtype)[None], out[5, :-1]], axis=0)[:t_len]
        return np.matmul(flat_t, h_prev.reshape(t_len * n, hd)).reshape(4 * hd, hd)

    def d_b() -> np.ndarray:
        return flat.sum(axis=1).reshape(4 * hd)

    return (Later(d_x), dh0, dc0, Later(d_w_ih), Later(d_w_hh), Later(d_b), Later(d_b))


def lstm_layer_grads_reference(b: Any, g: Any, out: Any, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any,
                               b_ih: Any = None, b_hh: Any = None) -> tuple[Any, ...]:
    """The backward through time written with backend ops, step by step: runs on arrays
    (the reference the array path is tested against) and on Tensors (``create_graph``)."""
    _, t_len, n, hd = out.shape
    n_in = x.shape[2]
    if t_len == 0:
        zero_b = None if b_ih is None else b_ih * 0.0
        return (x * 0.0, h0 * 0.0, c0 * 0.0, w_ih * 0.0, w_hh * 0.0, zero_b,
                None if b_hh is None else b_hh * 0.0)

    def slot(v: Any, k: int, t: int) -> Any:          # gate/state k of step t, (N, H)
        return b.getitem(v, key=(k, t))

    dh = dc = dw_hh = None
    steps = []
    for t in range(t_len - 1, -1, -1):
        i, f, gt, o, c = (slot(out, k, t) for k in range(5))
        c_prev = slot(out, 4, t - 1) if t else c0
        h_prev = slot(out, 5, t - 1) if t else h0
        gh = slot(g, 5, t) if dh is None else slot(g, 5, t) + dh
        gc = slot(g, 4, t) if dc is None else slot(g, 4, t) + dc
        tc = b.tanh(c)
        gc = gc + gh * o * (1.0 - tc * tc)
        di = (gc * gt + slot(g, 0, t)) * i * (1.0 - i)
        df = (gc * c_prev + slot(g, 1, t)) * f * (1.0 - f)
        dg = (gc * i + slot(g, 2, t)) * (1.0 - gt * gt)
        do = (gh * tc + slot(g, 3, t)) * o * (1.0 - o)
        d = b.cat(di, df, dg, do, dim=1, offsets=(0, hd, 2 * hd, 3 * hd, 4 * hd))     # (N, 4H)
        steps.append(d)
        dh = b.matmul(d, w_hh)
        dc = gc * f
        dwt = b.matmul(b.transpose(d, dim0=0, dim1=1), h_prev)
        dw_hh = dwt if dw_hh is None else dw_hh + dwt
    da = b.stack(*reversed(steps), dim=0)                                             # (T, N, 4H)
    da2 = b.reshape(da, shape=(t_len * n, 4 * hd))
    d_x = b.matmul(da, w_ih)
    d_w_ih = b.matmul(b.transpose(da2, dim0=0, dim1=1), b.reshape(x, shape=(t_len * n, n_in)))
    d_b = b.sum(da2, dim=(0,), keepdim=False)
    return (d_x, dh, dc, d_w_ih, dw_hh, None if b_ih is None else d_b, None if b_hh is None else d_b)


def _lstm_layer_grads(b: Any, g: Any, out: Any, *inputs: Any) -> tuple[Any, ...]:
    if isinstance(g, np.ndarray) and isinstance(out, np.ndarray):
        return _lstm_layer_grads_arrays(g, out, *inputs)
    return lstm_layer_grads_reference(b, g, out, *inputs)


def _samples(rng: np.random.Generator) -> list[Sample]:
    out = []
    for t_len, n, n_in, hd, bias in ((3, 2, 3, 2, True), (2, 1, 2, 3, False)):
        args: list[np.ndarray | None] = [rng.standard_normal((t_len, n, n_in)), 0.5 * rng.standard_normal((n, hd)),
                0.5 * rng.standard_normal((n, hd)), 0.5 * rng.standard_normal((4 * hd, n_in)),
                0.5 * rng.standard_normal((4 * hd, hd))]
        args += [0.5 * rng.standard_normal(4 * hd), 0.5 * rng.standard_normal(4 * hd)] if bias else [None, None]
        out.append(Sample(tuple(args), {}, tuple(range(7 if bias else 5))))
    return out


LSTM_LAYER = defop(
    "lstm_layer", _lstm_layer, JointGrads(_lstm_layer_grads, 7).rules,
    Domain(make=_samples),
    method=False, function=False,
    doc="One LSTM layer over ``x`` (T, N, I) from ``h0, c0`` (N, H), weights (4H, I), (4H, H), biases "
        "(4H,) or None; returns (6, T, N, H): per step i, f, g, o, c, h (see gradwise.nn.LSTM).",
)
