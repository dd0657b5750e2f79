"""Each test-function figure writes a non-empty PNG and a well-formed SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from gradwise import insight, viz  # noqa: E402


def _check(draw, tmp_path, name):
    for suffix in (".png", ".svg"):
        path = tmp_path / f"{name}{suffix}"
        fig = draw(path)
        assert fig.__class__.__name__ == "Figure"
        data = path.read_bytes()
        assert len(data) > 1000
        if suffix == ".png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert ET.fromstring(data).tag.endswith("svg")


def test_descent_figure_with_race_and_arrows(tmp_path):
    grid = insight.function_grid("rosenbrock", n=40)
    race = insight.race("rosenbrock", optimizers=("sgd", "momentum", "adam"), steps=60)
    arrows = insight.gradient_arrows("rosenbrock", n=5)
    _check(lambda p: viz.plot_descent(grid, race, arrows, p), tmp_path, "race")


def test_descent_figure_one_dimensional_and_single_run(tmp_path):
    grid = insight.function_grid("curve", n=50)
    run = insight.descend("curve", (0.4,), "sgd", lr=0.02, steps=40)
    _check(lambda p: viz.plot_descent(grid, run, None, p, loss_panel=False), tmp_path, "curve")
    _check(lambda p: viz.plot_descent(grid, [run], None, p), tmp_path, "curve_list")


def test_surface_figure(tmp_path):
    grid = insight.function_grid("himmelblau", n=30)
    runs = insight.compare("himmelblau", (0.0, 0.0), {"sgd": ("sgd", {"lr": 0.005}), "adam": ("adam", {"lr": 0.1})},
                           steps=50)
    _check(lambda p: viz.plot_function_surface(grid, runs, p), tmp_path, "surface")
    with pytest.raises(ValueError, match="a surface needs 2"):
        viz.plot_function_surface(insight.function_grid("curve", n=10))


def test_lr_triptych_figure(tmp_path):
    trip = insight.lr_triptych("bowl", steps=60)
    _check(lambda p: viz.plot_lr_triptych(trip, insight.function_grid("bowl", n=40), p), tmp_path, "triptych")
    trip1 = insight.lr_triptych("curve", (-1.3,), steps=40)
    _check(lambda p: viz.plot_lr_triptych(trip1, insight.function_grid("curve", n=50), p), tmp_path, "triptych1")


def test_basin_figures(tmp_path):
    bm = insight.basin_map("himmelblau", grid=9, steps=100)
    crit = insight.find_critical_points("himmelblau", grid=6)
    _check(lambda p: viz.plot_basins(bm, insight.function_grid("himmelblau", n=30), crit, p), tmp_path, "basins")
    bm1 = insight.basin_map("curve", grid=15, steps=100)
    _check(lambda p: viz.plot_basins(bm1, insight.function_grid("curve", n=50), None, p), tmp_path, "basins1")


def test_tangent_figure(tmp_path):
    grid = insight.function_grid("curve", n=60)
    bm = insight.basin_map("curve", grid=15, steps=100)
    _check(lambda p: viz.plot_tangents(grid, insight.tangent_lines("curve"), p, basins=bm), tmp_path, "tangents")
    _check(lambda p: viz.plot_tangents(grid, insight.tangent_lines("curve", [-0.5, 1.0]), p), tmp_path, "tangents2")
    with pytest.raises(ValueError, match="tangent lines need a 1-D function"):
        viz.plot_tangents(insight.function_grid("bowl", n=5), None)
