"""gradwise.compile: replay without graph objects, guards and retraces, fallbacks, bad input."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd import engine, function, node
from gradwise.autograd.anomaly import _ANOMALY
from gradwise.autograd.tensor import Tensor
from gradwise.compile import CompileError, CompileWarning


def _model_step(dropout: bool = False) -> tuple[gw.nn.Module, Any, Callable[..., gw.Tensor]]:
    gw.manual_seed(0)
    layers: list[gw.nn.Module] = [gw.nn.Linear(8, 16), gw.nn.ReLU()]
    if dropout:
        layers.append(gw.nn.Dropout(0.5))
    model = gw.nn.Sequential(*layers, gw.nn.Linear(16, 3))
    opt = gw.optim.SGD(model.parameters(), lr=0.1)

    def step(x: gw.Tensor, y: gw.Tensor) -> gw.Tensor:
        opt.zero_grad()
        loss = gw.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, opt, step


def _batch(n: int = 4, seed: int = 0) -> tuple[gw.Tensor, gw.Tensor]:
    rng = np.random.default_rng(seed)
    return gw.tensor(rng.standard_normal((n, 8)).astype(np.float32)), gw.tensor(rng.integers(0, 3, n))


def test_decorator_forms_and_replay_makes_no_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, step = _model_step()
    compiled = gw.compile(step)
    assert gw.compile(retrace_limit=3)(step).retrace_limit == 3
    x, y = _batch()
    first = compiled(x, y)                      # the trace
    assert isinstance(first, Tensor) and not first.requires_grad
    made = {"nodes": 0, "tensors": 0}
    real_init, real_make = node.Node.__init__, Tensor._make

    def counting_init(self: Any, *args: Any) -> None:
        made["nodes"] += 1
        real_init(self, *args)

    def counting_make(*args: Any, **kwargs: Any) -> Tensor:
        made["tensors"] += 1
        return real_make(*args, **kwargs)

    monkeypatch.setattr(node.Node, "__init__", counting_init)
    monkeypatch.setattr(Tensor, "_make", staticmethod(counting_make))
    for _ in range(3):
        loss = compiled(x, y)
    assert made["nodes"] == 0
    assert made["tensors"] == 3                 # only the returned loss, once per call
    assert loss.item() < first.item()
    assert compiled.traces == 1


def test_trace_leaves_eager_mode_untouched() -> None:
    def state() -> tuple[Any, ...]:
        return (function.checked_apply, engine.run_backward, Tensor.__dict__["item"], Tensor.__dict__["grad"],
                gw.optim.SGD.__dict__["_update"], gw.nn.utils.clip_grad_norm_)

    before = state()
    _, _, step = _model_step()
    gw.compile(step)(*_batch())
    after = state()
    assert before == after and _ANOMALY[0] is False


def test_learning_rate_changes_without_retrace() -> None:
    m1, o1, eager = _model_step()
    m2, o2, step = _model_step()
    compiled = gw.compile(step)
    x, y = _batch()
    for lr in (0.1, 0.01, 0.5, 0.0):
        o1.param_groups[0]["lr"] = o2.param_groups[0]["lr"] = lr
        assert eager(x, y).item() == compiled(x, y).item()
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
    assert compiled.traces == 1


def test_new_shape_retraces_and_plans_are_cached() -> None:
    _, _, step = _model_step()
    compiled = gw.compile(step)
    for n in (4, 6, 4, 6, 4):
        compiled(*_batch(n))
    assert compiled.traces == 2 and compiled.retraces == 1
    assert len(compiled.plan_source()) == 2


def test_retraces_past_the_limit_warn_and_run_eagerly() -> None:
    _, _, step = _model_step()
    compiled = gw.compile(step, retrace_limit=1)
    with pytest.warns(CompileWarning, match="retrace"):
        for n in (2, 3, 4, 5):
            compiled(*_batch(n))
    assert compiled.traces == 2


def test_training_mode_is_guarded() -> None:
    model, _, step = _model_step()
    compiled = gw.compile(step)
    x, y = _batch()
    compiled(x, y)
    model.eval()
    compiled(x, y)
    assert compiled.traces == 2


def test_replaced_parameter_array_retraces() -> None:
    model, _, step = _model_step()
    compiled = gw.compile(step)
    x, y = _batch()
    compiled(x, y)
    w = model[0].weight
    w._data = w._data.copy()        # what a load that rebinds the array does
    compiled(x, y)
    assert compiled.traces == 2


@pytest.mark.parametrize(("body", "reason"), [
    ("item", "item"),
    ("numpy", "numpy"),
    ("dropout", "random"),
])
def test_untraceable_steps_run_eagerly_with_one_warning(body: str, reason: str) -> None:
    model, opt, _ = _model_step(dropout=body == "dropout")

    def step(x: gw.Tensor, y: gw.Tensor) -> gw.Tensor:
        opt.zero_grad()
        loss = gw.nn.functional.cross_entropy(model(x), y)
        if body == "item" and loss.item() > 100:          # .item() steering control flow
            return loss
        if body == "numpy":
            loss = loss + gw.tensor(float(np.log1p(x.numpy()[0, 0] ** 2)))
        loss.backward()
        opt.step()
        return loss

    compiled = gw.compile(step)
    x, y = _batch()
    with pytest.warns(CompileWarning, match=reason):
        compiled(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            loss = compiled(x, y)          # eager from now on: no second warning
    assert loss.requires_grad              # an eager result
    assert function.checked_apply is not None and _ANOMALY[0] is False


def test_python_side_effects_run_once_at_trace() -> None:
    _, _, step = _model_step()
    seen: list[int] = []

    def logged(x: gw.Tensor, y: gw.Tensor) -> gw.Tensor:
        seen.append(1)
        return step(x, y)

    compiled = gw.compile(logged)
    for _ in range(3):
        compiled(*_batch())
    assert seen == [1]


def test_a_result_that_is_not_tensors_is_refused() -> None:
    _, _, step = _model_step()

    def bad(x: gw.Tensor, y: gw.Tensor) -> float:
        return float(step(x, y).detach().numpy())

    with pytest.raises(CompileError, match="returned a float"):
        gw.compile(bad)(*_batch())


def test_trees_of_tensors_and_none_are_returned() -> None:
    _, _, step = _model_step()

    def both(x: gw.Tensor, y: gw.Tensor) -> dict[str, Any]:
        loss = step(x, y)
        return {"loss": loss, "pair": (loss * 2, x)}

    compiled = gw.compile(both)
    for _ in range(2):
        out = compiled(*_batch())
        assert set(out) == {"loss", "pair"} and isinstance(out["pair"], tuple)
        assert out["pair"][0].item() == pytest.approx(2 * out["loss"].item())
    assert gw.compile(lambda x: None)(gw.ones(2)) is None


def test_a_function_without_tensors_runs_eagerly_with_a_note() -> None:
    calls: list[int] = []
    compiled = gw.compile(lambda n: calls.append(n) or gw.ones(n))
    with pytest.warns(CompileWarning, match="takes no tensors"):
        assert compiled(3).shape == (3,)
    compiled(3)
    assert calls == [3, 3]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(CompileError, match="expected a function"):
        gw.compile(3)  # type: ignore[arg-type]
    with pytest.raises(CompileError, match="retrace_limit"):
        gw.compile(lambda x: x, retrace_limit=-1)


def test_a_grad_changed_where_the_trace_cannot_see_runs_eagerly() -> None:
    from gradwise.nn.utils.clip_grad import clip_grad_norm_ as captured

    model, opt, _ = _model_step()
    real = captured.__wrapped__ if hasattr(captured, "__wrapped__") else captured

    def step(x: gw.Tensor, y: gw.Tensor) -> gw.Tensor:
        opt.zero_grad()
        loss = gw.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        real(model.parameters(), 1e-3)     # a binding the trace does not swap
        opt.step()
        return loss

    compiled = gw.compile(step)
    with pytest.warns(CompileWarning, match="grad was changed"):
        compiled(*_batch())


def test_an_error_during_the_trace_propagates_and_restores_eager_mode() -> None:
    def broken(x: gw.Tensor) -> gw.Tensor:
        return (x * 2).reshape(5)      # 4 elements cannot become 5

    before = (function.checked_apply, engine.run_backward)
    compiled = gw.compile(broken)
    with pytest.raises(Exception, match="reshape|shape"):
        compiled(gw.ones(4))
    assert (function.checked_apply, engine.run_backward) == before and _ANOMALY[0] is False
    assert compiled.plans == {}


def test_sgd_is_plan_lines_and_its_structure_is_guarded() -> None:
    m1, o1, eager = _model_step()
    m2, o2, step = _model_step()
    compiled = gw.compile(step)
    x, y = _batch()
    for momentum in (0.0, 0.0, 0.9, 0.9, 0.0):
        for o in (o1, o2):
            o.param_groups[0]["momentum"] = momentum
        assert eager(x, y).item() == compiled(x, y).item()
        # the update is array lines that read lr (and momentum) from the group at each call
        assert "['lr']" in compiled.plan_source()[0]
        assert ("momentum_buffer" in compiled.plan_source()[0]) is (momentum > 0)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
    # momentum switched on, then off: each change of the update's shape is guarded and retraces
    assert compiled.traces == 3


def test_w3_style_step_setting_grad_to_none_is_replayed() -> None:
    """``x.grad = None`` in the step (no optimizer): the assignment is a plan line too."""
    def setup() -> tuple[gw.Tensor, Callable[[gw.Tensor], gw.Tensor]]:
        x = gw.tensor(np.linspace(-1, 1, 16).astype(np.float32), requires_grad=True)

        def step(c: gw.Tensor) -> gw.Tensor:
            y = x
            for i in range(30):
                y = y * 0.9 if i % 3 == 0 else (y + c if i % 3 == 1 else y.tanh())
            x.grad = None
            y.sum().backward()
            return y
        return x, step

    x1, eager = setup()
    x2, step = setup()
    compiled = gw.compile(step)
    for k in range(3):
        c = gw.tensor(np.float32(0.1 * k))
        np.testing.assert_array_equal(eager(c).detach().numpy(), compiled(c).numpy())
        assert x1.grad is not None and x2.grad is not None
        np.testing.assert_array_equal(x1.grad.numpy(), x2.grad.numpy())
    assert compiled.traces == 1
    # the step's own assignment, and not the constructors' `grad = None` of its 60 new tensors
    assert compiled.plan_source()[0].count(".grad = None") == 1


class _Square(gw.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: gw.Tensor) -> gw.Tensor:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, g: gw.Tensor) -> gw.Tensor:
        (x,) = ctx.saved_tensors
        return 2 * x * g


def _custom(w: gw.Tensor, x: gw.Tensor) -> gw.Tensor:
    return _Square.apply(w * x).sum()


def _hooked(w: gw.Tensor, x: gw.Tensor) -> gw.Tensor:
    h = w * x
    h.register_hook(lambda g: g * 2)
    return h.sum()


@pytest.mark.parametrize(("loss_of", "reason"), [(_custom, "custom autograd.Function"), (_hooked, "hook")])
def test_unsupported_backwards_run_eagerly_with_the_right_gradients(loss_of: Any, reason: str) -> None:
    w = gw.nn.Parameter(gw.tensor([1.0, 2.0]))

    def step(x: gw.Tensor) -> gw.Tensor:
        w.grad = None
        loss = loss_of(w, x)
        loss.backward()
        return loss

    compiled = gw.compile(step)
    x = gw.tensor([0.5, 1.5])
    with pytest.warns(CompileWarning, match=reason):
        compiled(x)
    compiled(x)
    expected = w.grad.numpy().copy() if w.grad is not None else None
    step(x)
    assert w.grad is not None and expected is not None
    np.testing.assert_array_equal(w.grad.numpy(), expected)


def test_anomaly_mode_runs_the_step_eagerly() -> None:
    _, _, step = _model_step()
    compiled = gw.compile(step)
    x, y = _batch()
    compiled(x, y)
    with gw.detect_anomaly():
        loss = compiled(x, y)        # eager, so every op is checked
    assert loss.requires_grad and compiled.traces == 1


def test_one_tensor_passed_twice_gets_its_own_plan() -> None:
    compiled = gw.compile(lambda a, b: a * 2 + b)
    x, y = gw.tensor([1.0, 2.0]), gw.tensor([10.0, 20.0])
    assert compiled(x, x).tolist() == [3.0, 6.0]
    assert compiled(x, y).tolist() == [12.0, 24.0]      # not the plan that read one array
    assert compiled.traces == 2


def test_import_gradwise_does_not_load_compile() -> None:
    import subprocess
    import sys

    code = ("import sys, gradwise, gradwise.train; print('gradwise.compile' in sys.modules); "
            "print(callable(gradwise.compile))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_compile_decorates_methods() -> None:
    class Learner:
        def __init__(self) -> None:
            self.model, self.opt, self.step_fn = _model_step()

        @gw.compile
        def step(self, x: gw.Tensor, y: gw.Tensor) -> gw.Tensor:
            return self.step_fn(x, y)

    a, b = Learner(), Learner()
    x, y = _batch()
    first = a.step(x, y).item()
    assert a.step(x, y).item() < first
    assert b.step(x, y).item() == first        # the other instance: its own plan, fresh weights
    assert Learner.step.traces == 2
