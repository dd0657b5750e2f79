"""gradcheck catches wrong rules and reports them readably."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd.function import apply
from gradwise.func import GradcheckError
from gradwise.ops.domain import unary
from gradwise.ops.registry import OpDef

# sin with a derivative that is wrong by 0.1% (not registered in the table)
WRONG_SIN = OpDef("wrong_sin", np.sin, (lambda b, g, out, x: g * b.cos(x) * 1.001,), unary("real"))


def test_checker_catches_a_rule_wrong_by_a_tenth_of_a_percent():
    x = gw.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    # the op table's tolerances (float64 central differences are accurate to ~1e-9)
    with pytest.raises(GradcheckError) as info:
        gw.gradcheck(lambda t: apply(WRONG_SIN, t), (x,), atol=1e-6, rtol=1e-5)
    table = str(info.value)
    assert "max abs err" in table and "analytic" in table and "numeric" in table and "NO" in table
    assert gw.gradcheck(lambda t: t.sin(), (x,), atol=1e-6, rtol=1e-5)


def test_checker_catches_a_one_percent_error_with_default_tolerances():
    wrong = OpDef("wrong_exp", np.exp, (lambda b, g, out, x: g * out * 1.01,), unary("real"))
    x = gw.tensor([0.5, 1.0], dtype=gw.float64, requires_grad=True)
    assert not gw.gradcheck(lambda t: apply(wrong, t), (x,), raise_exception=False)


def test_float32_inputs_are_converted_with_a_warning():
    x = gw.tensor([0.3, 0.7], requires_grad=True)
    with pytest.warns(UserWarning, match="converting to float64"):
        assert gw.gradcheck(lambda t: (t * t).sum(), (x,))


def test_gradgradcheck_catches_wrong_second_derivative():
    # first derivative right, but the rule uses a constant where it should depend on x
    bad = OpDef("bad_square", np.square, (lambda b, g, out, x: g * np.asarray(x) * 2.0,), unary("real"))
    x = gw.tensor([0.5, -1.0], dtype=gw.float64, requires_grad=True)
    assert gw.gradcheck(lambda t: apply(bad, t), (x,))
    with pytest.raises((GradcheckError, RuntimeError)):
        gw.gradgradcheck(lambda t: apply(bad, t), (x,))


def test_non_contiguous_inputs_are_checked_correctly():
    x = gw.tensor(np.random.default_rng(0).standard_normal((3, 2))).T.requires_grad_()
    assert not x.detach().numpy().flags.c_contiguous
    assert gw.gradcheck(lambda t: (t * t * t).sum(), (x,))


def test_report_survives_huge_errors_and_inputs_are_restored_after_exceptions():
    huge = OpDef("huge", np.sin, (lambda b, g, out, x: g * 1e12,), unary("real"))
    x = gw.tensor([0.5, 1.0], dtype=gw.float64, requires_grad=True)
    before = x.detach().numpy().copy()
    assert not gw.gradcheck(lambda t: apply(huge, t), (x,), raise_exception=False)

    def boom(t):
        if t.detach().numpy()[0] != before[0]:
            raise KeyError("fn failed mid-check")
        return t.sin()

    with pytest.raises(KeyError):
        gw.gradcheck(boom, (x,))
    assert np.array_equal(x.detach().numpy(), before)
