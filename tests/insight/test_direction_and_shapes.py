"""The gradient's direction (directional derivatives, steepest descent) and the dimension audit."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight.direction import directional_derivative, steepest_descent_check
from gradwise.insight.shapes import shapes


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def test_directional_derivative_is_grad_dot_u():
    x = np.array([-1.2, 1.0])
    g = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])
    u = np.array([0.6, -0.8])
    d = directional_derivative(rosenbrock, x, u)
    assert d.value == pytest.approx(g @ u, rel=1e-12)
    assert d.value == pytest.approx(d.grad_norm * d.u_norm * d.cos_theta, rel=1e-12)
    np.testing.assert_allclose(d.gradient, g, rtol=1e-12)
    # against the gradient: cos = -1, the steepest rate; at right angles: no first-order change
    against = directional_derivative(rosenbrock, x, -g)
    assert against.cos_theta == pytest.approx(-1.0) and against.angle_deg == pytest.approx(180.0)
    across = directional_derivative(rosenbrock, x, np.array([g[1], -g[0]]))
    assert abs(across.value) < 1e-9 and across.angle_deg == pytest.approx(90.0)


def test_no_sampled_direction_descends_faster_than_minus_the_gradient():
    x = np.array([0.3, -0.4, 1.1])
    f = lambda p: (p ** 4).sum() + (p[0] * p[1]) + p[2].exp()
    check = steepest_descent_check(f, x, n_directions=300, generator=gw.Generator().manual_seed(0))
    assert check.none_faster and check.best_sampled_rate >= check.steepest_rate
    np.testing.assert_allclose(check.rates, -check.grad_norm * np.cos(np.radians(check.angles_deg)), atol=1e-10)
    np.testing.assert_allclose(check.fd_rates, check.rates, rtol=1e-6, atol=1e-8)
    # the closest sampled direction to -grad has the best rate
    assert np.argmin(check.angles_deg) == np.argmin(check.rates)
    assert check.best_sampled_rate < 0.9 * check.steepest_rate     # 300 directions in 3-D come close


def test_direction_errors():
    with pytest.raises(ValueError, match=r"u has shape \(3,\) but x has shape \(2,\)"):
        directional_derivative(rosenbrock, [0.0, 0.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="f must return a scalar"):
        directional_derivative(lambda p: p * 2, [0.0, 0.0], [1.0, 0.0])


def test_shape_audit_lists_layers_and_gradient_shapes():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 5))
    model.train()
    audit = shapes(model, gw.zeros(2, 1, 8, 8))
    assert audit.ok and [r.kind for r in audit.layers] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert [r.output_shape for r in audit.layers] == [(2, 4, 6, 6), (2, 4, 6, 6), (2, 4, 3, 3), (2, 36), (2, 5)]
    conv, lin = audit.layers[0], audit.layers[4]
    assert conv.parameter_shapes == conv.gradient_shapes == {"weight": (4, 1, 3, 3), "bias": (4,)}
    assert lin.parameters == 36 * 5 + 5 and audit.total_parameters == 40 + 185
    # the audit leaves no gradients behind and keeps the training mode
    assert all(p.grad is None for p in model.parameters()) and model.training
    assert "Conv2d" in audit.to_text()


def test_shape_audit_stops_at_the_first_failing_layer_and_says_what_fits():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(16, 3), nn.Linear(3, 1))
    audit = shapes(model, gw.zeros(5, 4))
    assert not audit.ok and len(audit.layers) == 2
    f = audit.failure
    assert (f.name, f.kind, f.input_shapes) == ("2", "Linear", ((5, 8),))
    assert "Linear(in_features=16) got input of shape (5, 8)" in f.message
    assert "use Linear(in_features=8, out_features=3)" in f.suggestion
    assert "FAILED at layer 2" in str(audit)


def test_sequential_shape_errors_name_the_layer_and_point_to_the_audit():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(16, 3))
    with pytest.raises(ValueError) as info:
        model(gw.zeros(5, 4))
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "in Sequential layer (2) Linear, which got input of shape (5, 8)" in notes
    assert "gradwise.insight.shapes" in notes
