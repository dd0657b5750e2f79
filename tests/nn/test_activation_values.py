"""Activation VALUES against their closed-form formulas (issue 15).

gradcheck only proves that backward matches forward; these tests prove the forward itself,
in float64 with a 1e-12 relative tolerance (a 0.6% change in SELU's scale fails), at points
that include 0 and large |x|. Every activation is checked in its module form
(``gw.nn.SELU()``), its functional form (``gw.nn.functional.selu``) and the top-level
function (``gw.selu``) where that exists; a second test compares with torch when installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwise as gw
import gradwise.nn.functional as F
from gradwise import nn

RTOL = 1e-12
ATOL = 1e-300  # relative only: values near zero must be right to the same relative accuracy

SELU_SCALE = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772

# 0, small, moderate and large |x|, both signs; float64
X = np.array([0.0, -0.0, 1e-8, -1e-8, 0.25, -0.25, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0,
              5.5, -5.5, 6.0, 7.0, -7.0, 15.0, -15.0, 19.9, 20.5, -20.5, 30.0, -30.0, 50.0, -50.0])
X2 = np.array([[0.0, 1.0, -2.0, 3.5], [40.0, -40.0, 0.5, 1e-3], [-700.0, 700.0, 0.0, 1.0]])

_erf = np.vectorize(math.erf)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.logaddexp(0.0, beta * x) / beta)


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _log_softmax(x, dim):
    z = x - x.max(axis=dim, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))


# name -> (module factory, functional call, top-level call or None, NumPy reference, torch call)
CASES = {
    "relu": (nn.ReLU, F.relu, gw.relu, lambda x: np.maximum(x, 0.0), lambda t, x: t.relu(x)),
    "selu": (nn.SELU, F.selu, gw.selu,
             lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
             lambda t, x: t.selu(x)),
    "elu_default": (nn.ELU, F.elu, gw.elu,
                    lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
                    lambda t, x: t.nn.functional.elu(x)),
    "elu_alpha": (lambda: nn.ELU(alpha=0.7), lambda x: F.elu(x, alpha=0.7), lambda x: gw.elu(x, 0.7),
                  lambda x: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0.0))),
                  lambda t, x: t.nn.functional.elu(x, alpha=0.7)),
    "silu": (nn.SiLU, F.silu, gw.silu, lambda x: x * _sigmoid(x), lambda t, x: t.nn.functional.silu(x)),
    "mish": (nn.Mish, F.mish, gw.mish, lambda x: x * np.tanh(np.logaddexp(0.0, x)),
             lambda t, x: t.nn.functional.mish(x)),
    "softsign": (nn.Softsign, F.softsign, gw.softsign, lambda x: x / (1.0 + np.abs(x)),
                 lambda t, x: t.nn.functional.softsign(x)),
    "leaky_relu_default": (nn.LeakyReLU, F.leaky_relu, gw.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x),
                           lambda t, x: t.nn.functional.leaky_relu(x)),
    "leaky_relu_slope": (lambda: nn.LeakyReLU(negative_slope=0.2), lambda x: F.leaky_relu(x, negative_slope=0.2),
                         lambda x: gw.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                         lambda t, x: t.nn.functional.leaky_relu(x, 0.2)),
    "relu6": (nn.ReLU6, F.relu6, gw.relu6, lambda x: np.minimum(np.maximum(x, 0.0), 6.0),
              lambda t, x: t.nn.functional.relu6(x)),
    "softplus_default": (nn.Softplus, F.softplus, gw.softplus, _softplus, lambda t, x: t.nn.functional.softplus(x)),
    "softplus_beta_threshold": (lambda: nn.Softplus(beta=2.0, threshold=5.0),
                                lambda x: F.softplus(x, beta=2.0, threshold=5.0),
                                lambda x: gw.softplus(x, 2.0, 5.0),
                                lambda x: _softplus(x, 2.0, 5.0),
                                lambda t, x: t.nn.functional.softplus(x, beta=2.0, threshold=5.0)),
    "hardtanh_default": (nn.Hardtanh, F.hardtanh, gw.hardtanh, lambda x: np.clip(x, -1.0, 1.0),
                         lambda t, x: t.nn.functional.hardtanh(x)),
    "hardtanh_range": (lambda: nn.Hardtanh(min_val=-2.0, max_val=3.0),
                       lambda x: F.hardtanh(x, min_val=-2.0, max_val=3.0),
                       lambda x: gw.hardtanh(x, -2.0, 3.0), lambda x: np.clip(x, -2.0, 3.0),
                       lambda t, x: t.nn.functional.hardtanh(x, -2.0, 3.0)),
    "gelu_erf": (nn.GELU, F.gelu, gw.gelu, lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
                 lambda t, x: t.nn.functional.gelu(x)),
    "gelu_tanh": (lambda: nn.GELU(approximate="tanh"), lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: gw.gelu(x, approximate="tanh"), _gelu_tanh,
                  lambda t, x: t.nn.functional.gelu(x, approximate="tanh")),
    "sigmoid": (nn.Sigmoid, F.sigmoid, gw.sigmoid, _sigmoid, lambda t, x: t.sigmoid(x)),
    "tanh": (nn.Tanh, F.tanh, gw.tanh, np.tanh, lambda t, x: t.tanh(x)),
    "logsigmoid": (nn.LogSigmoid, F.logsigmoid, None, lambda x: -np.logaddexp(0.0, -x),
                   lambda t, x: t.nn.functional.logsigmoid(x)),
}

# GELU's closed forms lose relative accuracy where the value underflows towards 0 (x << 0):
# compare there with an absolute tolerance far below any realistic bug.
ABS_NEAR_ZERO = {"gelu_erf": 1e-15, "gelu_tanh": 1e-15}


def _check(name, got, x):
    want = CASES[name][3](x)
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got)
    assert got.dtype == np.float64, f"{name} returned {got.dtype}"
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ABS_NEAR_ZERO.get(name, ATOL), err_msg=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_module_matches_formula(name):
    module = CASES[name][0]()
    for x in (X, X2):
        _check(name, module(gw.tensor(x)), x)


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_matches_formula(name):
    for x in (X, X2):
        _check(name, CASES[name][1](gw.tensor(x)), x)


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][2] is not None))
def test_top_level_function_matches_formula(name):
    for x in (X, X2):
        _check(name, CASES[name][2](gw.tensor(x)), x)


def test_selu_constants_are_the_self_normalising_ones():
    # at x = 1 SELU is exactly its scale, at x -> -inf it tends to -scale*alpha
    one = gw.selu(gw.tensor([1.0, -60.0])).numpy()
    assert abs(one[0] - SELU_SCALE) <= 1e-15
    assert abs(one[1] + SELU_SCALE * SELU_ALPHA) <= 1e-12


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_along_a_dim(dim):
    for x in (X2, np.stack([X[:14], -X[14:]])):
        t = gw.tensor(x)
        for got in (nn.Softmax(dim=dim)(t), F.softmax(t, dim=dim), gw.softmax(t, dim), t.softmax(dim)):
            np.testing.assert_allclose(got.numpy(), _softmax(x, dim), rtol=RTOL, atol=1e-300)
        for got in (nn.LogSoftmax(dim=dim)(t), F.log_softmax(t, dim=dim), gw.log_softmax(t, dim),
                    t.log_softmax(dim)):
            np.testing.assert_allclose(got.numpy(), _log_softmax(x, dim), rtol=RTOL, atol=1e-12)
        np.testing.assert_allclose(nn.Softmax(dim=dim)(t).numpy().sum(axis=dim), 1.0, rtol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    module, functional, _, _, torch_call = CASES[name]
    for x in (X, X2):
        want = torch_call(torch, torch.tensor(x, dtype=torch.float64)).numpy()
        for got in (module()(gw.tensor(x)), functional(gw.tensor(x))):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_matches_torch(dim):
    torch = pytest.importorskip("torch")
    t = torch.tensor(X2, dtype=torch.float64)
    np.testing.assert_allclose(F.softmax(gw.tensor(X2), dim=dim).numpy(), torch.softmax(t, dim).numpy(),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(F.log_softmax(gw.tensor(X2), dim=dim).numpy(), torch.log_softmax(t, dim).numpy(),
                               rtol=1e-12, atol=1e-12)
