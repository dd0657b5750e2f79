"""Critical points by the Hessian, critical-point search, and basin maps."""

from __future__ import annotations

import numpy as np
import pytest

from gradwise.insight import FUNCTIONS, DescentError, basin_map, classify_point, find_critical_points

HIMMELBLAU = FUNCTIONS["himmelblau"]


def test_saddle_minimum_maximum_by_hessian():
    c = classify_point("saddle", (0.0, 0.0))
    assert c.kind == "saddle"
    np.testing.assert_allclose(c.hessian, [[2.0, 0.0], [0.0, -2.0]])
    np.testing.assert_allclose(c.eigenvalues, [-2.0, 2.0])
    c = classify_point("bowl", (0.0, 0.0))
    assert c.kind == "minimum" and c.is_global
    np.testing.assert_allclose(c.hessian, [[1.0, 0.0], [0.0, 50.0]])
    # Himmelblau's maximum: the Hessian there, written out by hand, is negative definite
    x, y = HIMMELBLAU.others[0].point
    h = np.array([[12 * x * x + 4 * y - 42, 4 * x + 4 * y], [4 * x + 4 * y, 4 * x + 12 * y * y - 26]])
    c = classify_point("himmelblau", (x, y))
    assert c.kind == "maximum" and not c.is_global
    np.testing.assert_allclose(c.hessian, h, rtol=1e-12)
    np.testing.assert_allclose(c.eigenvalues, np.linalg.eigvalsh(h), rtol=1e-12)
    for m in HIMMELBLAU.minima:
        c = classify_point("himmelblau", m.point)
        assert c.kind == "minimum" and c.is_global
    # a local minimum of the camel is a minimum, but not a global one
    c = classify_point("camel", FUNCTIONS["camel"].minima[2].point)
    assert c.kind == "minimum" and not c.is_global


def test_degenerate_and_not_critical():
    c = classify_point("curve", (2.0,))                  # f' = f'' = 0: the second-derivative test says nothing
    assert c.kind == "degenerate" and c.eigenvalues[0] == 0.0
    c = classify_point("curve", (0.5,))
    assert c.kind == "not_critical" and c.grad_norm > 0.1
    c = classify_point(lambda p: (p ** 2).sum(), [0.0, 0.0, 0.0])
    assert c.kind == "minimum" and c.hessian.shape == (3, 3)
    with pytest.raises(DescentError, match=r"classify_point: himmelblau takes a point of shape \(2,\)"):
        classify_point("himmelblau", (1.0, 2.0, 3.0))


def _match(found, known):
    """Each known critical point has exactly one found point at it, of the same kind."""
    for k in known:
        hits = [c for c in found if np.linalg.norm(c.point - np.array(k.point)) < 1e-6]
        assert len(hits) == 1, k
        assert hits[0].kind == k.kind
        assert hits[0].value == pytest.approx(k.value, abs=1e-8)


def test_finds_all_of_himmelblaus_critical_points():
    found = find_critical_points("himmelblau")
    kinds = [c.kind for c in found]
    assert kinds.count("minimum") == 4 and kinds.count("maximum") == 1 and kinds.count("saddle") == 4
    assert len(found) == 9
    _match(found, HIMMELBLAU.critical_points)
    assert [c.value for c in found] == sorted(c.value for c in found)


def test_finds_the_camels_six_minima_and_the_curves_points():
    found = find_critical_points("camel", grid=15)
    assert sum(c.kind == "minimum" for c in found) == 6
    assert sum(c.is_global for c in found) == 2
    _match(found, FUNCTIONS["camel"].minima)
    assert [c.kind for c in find_critical_points("curve")] == ["minimum", "minimum", "degenerate", "maximum"]
    assert [c.kind for c in find_critical_points("saddle")] == ["saddle"]


def test_himmelblau_basins():
    bm = basin_map("himmelblau", grid=31, steps=500)
    assert bm.starts.shape == (961, 2) and bm.labels.shape == (961,) and bm.label_grid().shape == (31, 31)
    # all four minima are global; every start ends at one of them
    assert bm.global_fraction == 1.0 and bm.stuck_fraction == 0.0 and not bm.diverged.any()
    assert bm.counts.sum() == 961 and bm.fractions.sum() == pytest.approx(1.0)
    # each basin holds a sensible share of the symmetric grid (measured: 23-27 %)
    assert np.all(bm.fractions > 0.15) and np.all(bm.fractions < 0.35)
    pts = np.array([m.point for m in bm.minima])
    ends = np.linalg.norm(bm.finals - pts[bm.labels], axis=1)
    assert np.all(ends <= bm.tol)
    # each minimum's own grid cell lies in its own basin
    xs, ys = bm.axes
    for i, (mx, my) in enumerate(pts):
        row, col = np.argmin(np.abs(ys - my)), np.argmin(np.abs(xs - mx))
        assert bm.label_grid()[row, col] == i
    assert bm.paths.shape[1:] == (501, 2) and len(bm.paths) == len(bm.path_starts)
    assert "global minimum reached: 100.0%" in bm.summary()


def test_curve_basins_follow_the_critical_points():
    bm = basin_map("curve", grid=81, steps=1500, tol=1e-3)
    xs = bm.axes[0]
    labels = bm.labels
    glob = next(i for i, m in enumerate(bm.minima) if m.is_global)
    local = 1 - glob
    # in 1-D with steps too small to jump, the basins are the intervals between the maximum at 0
    # and the terrace at 2: left of 0 -> global minimum -1; (0, 2) -> local minimum 1; right of 2: stuck
    assert np.all(labels[xs < -0.05] == glob)
    assert np.all(labels[(xs > 0.05) & (xs < 1.9)] == local)
    assert np.all(labels[xs > 2.0] == -1)
    assert bm.fractions[local] > 0.3 and bm.stuck_fraction > 0.05      # some starts end in the local minimum
    assert bm.global_fraction == pytest.approx((labels == glob).mean())
    assert bm.global_fraction < 0.5


def test_camel_global_fraction():
    bm = basin_map("camel", grid=21, steps=500)
    g = [i for i, m in enumerate(bm.minima) if m.is_global]
    assert bm.global_fraction == pytest.approx(bm.fractions[g].sum())
    assert 0.2 < bm.global_fraction < 0.8          # local minima catch a real share of the starts
    # the camel is symmetric under (x, y) -> (-x, -y) and so is the grid: mirrored minima, mirrored shares
    assert bm.counts[0] == bm.counts[1] and bm.counts[2] == bm.counts[3] and bm.counts[4] == bm.counts[5]


def test_basin_map_errors():
    with pytest.raises(DescentError, match="saddle has no known minima"):
        basin_map("saddle")
    with pytest.raises(DescentError, match="grid must be an integer >= 2"):
        basin_map("himmelblau", grid=1)
    with pytest.raises(DescentError, match=r"domain for himmelblau must be 2 pairs"):
        basin_map("himmelblau", domain=((0.0, 1.0),))
