"""What every framework of a workload shares: shapes, initial weights, batches, hyper-parameters.

Weights follow PyTorch's default layer initialisation (uniform in +-1/sqrt(fan_in)) but are
drawn here, once, from a seeded NumPy generator and loaded into each framework, so the
first steps' losses must agree to float32 rounding.  Every array is float32 (targets int64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_BATCHES = 4  # distinct batches, cycled; enough that no framework can cache a result
CHECK_STEPS = 3  # losses of the first steps that must agree across frameworks


@dataclass(frozen=True)
class Problem:
    """Initial weights (name -> array, PyTorch's parameter names), batches, optimizer settings."""

    weights: dict[str, np.ndarray]
    batches: list[tuple[np.ndarray, np.ndarray]]
    lr: float
    momentum: float


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def _batches(rng: np.random.Generator, x_shape: tuple[int, ...], n_classes: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(rng.standard_normal(x_shape).astype(np.float32),
             rng.integers(0, n_classes, size=x_shape[1] if len(x_shape) == 3 else x_shape[0]).astype(np.int64))
            for _ in range(N_BATCHES)]


def mlp_problem(sizes: tuple[int, ...], batch: int, lr: float, momentum: float, seed: int = 0) -> Problem:
    """Layers ``{k}.weight (out, in)`` and ``{k}.bias`` named as in ``nn.Sequential`` of
    Linear/activation pairs (Linear layers at even indices)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weights[f"{2 * k}.weight"] = _uniform(rng, (n_out, n_in), n_in)
        weights[f"{2 * k}.bias"] = _uniform(rng, (n_out,), n_in)
    return Problem(weights, _batches(rng, (batch, sizes[0]), sizes[-1]), lr, momentum)


# W4: conv 1->8 3x3, ReLU, maxpool 2, conv 8->16 3x3, ReLU, maxpool 2, flatten, linear 400->10
CNN_LAYOUT = {"0": (8, 1, 3, 3), "3": (16, 8, 3, 3), "7": (10, 16 * 5 * 5)}


def cnn_problem(batch: int = 64, lr: float = 0.05, momentum: float = 0.0, seed: int = 0) -> Problem:
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in CNN_LAYOUT.items():
        fan_in = int(np.prod(shape[1:]))
        weights[f"{name}.weight"] = _uniform(rng, shape, fan_in)
        weights[f"{name}.bias"] = _uniform(rng, (shape[0],), fan_in)
    x = [(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32),
          rng.integers(0, 10, size=batch).astype(np.int64)) for _ in range(N_BATCHES)]
    return Problem(weights, x, lr, momentum)


# W5: 2-layer LSTM, input 32, hidden 128, 32 time steps (L, N, H_in), linear head 128 -> 10
LSTM_SIZES = {"input": 32, "hidden": 128, "layers": 2, "steps": 32, "classes": 10}


def lstm_problem(batch: int = 32, lr: float = 0.05, momentum: float = 0.0, seed: int = 0) -> Problem:
    """Parameters named as in ``torch.nn.LSTM`` (``lstm.weight_ih_l0``...) plus ``head.weight/bias``."""
    s = LSTM_SIZES
    rng = np.random.default_rng(seed)
    h = s["hidden"]
    weights = {}
    for k in range(s["layers"]):
        n_in = s["input"] if k == 0 else h
        weights[f"lstm.weight_ih_l{k}"] = _uniform(rng, (4 * h, n_in), h)
        weights[f"lstm.weight_hh_l{k}"] = _uniform(rng, (4 * h, h), h)
        weights[f"lstm.bias_ih_l{k}"] = _uniform(rng, (4 * h,), h)
        weights[f"lstm.bias_hh_l{k}"] = _uniform(rng, (4 * h,), h)
    weights["head.weight"] = _uniform(rng, (s["classes"], h), h)
    weights["head.bias"] = _uniform(rng, (s["classes"],), h)
    return Problem(weights, _batches(rng, (s["steps"], batch, s["input"]), s["classes"]), lr, momentum)
