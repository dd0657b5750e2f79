"""Activation functions, each a primitive for speed: one fused NumPy expression and one
graph node instead of a chain of recorded ops.

Forms are chosen for numerical stability: ``sigmoid(x) = 1 / (1 + exp(-x))`` keeps
relative accuracy in both tails (an overflow of ``exp(-x)`` gives the correct 0);
``softplus`` switches to the identity above PyTorch's ``threshold``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.errors import GradwiseError
from gradwise.ops.domain import Domain, unary
from gradwise.ops.registry import Prepared, defop

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


class ActivationArgError(GradwiseError, ValueError):
    """An activation got an option outside its valid choices."""


def _act(name: str, forward: Any, rule: Any, domain: Domain, *, prepare: Any = None,
         saves_inputs: bool = True, saves_out: bool = True, doc: str = "") -> Any:
    return defop(name, forward, (rule,), domain, prepare=prepare, saves_inputs=saves_inputs,
                 saves_out=saves_out, inplace=True, doc=doc)


def _sigmoid(x: Any) -> Any:
    # 1 / (1 + exp(-x)) keeps full relative accuracy in both tails (no cancellation: for very
    # negative x it is 1 / exp(-x)); exp(-x) overflows to inf only where the true value is
    # below the dtype's normal range, giving 0, so that warning is silenced.  Four in-place
    # passes: several times faster than the logaddexp form on the small arrays of training.
    x = np.asarray(x)
    e = np.empty(x.shape, dtype=x.dtype if x.dtype.kind in "fc" else np.float64)
    with np.errstate(over="ignore"):
        np.negative(x, out=e)
        np.exp(e, out=e)
        e += 1.0
        np.reciprocal(e, out=e)
    return e


def _sigmoid_grad(b: Any, g: Any, out: Any, x: Any) -> Any:
    # sigmoid' = s (1 - s), written gs - gs s (array-array products only)
    gs = g * out
    return gs - gs * out


SIGMOID = _act("sigmoid", _sigmoid, _sigmoid_grad, unary("real"),
               saves_inputs=False,
               doc="The logistic function ``1 / (1 + exp(-x))``, in (0, 1), stable for any x.\n\n"
                   ">>> import gradwise as gw\n>>> gw.sigmoid(gw.zeros(1)).tolist()\n[0.5]")

# logsigmoid(x) = -softplus(-x);  its derivative is sigmoid(-x) = 1 - sigmoid(x)
LOGSIGMOID = _act("logsigmoid", lambda x: -np.logaddexp(0.0, -x),
                  lambda b, g, out, x: g * b.sigmoid(-x), unary("real"), saves_out=False,
                  doc="``log(sigmoid(x))``, computed without overflow.")

RELU = _act("relu", lambda x: np.maximum(x, 0), lambda b, g, out, x: g * (x > 0), unary("kinkfree"),
            saves_out=False,
            doc="``max(x, 0)``; the gradient at 0 is 0 (as in PyTorch).\n\n"
                ">>> import gradwise as gw\n>>> gw.relu(gw.tensor([-1.0, 2.0])).tolist()\n[0.0, 2.0]")

RELU6 = _act("relu6", lambda x: np.minimum(np.maximum(x, 0), 6),
             lambda b, g, out, x: g * (x > 0) * (x < 6),
             unary("kinkfree"), saves_out=False, doc="``min(max(x, 0), 6)``.")


def _prepare_leaky(input: Any, negative_slope: float = 0.01) -> Prepared:
    return (input,), {"negative_slope": float(negative_slope)}


LEAKY_RELU = _act(
    "leaky_relu", lambda x, negative_slope: np.where(x > 0, x, x * negative_slope),
    lambda b, g, out, x, negative_slope: b.where(x > 0, g, g * negative_slope),
    Domain(("kinkfree",), (((3, 4),), ((),)), attrs=({"negative_slope": 0.01}, {"negative_slope": 0.2})),
    prepare=_prepare_leaky, saves_out=False,
    doc="``x`` for x > 0, ``negative_slope * x`` otherwise.")


def _prepare_alpha(input: Any, alpha: float = 1.0) -> Prepared:
    return (input,), {"alpha": float(alpha)}


def _elu(x: Any, alpha: float) -> Any:
    # expm1 of min(x, 0): accurate near 0 and no overflow in the unused branch
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)) * alpha)


# elu' = 1 for x > 0, alpha e^x = out + alpha otherwise
ELU = _act("elu", _elu, lambda b, g, out, x, alpha: b.where(x > 0, g, g * (out + alpha)),
           Domain(("kinkfree",), (((3, 4),),), attrs=({"alpha": 1.0}, {"alpha": 0.5})),
           prepare=_prepare_alpha, doc="``x`` for x > 0, ``alpha (e^x - 1)`` otherwise.")

SELU = _act("selu", lambda x: _elu(x, _SELU_ALPHA) * _SELU_SCALE,
            lambda b, g, out, x: b.where(x > 0, g * _SELU_SCALE, g * (out + _SELU_SCALE * _SELU_ALPHA)),
            unary("kinkfree"), doc="Scaled ELU with the self-normalising constants.")

_GELU_MODES = ("none", "tanh")


def _prepare_gelu(input: Any, approximate: str = "none") -> Prepared:
    if approximate not in _GELU_MODES:
        raise ActivationArgError(f"gelu: approximate={approximate!r} is not valid; "
                                 f"choose one of {_GELU_MODES}")
    return (input,), {"approximate": approximate}


def _gelu(x: Any, approximate: str = "none") -> Any:
    if approximate == "tanh":
        return x * 0.5 * (1.0 + np.tanh((x + x * x * x * _GELU_K) * _GELU_C))
    from gradwise.ops.elementwise import _erf

    return x * 0.5 * (1.0 + _erf(x / _SQRT_2))


def _gelu_grad(b: Any, g: Any, out: Any, x: Any, approximate: str = "none") -> Any:
    if approximate == "tanh":
        # d/dx [x/2 (1 + t)], t = tanh(c (x + k x^3)):  (1 + t)/2 + x/2 (1 - t^2) c (1 + 3k x^2)
        t = b.tanh((x + x * x * x * _GELU_K) * _GELU_C)
        return g * ((t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * _GELU_C * (1.0 + x * x * (3 * _GELU_K)))
    # d/dx [x Phi(x)] = Phi(x) + x phi(x)
    cdf = (b.erf(x * (1.0 / _SQRT_2)) + 1.0) * 0.5
    pdf = b.exp(x * x * -0.5) * _INV_SQRT_2PI
    return g * (cdf + x * pdf)


GELU = _act("gelu", _gelu, _gelu_grad,
            Domain(("real",), (((3, 4),), ((),)), attrs=({"approximate": "none"}, {"approximate": "tanh"})),
            prepare=_prepare_gelu, saves_out=False,
            doc="Gaussian error linear unit ``x * Phi(x)`` (``approximate='tanh'`` for the tanh form).")

# silu = x sigmoid(x);  silu' = s (1 + x (1 - s))
SILU = _act("silu", lambda x: x * _sigmoid(x),
            lambda b, g, out, x: g * b.sigmoid(x) * (1.0 + x * (1.0 - b.sigmoid(x))),
            unary("real"), saves_out=False, doc="``x * sigmoid(x)`` (swish).")


def _prepare_softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Prepared:
    return (input,), {"beta": float(beta), "threshold": float(threshold)}


def _softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    bx = x * beta
    return np.where(bx > threshold, x, np.logaddexp(0.0, bx) / beta)


SOFTPLUS = _act(
    "softplus", _softplus,
    # softplus' = sigmoid(beta x) (1 above the threshold, where softplus is the identity)
    lambda b, g, out, x, beta, threshold: b.where(x * beta > threshold, g, g * b.sigmoid(x * beta)),
    Domain(("real",), (((3, 4),),),
           attrs=({"beta": 1.0, "threshold": 20.0}, {"beta": 2.0, "threshold": 20.0})),
    prepare=_prepare_softplus, saves_out=False,
    doc="``log(1 + exp(beta x)) / beta``, the identity where ``beta x > threshold``.")


def _mish(x: Any) -> Any:
    return x * np.tanh(np.logaddexp(0.0, x))


def _mish_grad(b: Any, g: Any, out: Any, x: Any) -> Any:
    # mish = x tanh(sp(x)), sp' = sigmoid:  tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)
    t = b.tanh(b.softplus(x, beta=1.0, threshold=20.0))
    return g * (t + x * b.sigmoid(x) * (1.0 - t * t))


MISH = _act("mish", _mish, _mish_grad, unary("real"), saves_out=False,
            doc="``x * tanh(softplus(x))``.")


def _prepare_hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0) -> Prepared:
    if min_val > max_val:
        raise ActivationArgError(f"hardtanh: min_val {min_val} must not exceed max_val {max_val}")
    return (input,), {"min_val": float(min_val), "max_val": float(max_val)}


HARDTANH = _act(
    "hardtanh", lambda x, min_val, max_val: np.minimum(np.maximum(x, min_val), max_val),
    # slope 1 strictly inside (min_val, max_val), 0 outside (PyTorch's convention at the bounds)
    lambda b, g, out, x, min_val, max_val: g * (x > min_val) * (x < max_val),
    Domain(("kinkfree",), (((3, 4),),), attrs=({"min_val": -1.0, "max_val": 1.0},
                                               {"min_val": -0.5, "max_val": 0.7})),
    prepare=_prepare_hardtanh, saves_out=False, doc="Clip to ``[min_val, max_val]``.")

# softsign = x / (1 + |x|);  softsign' = 1 / (1 + |x|)^2
SOFTSIGN = _act("softsign", lambda x: x / (1.0 + np.abs(x)),
                lambda b, g, out, x: g / ((1.0 + b.abs(x)) * (1.0 + b.abs(x))), unary("kinkfree"),
                saves_out=False, doc="``x / (1 + |x|)``.")
