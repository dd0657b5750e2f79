"""Op facts live in the op table: anomaly hints, variadic rules and the binary fast forward.

The anomaly hints read :class:`~gradwise.ops.registry.AnomalyHints` from each op's
declaration (``OpDef.anomaly``); no list of op names is kept elsewhere.  These tests
check that every declared fact is consistent with its op, that the hints still fire
for the classic NaN/Inf patterns, and that a new op gets a hint from its declaration
alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd.function import apply
from gradwise.errors import AnomalyError
from gradwise.ops import all_ops
from gradwise.ops.domain import binary, unary
from gradwise.ops.registry import NO_HINTS, REGISTRY, AnomalyHints, OpDef, VariadicGrads, defop

OPS = all_ops()


def flat(err: Exception) -> str:
    """The message with its line wrapping undone (hints are wrapped at 100 columns)."""
    return " ".join(str(err).split())


def _forward_error(fn, *args) -> AnomalyError:
    with gw.detect_anomaly(), pytest.raises(AnomalyError) as info:
        fn(*args)
    return info.value


# ------------------------------------------------------------------ the table is consistent
@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_anomaly_facts_fit_the_op(op: OpDef) -> None:
    facts = op.anomaly
    assert isinstance(facts, AnomalyHints)
    if facts == NO_HINTS:
        return
    # every index a fact names is an input of the op (variadic ops have no fixed inputs)
    assert not op.variadic, f"{op.name}: a variadic op cannot name input indices"
    n = len(op.grads)
    for what, i in (("pole", facts.pole), ("numerator", facts.numerator)):
        assert i is None or 0 <= i < n, f"{op.name}: {what} {i} is not one of its {n} inputs"
    assert facts.numerator is None or (facts.pole is not None and facts.numerator != facts.pole)
    assert not facts.log or facts.pole is not None, f"{op.name}: a log's pole is its argument"
    assert not facts.pole_note or facts.pole is not None
    assert not facts.exp_overflow_abs or facts.exp_overflow
    assert not facts.power or (n == 2 and facts.pole == 0), "x ** p: base input 0, exponent input 1"
    assert facts.abs_bound is None or facts.abs_bound > 0
    # branches: distinct inputs that receive a gradient, each with a label
    idx = [i for i, _ in facts.branches]
    assert len(set(idx)) == len(idx)
    for i, label in facts.branches:
        assert 0 <= i < n and op.grads[i] is not None and label
        assert facts.branch_label(i) == label
    with pytest.raises(KeyError):
        facts.branch_label(n)


# What the anomaly code kept as lists of op names before the facts moved into the table.
EXPECTED = {
    "log": AnomalyHints(pole=0, log=True, nonnegative=True),
    "log2": AnomalyHints(pole=0, log=True, nonnegative=True),
    "log10": AnomalyHints(pole=0, log=True, nonnegative=True),
    "log1p": AnomalyHints(log_pole_at=-1.0),
    "div": AnomalyHints(pole=1, numerator=0),
    "reciprocal": AnomalyHints(pole=0),
    "rsqrt": AnomalyHints(pole=0, pole_note="rsqrt(0) = 1 / sqrt(0) is inf.", nonnegative=True),
    "floor_divide": AnomalyHints(pole=1),
    "remainder": AnomalyHints(pole=1),
    "pow": AnomalyHints(pole=0, exp_overflow=True, power=True),
    "exp": AnomalyHints(exp_overflow=True),
    "expm1": AnomalyHints(exp_overflow=True),
    "sinh": AnomalyHints(exp_overflow=True, exp_overflow_abs=True),
    "cosh": AnomalyHints(exp_overflow=True, exp_overflow_abs=True),
    "sqrt": AnomalyHints(nonnegative=True, sqrt_like="sqrt"),
    "norm": AnomalyHints(sqrt_like="a norm"),
    "arcsin": AnomalyHints(abs_bound=1.0),
    "arccos": AnomalyHints(abs_bound=1.0),
    "where": AnomalyHints(branches=((1, "input (true)"), (2, "other (false)"))),
    "masked_fill": AnomalyHints(branches=((0, "input"),)),
}


def test_the_declared_facts_are_the_ones_the_hints_were_written_for() -> None:
    declared = {op.name: op.anomaly for op in OPS if op.anomaly != NO_HINTS}
    assert declared == EXPECTED


def test_variadic_is_a_field_not_a_zero_length() -> None:
    for op in OPS:
        assert op.variadic == isinstance(op.grads, VariadicGrads)
        if op.variadic:
            assert op.prepare is not None  # the public binding takes its inputs from prepare
            assert op.differentiable
        else:
            assert isinstance(op.grads, tuple)
    assert {op.name for op in OPS if op.variadic} >= {"cat", "stack", "einsum", "tensordot"}
    with pytest.raises(TypeError):
        len(REGISTRY["cat"].grads)  # no length to misread as "no inputs"


@pytest.mark.parametrize("op", [o for o in OPS if o.fast_forward is not None], ids=lambda o: o.name)
def test_fast_forward_is_the_forward_without_attributes(op: OpDef) -> None:
    assert not op.variadic and len(op.grads) == 2
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    np.testing.assert_array_equal(op.fast_forward(x, y), op.forward(x, y))


def test_the_binary_operators_still_compute_through_the_fast_path() -> None:
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    y = x + 3.0
    z = (y - x * 2.0).sum()
    z.backward()
    assert y.tolist() == [4.0, 5.0] and z.item() == 3.0 and x.grad.tolist() == [-1.0, -1.0]


# ------------------------------------------------------------------ the hints still fire
@pytest.mark.parametrize("name", ["log", "log2", "log10"])
def test_log_of_zero(name: str) -> None:
    err = _forward_error(getattr(gw, name), gw.tensor([0.0, 1.0], requires_grad=True))
    assert err.report.hint_kinds[0] == "log_or_div_zero"
    assert f"Hint (log at zero): {name}(0) is -inf" in flat(err)


def test_division_by_zero_and_zero_over_zero() -> None:
    err = _forward_error(lambda a, b: a / b, gw.tensor([1.0, 0.0]), gw.tensor([0.0, 0.0]))
    assert err.report.hint_kinds[0] == "log_or_div_zero"
    assert "2 of the 2 divisor values are 0. 0 / 0 is NaN (and x / 0 is inf for x != 0)." in flat(err)
    err = _forward_error(lambda a, b: a / b, gw.tensor([1.0, 1.0]), gw.tensor([0.0, 1.0]))
    assert "1 of the 2 divisor values is 0. x / 0 is inf, 0 / 0 is NaN." in flat(err)


@pytest.mark.parametrize("name", ["floor_divide", "remainder"])
def test_integer_style_division_by_zero(name: str) -> None:
    err = _forward_error(getattr(gw, name), gw.tensor([1.0, 1.0]), gw.tensor([0.0, 1.0]))
    assert err.report.hint_kinds[0] == "log_or_div_zero"
    assert f"in '{name}', 1 of the 2 divisor values is 0." in flat(err)


def test_reciprocal_and_rsqrt_at_zero() -> None:
    err = _forward_error(gw.reciprocal, gw.tensor([0.0, 1.0]))
    assert "in 'reciprocal', 1 of the 2 input values is 0. x / 0 is inf" in flat(err)
    err = _forward_error(gw.rsqrt, gw.tensor([0.0, 1.0]))
    assert "in 'rsqrt', 1 of the 2 input values is 0. rsqrt(0) = 1 / sqrt(0) is inf." in flat(err)


def test_negative_power_of_zero() -> None:
    err = _forward_error(lambda a: a ** -1.0, gw.tensor([0.0, 1.0]))
    assert err.report.hint_kinds[0] == "log_or_div_zero"
    assert "Hint (negative power of zero)" in flat(err)


@pytest.mark.parametrize("name,x", [("exp", 100.0), ("expm1", 100.0), ("sinh", -100.0), ("cosh", -100.0)])
def test_exp_overflow(name: str, x: float) -> None:
    err = _forward_error(getattr(gw, name), gw.tensor([x, 1.0], dtype=gw.float32))
    assert err.report.hint_kinds[0] == "exp_overflow"
    limit = "89.4" if name in ("sinh", "cosh") else "88.7"  # sinh, cosh ~ exp(|x|) / 2
    assert f"{name}(x) overflows float32 for x > {limit}" in flat(err)


def test_power_overflow() -> None:
    err = _forward_error(lambda a: a ** 10.0, gw.tensor([1e5, 2.0], dtype=gw.float32))
    assert err.report.hint_kinds[0] == "exp_overflow" and "Hint (power overflow)" in flat(err)


@pytest.mark.parametrize("name", ["sqrt", "rsqrt", "log", "log2", "log10"])
def test_negative_input_outside_the_domain(name: str) -> None:
    err = _forward_error(getattr(gw, name), gw.tensor([-1.0, 4.0]))
    assert "domain" in err.report.hint_kinds
    assert f"Hint ({name} of a negative number): {name} of a negative number is NaN" in flat(err)


def test_other_domains() -> None:
    err = _forward_error(gw.log1p, gw.tensor([-2.0, 1.0]))
    assert "Hint (log1p at or below -1): log1p(x) is -inf at x = -1 and NaN below" in flat(err)
    for name in ("arcsin", "arccos"):
        err = _forward_error(getattr(gw, name), gw.tensor([2.0, 0.0]))
        assert f"Hint ({name} outside [-1, 1]): {name} is NaN outside [-1, 1]" in flat(err)
    err = _forward_error(lambda a: a ** 0.5, gw.tensor([-1.0, 1.0]))
    assert "Hint (negative base with a fractional power)" in flat(err)


def test_sqrt_like_gradients_at_zero() -> None:
    for f, what in ((gw.sqrt, "sqrt"), (lambda a: a ** 0.5, "x ** p with 0 < p < 1")):
        x = gw.tensor([0.0, 4.0], requires_grad=True)
        with gw.detect_anomaly():
            y = f(x).sum()
            with pytest.raises(AnomalyError) as info:
                y.backward()
        assert info.value.report.hint_kinds[0] == "sqrt_grad_zero"
        assert f"{what} is finite at 0 (sqrt(0) = 0)" in flat(info.value)


def _discarded_inf_branch(select) -> AnomalyError:
    """``select(prod)`` keeps only the finite element of ``prod = x * [inf, 1]``."""
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    with gw.detect_anomaly():
        prod = x * gw.tensor([np.inf, 1.0])  # Inf in data may flow; the product keeps it
        out = select(prod).sum()
        assert np.isfinite(out.item())
        with pytest.raises(AnomalyError) as info:
            out.backward()
    return info.value


@pytest.mark.parametrize("select,label", [
    (lambda p: gw.where(gw.tensor([False, True]), p, gw.zeros(2)), "input (true)"),
    (lambda p: gw.where(gw.tensor([True, False]), gw.zeros(2), p), "other (false)"),
    (lambda p: p.masked_fill(gw.tensor([True, False]), 0.0), "input"),
], ids=["where-input", "where-other", "masked_fill"])
def test_branch_selection_names_the_discarded_branch(select, label: str) -> None:
    err = _discarded_inf_branch(select)
    rep = err.report
    assert (rep.op, rep.phase) == ("mul", "backward")
    assert rep.hint_kinds[0] == "where_branch"
    assert f"discarded 1 +Inf in its {label} branch" in flat(err)


# ------------------------------------------------------------------ a new op needs only its declaration
@pytest.fixture
def throwaway_ops() -> Iterator[tuple[OpDef, OpDef]]:
    """Two ops declared for the test only, removed from the table afterwards."""
    names = ("_test_inv_cube", "_test_pick_positive")
    assert not any(n in REGISTRY for n in names)
    # 1 / x^3: a pole at 0 of input 0;  d(x^-3)/dx = -3 x^-4
    inv_cube = defop(names[0], lambda x: 1.0 / (x * x * x), (lambda b, g, out, x: g * -3.0 / (x * x * x * x),),
                     unary("nonzero"), saves_out=False,
                     anomaly=AnomalyHints(pole=0, pole_note="1 / 0 ** 3 is inf."))

    # x where x > 0, else y: the gradient of each input is masked by the same test
    pick = defop(names[1], lambda x, y: np.where(x > 0, x, y),
                 (lambda b, g, out, x, y: g * (x > 0), lambda b, g, out, x, y: g * (x <= 0)),
                 binary("real", "real"), saves_out=False,
                 anomaly=AnomalyHints(branches=((1, "fallback"),)))
    try:
        yield inv_cube, pick
    finally:
        for n in names:
            REGISTRY.pop(n, None)
    assert not any(n in REGISTRY for n in names)


def test_a_new_op_gets_the_pole_hint_from_its_declaration(throwaway_ops) -> None:
    inv_cube, _ = throwaway_ops
    x = gw.tensor([0.0, 2.0], requires_grad=True)
    err = _forward_error(lambda a: apply(inv_cube, a), x)
    rep = err.report
    assert (rep.op, rep.kind) == ("_test_inv_cube", "produced")
    assert rep.hint_kinds == ("log_or_div_zero",)
    assert "in '_test_inv_cube', 1 of the 2 input values is 0. 1 / 0 ** 3 is inf." in flat(err)


def test_a_new_op_gets_the_branch_hint_from_its_declaration(throwaway_ops) -> None:
    _, pick = throwaway_ops
    err = _discarded_inf_branch(lambda p: apply(pick, gw.tensor([1.0, -1.0]), p))
    assert err.report.hint_kinds[0] == "where_branch"
    assert "discarded 1 +Inf in its fallback branch" in flat(err)
