"""The recipes of docs/ARCHITECTURE.md work as written: a throwaway op and a throwaway optimizer,
added the way the recipes say, are bound, checked and reachable."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import gradwise as gw
from gradwise.api import bind
from gradwise.ops.domain import unary
from gradwise.ops.registry import REGISTRY, defop

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("generate_stubs_recipe", ROOT / "tools" / "generate_stubs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def softsign2():
    """The recipe's op, declared exactly as docs/ARCHITECTURE.md shows, removed afterwards."""
    op = defop(
        "softsign2", lambda x: x / (1 + np.abs(x)),
        # d/dx x/(1+|x|) = 1/(1+|x|)^2 (away from the kink of |x| at 0)
        (lambda b, g, out, x: g / (1 + b.abs(x)) ** 2,),
        unary("kinkfree"), doc="x / (1 + |x|)")
    functions = bind.bind_all()          # what importing gradwise.api.functions does
    yield op, functions
    del REGISTRY[op.name]
    for name in ("softsign2", "softsign2_"):
        if name in vars(gw.Tensor):
            delattr(gw.Tensor, name)


def test_a_new_op_is_bound_gradient_checked_and_declared(softsign2):
    op, functions = softsign2
    x = gw.tensor([-1.5, -0.4, 0.3, 2.0], dtype=gw.float64, requires_grad=True)
    # bound: a function and a Tensor method, both recording
    y = functions["softsign2"](x)
    assert np.allclose(y.detach().numpy(), x.detach().numpy() / (1 + np.abs(x.detach().numpy())))
    assert x.softsign2().grad_fn is not None
    # gradient-checked, first and second order, on its declared domain (what the table test does)
    for sample in op.domain.samples(np.random.default_rng(0)):
        t = gw.tensor(sample.args[0], requires_grad=True)
        assert gw.gradcheck(lambda a: functions["softsign2"](a), (t,))
        assert gw.gradgradcheck(lambda a: functions["softsign2"](a), (t,))
    # declared: the stub generator now emits it, so tests/test_stubs.py would ask for a rerun
    stubs = _generator().generate()
    texts = {path.name: text for path, text in stubs.items()}
    assert "def softsign2(input: Any, /) -> Tensor: ..." in texts["functions.pyi"]
    assert "    def softsign2(self) -> Tensor: ..." in texts["tensor_ops.pyi"]


class SignDescent(gw.optim.Optimizer):
    """The recipe's throwaway optimizer: ``p <- p - lr * sign(g)`` (signSGD)."""

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    def _update(self, group) -> None:
        for p, g in self._grads(group):
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p.detach().numpy()
            p.data -= group["lr"] * np.sign(g)


def _sign_descent_by_hand(w0: np.ndarray, grads: list[np.ndarray], lr: float) -> np.ndarray:
    w = w0.copy()
    for g in grads:
        w -= lr * np.sign(g)
    return w


@pytest.fixture
def sign_descent():
    """One registry entry, as the recipe says; removed afterwards."""
    from gradwise.optim import registry

    entry = registry.register_optimizer(registry.OptimizerEntry("signsgd", SignDescent, "sign of the gradient"))
    yield entry
    del registry.OPTIMIZERS[entry.name]


def test_a_new_optimizer_is_reachable_from_the_cli_and_the_descent_tools(sign_descent, tmp_path):
    from gradwise import insight
    from gradwise.cli import build_parser, main

    # the parity case the recipe asks for: against a NumPy re-implementation
    w = gw.nn.Parameter(gw.tensor([1.5, -0.5, 2.0], dtype=gw.float64))
    opt = sign_descent.build([w], lr=0.1)
    w0, grads = w.detach().numpy().copy(), []
    for _ in range(3):
        opt.zero_grad()
        (w * w * w).sum().backward()
        grads.append(w.grad.numpy().copy())
        opt.step()
    np.testing.assert_allclose(w.detach().numpy(), _sign_descent_by_hand(w0, grads, 0.1), rtol=0, atol=1e-15)

    # the CLI offers it, and a run trains with it
    parser = build_parser()
    assert "signsgd" in parser.parse_args(["train", "--optimizer", "signsgd"]).optimizer
    out = tmp_path / "run"
    assert main(["train", "--dataset", "iris", "--optimizer", "signsgd", "--lr", "0.01", "--epochs", "2",
                 "--no-progress", "--out", str(out)]) == 0
    assert (out / "final.ckpt").exists()
    # the descent tools take it by name
    t = insight.descend("bowl", (-2.0, 1.0), "signsgd", lr=0.1, steps=5)
    assert t.optimizer == "signsgd" and np.all(np.isfinite(t.positions))
    assert list(insight.race("bowl", None, ["signsgd"], steps=5).runs) == ["signsgd"]
