"""Arithmetic with NumPy broadcasting, comparisons and logical ops.

Rules return gradients in the broadcast shape; the autograd node sums them
back to each input's shape.

Operands are promoted as ``torch.result_type`` says (declared below with
:func:`gradwise.dtypes.promotes`, cast by the recording path before the forward):
``float32 * int64`` is float32, ``x * 2.5`` keeps a float32 ``x`` float32, an int
tensor times 2.5 is float32, true division of integers gives the default float
dtype while ``//`` on integers stays integer, comparisons compare in the promoted
dtype and return bool, and ``sub`` refuses bool operands.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.dtypes import COMMON, NO_BOOL, TO_FLOAT, promotes
from gradwise.ops.domain import Domain, Sample, binary
from gradwise.ops.registry import AnomalyHints, defop


def _prepare_alpha(input: Any, other: Any, *, alpha: Any = 1) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (input, other), ({} if alpha == 1 else {"alpha": alpha})


def _add(x: Any, y: Any, alpha: Any = 1) -> Any:
    return np.add(x, y) if alpha == 1 else np.add(x, np.multiply(y, alpha))


def _sub(x: Any, y: Any, alpha: Any = 1) -> Any:
    return np.subtract(x, y) if alpha == 1 else np.subtract(x, np.multiply(y, alpha))


ADD = defop(
    "add", _add,
    (lambda b, g, out, x, y, alpha=1: g,
     lambda b, g, out, x, y, alpha=1: g if alpha == 1 else g * alpha),
    binary("real", "real", attrs=({}, {"alpha": 0.5})),
    prepare=_prepare_alpha, saves_inputs=False, saves_out=False, inplace=True,
    fast_forward=np.add,
    doc="``input + alpha * other`` with broadcasting.\n\n"
        ">>> import gradwise as gw\n>>> gw.add(gw.ones(2), gw.ones(2), alpha=3).tolist()\n[4.0, 4.0]",
)

SUB = defop(
    "sub", _sub,
    (lambda b, g, out, x, y, alpha=1: g,
     lambda b, g, out, x, y, alpha=1: -g if alpha == 1 else g * (-alpha)),
    binary("real", "real", attrs=({}, {"alpha": 2.0})),
    prepare=_prepare_alpha, saves_inputs=False, saves_out=False, inplace=True,
    aliases=("subtract",), fast_forward=np.subtract,
    doc="``input - alpha * other`` with broadcasting.",
)

MUL = defop(
    "mul", np.multiply,
    # d(xy)/dx = y, d(xy)/dy = x.
    (lambda b, g, out, x, y: g * y, lambda b, g, out, x, y: g * x),
    binary("real", "real"),
    saves_out=False, inplace=True, aliases=("multiply",),
    doc="Elementwise product with broadcasting.",
)

DIV = defop(
    "div", np.true_divide,
    # d(x/y)/dx = 1/y;  d(x/y)/dy = -x/y^2 = -out/y.
    (lambda b, g, out, x, y: g / y, lambda b, g, out, x, y: -g * out / y),
    binary("real", "nonzero"),
    inplace=True, aliases=("divide", "true_divide"),
    # x / 0 = inf for x != 0, and 0 / 0 = nan.
    anomaly=AnomalyHints(pole=1, numerator=0),
    doc="Elementwise true division ``input / other``.",
)

NEG = defop(
    "neg", np.negative,
    (lambda b, g, out, x: -g,),
    Domain(("real",), (((3, 4),), ((),))),
    saves_inputs=False, saves_out=False, inplace=True, aliases=("negative",),
    doc="``-input``.",
)


def _pow_grad_base(b: Any, g: Any, out: Any, x: Any, y: Any) -> Any:
    # d(x^y)/dx = y * x^(y-1)
    return g * y * x ** (y - 1)


def _pow_grad_exponent(b: Any, g: Any, out: Any, x: Any, y: Any) -> Any:
    # d(x^y)/dy = x^y * log(x); defined for x > 0 only.  A Python-number base
    # (``2 ** t``) uses math.log so the constant stays weakly typed (no float64 upcast).
    if isinstance(x, (int, float)):
        return g * out * math.log(x)
    return g * out * b.log(x)


POW = defop(
    "pow", np.power,
    (_pow_grad_base, _pow_grad_exponent),
    Domain(("positive", "small"), (((3, 4), (3, 4)), ((3, 1), (4,)), ((2, 3), ()))),
    inplace=True, aliases=("power",),
    # 0 ** p = inf for p < 0; |x| ** p overflows; p x ** (p - 1) is infinite at 0 for 0 < p < 1;
    # a negative base with a fractional p is NaN.
    anomaly=AnomalyHints(pole=0, exp_overflow=True, power=True),
    doc="``input ** exponent`` elementwise.  The exponent's gradient needs ``input > 0``.",
)


def _remainder_make(rng: np.random.Generator) -> list[Sample]:
    # Keep x/y away from integers, where remainder jumps.
    y = rng.uniform(0.5, 2.0, (3, 4))
    x = y * (rng.integers(-3, 3, (3, 4)) + rng.uniform(0.2, 0.8, (3, 4)))
    return [Sample((x, y), {}, (0, 1))]


REMAINDER = defop(
    "remainder", np.remainder,
    # x mod y = x - floor(x/y) * y: slope 1 in x, -floor(x/y) in y (between jumps).
    (lambda b, g, out, x, y: g, lambda b, g, out, x, y: -g * b.floor_divide(x, y)),
    Domain(make=_remainder_make),
    saves_out=False, inplace=True,
    anomaly=AnomalyHints(pole=1),  # x mod 0 = nan: no multiple of 0 reaches x
    doc="Python-style remainder (sign of the divisor), like ``torch.remainder``.",
)

FLOOR_DIVIDE = defop(
    "floor_divide", np.floor_divide,
    (None, None),
    binary("positive", "positive"),
    inplace=True,
    anomaly=AnomalyHints(pole=1),  # floor(x / 0) = floor(inf) = inf
    doc="``floor(input / other)``; piecewise constant, so it has no gradient.",
)

# --- comparisons and logic: no gradient, boolean results -------------------------

def _compare(name: str, fn: Any, alias: tuple[str, ...] = ()) -> Any:
    return defop(name, fn, (None, None), binary("real", "real"), aliases=alias,
                 doc=f"Elementwise ``{name}`` comparison; returns a bool tensor.")


EQ = _compare("eq", np.equal)
NE = _compare("ne", np.not_equal, ("not_equal",))
LT = _compare("lt", np.less, ("less",))
LE = _compare("le", np.less_equal, ("less_equal",))
GT = _compare("gt", np.greater, ("greater",))
GE = _compare("ge", np.greater_equal, ("greater_equal",))

LOGICAL_AND = defop("logical_and", np.logical_and, (None, None), binary("bool", "bool"),
                    doc="Elementwise logical and.")
LOGICAL_OR = defop("logical_or", np.logical_or, (None, None), binary("bool", "bool"),
                   doc="Elementwise logical or.")
LOGICAL_XOR = defop("logical_xor", np.logical_xor, (None, None), binary("bool", "bool"),
                    doc="Elementwise logical xor.")
LOGICAL_NOT = defop("logical_not", np.logical_not, (None,), Domain(("bool",), (((3, 4),),)),
                    doc="Elementwise logical not.")
BITWISE_AND = defop("bitwise_and", np.bitwise_and, (None, None), binary("bool", "bool"),
                    doc="Elementwise ``&`` on bool or integer tensors.")
BITWISE_OR = defop("bitwise_or", np.bitwise_or, (None, None), binary("bool", "bool"),
                   doc="Elementwise ``|`` on bool or integer tensors.")
BITWISE_XOR = defop("bitwise_xor", np.bitwise_xor, (None, None), binary("bool", "bool"),
                    doc="Elementwise ``^`` on bool or integer tensors.")
BITWISE_NOT = defop("bitwise_not", np.invert, (None,), Domain(("bool",), (((3, 4),),)),
                    doc="Elementwise ``~`` on bool or integer tensors.")

# Type promotion (gradwise.dtypes): the logical ops need none, NumPy returns bool for any operands.
promotes(COMMON, ADD, MUL, POW, REMAINDER, FLOOR_DIVIDE, EQ, NE, LT, LE, GT, GE,
         BITWISE_AND, BITWISE_OR, BITWISE_XOR)
promotes(NO_BOOL, SUB)
promotes(TO_FLOAT, DIV)
