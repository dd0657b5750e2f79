"""W1/W2 by hand in NumPy: forward, backward and SGD written out, no autograd.

This is the ceiling for an engine built on NumPy: the same BLAS calls and
elementwise passes, none of the bookkeeping.  Everything stays float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.spec import CHECK_STEPS, Problem


def log_softmax_ce(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy of logits ``z (N, C)`` against class indices, and its gradient in ``z``."""
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = (np.log(s[:, 0]) - shifted[rows, y]).mean()
    dz = e / s                      # softmax
    dz[rows, y] -= 1.0
    dz *= np.float32(1.0 / n)
    return loss, dz


def _affine(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x W^T + b``; for a batch narrower than the layer (and a real inner dimension) as
    ``(W x^T)^T``, which OpenBLAS runs faster, transposed back while adding the bias."""
    m, k = x.shape
    if m < w.shape[0] and k >= 64:
        out = np.empty((m, w.shape[0]), dtype=x.dtype)
        np.add((w @ x.T).T, b, out=out)
        return out
    z = x @ w.T
    z += b
    return z


class SGD:
    """``p -= lr * g`` or, with momentum, ``b = momentum b + g; p -= lr b`` (PyTorch's SGD), in place."""

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float) -> None:
        self.params, self.lr, self.momentum = params, np.float32(lr), np.float32(momentum)
        self.bufs: list[np.ndarray | None] = [None] * len(params)

    def step(self, grads: list[np.ndarray]) -> None:
        for k, (p, g) in enumerate(zip(self.params, grads)):
            if self.momentum:
                b = self.bufs[k]
                if b is None:
                    b = self.bufs[k] = g.copy()
                else:
                    b *= self.momentum
                    b += g
                g = b
            p -= self.lr * g


def numpy_mlp(problem: Problem, act: str) -> tuple[Any, Any]:
    n_layers = len(problem.weights) // 2
    ws = [problem.weights[f"{2 * k}.weight"].copy() for k in range(n_layers)]
    bs = [problem.weights[f"{2 * k}.bias"].copy() for k in range(n_layers)]
    opt = SGD([*ws, *bs], problem.lr, problem.momentum)
    state = {"i": 0}

    def step() -> float:
        x, y = problem.batches[state["i"] % len(problem.batches)]
        state["i"] += 1
        acts = [x]
        for k in range(n_layers):
            z = _affine(acts[-1], ws[k], bs[k])
            if k < n_layers - 1:
                if act == "sigmoid":
                    np.negative(z, out=z)
                    np.exp(z, out=z)
                    z += 1.0
                    np.reciprocal(z, out=z)
                else:
                    np.maximum(z, 0.0, out=z)
            acts.append(z)
        loss, g = log_softmax_ce(acts[-1], y)
        dws, dbs = [None] * n_layers, [None] * n_layers
        for k in reversed(range(n_layers)):
            dws[k] = g.T @ acts[k]
            dbs[k] = g.sum(axis=0)
            if k:
                g = g @ ws[k]
                a = acts[k]
                if act == "sigmoid":
                    g *= a * (1.0 - a)
                else:
                    g *= a > 0
        opt.step([*dws, *dbs])
        return float(loss)

    def check() -> list[float]:
        return [step() for _ in range(CHECK_STEPS)]

    return step, check
