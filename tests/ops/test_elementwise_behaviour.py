"""Elementwise and activation ops: values, stability at extremes, PyTorch's conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwise as gw


def test_erf_matches_math_erf_to_the_last_bits():
    x = np.linspace(-6, 6, 1201)
    assert np.allclose(gw.erf(gw.tensor(x)).numpy(), [math.erf(v) for v in x], rtol=0, atol=1e-16)


def test_values_match_numpy():
    x = np.linspace(0.1, 0.9, 9)
    for name, ref in [("sqrt", np.sqrt), ("log1p", np.log1p), ("arcsin", np.arcsin), ("tan", np.tan),
                      ("rsqrt", lambda v: 1 / np.sqrt(v)), ("reciprocal", np.reciprocal)]:
        assert np.allclose(getattr(gw, name)(gw.tensor(x)).numpy(), ref(x)), name


def test_sigmoid_family_is_stable_at_extremes():
    x = gw.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    s = x.sigmoid()
    assert s.tolist() == [0.0, 0.5, 1.0]
    assert gw.logsigmoid(x).tolist() == [-1000.0, pytest.approx(-math.log(2)), 0.0]
    assert gw.softplus(x).tolist()[2] == 1000.0
    (s + gw.logsigmoid(x) + gw.softplus(x)).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    tiny = gw.tensor([-80.0], dtype=gw.float64).sigmoid().item()
    assert tiny == pytest.approx(math.exp(-80.0), rel=1e-12)   # relative accuracy, not 0


def test_kink_conventions_follow_pytorch():
    x = gw.tensor([0.0], requires_grad=True)
    (gw.relu(x) + x.abs()).sum().backward()
    assert x.grad.tolist() == [0.0]                 # relu'(0) = 0, abs'(0) = 0
    x = gw.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    x.clamp(-1.0, 1.0).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]       # clamp passes gradient at its bounds
    x = gw.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    gw.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]       # hardtanh does not


def test_maximum_ties_split_the_gradient():
    a = gw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = gw.tensor([1.0, 5.0, 0.0], requires_grad=True)
    gw.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0, 1.0] and b.grad.tolist() == [0.5, 1.0, 0.0]


def test_clamp_with_tensor_bounds_sends_gradient_to_the_active_bound():
    x = gw.tensor([-2.0, 0.0, 2.0], requires_grad=True)
    lo = gw.tensor([-1.0, -1.0, -1.0], requires_grad=True)
    hi = gw.tensor([1.0], requires_grad=True)
    x.clamp(lo, hi).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    assert lo.grad.tolist() == [1.0, 0.0, 0.0] and hi.grad.tolist() == [1.0]


def test_where_broadcasts_and_routes_gradients():
    x = gw.tensor([[1.0, -1.0], [2.0, -2.0]], requires_grad=True)
    y = gw.tensor([10.0], requires_grad=True)
    gw.where(x > 0, x, y).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [1.0, 0.0]] and y.grad.tolist() == [2.0]


def test_gelu_tanh_is_close_to_exact_and_bad_mode_is_named():
    x = gw.linspace(-3, 3, 61)
    assert np.allclose(gw.gelu(x).numpy(), gw.gelu(x, approximate="tanh").numpy(), atol=1e-3)
    with pytest.raises(ValueError, match="gelu: approximate='erf'"):
        gw.gelu(x, approximate="erf")


def test_inplace_activation_variants():
    t = gw.tensor([-1.0, 2.0])
    t.relu_()
    assert t.tolist() == [0.0, 2.0]
    t.exp_()
    assert t.tolist()[0] == 1.0
