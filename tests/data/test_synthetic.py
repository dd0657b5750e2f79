"""Synthetic generators: shapes, class balance, reproducibility, geometry (closed forms), errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import (
    DataError,
    blobs,
    circles,
    linear_regression,
    moons,
    polynomial_regression,
    spirals,
    xor,
)

CLASSIFIERS = {
    "spirals": lambda n, g, **kw: spirals(n, generator=g, **kw),
    "spirals3": lambda n, g, **kw: spirals(n, n_classes=3, generator=g, **kw),
    "moons": lambda n, g, **kw: moons(n, generator=g, **kw),
    "circles": lambda n, g, **kw: circles(n, generator=g, **kw),
    "xor": lambda n, g, **kw: xor(n, generator=g, **kw),
    "blobs": lambda n, g, **kw: blobs(n, generator=g, **kw),
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_shapes_dtypes_reproducible(name):
    make = CLASSIFIERS[name]
    x, y = make(101, gw.Generator(0))
    assert x.shape == (101, 2) and x.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    assert not x.requires_grad
    x2, y2 = make(101, gw.Generator(0))
    np.testing.assert_array_equal(x.numpy(), x2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    x3, _ = make(101, gw.Generator(1))
    assert not np.array_equal(x.numpy(), x3.numpy())
    assert make(10, gw.Generator(0), dtype=gw.float64)[0].dtype == np.float64


@pytest.mark.parametrize(("name", "k"), [("spirals", 2), ("spirals3", 3), ("moons", 2), ("circles", 2),
                                         ("blobs", 3)])
def test_class_sizes_balanced(name, k):
    _, y = CLASSIFIERS[name](101, gw.Generator(0))
    counts = np.bincount(y.numpy(), minlength=k)
    assert counts.tolist() == [101 // k + (1 if c < 101 % k else 0) for c in range(k)]


def test_default_generator_used_when_none():
    gw.manual_seed(5)
    a = moons(20)[0].numpy()
    gw.manual_seed(5)
    np.testing.assert_array_equal(moons(20)[0].numpy(), a)


def test_shuffle_false_groups_by_class():
    _, y = circles(10, shuffle=False, generator=gw.Generator(0))
    assert y.tolist() == [0] * 5 + [1] * 5
    _, y = moons(10, generator=gw.Generator(0))
    assert y.tolist() != sorted(y.tolist())


def test_moons_geometry_without_noise():
    x, y = moons(200, noise=0.0, generator=gw.Generator(0))
    x, y = x.numpy().astype(np.float64), y.numpy()
    outer, inner = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0, atol=1e-6)  # unit circle, upper half
    assert (outer[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0, atol=1e-6)
    assert (inner[:, 1] <= 0.5 + 1e-6).all()


def test_circles_geometry_and_noise_level():
    x, y = circles(400, noise=0.0, factor=0.3, generator=gw.Generator(0))
    r = np.hypot(*x.numpy().astype(np.float64).T)
    np.testing.assert_allclose(r[y.numpy() == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y.numpy() == 1], 0.3, atol=1e-6)
    xn, yn = circles(4000, noise=0.05, generator=gw.Generator(0), dtype=gw.float64)
    # radial deviation of Gaussian noise with std s has std s (to first order)
    dev = np.hypot(*xn.numpy().T)[yn.numpy() == 0] - 1.0
    assert abs(dev.std() - 0.05) < 0.005


def test_spirals_points_lie_on_their_arms():
    turns, k = 1.5, 3
    x, y = spirals(300, n_classes=k, noise=0.0, turns=turns, generator=gw.Generator(0), dtype=gw.float64)
    x, y = x.numpy(), y.numpy()
    r = np.hypot(*x.T)
    assert (r > 0).all() and (r < 1).all()
    # theta = 2 pi turns r + 2 pi k / K (mod 2 pi)
    resid = np.angle(np.exp(1j * (np.arctan2(x[:, 1], x[:, 0]) - 2 * np.pi * turns * r - 2 * np.pi * y / k)))
    np.testing.assert_allclose(resid, 0.0, atol=1e-9)


def test_xor_labels_from_signs():
    x, y = xor(500, noise=0.0, generator=gw.Generator(0))
    x = x.numpy()
    np.testing.assert_array_equal(y.numpy(), (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64))
    assert np.abs(x).max() <= 1.0


def test_blobs_centers_and_spread():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, -10.0, 5.0]])
    x, y = blobs(4000, centers=centers, cluster_std=[0.5, 2.0], generator=gw.Generator(0), dtype=gw.float64)
    assert x.shape == (4000, 3)
    for c, sd in enumerate([0.5, 2.0]):
        pts = x.numpy()[y.numpy() == c]
        np.testing.assert_allclose(pts.mean(0), centers[c], atol=5 * sd / np.sqrt(len(pts)))
        np.testing.assert_allclose(pts.std(0), sd, rtol=0.1)
    x, _ = blobs(50, centers=4, n_features=5, center_box=(0.0, 1.0), cluster_std=0.0, generator=gw.Generator(0))
    assert x.shape == (50, 5) and (x.numpy() >= 0).all() and (x.numpy() <= 1).all()


def linear_accuracy(x, y):
    """Training accuracy of the least-squares linear classifier on [x, 1] (one-vs-rest scores)."""
    a = np.column_stack([x, np.ones(len(x))])
    targets = np.eye(y.max() + 1)[y]
    w, *_ = np.linalg.lstsq(a, targets, rcond=None)
    return float(((a @ w).argmax(1) == y).mean())


@pytest.mark.parametrize(("name", "kwargs", "limit"), [
    ("moons", {"noise": 0.1}, 0.92), ("circles", {"noise": 0.05}, 0.7), ("xor", {"noise": 0.05}, 0.75),
    ("spirals", {"noise": 0.2}, 0.75),
])
def test_not_linearly_separable(name, kwargs, limit):
    x, y = CLASSIFIERS[name](400, gw.Generator(0), **kwargs)
    assert linear_accuracy(x.numpy().astype(np.float64), y.numpy()) < limit
    # ...while blobs far apart are
    xb, yb = blobs(400, centers=[[-5.0, 0.0], [5.0, 0.0]], cluster_std=0.5, generator=gw.Generator(0))
    assert linear_accuracy(xb.numpy().astype(np.float64), yb.numpy()) == 1.0


def test_circles_separable_by_radius():
    x, y = circles(400, noise=0.05, generator=gw.Generator(0))
    assert ((np.hypot(*x.numpy().T) < 0.75).astype(int) == y.numpy()).mean() == 1.0


def test_linear_regression_ground_truth():
    x, y, w, b = linear_regression(500, n_features=3, noise=0.0, generator=gw.Generator(0), dtype=gw.float64)
    assert x.shape == (500, 3) and y.shape == (500, 1) and w.shape == (1, 3) and b.shape == (1,)
    np.testing.assert_allclose(y.numpy(), x.numpy() @ w.numpy().T + b.numpy(), atol=1e-12)
    d = linear_regression(2000, n_features=2, noise=0.5, weight=[2.0, -1.0], bias=0.5, generator=gw.Generator(1),
                          dtype=gw.float64)
    assert d.weight.tolist() == [[2.0, -1.0]] and d.bias.tolist() == [0.5]
    resid = d.y.numpy() - d.x.numpy() @ d.weight.numpy().T - d.bias.numpy()
    assert abs(resid.std() - 0.5) < 0.05
    coef, *_ = np.linalg.lstsq(np.column_stack([d.x.numpy(), np.ones(2000)]), d.y.numpy(), rcond=None)
    np.testing.assert_allclose(coef.ravel(), [2.0, -1.0, 0.5], atol=0.05)
    d2 = linear_regression(10, generator=gw.Generator(0))
    np.testing.assert_array_equal(d2.weight.numpy(), linear_regression(10, generator=gw.Generator(0)).weight.numpy())
    assert d2.x.dtype == np.float32 and d2.weight.dtype == np.float32


def test_polynomial_regression_ground_truth():
    x, y, c = polynomial_regression(100, degree=4, noise=0.0, generator=gw.Generator(0), dtype=gw.float64)
    assert x.shape == (100, 1) and y.shape == (100, 1) and c.shape == (5,)
    assert np.abs(x.numpy()).max() <= 1.0
    np.testing.assert_allclose(y.numpy().ravel(), np.polyval(c.numpy()[::-1], x.numpy().ravel()), atol=1e-12)
    d = polynomial_regression(50, degree=1, coefficients=[1.0, -3.0], noise=0.0, generator=gw.Generator(0))
    np.testing.assert_allclose(d.y.numpy(), 1.0 - 3.0 * d.x.numpy(), atol=1e-6)


def test_errors():
    with pytest.raises(DataError, match="moons: n_samples must be an int >= 2, got 1"):
        moons(1)
    with pytest.raises(DataError, match="noise must be a finite number >= 0, got -0.1"):
        circles(noise=-0.1)
    with pytest.raises(DataError, match=r"factor .* must be in \(0, 1\), got 1.0"):
        circles(factor=1.0)
    with pytest.raises(DataError, match="spirals: n_samples=2 is fewer than n_classes=3"):
        spirals(2, n_classes=3)
    with pytest.raises(DataError, match="spirals: turns must be > 0"):
        spirals(turns=0)
    with pytest.raises(DataError, match="xor: dtype must be a float dtype"):
        xor(dtype=gw.int64)
    with pytest.raises(DataError, match="cluster_std must be a number >= 0 or 3 of them"):
        blobs(cluster_std=[1.0, 2.0])
    with pytest.raises(DataError, match=r"centers must be an int or an array of shape \(K, n_features\)"):
        blobs(centers=[1.0, 2.0])
    with pytest.raises(DataError, match="weight must hold 2 finite numbers"):
        linear_regression(n_features=2, weight=[1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="2 coefficients given but degree=3 needs 4; pass degree=1"):
        polynomial_regression(coefficients=[1.0, 2.0])
    with pytest.raises(TypeError, match="gradwise.Generator"):
        moons(generator=0)
