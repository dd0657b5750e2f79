"""Benchmark workloads, each written once per framework (gradwise, NumPy by hand, PyTorch).

Every workload function takes the framework name and returns ``(step, check)``:
``step()`` runs one timed unit of work, ``check()`` returns numbers that must agree
across frameworks (so a fast wrong answer cannot pass).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

N_OPS = 200  # W3: ops per chain, cycling y*c, y+d, tanh(y)


def _w3_constants() -> tuple[np.ndarray, float, float]:
    rng = np.random.default_rng(0)
    return rng.standard_normal(16).astype(np.float32), 0.9, 0.1


def w3_op_overhead(framework: str) -> tuple[Callable[[], Any], Callable[[], list[float]]]:
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
            return [float(y.data.sum()), float(x.grad.data.sum())]

        return step, check
    if framework == "torch":
        import torch

        torch.set_num_threads(1)
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


WORKLOADS: dict[str, Callable[[str], tuple[Callable[[], Any], Callable[[], list[float]]]]] = {
    "W3_op_overhead": w3_op_overhead,
}
# Units per step, to turn seconds per step into the figure each workload reports.
PER_STEP = {"W3_op_overhead": ("us/op", 1e6 / N_OPS)}
