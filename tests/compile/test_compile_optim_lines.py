"""SGD, Adam and AdamW updates as plan lines: bit-identical to the eager optimizers, hyper-
parameters read at every call, state that is the optimizer's own (state_dict, load_state_dict)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradwise as gw

CONFIGS: dict[str, Callable[[Any], Any]] = {
    "sgd_momentum": lambda ps: gw.optim.SGD(ps, lr=0.05, momentum=0.9),
    "sgd_dampening_wd": lambda ps: gw.optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
    "sgd_nesterov_maximize": lambda ps: gw.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, maximize=True),
    "sgd_wd_only": lambda ps: gw.optim.SGD(ps, lr=0.05, weight_decay=0.1),
    "adam": lambda ps: gw.optim.Adam(ps, lr=1e-2),
    "adam_l2_amsgrad": lambda ps: gw.optim.Adam(ps, lr=1e-2, weight_decay=0.05, amsgrad=True),
    "adam_maximize": lambda ps: gw.optim.Adam(ps, lr=1e-2, maximize=True),
    "adamw": lambda ps: gw.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "adamw_float64_amsgrad": lambda ps: gw.optim.AdamW(ps, lr=1e-2, amsgrad=True),
}


def _setup(make_opt: Callable[[Any], Any], dtype: Any = np.float32, zero: bool = True
           ) -> tuple[gw.nn.Module, Any, Callable[..., gw.Tensor]]:
    gw.manual_seed(0)
    model = gw.nn.Sequential(gw.nn.Linear(6, 12), gw.nn.Tanh(), gw.nn.Linear(12, 3))
    if dtype == np.float64:
        model = model.double()
    opt = make_opt(model.parameters())

    def step(x: gw.Tensor, y: gw.Tensor) -> gw.Tensor:
        if zero:
            opt.zero_grad()
        loss = gw.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, opt, step


def _batch(i: int, dtype: Any = np.float32) -> tuple[gw.Tensor, gw.Tensor]:
    rng = np.random.default_rng(i % 3)
    return gw.tensor(rng.standard_normal((5, 6)).astype(dtype)), gw.tensor(rng.integers(0, 3, 5))


def _assert_same(m1: gw.nn.Module, m2: gw.nn.Module, o1: Any, o2: Any) -> None:
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
        np.testing.assert_array_equal(p1.grad.numpy(), p2.grad.numpy())
    s1, s2 = o1.state_dict()["state"], o2.state_dict()["state"]
    assert s1.keys() == s2.keys()
    for k in s1:
        assert s1[k].keys() == s2[k].keys()
        for name in s1[k]:
            np.testing.assert_array_equal(np.asarray(s1[k][name]), np.asarray(s2[k][name]))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_update_lines_equal_eager_bit_for_bit(name: str) -> None:
    dtype = np.float64 if "float64" in name else np.float32
    m1, o1, eager = _setup(CONFIGS[name], dtype)
    m2, o2, step = _setup(CONFIGS[name], dtype)
    compiled = gw.compile(step)
    for i in range(6):
        x, y = _batch(i, dtype)
        assert eager(x, y).item() == compiled(x, y).item()
        _assert_same(m1, m2, o1, o2)
    src = compiled.plan_source()[0]
    assert compiled.traces == 1 and "._update" not in src and "['lr']" in src
    # the update is lines of the plan, not one call to the optimizer
    assert ("exp_avg" in src) is name.startswith("adam")


def test_hyper_parameters_are_read_at_every_call_without_retrace() -> None:
    """lr, momentum, dampening, betas, eps and weight decay change between calls (as a
    scheduler that cycles momentum does): the plan follows without tracing again."""
    for name, changes in (("sgd_dampening_wd", [("momentum", 0.5), ("dampening", 0.1), ("weight_decay", 0.2)]),
                          ("adamw", [("betas", (0.8, 0.99)), ("eps", 1e-3), ("weight_decay", 0.3)])):
        m1, o1, eager = _setup(CONFIGS[name])
        m2, o2, step = _setup(CONFIGS[name])
        compiled = gw.compile(step)
        for i in range(5):
            for o in (o1, o2):
                o.param_groups[0]["lr"] = 0.01 * (i + 1)
                if i >= 2:
                    key, value = changes[i - 2]
                    o.param_groups[0][key] = value
            x, y = _batch(i)
            assert eager(x, y).item() == compiled(x, y).item()
            _assert_same(m1, m2, o1, o2)
        assert compiled.traces == 1 and compiled.retraces == 0


def test_cyclic_lr_cycling_momentum_does_not_retrace() -> None:
    m1, o1, eager = _setup(CONFIGS["sgd_momentum"])
    m2, o2, step = _setup(CONFIGS["sgd_momentum"])
    s1, s2 = (gw.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2) for o in (o1, o2))
    compiled = gw.compile(step)
    for i in range(6):
        x, y = _batch(i)
        assert eager(x, y).item() == compiled(x, y).item()
        s1.step()
        s2.step()
        _assert_same(m1, m2, o1, o2)
    assert compiled.traces == 1


def test_state_is_the_optimizers_own_and_a_reset_state_is_recreated() -> None:
    """load_state_dict replaces the state arrays: the plan reads the new ones.  A cleared state
    makes the block call the optimizer's own update once, which creates the state again."""
    for name in ("sgd_momentum", "adam_l2_amsgrad"):
        m1, o1, eager = _setup(CONFIGS[name])
        m2, o2, step = _setup(CONFIGS[name])
        compiled = gw.compile(step)
        for i in range(3):
            x, y = _batch(i)
            eager(x, y)
            compiled(x, y)
        saved = o2.state_dict()
        o2.load_state_dict(saved)
        o1.load_state_dict(o1.state_dict())
        for i in range(3, 5):
            x, y = _batch(i)
            assert eager(x, y).item() == compiled(x, y).item()
            _assert_same(m1, m2, o1, o2)
        o1.state.clear()
        o2.state.clear()
        for i in range(5, 8):
            x, y = _batch(i)
            assert eager(x, y).item() == compiled(x, y).item()
            _assert_same(m1, m2, o1, o2)
        assert compiled.traces == 1


def test_gradients_accumulated_across_calls_are_the_ones_applied() -> None:
    """A step without zero_grad accumulates .grad over calls: the update reads the sum."""
    m1, o1, eager = _setup(CONFIGS["adam"], zero=False)
    m2, o2, step = _setup(CONFIGS["adam"], zero=False)
    compiled = gw.compile(step)
    for i in range(4):
        x, y = _batch(i)
        assert eager(x, y).item() == compiled(x, y).item()
        _assert_same(m1, m2, o1, o2)


def test_structure_change_retraces() -> None:
    m1, o1, eager = _setup(CONFIGS["adam"])
    m2, o2, step = _setup(CONFIGS["adam"])
    compiled = gw.compile(step)
    for i, ams in enumerate((False, False, True, True)):
        for o in (o1, o2):
            o.param_groups[0]["amsgrad"] = ams
            if ams:
                for st in o.state.values():
                    st.setdefault("max_exp_avg_sq", np.zeros_like(st["exp_avg_sq"]))
        x, y = _batch(i)
        assert eager(x, y).item() == compiled(x, y).item()
        _assert_same(m1, m2, o1, o2)
    assert compiled.traces == 2 and "max_exp_avg_sq" in compiled.plan_source()[0]
