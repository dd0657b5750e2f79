"""The test-function registry: values and gradients against plain NumPy re-implementations,
the listed minima and critical points against the engine's gradient and Hessian."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwise as gw
from gradwise.insight import FUNCTIONS, DescentError, DescentTypeError, Objective, get_function


def _np(name: str, p: np.ndarray) -> float:
    """Each function written again in plain NumPy/math, from its textbook formula."""
    if name == "curve":
        t = p[0]
        return t ** 6 / 6 - 4 * t ** 5 / 5 + 3 * t ** 4 / 4 + 4 * t ** 3 / 3 - 2 * t ** 2
    x, y = p
    if name == "bowl":
        return 0.5 * x * x + 25 * y * y
    if name == "rosenbrock":
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2
    if name == "himmelblau":
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2
    if name == "rastrigin":
        return 20 + sum(v * v - 10 * math.cos(2 * math.pi * v) for v in (x, y))
    if name == "ackley":
        return (-20 * math.exp(-0.2 * math.sqrt(0.5 * (x * x + y * y)))
                - math.exp(0.5 * (math.cos(2 * math.pi * x) + math.cos(2 * math.pi * y))) + math.e + 20)
    if name == "beale":
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y ** 3) ** 2
    if name == "booth":
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2
    if name == "camel":
        return (4 - 2.1 * x * x + x ** 4 / 3) * x * x + x * y + (-4 + 4 * y * y) * y * y
    if name == "saddle":
        return x * x - y * y
    raise AssertionError(name)


def _fd_grad(name: str, p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(p)
    for i in range(p.size):
        e = np.zeros_like(p)
        e[i] = h
        g[i] = (_np(name, p + e) - _np(name, p - e)) / (2 * h)
    return g


def _points(name: str, n: int = 6) -> np.ndarray:
    rng = np.random.default_rng(7)
    box = np.array(FUNCTIONS[name].domain)
    return box[:, 0] + (box[:, 1] - box[:, 0]) * rng.random((n, len(box)))


def test_registry_has_the_issue_functions():
    assert set(FUNCTIONS) == {"bowl", "rosenbrock", "himmelblau", "rastrigin", "ackley", "beale", "booth", "camel",
                              "saddle", "curve"}
    for name, f in FUNCTIONS.items():
        assert isinstance(f, Objective) and f.name == name
        assert len(f.domain) == f.dim == len(f.start)
        assert f.description
        assert all(lo < hi for lo, hi in f.domain)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_values_and_gradients_match_numpy(name):
    f = FUNCTIONS[name]
    for p in _points(name):
        x = gw.tensor(p, dtype=gw.float64, requires_grad=True)
        y = f(x)
        assert y.shape == ()
        assert y.item() == pytest.approx(_np(name, p), rel=1e-12, abs=1e-12)
        y.backward()
        np.testing.assert_allclose(x.grad.numpy(), _fd_grad(name, p), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_batches_give_one_value_per_point(name):
    f = FUNCTIONS[name]
    pts = _points(name, 12).reshape(3, 4, f.dim)
    out = f(gw.tensor(pts)).numpy()
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, [[_np(name, p) for p in row] for row in pts], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_listed_critical_points_have_zero_gradient_and_their_values(name):
    f = FUNCTIONS[name]
    for c in f.critical_points:
        assert np.linalg.norm(f.gradient(c.point)) < 1e-6, (name, c)
        assert f.value(c.point) == pytest.approx(c.value, abs=1e-9)
        assert c.value == pytest.approx(_np(name, np.array(c.point)), abs=1e-9)
        assert all(lo <= v <= hi for v, (lo, hi) in zip(c.point, f.domain))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_listed_kinds_agree_with_the_hessian(name):
    f = FUNCTIONS[name]
    for c in f.critical_points:
        h = gw.func.hessian(lambda p: f(p))(gw.tensor(np.array(c.point))).numpy().reshape(f.dim, f.dim)
        eig = np.linalg.eigvalsh(h)
        if c.kind == "minimum":
            assert np.all(eig > 0), (name, c, eig)
        elif c.kind == "maximum":
            assert np.all(eig < 0), (name, c, eig)
        elif c.kind == "saddle":
            assert eig.min() < 0 < eig.max(), (name, c, eig)
        else:
            assert c.kind == "degenerate" and np.min(np.abs(eig)) < 1e-9, (name, c, eig)


def test_global_flags_mark_the_lowest_minima():
    for name, f in FUNCTIONS.items():
        if not f.minima:
            assert name == "saddle" and f.minimum_value is None
            continue
        low = min(m.value for m in f.minima)
        for m in f.minima:
            assert m.is_global == (m.value <= low + 1e-9), (name, m)
        assert f.minimum_value == low


def test_known_minima_counts():
    assert len(FUNCTIONS["himmelblau"].global_minima) == 4
    assert [m.is_global for m in FUNCTIONS["camel"].minima].count(True) == 2
    assert len(FUNCTIONS["camel"].minima) == 6
    assert len(FUNCTIONS["curve"].minima) == 2 and len(FUNCTIONS["curve"].global_minima) == 1
    rast = FUNCTIONS["rastrigin"]
    assert len(rast.minima) == 121 and rast.global_minima[0].point == (0.0, 0.0)
    # each local minimum sits next to an integer point, pulled a little towards the origin
    for m in rast.minima:
        k = np.round(m.point)
        assert np.all(np.abs(np.array(m.point) - k) < 0.03)
        assert np.all(np.abs(m.point) <= np.abs(k))
    assert not FUNCTIONS["ackley"].all_minima_known
    assert FUNCTIONS["saddle"].others[0].kind == "saddle"


def test_exact_textbook_minima():
    assert FUNCTIONS["rosenbrock"].minima[0].point == (1.0, 1.0)
    assert FUNCTIONS["booth"].minima[0].point == (1.0, 3.0)
    assert FUNCTIONS["beale"].minima[0].point == (3.0, 0.5)
    assert FUNCTIONS["himmelblau"].minima[0].point == (3.0, 2.0)
    # the 1-D curve: f' = (x + 1) x (x - 1) (x - 2)^2 has its roots exactly where listed
    pts = sorted(c.point[0] for c in FUNCTIONS["curve"].critical_points)
    assert pts == [-1.0, 0.0, 1.0, 2.0]


def test_ackley_gradient_is_finite_at_its_cone_point():
    g = FUNCTIONS["ackley"].gradient([0.0, 0.0])
    assert np.all(np.isfinite(g)) and np.all(g == 0)
    assert FUNCTIONS["ackley"].value([0.0, 0.0]) == pytest.approx(0.0, abs=1e-12)


def test_bad_inputs():
    with pytest.raises(gw.ShapeError, match=r"rosenbrock: expected a point of shape \(2,\).*got shape \(3,\)"):
        FUNCTIONS["rosenbrock"](gw.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(DescentError, match="unknown test function 'rosenbrok'; choose one of bowl, rosenbrock"):
        get_function("rosenbrok")
    with pytest.raises(DescentTypeError, match="expected a test-function name"):
        get_function(3)
    assert get_function(FUNCTIONS["bowl"]) is FUNCTIONS["bowl"]
