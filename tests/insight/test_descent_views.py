"""What the function pictures show: grids of values, negative-gradient arrows, tangent lines."""

from __future__ import annotations

import numpy as np
import pytest

from gradwise.insight import FUNCTIONS, DescentError, function_grid, gradient_arrows, tangent_lines


def _curve_slope(x):
    return (x + 1) * x * (x - 1) * (x - 2) ** 2


def test_function_grid_values():
    g = function_grid("himmelblau", n=7)
    xs, ys = g.axes
    np.testing.assert_allclose(xs, np.linspace(-5, 5, 7))
    mx, my = np.meshgrid(xs, ys)
    np.testing.assert_allclose(g.values, (mx ** 2 + my - 11) ** 2 + (mx + my ** 2 - 7) ** 2, rtol=1e-12)
    assert g.dim == 2 and g.critical_points == FUNCTIONS["himmelblau"].critical_points
    c = function_grid("curve", n=11, domain=((-1.0, 1.0),))
    assert c.values.shape == (11,) and c.domain == ((-1.0, 1.0),)
    np.testing.assert_allclose(c.values[5], 0.0, atol=1e-15)
    with pytest.raises(DescentError, match="n must be an integer >= 2"):
        function_grid("bowl", n=1)
    with pytest.raises(DescentError, match=r"bowl needs 2 \(low, high\) pairs"):
        function_grid("bowl", domain=((0, 1),))


def test_gradient_arrows_point_downhill():
    a = gradient_arrows("rosenbrock")
    assert a.points.shape == (81, 2) and a.directions.shape == (81, 2)
    x, y = a.points.T
    g = np.stack([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], axis=1)
    np.testing.assert_allclose(a.gradients, g, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(a.directions, axis=1), 1.0)
    np.testing.assert_allclose(a.directions, -g / np.linalg.norm(g, axis=1, keepdims=True), rtol=1e-12)
    # a small step along each arrow lowers f
    f = FUNCTIONS["rosenbrock"]
    assert all(f.value(p + 1e-6 * d) < v for p, d, v in zip(a.points, a.directions, a.values))
    z = gradient_arrows("bowl", [[0.0, 0.0]])                # no direction where the gradient vanishes
    assert z.norms[0] == 0.0 and np.all(z.directions == 0.0)


def test_tangents_show_that_descent_lowers_f_and_stops_at_zero_slope():
    t = tangent_lines("curve")
    np.testing.assert_allclose(t.x, [-1.25, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.25])
    np.testing.assert_allclose(t.slopes, _curve_slope(t.x), atol=1e-12)
    assert t.signs.tolist() == [-1, 0, 1, 0, -1, 0, 1, 0, 1]
    moving = t.signs != 0
    assert np.all(t.lowered[moving]) and not np.any(t.lowered[~moving])
    assert np.all(t.stopped == ~moving)
    np.testing.assert_allclose(t.next_x[~moving], t.x[~moving], atol=1e-12)
    # moving against the gradient: right where f' < 0, left where f' > 0
    assert np.all(np.sign(t.next_x - t.x)[moving] == -t.signs[moving])
    # every tangent segment has the same length, passes through the point with the slope f'(x)
    seg = t.segments
    np.testing.assert_allclose(np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1), 0.7)
    np.testing.assert_allclose((seg[:, 1, 1] - seg[:, 0, 1]) / (seg[:, 1, 0] - seg[:, 0, 0]), t.slopes, atol=1e-9)
    np.testing.assert_allclose(seg.mean(axis=1), np.stack([t.x, t.values], axis=1), atol=1e-12)
    assert np.all(t.downhill[moving, 1] < t.values[moving])


def test_tangent_step_size_matters():
    # f'(-1.4) = -15.5: a small step stays in the global minimum's basin; a large one jumps over
    # the minimum and the maximum at 0 into the local minimum's basin (lower than the start, yet lost)
    small, large = tangent_lines("curve", [-1.4, -1.4], lr=0.01), tangent_lines("curve", [-1.4], lr=0.1)
    assert -1.4 < small.next_x[0] < -1.0 and small.lowered[0]
    assert large.next_x[0] > 0.0 and large.lowered[0]
    with pytest.raises(DescentError, match="tangent_lines: rosenbrock is a function of 2 variables"):
        tangent_lines("rosenbrock", [0.0])
    with pytest.raises(DescentError, match="lr must be positive"):
        tangent_lines("curve", [0.0], lr=0.0)


def test_plain_callables_work_with_a_domain_or_start():
    from gradwise.insight import compare, find_critical_points, lr_triptych

    quad = lambda p: (p[..., 0] - 1.0) ** 2 + 4.0 * p[..., 1] ** 2  # noqa: E731
    g = function_grid(quad, n=5, domain=((0.0, 2.0), (-1.0, 1.0)))
    assert g.values[2, 2] == 0.0 and g.domain == ((0.0, 2.0), (-1.0, 1.0))
    (c,) = find_critical_points(quad, grid=4, domain=((-2.0, 2.0), (-2.0, 2.0)))
    assert c.kind == "minimum" and c.point == pytest.approx([1.0, 0.0])
    r = compare(quad, (0.0, 1.0), {"sgd": ("sgd", {"lr": 0.1})}, steps=200)
    assert r.runs["sgd"].final == pytest.approx([1.0, 0.0], abs=1e-8)
    t = lr_triptych(quad, (0.0, 1.0), steps=200)                  # Hessian diag(2, 8): bound 2 / 8
    assert t.bound.bound == pytest.approx(0.25) and t.verdicts[2].label == "diverging"
    with pytest.raises(DescentError, match="needs a start point"):
        function_grid(quad)
