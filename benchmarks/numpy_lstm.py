"""W5 by hand in NumPy: 2-layer LSTM (PyTorch's equations and gate order i, f, g, o), linear head on
the last time step, mean cross-entropy, SGD; backpropagation through time written out.

Gate-major buffers (4, T, N, H) so that every per-step operation works on contiguous
(N, H) blocks: per layer the input projections of all steps are four GEMMs before the
loop, the recurrent product four small GEMMs per step, and the weight gradients one
batched GEMM each after the loop.  The sigmoid gates go through the same tanh as the g
gate (sigmoid(x) = (1 + tanh(x/2)) / 2), one call for all four.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.numpy_mlp import SGD, log_softmax_ce
from benchmarks.spec import CHECK_STEPS, LSTM_SIZES, Problem

SCALE = np.array([0.5, 0.5, 1.0, 0.5], dtype=np.float32).reshape(4, 1, 1)
SHIFT = np.array([0.5, 0.5, 0.0, 0.5], dtype=np.float32).reshape(4, 1, 1)


def _layer_forward(xs: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    t_len, n, n_in = xs.shape
    hd = w_hh.shape[1]
    pre = np.matmul(xs.reshape(t_len * n, n_in), (w_ih.reshape(4, hd, n_in) * SCALE).transpose(0, 2, 1))
    pre += b.reshape(4, 1, hd) * SCALE
    pre = pre.reshape(4, t_len, n, hd)
    w4 = np.ascontiguousarray((w_hh.reshape(4, hd, hd) * SCALE).transpose(0, 2, 1))
    acts = np.empty((4, t_len, n, hd), dtype=np.float32)
    cs = np.empty((t_len + 1, n, hd), dtype=np.float32)     # cs[t + 1] = c_t, cs[0] = 0
    hs = np.empty((t_len + 1, n, hd), dtype=np.float32)     # hs[t + 1] = h_t, hs[0] = 0
    cs[0] = 0.0
    hs[0] = 0.0
    ig = np.empty((n, hd), dtype=np.float32)
    for t in range(t_len):
        a = acts[:, t]
        np.matmul(hs[t], w4, out=a)
        a += pre[:, t]
        np.tanh(a, out=a)
        a *= SCALE
        a += SHIFT
        np.multiply(a[1], cs[t], out=cs[t + 1])
        np.multiply(a[0], a[2], out=ig)
        cs[t + 1] += ig
        np.tanh(cs[t + 1], out=hs[t + 1])
        hs[t + 1] *= a[3]
    return {"xs": xs, "acts": acts, "cs": cs, "hs": hs}


def _layer_backward(saved: dict[str, np.ndarray], dhs: np.ndarray, w_ih: np.ndarray,
                    w_hh: np.ndarray, need_dx: bool) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients in (x_t for all t, W_ih, W_hh, bias) from the gradients ``dhs`` in h_t."""
    acts, cs, hs, xs = saved["acts"], saved["cs"], saved["hs"], saved["xs"]
    _, t_len, n, hd = acts.shape
    tcs = np.tanh(cs[1:])
    deriv = acts - acts * acts
    np.subtract(1.0, acts[2] * acts[2], out=deriv[2])
    o_dtc = acts[3] * (1.0 - tcs * tcs)
    w4 = np.ascontiguousarray(w_hh.reshape(4, hd, hd))
    da = np.empty((4, t_len, n, hd), dtype=np.float32)
    dh = np.zeros((n, hd), dtype=np.float32)
    dc = np.zeros((n, hd), dtype=np.float32)
    tmp = np.empty((n, hd), dtype=np.float32)
    back = np.empty((4, n, hd), dtype=np.float32)
    for t in reversed(range(t_len)):
        dh += dhs[t]
        np.multiply(dh, o_dtc[t], out=tmp)
        dc += tmp
        d = da[:, t]
        np.multiply(dc, acts[2, t], out=d[0])
        np.multiply(dc, cs[t], out=d[1])
        np.multiply(dc, acts[0, t], out=d[2])
        np.multiply(dh, tcs[t], out=d[3])
        d *= deriv[:, t]
        dc *= acts[1, t]
        np.matmul(d, w4, out=back)
        np.add.reduce(back, axis=0, out=dh)
    flat = da.reshape(4, t_len * n, hd)
    flat_t = flat.transpose(0, 2, 1)
    d_w_hh = np.matmul(flat_t, hs[:-1].reshape(t_len * n, hd)).reshape(4 * hd, hd)
    d_w_ih = np.matmul(flat_t, xs.reshape(t_len * n, -1)).reshape(4 * hd, -1)
    d_b = flat.sum(axis=1).reshape(4 * hd)
    dxs = None
    if need_dx:
        dxs = np.add.reduce(np.matmul(flat, w_ih.reshape(4, hd, -1)), axis=0).reshape(t_len, n, -1)
    return dxs, d_w_ih, d_w_hh, d_b


def numpy_lstm(problem: Problem) -> tuple[Any, Any]:
    layers = LSTM_SIZES["layers"]
    w = {k: v.copy() for k, v in problem.weights.items()}
    w_ih = [w[f"lstm.weight_ih_l{k}"] for k in range(layers)]
    w_hh = [w[f"lstm.weight_hh_l{k}"] for k in range(layers)]
    b_ih = [w[f"lstm.bias_ih_l{k}"] for k in range(layers)]
    b_hh = [w[f"lstm.bias_hh_l{k}"] for k in range(layers)]
    head_w, head_b = w["head.weight"], w["head.bias"]
    opt = SGD([*w_ih, *w_hh, *b_ih, *b_hh, head_w, head_b], problem.lr, problem.momentum)
    state = {"i": 0}

    def step() -> float:
        x, y = problem.batches[state["i"] % len(problem.batches)]
        state["i"] += 1
        saved = []
        xs = x
        for k in range(layers):
            s = _layer_forward(xs, w_ih[k], w_hh[k], b_ih[k] + b_hh[k])
            saved.append(s)
            xs = s["hs"][1:]
        last = xs[-1]
        z = last @ head_w.T
        z += head_b
        loss, dz = log_softmax_ce(z, y)
        d_head_w, d_head_b = dz.T @ last, dz.sum(axis=0)
        dhs = np.zeros_like(xs)
        dhs[-1] = dz @ head_w
        grads: dict[str, list[Any]] = {"ih": [None] * layers, "hh": [None] * layers, "b": [None] * layers}
        for k in reversed(range(layers)):
            dhs, grads["ih"][k], grads["hh"][k], grads["b"][k] = _layer_backward(saved[k], dhs, w_ih[k], w_hh[k],
                                                                                 need_dx=k > 0)
        opt.step([*grads["ih"], *grads["hh"], *grads["b"], *grads["b"], d_head_w, d_head_b])
        return float(loss)

    def check() -> list[float]:
        return [step() for _ in range(CHECK_STEPS)]

    return step, check
