"""Elementwise math: exp/log family, powers and roots, trigonometry, erf, rounding,
maximum/minimum, where and clamp.

The ops with several tensor inputs promote them as ``torch.result_type`` does
(declared at the end with :func:`gradwise.dtypes.promotes`): ``arctan2`` of
integers gives the default float dtype, ``where`` promotes its two branches (not
the condition), ``clamp`` its input with the bounds (``int_tensor.clamp(min=0.5)``
is float32, as in PyTorch).

Rules that need the op's own output read ``out`` (exp's derivative is exp
itself, tanh's is 1 - tanh^2), which saves recomputing it.  Masks are applied
as ``g * (x > 0)`` (a bool factor) so a float32 gradient stays float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.dtypes import COMMON, TO_FLOAT, promotes
from gradwise.ops.domain import Domain, Sample, binary, unary
from gradwise.ops.registry import NO_HINTS, AnomalyHints, Prepared, defop

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _unary(name: str, forward: Any, rule: Any, kind: str = "real", *, saves_inputs: bool = True,
           saves_out: bool = True, aliases: tuple[str, ...] = (), doc: str = "",
           anomaly: AnomalyHints = NO_HINTS, **kw: Any) -> Any:
    return defop(name, forward, (rule,), unary(kind, **kw), saves_inputs=saves_inputs,
                 saves_out=saves_out, inplace=True, aliases=aliases, doc=doc, anomaly=anomaly)


# exp(x) > largest float once x > log(largest float): ~88.7 in float32, ~709.8 in float64.
_EXP_OVERFLOW = AnomalyHints(exp_overflow=True)
# sinh(x), cosh(x) ~ exp(|x|) / 2: the same overflow, log 2 later, for large x of either sign.
_EXP_OVERFLOW_ABS = AnomalyHints(exp_overflow=True, exp_overflow_abs=True)
# log(0) = -inf (and the gradient 1/x is infinite there); log(x < 0) is NaN.
_LOG = AnomalyHints(pole=0, log=True, nonnegative=True)


EXP = _unary("exp", np.exp, lambda b, g, out, x: g * out, "small", saves_inputs=False,
             anomaly=_EXP_OVERFLOW, doc="``e ** input`` elementwise.\n\n"
                 ">>> import gradwise as gw\n>>> gw.exp(gw.zeros(2)).tolist()\n[1.0, 1.0]")
LOG = _unary("log", np.log, lambda b, g, out, x: g / x, "positive", saves_out=False, anomaly=_LOG,
             doc="Natural logarithm elementwise (``-inf`` at 0, ``nan`` below).")
# d log2(x) = 1 / (x ln 2);  d log10(x) = 1 / (x ln 10)
LOG2 = _unary("log2", np.log2, lambda b, g, out, x: g / (x * _LN2), "positive", saves_out=False,
              anomaly=_LOG, doc="Base-2 logarithm elementwise.")
LOG10 = _unary("log10", np.log10, lambda b, g, out, x: g / (x * _LN10), "positive", saves_out=False,
               anomaly=_LOG, doc="Base-10 logarithm elementwise.")
# log1p and expm1 stay accurate near 0 where log(1 + x) and exp(x) - 1 lose digits.
# log1p(x) = log(1 + x): -inf at x = -1, NaN below.
LOG1P = _unary("log1p", np.log1p, lambda b, g, out, x: g / (x + 1.0), "positive", saves_out=False,
               anomaly=AnomalyHints(log_pole_at=-1.0), doc="``log(1 + input)``, accurate for small inputs.")
EXPM1 = _unary("expm1", np.expm1, lambda b, g, out, x: g * (out + 1.0), "small", saves_inputs=False,
               anomaly=_EXP_OVERFLOW, doc="``exp(input) - 1``, accurate for small inputs.")
# d sqrt(x) = 1 / (2 sqrt(x)): infinite at 0, where sqrt itself is a finite 0; sqrt(x < 0) is NaN.
SQRT = _unary("sqrt", np.sqrt, lambda b, g, out, x: g / (out * 2.0), "positive", saves_inputs=False,
              anomaly=AnomalyHints(nonnegative=True, sqrt_like="sqrt"),
              doc="Square root elementwise; its gradient is infinite at 0.")
# rsqrt = x^(-1/2);  d rsqrt = -1/2 x^(-3/2) = -out^3 / 2.  rsqrt(0) = 1 / sqrt(0) = inf; NaN below 0.
RSQRT = _unary("rsqrt", lambda x: 1.0 / np.sqrt(x), lambda b, g, out, x: g * out * out * out * -0.5,
               "positive", saves_inputs=False,
               anomaly=AnomalyHints(pole=0, pole_note="rsqrt(0) = 1 / sqrt(0) is inf.", nonnegative=True),
               doc="``1 / sqrt(input)`` elementwise.")
SQUARE = _unary("square", np.square, lambda b, g, out, x: g * x * 2.0, saves_out=False,
                doc="``input ** 2`` elementwise.")
# |x|' = sign(x); PyTorch uses 0 at x = 0, as does sign.
ABS = _unary("abs", np.abs, lambda b, g, out, x: g * b.sign(x), "kinkfree", saves_out=False,
             aliases=("absolute",), doc="Absolute value; gradient sign(x) (0 at 0).")
SIGN = _unary("sign", np.sign, lambda b, g, out, x: g * 0.0, "kinkfree",
              saves_inputs=False, saves_out=False,
              doc="-1, 0 or 1; piecewise constant, so its gradient is zero (as in PyTorch).")
SIN = _unary("sin", np.sin, lambda b, g, out, x: g * b.cos(x), saves_out=False, doc="Sine.")
COS = _unary("cos", np.cos, lambda b, g, out, x: -g * b.sin(x), saves_out=False, doc="Cosine.")
# tan' = 1 + tan^2
TAN = _unary("tan", np.tan, lambda b, g, out, x: g * (out * out + 1.0), "unit", saves_inputs=False,
             doc="Tangent.")
# arcsin' = 1/sqrt(1-x^2), arccos' = -1/sqrt(1-x^2), arctan' = 1/(1+x^2)
# sine and cosine take values in [-1, 1]: their inverses are NaN outside it.
ARCSIN = _unary("arcsin", np.arcsin, lambda b, g, out, x: g * b.rsqrt(1.0 - x * x), "unit",
                saves_out=False, aliases=("asin",), anomaly=AnomalyHints(abs_bound=1.0),
                doc="Inverse sine on (-1, 1).")
ARCCOS = _unary("arccos", np.arccos, lambda b, g, out, x: -g * b.rsqrt(1.0 - x * x), "unit",
                saves_out=False, aliases=("acos",), anomaly=AnomalyHints(abs_bound=1.0),
                doc="Inverse cosine on (-1, 1).")
ARCTAN = _unary("arctan", np.arctan, lambda b, g, out, x: g / (x * x + 1.0), saves_out=False,
                aliases=("atan",), doc="Inverse tangent.")
SINH = _unary("sinh", np.sinh, lambda b, g, out, x: g * b.cosh(x), "small", saves_out=False,
              anomaly=_EXP_OVERFLOW_ABS, doc="Hyperbolic sine.")
COSH = _unary("cosh", np.cosh, lambda b, g, out, x: g * b.sinh(x), "small", saves_out=False,
              anomaly=_EXP_OVERFLOW_ABS, doc="Hyperbolic cosine.")
# tanh' = 1 - tanh^2, written g - g t t (array-array products only: faster than a
# Python-scalar operand on small arrays)
TANH = _unary("tanh", np.tanh, lambda b, g, out, x: g - g * out * out, saves_inputs=False,
              doc="Hyperbolic tangent, in (-1, 1).\n\n"
                  ">>> import gradwise as gw\n>>> gw.tanh(gw.zeros(1)).tolist()\n[0.0]")
# (1/x)' = -1/x^2 = -out^2;  1/0 = inf.
RECIPROCAL = _unary("reciprocal", np.reciprocal, lambda b, g, out, x: -g * out * out, "nonzero",
                    saves_inputs=False, anomaly=AnomalyHints(pole=0), doc="``1 / input`` elementwise.")

_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _erf(x: Any) -> np.ndarray:
    # NumPy has no erf; the C library's (math.erf) is exact to the last bit, which the
    # finite-difference tests of erf and exact gelu need.  Cost: ~0.1 us per element.
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    return np.asarray(_erf_scalar(x), dtype=dtype)


# erf'(x) = 2/sqrt(pi) exp(-x^2)
ERF = _unary("erf", _erf, lambda b, g, out, x: g * b.exp(-(x * x)) * _TWO_OVER_SQRT_PI,
             saves_out=False, doc="The error function, ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``.")


def _zero_grad(b: Any, g: Any, out: Any, x: Any) -> Any:
    return g * 0.0


def _rounding(name: str, fn: Any) -> Any:
    # Piecewise constant: gradient zero (PyTorch's convention), defined away from the jumps.
    return defop(name, fn, (_zero_grad,), unary("real"), saves_inputs=False, saves_out=False,
                 inplace=True, doc=f"``{name}`` elementwise; piecewise constant, zero gradient.")


FLOOR = _rounding("floor", np.floor)
CEIL = _rounding("ceil", np.ceil)
ROUND = _rounding("round", np.round)
TRUNC = _rounding("trunc", np.trunc)

# d atan2(y, x)/dy = x / (x^2 + y^2);  d/dx = -y / (x^2 + y^2)
ARCTAN2 = defop(
    "arctan2", np.arctan2,
    (lambda b, g, out, y, x: g * x / (x * x + y * y), lambda b, g, out, y, x: -g * y / (x * x + y * y)),
    binary("real", "nonzero"),
    saves_out=False, aliases=("atan2",),
    doc="Angle of the point (other, input): ``atan2(input, other)``.",
)


def _max_rule(b: Any, g: Any, out: Any, x: Any, y: Any) -> Any:
    # Ties split the gradient evenly between both inputs, as PyTorch does.
    return g * (x > y) + g * (x == y) * 0.5


def _min_rule(b: Any, g: Any, out: Any, x: Any, y: Any) -> Any:
    return g * (x < y) + g * (x == y) * 0.5


def _distinct_pair(rng: np.random.Generator) -> list[Sample]:
    shapes = (((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3), ()))
    out = []
    for sa, sb in shapes:
        a = rng.standard_normal(sa)
        # keep |a - b| >= 0.1 so a finite-difference step never crosses a tie
        d = rng.uniform(0.1, 1.0, np.broadcast_shapes(sa, sb)) * rng.choice([-1.0, 1.0])
        b = (np.broadcast_to(a, d.shape) + d)[tuple(slice(0, s) if s else 0 for s in sb)] \
            if sb else float(rng.standard_normal())
        if isinstance(b, float):
            a = b + np.sign(rng.standard_normal(sa)) * rng.uniform(0.1, 1.0, sa)
            b = np.asarray(b)
        out.append(Sample((a, np.asarray(b)), {}, (0, 1)))
    return out


MAXIMUM = defop("maximum", np.maximum, (_max_rule, lambda b, g, out, x, y: _max_rule(b, g, out, y, x)),
                Domain(make=_distinct_pair), saves_out=False,
                doc="Elementwise maximum; at ties each input gets half the gradient.")
MINIMUM = defop("minimum", np.minimum, (_min_rule, lambda b, g, out, x, y: _min_rule(b, g, out, y, x)),
                Domain(make=_distinct_pair), saves_out=False,
                doc="Elementwise minimum; at ties each input gets half the gradient.")


def _where_make(rng: np.random.Generator) -> list[Sample]:
    cond = rng.random((3, 4)) < 0.5
    return [Sample((cond, rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {}, (1, 2)),
            Sample((cond[:, :1], rng.standard_normal((1, 4)), rng.standard_normal(())), {}, (1, 2))]


def _prepare_where(condition: Any, input: Any, other: Any) -> Prepared:
    return (condition, input, other), {}


WHERE = defop(
    "where", np.where,
    # The gradient flows to whichever input was chosen at each element.
    (None, lambda b, g, out, c, x, y: b.where(c, g, 0.0),
     lambda b, g, out, c, x, y: b.where(c, 0.0, g)),
    Domain(make=_where_make),
    prepare=_prepare_where, saves_out=False, method=False,
    # The unselected branch gets a zero gradient, and 0 * inf = nan in the rule that made it.
    anomaly=AnomalyHints(branches=((1, "input (true)"), (2, "other (false)"))),
    doc="``input`` where ``condition`` holds, else ``other`` (broadcasting).\n\n"
        ">>> import gradwise as gw\n>>> x = gw.tensor([-1.0, 2.0])\n"
        ">>> gw.where(x > 0, x, gw.zeros(2)).tolist()\n[0.0, 2.0]",
)


def _prepare_clamp(input: Any, min: Any = None, max: Any = None) -> Prepared:  # noqa: A002
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return (input, min, max), {}


def _clamp(x: Any, lo: Any, hi: Any) -> Any:
    if lo is not None and hi is not None:
        # PyTorch: where min > max every element becomes max; np.clip agrees.
        return np.minimum(np.maximum(x, lo), hi)
    return np.maximum(x, lo) if lo is not None else np.minimum(x, hi)


def _clamp_input(b: Any, g: Any, out: Any, x: Any, lo: Any, hi: Any) -> Any:
    # The gradient passes where lo <= x <= hi (boundaries included, like PyTorch).
    if lo is not None:
        g = g * (x >= lo)
    if hi is not None:
        g = g * (x <= hi)
    return g


def _clamp_make(rng: np.random.Generator) -> list[Sample]:
    x = rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(0.1, 2.0, (3, 4))
    lo = np.full((1, 4), -0.05) + rng.uniform(-0.5, 0.0, (1, 4))
    hi = np.full((3, 1), 0.05) + rng.uniform(0.0, 0.5, (3, 1))
    # keep every x at least 0.02 from either bound
    x = np.where(np.abs(x - lo) < 0.02, x + 0.05, x)
    x = np.where(np.abs(x - hi) < 0.02, x + 0.05, x)
    return [Sample((x, -0.5, 0.5), {}, (0,)), Sample((x, lo, hi), {}, (0, 1, 2)),
            Sample((x, None, hi), {}, (0, 2))]


CLAMP = defop(
    "clamp", _clamp,
    (_clamp_input,
     lambda b, g, out, x, lo, hi: g * (x < lo),
     lambda b, g, out, x, lo, hi: g * (x > hi) if lo is None else g * (x > hi) * (x >= lo)),
    Domain(make=_clamp_make),
    prepare=_prepare_clamp, saves_out=False, inplace=True, aliases=("clip",),
    doc="Limit values to ``[min, max]`` (either may be None, a number or a tensor).\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([-2.0, 0.5, 3.0]).clamp(-1, 1).tolist()\n[-1.0, 0.5, 1.0]",
)

# Type promotion (gradwise.dtypes): where's condition (input 0) takes no part.
promotes(COMMON, MAXIMUM, MINIMUM, CLAMP)
promotes(COMMON, WHERE, first=1)
promotes(TO_FLOAT, ARCTAN2)
