"""Benchmark workloads, each written once per framework (gradwise, NumPy by hand, PyTorch).

Every workload function takes the framework name and the thread count and returns
``(step, check)``: ``step()`` runs one timed unit of work, ``check()`` returns numbers
that must agree across frameworks (so a fast wrong answer cannot pass).  ``check`` runs
first, on the fresh model: for the training workloads it returns the first steps' losses.

| name | what | unit |
| --- | --- | --- |
| W1_tiny_mlp | MLP 64-32-10, sigmoid, batch 32, SGD(lr=0.1) | steps/s |
| W2_mlp_b{32,128,512} | MLP 784-512-256-10, ReLU, SGD(lr=0.01, momentum=0.9) | steps/s (+ peak RSS) |
| W3_op_overhead | 200 elementwise ops on 16 floats, forward + backward | us/op |
| W4_cnn | conv 1->8 3x3, ReLU, pool 2, conv 8->16 3x3, ReLU, pool 2, linear; batch 64, SGD(lr=0.05) | steps/s |
| W5_lstm | 2-layer LSTM (in 32, hidden 128), 32 steps, batch 32, linear head; SGD(lr=0.05) | steps/s |

All training workloads use the mean softmax cross-entropy over 10 classes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from benchmarks import spec

N_OPS = 200  # W3: ops per chain, cycling y*c, y+d, tanh(y)


def _w3_constants() -> tuple[np.ndarray, float, float]:
    rng = np.random.default_rng(0)
    return rng.standard_normal(16).astype(np.float32), 0.9, 0.1


def w3_op_overhead(framework: str, threads: int = 1) -> tuple[Callable[[], Any], Callable[[], list[float]]]:
    """W3: 200 elementwise ops on a 16-element float32 vector, then backward."""
    x0, c, d = _w3_constants()
    if framework == "gradwise":
        import gradwise as gw

        x = gw.tensor(x0, requires_grad=True)

        def step() -> Any:
            y = x
            for i in range(N_OPS):
                k = i % 3
                y = y * c if k == 0 else (y + d if k == 1 else y.tanh())
            x.grad = None
            y.sum().backward()
            return y

        def check() -> list[float]:
            y = step()
            return [float(y.detach().numpy().sum()), float(x.grad.detach().numpy().sum())]

        return step, check
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        xt = torch.tensor(x0, requires_grad=True)

        def step() -> Any:
            y = xt
            for i in range(N_OPS):
                k = i % 3
                y = y * c if k == 0 else (y + d if k == 1 else y.tanh())
            xt.grad = None
            y.sum().backward()
            return y

        def check() -> list[float]:
            y = step()
            return [float(y.detach().sum()), float(xt.grad.sum())]

        return step, check
    if framework == "numpy":
        # Hand-written forward and backward: the ceiling for an engine built on NumPy.
        def step() -> Any:
            y = x0
            saved = []
            for i in range(N_OPS):
                k = i % 3
                if k == 0:
                    y = y * np.float32(c)
                elif k == 1:
                    y = y + np.float32(d)
                else:
                    y = np.tanh(y)
                    saved.append(y)
            g = np.ones_like(y)
            for i in reversed(range(N_OPS)):
                k = i % 3
                if k == 0:
                    g = g * np.float32(c)
                elif k == 2:
                    t = saved.pop()
                    g = g * (1 - t * t)
            step.grad = g  # type: ignore[attr-defined]
            return y

        def check() -> list[float]:
            y = step()
            return [float(y.sum()), float(step.grad.sum())]  # type: ignore[attr-defined]

        return step, check
    raise ValueError(f"unknown framework {framework!r}")


Workload = Callable[[str, int], tuple[Callable[[], Any], Callable[[], list[float]]]]


def training(problem: Callable[[], spec.Problem], model: str, sizes: tuple[int, ...] = (),
             act: str = "relu") -> Workload:
    """A training workload: the same problem in gradwise, by hand in NumPy, and in PyTorch."""

    def make(framework: str, threads: int = 1) -> tuple[Callable[[], Any], Callable[[], list[float]]]:
        prob = problem()
        if framework == "gradwise":
            from benchmarks.train_frameworks import gradwise_training

            return gradwise_training(prob, model, sizes, act)
        if framework == "torch":
            from benchmarks.train_frameworks import torch_training

            return torch_training(prob, model, sizes, act, threads)
        if framework == "numpy":
            if model == "mlp":
                from benchmarks.numpy_mlp import numpy_mlp

                return numpy_mlp(prob, act)
            if model == "cnn":
                from benchmarks.numpy_cnn import numpy_cnn

                return numpy_cnn(prob)
            from benchmarks.numpy_lstm import numpy_lstm

            return numpy_lstm(prob)
        raise ValueError(f"unknown framework {framework!r}")

    return make


W1_SIZES = (64, 32, 10)
W2_SIZES = (784, 512, 256, 10)

WORKLOADS: dict[str, Workload] = {
    "W1_tiny_mlp": training(partial(spec.mlp_problem, W1_SIZES, 32, 0.1, 0.0), "mlp", W1_SIZES, "sigmoid"),
    "W2_mlp_b128": training(partial(spec.mlp_problem, W2_SIZES, 128, 0.01, 0.9), "mlp", W2_SIZES),
    "W3_op_overhead": w3_op_overhead,
    "W4_cnn": training(spec.cnn_problem, "cnn"),
    "W5_lstm": training(spec.lstm_problem, "lstm"),
    "W2_mlp_b32": training(partial(spec.mlp_problem, W2_SIZES, 32, 0.01, 0.9), "mlp", W2_SIZES),
    "W2_mlp_b512": training(partial(spec.mlp_problem, W2_SIZES, 512, 0.01, 0.9), "mlp", W2_SIZES),
}
# How each workload reports: (unit, factor turning seconds per step into it, higher is better).
PER_STEP: dict[str, tuple[str, float, bool]] = {name: ("steps/s", 1.0, True) for name in WORKLOADS}
PER_STEP["W3_op_overhead"] = ("us/op", 1e6 / N_OPS, False)
