"""Anomaly mode: the first op that produced a NaN/Inf, forward or backward, with its line and a hint.

Every expected statistic is recomputed here with NumPy on the same values (the oracle),
and the expected line is the test's own line that created the op.
"""

from __future__ import annotations

import inspect
import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd.anomaly import AnomalyModeError
from gradwise.errors import AnomalyError, GraphError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _mode_is_off_around_each_test():
    assert not gw.is_anomaly_enabled()
    yield
    if gw.is_anomaly_enabled():  # leave no state behind for the next test, then fail
        gw.set_detect_anomaly(False)
        pytest.fail("anomaly mode was left on")


def next_line() -> int:
    """The line number after the caller's line: the line that creates the op under test."""
    return inspect.currentframe().f_back.f_lineno + 1


def flat(err: Exception) -> str:
    """The message with its line wrapping undone (hints are wrapped at 100 columns)."""
    return " ".join(str(err).split())


def assert_location(err: AnomalyError, line: int, source: str) -> None:
    loc = err.report.location
    assert loc is not None
    assert Path(loc.filename).resolve() == Path(__file__).resolve()
    assert loc.lineno == line
    assert loc.source == source
    text = str(err)
    assert f"test_anomaly.py:{line}" in text
    assert source in text.splitlines()[4]


def assert_stats(stats, values) -> None:
    """Compare reported statistics with NumPy's on the same array (the oracle)."""
    a = np.asarray(values)
    assert stats.shape == a.shape
    assert stats.nan == np.count_nonzero(np.isnan(a))
    assert stats.posinf == np.count_nonzero(np.isposinf(a))
    assert stats.neginf == np.count_nonzero(np.isneginf(a))
    assert stats.zeros == np.count_nonzero(a == 0)
    if np.isnan(a).all():
        assert stats.min is None and stats.max is None
    else:
        assert stats.min == np.nanmin(a) and stats.max == np.nanmax(a)


# ------------------------------------------------------------------ forward patterns
def test_log_of_zero_raises_in_the_forward_pass():
    x = gw.tensor([0.0, 1.0, 2.0], requires_grad=True)
    with gw.detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            line = next_line()
            y = gw.log(x)  # noqa: F841
    err = info.value
    rep = err.report
    assert isinstance(err, GraphError) and isinstance(err, RuntimeError)
    assert (rep.op, rep.phase, rep.kind) == ("log", "forward", "produced")
    assert_location(err, line, "y = gw.log(x)  # noqa: F841")
    assert_stats(rep.inputs[0].stats, x.detach().numpy())
    with np.errstate(divide="ignore"):
        assert_stats(rep.output, np.log(x.detach().numpy()))
    assert rep.output.neginf == 1
    assert rep.hint_kinds[0] == "log_or_div_zero"
    text = flat(err)
    assert "'log' produced -Inf" in text and "forward pass" in text
    assert "min 0, max 2, 0 NaN, 0 Inf, 1 zero" in text
    assert "Hint (log at zero)" in text and "clamp(min=1e-12)" in text


def test_division_by_zero_names_the_divisor():
    x = gw.tensor([1.0, -2.0])
    d = gw.tensor([0.0, 0.0])
    with gw.detect_anomaly(), pytest.raises(AnomalyError) as info:
        line = next_line()
        x / d
    rep = info.value.report
    assert (rep.op, rep.phase) == ("div", "forward")
    assert_location(info.value, line, "x / d")
    assert_stats(rep.inputs[0].stats, x.detach().numpy())
    assert_stats(rep.inputs[1].stats, d.detach().numpy())
    assert (rep.output.posinf, rep.output.neginf, rep.output.nan) == (1, 1, 0)
    assert rep.hint_kinds[0] == "log_or_div_zero"
    assert "2 of the 2 divisor values are 0" in flat(info.value)


def test_division_by_a_python_zero_reports_the_constant():
    x = gw.tensor([3.0], requires_grad=True)
    with gw.detect_anomaly(), pytest.raises(AnomalyError) as info:
        line = next_line()
        x / 0.0
    rep = info.value.report
    assert rep.op == "div" and rep.phase == "forward"
    assert_location(info.value, line, "x / 0.0")
    assert rep.inputs[1].stats.zeros == 1 and "constant" in rep.inputs[1].origin
    assert "trainable leaf" in rep.inputs[0].origin
    assert rep.hint_kinds[0] == "log_or_div_zero"


def test_zero_over_zero_is_nan():
    num = gw.tensor([0.0, 1.0])
    den = gw.tensor([0.0, 2.0])
    with gw.detect_anomaly(), pytest.raises(AnomalyError) as info:
        line = next_line()
        num / den
    rep = info.value.report
    assert (rep.op, rep.phase) == ("div", "forward")
    assert_location(info.value, line, "num / den")
    with np.errstate(invalid="ignore"):
        assert_stats(rep.output, num.detach().numpy() / den.detach().numpy())
    assert rep.output.nan == 1
    assert rep.hint_kinds[0] == "log_or_div_zero"
    assert "0 / 0 is NaN" in flat(info.value)


def test_exp_overflow_in_float32_but_not_in_float64():
    # float32's largest value is ~3.4e38 = exp(88.72...): exp(88) fits, exp(89) does not.
    limit = np.log(np.finfo(np.float32).max)
    assert 88 < limit < 89
    x = gw.tensor([1.0, 88.0, 89.0])
    with gw.detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            line = next_line()
            gw.exp(x)
        ok = gw.exp(x.double())  # float64 overflows only past ~709.8
    assert np.isfinite(ok.detach().numpy()).all()
    rep = info.value.report
    assert (rep.op, rep.phase) == ("exp", "forward")
    assert_location(info.value, line, "gw.exp(x)")
    assert_stats(rep.inputs[0].stats, x.detach().numpy())
    assert rep.output.posinf == 1
    assert rep.hint_kinds[0] == "exp_overflow"
    assert f"x > {limit:.1f}" in flat(info.value) and "logsumexp" in flat(info.value)


def test_nan_in_user_data_is_reported_where_it_first_flows_into_an_op():
    data = gw.tensor([1.0, float("nan"), 3.0])  # the user's data, not produced by any op
    w = gw.tensor([0.5, 0.5, 0.5], requires_grad=True)
    with gw.detect_anomaly():
        finite = w * 2.0  # unrelated op: fine
        with pytest.raises(AnomalyError) as info:
            line = next_line()
            out = data * finite  # noqa: F841
    rep = info.value.report
    assert (rep.op, rep.phase, rep.kind) == ("mul", "forward", "input")
    assert_location(info.value, line, "out = data * finite  # noqa: F841")
    assert_stats(rep.inputs[0].stats, data.detach().numpy())
    assert "no recorded history" in rep.inputs[0].origin
    assert "the output of 'mul'" in rep.inputs[1].origin
    assert rep.hint_kinds == ("input_nan",)
    assert "input 0 of 'mul' already contained NaN" in flat(info.value)


def test_nan_can_be_replaced_on_purpose_without_an_error():
    data = gw.tensor([1.0, float("nan"), 3.0])
    with gw.detect_anomaly():
        clean = gw.where(data != data, 0.0, data)  # NaN != NaN: where discards the NaN
        total = (clean * 2.0).sum()
    assert total.item() == 8.0


def test_masking_with_minus_inf_constant_is_not_an_anomaly():
    # Attention-style masking: -inf is put there on purpose, and softmax turns it into 0.
    scores = gw.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    mask = gw.tensor([[False, False, True]])
    with gw.detect_anomaly():
        p = gw.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        (p * gw.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    e = np.exp([1.0, 2.0]) / np.exp([1.0, 2.0]).sum()
    np.testing.assert_allclose(p.detach().numpy()[0], [e[0], e[1], 0.0], rtol=1e-6)
    assert np.isfinite(scores.grad.numpy()).all() and scores.grad.numpy()[0, 2] == 0


# ------------------------------------------------------------------ backward patterns
def test_sqrt_gradient_at_zero_raises_in_the_backward_pass():
    x = gw.tensor([0.0, 4.0], requires_grad=True)
    with gw.detect_anomaly():
        line = next_line()
        y = gw.sqrt(x)
        assert y.tolist() == [0.0, 2.0]  # the forward is fine
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    rep = info.value.report
    assert (rep.op, rep.phase, rep.kind) == ("sqrt", "backward", "produced")
    assert_location(info.value, line, "y = gw.sqrt(x)")
    assert_stats(rep.grad_output, np.ones(2, np.float32))
    with np.errstate(divide="ignore"):
        assert_stats(rep.grad_input, 1.0 / (2.0 * np.sqrt(x.detach().numpy())))  # closed form: inf at 0
    assert_stats(rep.output, np.sqrt(x.detach().numpy()))
    assert rep.grad_index == 0
    assert rep.hint_kinds[0] == "sqrt_grad_zero"
    text = flat(info.value)
    assert "backward pass" in text and "Hint (sqrt's gradient at 0)" in text and "sqrt(x + 1e-12)" in text
    assert x.grad is None  # nothing was accumulated


def test_where_with_a_non_finite_unselected_branch():
    counts = np.array([3.0, 0.0, 5.0], np.float32)
    with np.errstate(divide="ignore"):
        weights = gw.tensor(1.0 / counts)  # the user's NumPy code: inf for the empty class
    errors = gw.tensor([0.5, 1.5, -2.0], requires_grad=True)
    with gw.detect_anomaly():
        line = next_line()
        terms = errors * weights
        where_line = next_line()
        loss = gw.where(gw.tensor(counts > 0), terms, 0.0).sum()
        expected = 0.5 / 3.0 - 2.0 / 5.0
        assert loss.item() == pytest.approx(expected)  # the forward is fine
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    rep = info.value.report
    assert (rep.op, rep.phase, rep.kind) == ("mul", "backward", "produced")
    assert_location(info.value, line, "terms = errors * weights")
    assert_stats(rep.grad_output, np.where(counts > 0, 1.0, 0.0).astype(np.float32))
    assert_stats(rep.inputs[1].stats, weights.detach().numpy())
    assert rep.grad_input.nan == 1  # 0 * inf
    assert rep.hint_kinds[0] == "where_branch"
    text = flat(info.value)
    assert f"test_anomaly.py:{where_line}" in text and "double-where" in text and "0 * inf = NaN" in text


def test_a_diverged_learning_rate_is_named():
    # y = 2x + 1 fitted by SGD with lr = 1: the loss's curvature 2 * mean(x^2) = 9.3 makes
    # every step multiply the error by about 1 - 9.3 = -8.3, so the parameters blow up.
    w = gw.nn.Parameter(gw.tensor([[0.5]]))
    b = gw.nn.Parameter(gw.tensor([0.0]))
    x = gw.tensor([[1.0], [2.0], [3.0]])
    y = x * 2.0 + 1.0
    opt = gw.optim.SGD([w, b], lr=1.0)
    steps = 0
    with gw.detect_anomaly(), pytest.raises(AnomalyError) as info:
        for steps in range(1, 200):  # noqa: B007
            pred = x @ w + b
            line = next_line()
            loss = ((pred - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert steps > 5  # several optimizer steps went through before anything overflowed
    biggest = max(np.abs(w.detach().numpy()).max(), np.abs(b.detach().numpy()).max())
    assert biggest > 1e15  # the oracle: the parameters really are huge
    rep = info.value.report
    assert (rep.op, rep.phase, rep.kind) == ("pow", "forward", "produced")
    assert_location(info.value, line, "loss = ((pred - y) ** 2).mean()")
    assert rep.hint_kinds[0] == "lr_diverged"
    text = flat(info.value)
    assert "learning rate" in text and "optimizer steps diverged" in text and "clip_grad_norm_" in text


def test_a_non_finite_parameter_is_reported_as_diverged():
    w = gw.nn.Parameter(gw.tensor([1.0, float("inf")]))  # as left by an optimizer that overflowed
    x = gw.tensor([1.0, 2.0])
    with gw.detect_anomaly(), pytest.raises(AnomalyError) as info:
        line = next_line()
        (x * w).sum()
    rep = info.value.report
    assert (rep.op, rep.phase, rep.kind) == ("mul", "forward", "input")
    assert_location(info.value, line, "(x * w).sum()")
    assert rep.hint_kinds[0] == "lr_diverged"
    assert "input 1 of 'mul' already contained +Inf" in flat(info.value)


def test_nan_in_a_fresh_input_requiring_grad_is_data_not_a_diverged_lr():
    x = gw.tensor([1.0, float("nan")], requires_grad=True)  # never trained: not an optimizer's doing
    with gw.detect_anomaly(), pytest.raises(AnomalyError) as info:
        x * 2.0
    rep = info.value.report
    assert rep.kind == "input" and rep.hint_kinds == ("input_nan",)
    assert "trainable leaf" in rep.inputs[0].origin


def test_inf_in_the_gradient_passed_to_backward():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    with gw.detect_anomaly():
        y = x * 3.0
        with pytest.raises(AnomalyError, match=r"passed to backward\(\)") as info:
            y.backward(gw.tensor([1.0, float("nan")]))
    assert info.value.report.kind == "incoming" and info.value.report.phase == "backward"


def test_a_hook_that_returns_nan_is_blamed():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    with gw.detect_anomaly():
        y = x * 3.0
        y.register_hook(lambda g: g * float("nan"))
        with pytest.raises(AnomalyError, match="a hook registered on this op's output") as info:
            y.sum().backward()
    assert info.value.report.op == "mul" and info.value.report.kind == "incoming"


# ------------------------------------------------------------------ mode off, warnings, state
def test_with_the_mode_off_nan_and_inf_pass_silently():
    x = gw.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(all="ignore"):  # NumPy's own warnings are the user's business
        assert gw.log(x).detach().numpy()[0] == -np.inf
        assert np.isnan((gw.tensor([0.0]) / gw.tensor([0.0])).item())
        assert gw.exp(gw.tensor([89.0])).item() == np.inf
        gw.sqrt(x).sum().backward()
    assert x.grad.numpy()[0] == np.inf and x.grad.numpy()[1] == 0.25  # 1 / (2 sqrt(x))


def test_with_the_mode_off_numpy_warns_as_usual():
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        gw.log(gw.tensor([0.0]))


def test_anomaly_mode_replaces_numpy_warnings_and_respects_errstate():
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning would surface as an exception
        with np.errstate(all="raise"):  # and NumPy would raise FloatingPointError
            with gw.detect_anomaly():
                with pytest.raises(AnomalyError):
                    gw.log(gw.tensor([0.0]))
                with pytest.raises(AnomalyError):
                    gw.tensor([0.0]) / gw.tensor([0.0])
                x = gw.tensor([0.0], requires_grad=True)
                with pytest.raises(AnomalyError):
                    gw.sqrt(x).sum().backward()
    assert np.geterr() == before


def test_state_restored_on_exit_under_exceptions_and_when_nested():
    assert not gw.is_anomaly_enabled()
    with gw.detect_anomaly():
        assert gw.is_anomaly_enabled()
        with gw.detect_anomaly(check_nan=False):
            assert gw.is_anomaly_enabled()
            with np.errstate(divide="ignore"):
                y = gw.log(gw.tensor([0.0]))  # only lines are recorded: no check
            assert y.item() == -np.inf
        with pytest.raises(AnomalyError):  # the outer mode checks again
            gw.log(gw.tensor([0.0]))
        with gw.set_detect_anomaly(False):
            assert not gw.is_anomaly_enabled()
        assert gw.is_anomaly_enabled()
    assert not gw.is_anomaly_enabled()
    with pytest.raises(KeyError):
        with gw.detect_anomaly():
            raise KeyError("inside")
    assert not gw.is_anomaly_enabled()
    with pytest.raises(AnomalyError):
        with gw.detect_anomaly():
            gw.log(gw.tensor([0.0]))
    assert not gw.is_anomaly_enabled()


def test_one_instance_can_be_reused_and_nested():
    mode = gw.detect_anomaly()
    with mode:
        with mode:
            assert gw.is_anomaly_enabled()
        assert gw.is_anomaly_enabled()
    assert not gw.is_anomaly_enabled()


def test_decorator_and_set_detect_anomaly_call():
    @gw.detect_anomaly()
    def f(t):
        assert gw.is_anomaly_enabled()
        return gw.log(t)

    with pytest.raises(AnomalyError):
        f(gw.tensor([0.0]))
    assert not gw.is_anomaly_enabled()
    assert f(gw.tensor([1.0])).item() == 0.0
    gw.set_detect_anomaly(True)
    try:
        assert gw.is_anomaly_enabled()
    finally:
        gw.set_detect_anomaly(False)
    assert not gw.is_anomaly_enabled()


def test_public_names_and_argument_errors():
    assert gw.autograd.detect_anomaly is gw.detect_anomaly
    assert gw.autograd.set_detect_anomaly is gw.set_detect_anomaly
    assert gw.autograd.is_anomaly_enabled is gw.is_anomaly_enabled
    assert gw.AnomalyError is AnomalyError
    with pytest.raises(AnomalyModeError, match=r"detect_anomaly: check_nan must be True or False, got 'yes'"):
        gw.detect_anomaly(check_nan="yes")
    with pytest.raises(TypeError, match=r"with parentheses"):
        gw.detect_anomaly(lambda: None)
    with pytest.raises(AnomalyModeError, match=r"set_detect_anomaly: mode must be True or False, got 1"):
        gw.set_detect_anomaly(1)
    assert not gw.is_anomaly_enabled()


def test_the_mode_changes_no_result():
    gen = gw.Generator().manual_seed(0)
    x0 = gw.randn(4, 3, generator=gen)
    w0 = gw.randn(3, 2, generator=gen)

    def run():
        x = x0.clone().requires_grad_(True)
        w = w0.clone().requires_grad_(True)
        loss = (gw.tanh(x @ w) * 0.5 + 0.1).exp().sum()
        loss.backward()
        return loss.item(), x.grad.numpy().copy(), w.grad.numpy().copy()

    plain = run()
    with gw.detect_anomaly():
        checked = run()
    assert plain[0] == checked[0]
    np.testing.assert_array_equal(plain[1], checked[1])
    np.testing.assert_array_equal(plain[2], checked[2])


# ------------------------------------------------------------------ double backward, check_nan=False
def test_double_backward_with_create_graph():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    with gw.detect_anomaly():
        (g,) = gw.autograd.grad((x ** 3).sum(), x, create_graph=True)
        g.sum().backward()
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([1.0, 2.0]) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([1.0, 2.0]))  # d2/dx2 x^3 = 6x


def test_double_backward_anomaly_names_the_first_order_op():
    # f = x^1.5: f' = 1.5 x^0.5 is 0 at 0 (fine), f'' = 0.75 x^-0.5 is infinite at 0.
    x = gw.tensor([0.0, 4.0], requires_grad=True)
    with gw.detect_anomaly():
        pow_line = next_line()
        y = x ** 1.5
        line = next_line()
        (g,) = gw.autograd.grad(y.sum(), x, create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), [0.0, 3.0])
        with pytest.raises(AnomalyError) as info:
            g.sum().backward()
    rep = info.value.report
    assert (rep.op, rep.phase) == ("pow", "backward")
    assert_location(info.value, line, "(g,) = gw.autograd.grad(y.sum(), x, create_graph=True)")
    parent_op, parent_loc = rep.parent
    assert parent_op == "pow" and parent_loc.lineno == pow_line
    assert rep.hint_kinds[0] == "sqrt_grad_zero"
    assert "while computing the gradient of 'pow'" in flat(info.value)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_backward_errors_name_the_forward_line_even_without_value_checks():
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    x = gw.tensor([3.0, 4.0])
    with gw.detect_anomaly(check_nan=False):
        line = next_line()
        y = (w * x).sum()
        with gw.no_grad():
            w.mul_(2)
        with pytest.raises(GraphError, match="modified by an in-place operation") as info:
            y.backward()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert f"test_anomaly.py:{line}" in notes and "y = (w * x).sum()" in notes


# ------------------------------------------------------------------ the example
def test_debugging_nans_example_runs_and_prints_the_error(capsys):
    runpy.run_path(str(ROOT / "examples" / "debugging_nans.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "AnomalyError" in out
    assert "'sqrt'" in out and "backward pass" in out and "debugging_nans.py:" in out
    assert "Hint (sqrt's gradient at 0)" in out
    assert not gw.is_anomaly_enabled()


def test_torch_anomaly_mode_blames_the_same_op():
    torch = pytest.importorskip("torch")
    counts = np.array([3.0, 0.0, 5.0], np.float32)
    with np.errstate(divide="ignore"):
        inv = 1.0 / counts
    e = torch.tensor([0.5, 1.5, -2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch announces its anomaly mode
        with torch.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="MulBackward0") as torch_info:
            torch.where(torch.tensor(counts > 0), e * torch.tensor(inv), 0.0).sum().backward()
    assert "nan" in str(torch_info.value)
    errors = gw.tensor([0.5, 1.5, -2.0], requires_grad=True)
    with gw.detect_anomaly(), pytest.raises(AnomalyError) as info:
        gw.where(gw.tensor(counts > 0), errors * gw.tensor(inv), 0.0).sum().backward()
    assert info.value.report.op == "mul" and info.value.report.phase == "backward"
    assert info.value.report.grad_input.nan == 1
