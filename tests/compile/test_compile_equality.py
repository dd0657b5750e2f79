"""gradwise.compile gives eager's numbers, bit for bit, step after step.

Each case builds the same model twice from one seed, runs the same step eagerly on one copy
and compiled on the other, and compares the losses, parameters, gradients and optimizer
state after every step (the first call traces, the others replay the plan).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradwise as gw

STEPS = 6


def _batches(n_in: int, n_classes: int, batch: int, seed: int = 0) -> list[tuple[gw.Tensor, gw.Tensor]]:
    rng = np.random.default_rng(seed)
    return [(gw.tensor(rng.standard_normal((batch, n_in)).astype(np.float32)),
             gw.tensor(rng.integers(0, n_classes, batch)))
            for _ in range(3)]


def _mlp(sizes: tuple[int, ...], act: str) -> gw.nn.Module:
    layers: list[gw.nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(gw.nn.Linear(a, b))
        if k < len(sizes) - 2:
            layers.append(gw.nn.Sigmoid() if act == "sigmoid" else gw.nn.ReLU())
    return gw.nn.Sequential(*layers)


OPTIMIZERS: dict[str, Callable[[Any], Any]] = {
    "sgd": lambda ps: gw.optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: gw.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: gw.optim.Adam(ps, lr=1e-2),
    "adamw": lambda ps: gw.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
}


def _setup(sizes: tuple[int, ...], act: str, opt_name: str, clip: float | None,
           scheduler: bool) -> tuple[gw.nn.Module, Any, Any, Callable[..., gw.Tensor]]:
    gw.manual_seed(0)
    model = _mlp(sizes, act)
    opt = OPTIMIZERS[opt_name](model.parameters())
    sched = gw.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if scheduler else None

    def step(x: gw.Tensor, y: gw.Tensor) -> gw.Tensor:
        opt.zero_grad()
        loss = gw.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        if clip is not None:
            gw.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss

    return model, opt, sched, step


def _state_arrays(opt: Any) -> list[np.ndarray]:
    out = []
    for st in opt.state.values():
        for v in st.values():
            out.append(np.asarray(v._data if isinstance(v, gw.Tensor) else v))
    return out


def _assert_same(m1: gw.nn.Module, m2: gw.nn.Module, o1: Any, o2: Any) -> None:
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
        assert (p1.grad is None) == (p2.grad is None)
        if p1.grad is not None:
            np.testing.assert_array_equal(p1.grad.numpy(), p2.grad.numpy())
    for a, b in zip(_state_arrays(o1), _state_arrays(o2)):
        np.testing.assert_array_equal(a, b)


CASES = [
    ((64, 32, 10), "sigmoid", "sgd", None, False),          # W1
    ((96, 64, 32, 10), "relu", "momentum", None, False),     # W2-like, smaller
    ((64, 32, 10), "relu", "adam", None, True),
    ((64, 32, 10), "sigmoid", "adamw", 0.5, True),
    ((64, 32, 10), "relu", "momentum", 0.1, True),
]


@pytest.mark.parametrize(("sizes", "act", "opt_name", "clip", "scheduler"), CASES)
def test_compiled_steps_equal_eager(sizes: tuple[int, ...], act: str, opt_name: str, clip: float | None,
                                    scheduler: bool) -> None:
    m1, o1, s1, eager = _setup(sizes, act, opt_name, clip, scheduler)
    m2, o2, s2, step = _setup(sizes, act, opt_name, clip, scheduler)
    compiled = gw.compile(step)
    batches = _batches(sizes[0], sizes[-1], 16)
    for i in range(STEPS):
        x, y = batches[i % len(batches)]
        l1, l2 = eager(x, y), compiled(x, y)
        assert l1.item() == l2.item(), f"step {i}"
        _assert_same(m1, m2, o1, o2)
        if scheduler:
            s1.step()
            s2.step()
    assert compiled.traces == 1 and compiled.retraces == 0


def test_op_compositions_broadcast_promotion_and_shared_inputs() -> None:
    """Broadcasting (gradients summed back), a float64 operand (casts), an input used twice,
    a reduction over one dim, and several elementwise ops: all replayed exactly."""
    def setup() -> tuple[gw.Tensor, gw.Tensor, Callable[..., gw.Tensor]]:
        gw.manual_seed(1)
        w = gw.nn.Parameter(gw.randn(5, 4))
        b = gw.nn.Parameter(gw.randn(4))
        opt = gw.optim.SGD([w, b], lr=0.05, momentum=0.5)

        def step(x: gw.Tensor, s: gw.Tensor) -> tuple[gw.Tensor, gw.Tensor]:
            opt.zero_grad()
            h = (x @ w + b).tanh() * s            # s is float64: promotion to float64
            z = (h * h + h.exp()).sum(dim=1).mean() + (b * b).sum()
            z.backward()
            opt.step()
            return z, h
        return w, b, step

    w1, b1, eager = setup()
    w2, b2, step = setup()
    compiled = gw.compile(step)
    rng = np.random.default_rng(3)
    for _ in range(4):
        x = gw.tensor(rng.standard_normal((3, 5)).astype(np.float32))
        s = gw.tensor(rng.standard_normal((1, 4)))
        (z1, h1), (z2, h2) = eager(x, s), compiled(x, s)
        assert z1.item() == z2.item() and h2.dtype == h1.dtype
        np.testing.assert_array_equal(h1.detach().numpy(), h2.numpy())
        np.testing.assert_array_equal(w1.detach().numpy(), w2.detach().numpy())
        np.testing.assert_array_equal(b1.grad.numpy(), b2.grad.numpy())
    assert compiled.traces == 1


def test_gradients_accumulate_without_zero_grad() -> None:
    """Without zero_grad the gradients add up across calls, as in eager mode."""
    def setup() -> tuple[gw.Tensor, Callable[..., gw.Tensor]]:
        w = gw.nn.Parameter(gw.tensor([1.0, -2.0, 0.5]))

        def step(x: gw.Tensor) -> gw.Tensor:
            loss = (w * x).sigmoid().sum()
            loss.backward()
            return loss
        return w, step

    w1, eager = setup()
    w2, step = setup()
    compiled = gw.compile(step)
    for k in range(3):
        x = gw.tensor([0.1 * k, 1.0, 2.0])
        eager(x)
        compiled(x)
        np.testing.assert_array_equal(w1.grad.numpy(), w2.grad.numpy())


class _LSTMHead(gw.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = gw.nn.LSTM(5, 8, 2)
        self.head = gw.nn.Linear(8, 3)

    def forward(self, x: gw.Tensor) -> gw.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[-1])


MODELS: dict[str, tuple[Callable[[], gw.nn.Module], tuple[int, ...], int]] = {
    # W4's and W5's shapes of model, small: (builder, input shape, batch axis)
    "cnn": (lambda: gw.nn.Sequential(gw.nn.Conv2d(1, 4, 3), gw.nn.ReLU(), gw.nn.MaxPool2d(2),
                                     gw.nn.Flatten(), gw.nn.Linear(4 * 4 * 4, 3)), (6, 1, 10, 10), 0),
    "lstm": (_LSTMHead, (7, 4, 5), 1),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_cnn_and_lstm_steps_equal_eager(name: str) -> None:
    build, shape, batch_axis = MODELS[name]
    runs = []
    for compiled in (False, True):
        gw.manual_seed(0)
        model = build()
        opt = gw.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

        def step(x: gw.Tensor, y: gw.Tensor, model: gw.nn.Module = model, opt: Any = opt) -> gw.Tensor:
            opt.zero_grad()
            loss = gw.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = gw.compile(step) if compiled else step
        rng = np.random.default_rng(0)
        losses = [fn(gw.tensor(rng.standard_normal(shape).astype(np.float32)),
                     gw.tensor(rng.integers(0, 3, shape[batch_axis]))).item() for _ in range(4)]
        runs.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
        if compiled:
            assert fn.traces == 1 and len(fn.plan_source()) == 1      # compiled, not run eagerly
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_two_leaves_with_one_gradient_array_get_their_own_grads() -> None:
    """``add``'s rule hands the same array to both inputs: one .grad adopts it, the other copies."""
    w = gw.nn.Parameter(gw.ones(3))
    v = gw.nn.Parameter(gw.ones(3))
    opt = gw.optim.SGD([w, v], lr=0.1)

    @gw.compile
    def step(x: gw.Tensor) -> gw.Tensor:
        opt.zero_grad()
        loss = ((w + v) * x).sum()
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step(gw.tensor([1.0, 2.0, 3.0]))
    assert w.grad is not None and v.grad is not None
    assert not np.shares_memory(w.grad.numpy(), v.grad.numpy())
    np.testing.assert_allclose(w.detach().numpy(), 1 - 0.3 * np.array([1.0, 2.0, 3.0]), rtol=1e-6)
    assert step.traces == 1
