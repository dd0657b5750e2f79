"""Grad mode is per thread, as in PyTorch: one thread's no_grad leaves another's training alone."""

from __future__ import annotations

import threading

import numpy as np

import gradwise as gw
from gradwise.autograd import grad_mode


def _run(target, *args) -> None:  # type: ignore[no-untyped-def]
    t = threading.Thread(target=target, args=args)
    t.start()
    t.join(timeout=120)
    assert not t.is_alive()


def test_new_threads_start_with_grad_on() -> None:
    seen: list[tuple[bool, bool]] = []
    with gw.no_grad():
        _run(lambda: seen.append((gw.is_grad_enabled(), gw.is_inference_mode_enabled())))
        assert not gw.is_grad_enabled()
    with gw.inference_mode():
        _run(lambda: seen.append((gw.is_grad_enabled(), gw.is_inference_mode_enabled())))
    assert seen == [(True, False), (True, False)]


def test_set_grad_enabled_in_a_thread_stays_in_that_thread() -> None:
    seen: list[bool] = []

    def worker() -> None:
        gw.set_grad_enabled(False)       # as a call: for the rest of this thread
        seen.append(gw.is_grad_enabled())

    _run(worker)
    assert seen == [False]
    assert gw.is_grad_enabled()
    # the thread ended with grad off: the fast all-threads flag comes back once it is gone
    assert not grad_mode._OFF


def test_one_thread_under_no_grad_while_another_trains() -> None:
    rng = np.random.default_rng(0)
    x = gw.tensor(rng.normal(size=(32, 3)))
    y = x @ gw.tensor([[1.0], [-2.0], [0.5]], dtype=gw.float64)
    w = gw.zeros(3, 1, dtype=gw.float64, requires_grad=True)
    stop = threading.Event()
    errors: list[str] = []
    evaluated = [0]

    def evaluate() -> None:           # a loop that keeps its thread in no_grad the whole time
        while not stop.is_set():
            with gw.no_grad():
                out = (x @ w).sum() * 2.0
                if out.requires_grad or gw.is_grad_enabled():
                    errors.append("no_grad leaked into the evaluating thread")
                evaluated[0] += 1

    losses: list[float] = []

    def train() -> None:
        for _ in range(300):
            loss = ((x @ w - y) ** 2).mean()
            if loss.grad_fn is None:
                errors.append("the training thread stopped recording")
                return
            loss.backward()
            with gw.no_grad():
                w.sub_(0.1 * w.grad)
            w.grad = None
            losses.append(loss.item())

    ev = threading.Thread(target=evaluate)
    ev.start()
    try:
        _run(train)
    finally:
        stop.set()
        ev.join(timeout=60)
    assert errors == []
    assert evaluated[0] > 0
    assert len(losses) == 300 and losses[-1] < 1e-3 * losses[0]
    np.testing.assert_allclose(w.detach().numpy().ravel(), [1.0, -2.0, 0.5], atol=1e-2)
    assert gw.is_grad_enabled() and not grad_mode._OFF


def test_old_state_interface_is_per_thread() -> None:
    grad_mode._STATE[0] = False
    try:
        seen: list[bool] = []
        _run(lambda: seen.append(grad_mode._STATE[0]))
        assert seen == [True] and not gw.is_grad_enabled()
    finally:
        grad_mode._STATE[0] = True
    assert gw.is_grad_enabled()
