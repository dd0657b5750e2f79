"""W4 by hand in NumPy: conv 1->8 3x3, ReLU, maxpool 2, conv 8->16 3x3, ReLU, maxpool 2, linear 400->10.

NCHW throughout.  im2col is one copy of a strided view laid out (N, C*3*3, H*W) so that
each convolution is one batched GEMM whose result is already NCHW; the weight gradient
is the same columns against the output gradient, the input gradient one GEMM plus nine
strided adds (col2im).  Max pooling is a running maximum over the four taps of each
2x2 window (strided views, no copy); its gradient goes to the first maximum, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from benchmarks.numpy_mlp import SGD, log_softmax_ce
from benchmarks.spec import CHECK_STEPS, Problem


def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C * k * k, Ho * Wo), rows ordered (c, kh, kw)."""
    n, c, h, w = x.shape
    ho, wo = h - k + 1, w - k + 1
    s = x.strides
    win = as_strided(x, (n, c, k, k, ho, wo), (s[0], s[1], s[2], s[3], s[2], s[3]), writeable=False)
    return win.reshape(n, c * k * k, ho * wo)


def _col2im(dcols: np.ndarray, shape: tuple[int, ...], k: int) -> np.ndarray:
    n, c, h, w = shape
    ho, wo = h - k + 1, w - k + 1
    d = dcols.reshape(n, c, k, k, ho, wo)
    dx = np.zeros(shape, dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + ho, j:j + wo] += d[:, :, i, j]
    return dx


def _taps(a: np.ndarray, ho: int, wo: int) -> list[np.ndarray]:
    return [a[:, :, i:2 * ho:2, j:2 * wo:2] for i in (0, 1) for j in (0, 1)]


def _pool(a: np.ndarray) -> np.ndarray:
    """2x2 max pool, stride 2, floor."""
    ho, wo = a.shape[2] // 2, a.shape[3] // 2
    t = _taps(a, ho, wo)
    out = np.maximum(t[0], t[1])
    np.maximum(out, t[2], out=out)
    np.maximum(out, t[3], out=out)
    return out


def _unpool(g: np.ndarray, a: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """Gradient of _pool: g to the first tap equal to the window's maximum."""
    ho, wo = pooled.shape[2:]
    da = np.zeros(a.shape, dtype=g.dtype)
    taken = None
    for ta, td in zip(_taps(a, ho, wo), _taps(da, ho, wo)):
        hit = ta == pooled
        if taken is None:
            taken = hit
        else:
            hit &= ~taken
            taken |= hit
        np.multiply(g, hit, out=td)
    return da


def numpy_cnn(problem: Problem) -> tuple[Any, Any]:
    w = problem.weights
    wm1, wm2 = w["0.weight"].reshape(8, 9).copy(), w["3.weight"].reshape(16, 72).copy()
    w3 = w["7.weight"].copy()
    b1, b2, b3 = w["0.bias"].copy(), w["3.bias"].copy(), w["7.bias"].copy()
    opt = SGD([wm1, wm2, w3, b1, b2, b3], problem.lr, problem.momentum)
    state = {"i": 0}

    def step() -> float:
        x, y = problem.batches[state["i"] % len(problem.batches)]
        state["i"] += 1
        n = x.shape[0]
        cols1 = _im2col(x, 3)                                         # (N, 9, 676)
        a1 = np.matmul(wm1, cols1)                                    # (N, 8, 676)
        a1 += b1[:, None]
        np.maximum(a1, 0.0, out=a1)
        a1 = a1.reshape(n, 8, 26, 26)
        p1 = _pool(a1)                                                # (N, 8, 13, 13)
        cols2 = _im2col(p1, 3)                                        # (N, 72, 121)
        a2 = np.matmul(wm2, cols2)
        a2 += b2[:, None]
        np.maximum(a2, 0.0, out=a2)
        a2 = a2.reshape(n, 16, 11, 11)
        p2 = _pool(a2)                                                # (N, 16, 5, 5)
        f = p2.reshape(n, 400)
        z = f @ w3.T
        z += b3
        loss, dz = log_softmax_ce(z, y)

        dw3, db3 = dz.T @ f, dz.sum(axis=0)
        da2 = _unpool((dz @ w3).reshape(n, 16, 5, 5), a2, p2)
        da2 *= a2 > 0
        dz2 = da2.reshape(n, 16, 121)
        dwm2 = np.matmul(dz2, cols2.transpose(0, 2, 1)).sum(axis=0)
        db2 = dz2.sum(axis=(0, 2))
        dp1 = _col2im(np.matmul(wm2.T, dz2), p1.shape, 3)
        da1 = _unpool(dp1, a1, p1)
        da1 *= a1 > 0
        dz1 = da1.reshape(n, 8, 676)
        dwm1 = np.matmul(dz1, cols1.transpose(0, 2, 1)).sum(axis=0)
        db1 = dz1.sum(axis=(0, 2))
        opt.step([dwm1, dwm2, dw3, db1, db2, db3])
        return float(loss)

    def check() -> list[float]:
        return [step() for _ in range(CHECK_STEPS)]

    return step, check
