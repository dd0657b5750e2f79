"""Every picture command's figure, built with the Agg canvas and checked on its matplotlib
objects: paths inside the axes or marked where they leave, legends off the data, every axis
labelled, titles unclipped, and the words of titles agreeing with the verdicts they show."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from picture_checks import (  # noqa: E402
    axes_labelled,
    check_picture,
    data_axes,
    legends_off_data,
    paths_inside_or_marked,
    render,
    role,
    texts,
)

import gradwise as gw  # noqa: E402
from gradwise import insight, nn, viz  # noqa: E402
from gradwise.insight.learning_rate import verdict_text  # noqa: E402

SNAKE = re.compile(r"\b[a-z]+_[a-z]+\b")


# ------------------------------------------------------------------------------------------ minima
@pytest.fixture(scope="module")
def camel_basins():
    return insight.basin_map("camel", grid=13, steps=300), insight.function_grid("camel", n=60)


def test_minima_default_shows_local_and_global_minima(camel_basins):
    import argparse

    from gradwise.commands.functions import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["minima", "--out", "x.png"]).fn == "camel"
    basins, _ = camel_basins
    kinds = {m.is_global for m in basins.minima}
    assert kinds == {True, False}                     # both kinds: the picture can contrast them
    assert 0 < basins.global_fraction < 1
    assert parser.parse_args(["minima", "--fn", "himmelblau", "--out", "x.png"]).fn == "himmelblau"


def test_minima_picture_properties(camel_basins):
    basins, grid = camel_basins
    fig = viz.plot_basins(basins, grid)
    check_picture(fig)
    ax, bars = data_axes(fig)
    render(fig)
    # every saddle and maximum is outlined in black over a white halo: it shows on any basin colour
    points = [ln for ln in ax.lines if role(ln) == "critical-point"]
    halos = [ln for ln in ax.lines if role(ln) == "critical-halo"]
    assert len(points) == len(grid.critical_points) == len(halos)
    kinds = {c.kind for c in grid.critical_points}
    assert {"saddle", "maximum"} <= kinds
    for p, h in zip(points, halos):
        assert p.get_markeredgecolor() == "black" and p.get_markeredgewidth() >= 1
        assert h.get_markeredgecolor() == "white" and h.get_markersize() > p.get_markersize()
        assert (p.get_xdata(), p.get_ydata()) == (h.get_xdata(), h.get_ydata())
    # bar labels readable, and the x axis in % like them
    assert all(t.get_fontsize() >= 9 for t in bars.texts)
    assert all(t.get_fontsize() >= 9 for t in bars.get_yticklabels())
    ticks = [t.get_text() for t in bars.get_xticklabels() if t.get_text()]
    assert ticks and all(t.endswith("%") for t in ticks)
    assert "100%" in ticks
    assert bars.get_xlim()[1] > 1.0 and all(0 <= b.get_width() <= 1 for b in bars.patches)
    # the title's share is the record's
    assert f"{basins.global_fraction:.0%} of starts reach a global minimum" in bars.get_title()


def test_minima_1d_picture_properties():
    grid = insight.function_grid("curve", n=200)
    fig = viz.plot_tangents(grid, insight.tangent_lines("curve"), basins=insight.basin_map("curve", grid=15))
    check_picture(fig)


# ------------------------------------------------------------------------------------------ lr-triptych
@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_triptych_titles_follow_the_verdicts(optimizer):
    trip = insight.lr_triptych("bowl", optimizer=optimizer)
    fig = viz.plot_lr_triptych(trip, insight.function_grid("bowl", n=60))
    check_picture(fig)
    panels = data_axes(fig)[:3]
    for ax, verdict in zip(panels, trip.verdicts):
        title = ax.get_title()
        assert f"verdict: {verdict_text(verdict.label)}" in title, (title, verdict.label)
        assert not SNAKE.search(title), title
    # with momentum the default rates come from momentum's own bound, and the verdicts agree
    assert [v.label for v in trip.verdicts] == ["too_small", "converged", "diverging"]
    gaps = data_axes(fig)[3]
    bound = trip.bound
    if optimizer == "momentum":
        assert bound.bound == pytest.approx(2 * 1.9 / 50)
        assert "heavy-ball momentum" in gaps.get_title() and r"(1+\beta" in gaps.get_title()
    else:
        assert bound.bound == pytest.approx(2 / 50) and "plain gradient descent" in gaps.get_title()
    assert f"{bound.bound:.3g}" in gaps.get_title()
    for t in texts(fig):
        assert not SNAKE.search(t.replace("lambda_{max}", "")), t


def test_a_diverging_path_is_drawn_to_the_edge_and_marked():
    trip = insight.lr_triptych("bowl")
    fig = viz.plot_lr_triptych(trip, insight.function_grid("bowl", n=60))
    big = data_axes(fig)[2]
    exits = [ln for ln in big.lines if role(ln) == "path-exit"]
    assert exits, "the path that leaves the view has no exit mark"
    notes = [t.get_text() for t in big.texts]
    assert any("leaves the view" in n for n in notes)
    # no solid block: fewer than a dozen drawn points, not the 80 steps before the run blew up
    drawn = sum(len(ln.get_xdata()) for ln in big.lines if role(ln) == "path")
    assert drawn < 12
    assert not paths_inside_or_marked(fig)


def test_the_exit_check_catches_an_unmarked_path():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="x", ylabel="y")
    ax.plot([0.5, 3.0], [0.5, 0.5], gid="path")
    assert paths_inside_or_marked(fig)
    ax.legend(["a"], loc="center")
    ax.plot([0.5], [0.5], "o")
    assert legends_off_data(fig)
    ax.set_xlabel("")
    assert axes_labelled(fig) == [("", "x")]


# ------------------------------------------------------------------------------------------ descent
@pytest.fixture(scope="module")
def rosenbrock_race():
    return insight.race("rosenbrock", optimizers=("sgd", "momentum", "adam"), steps=2000)


def test_the_default_race_on_rosenbrock_has_a_winner(rosenbrock_race):
    # at the suggested rates and the command's default 2000 steps, Adam settles at (1, 1)
    assert rosenbrock_race.winner() == "adam"
    assert rosenbrock_race.runs["adam"].steps_to_global is not None


def test_descent_picture_properties(rosenbrock_race):
    fig = viz.plot_descent(insight.function_grid("rosenbrock", n=60), rosenbrock_race,
                           insight.gradient_arrows("rosenbrock", n=6))
    check_picture(fig)
    assert fig._suptitle.get_text().startswith("first to a global minimum") and "adam" in fig._suptitle.get_text()
    # a colour bar for the contour levels
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1 and bars[0].get_ylabel()
    # every run has its own line style and end marker, so overlapping paths and ends differ
    handles, labels = fig.legends[0].legend_handles, [t.get_text() for t in fig.legends[0].get_texts()]
    styles = {(h.get_linestyle(), h.get_marker()) for h, lab in zip(handles, labels) if lab in rosenbrock_race.runs}
    assert len(styles) == len(rosenbrock_race.runs)
    ends = [ln for ln in data_axes(fig)[0].lines if role(ln) == "path-end"]
    assert len({ln.get_marker() for ln in ends}) == len(ends) == 3


def test_camel_race_counts_only_a_global_minimum_and_keeps_the_legend_off_the_saddle():
    race = insight.race("camel", optimizers=("sgd", "adam"), steps=300)
    assert all(t.at_minimum and not t.reached_global for t in race.runs.values())
    assert race.winner() is None
    assert all(r["steps_to_tol"] is None and r["local_minimum"] for r in race.table())
    assert "local min only" in race.to_text()
    fig = viz.plot_descent(insight.function_grid("camel", n=60), race, insight.gradient_arrows("camel", n=6))
    check_picture(fig)                     # the legend covers no marker: the saddle at (0, 0) included
    assert fig._suptitle.get_text().startswith("no run reached a global minimum")
    saddles = [ln for ln in data_axes(fig)[0].lines if role(ln) == "critical-point"
               and ln.get_marker() == "X"]
    assert saddles


def test_descent_surface_draws_the_paths_over_the_surface(rosenbrock_race):
    fig = viz.plot_function_surface(insight.function_grid("rosenbrock", n=40), rosenbrock_race)
    (ax,) = data_axes(fig)
    assert ax.computed_zorder is False       # drawn in zorder: the paths come after the surface
    surface = [c for c in ax.collections if type(c).__name__ == "Poly3DCollection"]
    paths = [ln for ln in ax.lines if role(ln) == "path"]
    assert surface and paths
    assert min(ln.get_zorder() for ln in paths) > max(c.get_zorder() for c in surface)
    assert [ln for ln in ax.lines if role(ln) == "path-floor"]
    check_picture(fig)


# ------------------------------------------------------------------------------------------ lr-find
@pytest.fixture(scope="module")
def lr_result():
    from gradwise.data import DataLoader, TensorDataset

    gen = gw.Generator().manual_seed(0)
    x = gw.randn(256, 4, generator=gen)
    y = x @ gw.randn(4, 1, generator=gen)
    model = nn.Sequential(nn.Linear(4, 16, generator=gen), nn.Tanh(), nn.Linear(16, 1, generator=gen))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=gen)
    return insight.lr_find(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=80)


def test_lr_find_smoothing_is_debiased(lr_result):
    # the debiased average starts at the first loss (not (1 - beta) x it) and follows a constant exactly
    beta = lr_result.settings["smooth"]
    assert lr_result.smoothed[0] == pytest.approx(lr_result.losses[0], rel=1e-12)
    avg = beta * (1 - beta) * lr_result.losses[0] + (1 - beta) * lr_result.losses[1]
    assert lr_result.smoothed[1] == pytest.approx(avg / (1 - beta ** 2), rel=1e-12)


def test_the_valley_sits_where_the_loss_falls():
    from gradwise.insight.lr_finder import suggest

    rng = np.random.default_rng(0)
    lrs = np.logspace(-7, 1, 100)
    x = np.log10(lrs)
    # a long flat, slightly noisy plateau, then a drop between 1e-2 and 1, then the blow-up
    loss = 2.3 + 0.003 * rng.normal(size=100).cumsum() / 10 - 0.4 / (1 + np.exp(-3 * (x + 1))) + \
        np.where(x > 0.3, (x - 0.3) * 3, 0)
    steep, valley, _ = suggest(lrs, loss)
    slope = np.gradient(loss, x)
    assert 1e-2 <= valley.lr <= 1.0, valley
    assert slope[valley.index] < 0.3 * slope.min()          # well inside the fall, not on the plateau


def test_lr_find_picture_properties(lr_result):
    fig = viz.plot_lr_finder(lr_result)
    check_picture(fig)
    (ax,) = data_axes(fig)
    notes = [t for t in ax.texts if role(t) == "suggestion-note"]
    assert len(notes) == len(lr_result.suggestions)
    for s in lr_result.suggestions:
        assert any(n.get_text().startswith(s.name + ":") and f"{s.lr:.2g}" in n.get_text() for n in notes)
    renderer = render(fig)
    boxes = [n.get_bbox_patch().get_window_extent(renderer) for n in notes]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


# ------------------------------------------------------------------------------------------ batch-modes
@pytest.fixture(scope="module")
def batch_modes():
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(96, 3, generator=gen)
    y = x @ gw.tensor([[1.0], [-1.0], [2.0]])
    return insight.compare_batch_modes(nn.Linear(3, 1, generator=gen), nn.MSELoss(), (x, y), epochs=3,
                                       batch_size=8, lr=0.05, variance_batch_sizes=[1, 4, 16], variance_batches=10,
                                       generator=gen)


def test_batch_modes_picture_properties(batch_modes):
    fig = viz.plot_batch_modes(batch_modes)
    check_picture(fig)
    title = fig._suptitle.get_text()
    assert "the same lr = 0.05 for every mode" in title
    bands = [c for ax in fig.axes for c in ax.collections if role(c) == "band"]
    assert bands


def test_batch_modes_says_when_the_rates_differ(batch_modes):
    from dataclasses import replace

    runs = dict(batch_modes.runs)
    runs["full"] = replace(runs["full"], lr=0.5)
    fig = viz.plot_batch_modes(replace(batch_modes, runs=runs))
    assert "rates differ per mode" in fig._suptitle.get_text()


def test_batch_modes_command_uses_one_rate_by_default():
    import argparse

    from gradwise.commands.networks import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["batch-modes", "--out", "x.png"])
    assert args.lr == 0.05 and args.lr_full is None and args.lr_sgd is None and args.lr_minibatch is None
    assert parser.parse_args(["landscape", "run", "--out", "x.png"]).kind == "trajectory"


# ------------------------------------------------------------------------------------------ landscape
@pytest.fixture(scope="module")
def landscapes():
    gen = gw.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4, generator=gen), nn.Tanh(), nn.Linear(4, 1, generator=gen))
    x = gw.randn(64, 2, generator=gen)
    y = x[:, :1] * x[:, 1:]
    rec = insight.ParameterRecorder()
    gw.train.fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.2), (x, y), epochs=6, batch_size=16,
                 callbacks=[rec], progress=False, generator=gen)
    plane = insight.surface(model, nn.MSELoss(), (x, y), steps=7, generator=gen)
    path = insight.trajectory(model, nn.MSELoss(), (x, y), rec.snapshots, steps=7)
    line = insight.interpolate(model, nn.MSELoss(), (x, y), rec.snapshots[0], rec.snapshots[-1])
    return plane, path, line


def test_landscape_surface_picture_properties(landscapes):
    plane, path, line = landscapes
    fig = viz.plot_surface(plane)
    check_picture(fig)
    assert "filter-normalised:" in fig._suptitle.get_text()
    ax3 = [ax for ax in data_axes(fig) if ax.name == "3d"][0]
    assert ax3.get_zlabel() == "log10 loss"
    assert all(ax.title.get_fontsize() >= 11 for ax in data_axes(fig))


def test_landscape_trajectory_shows_the_path_in_2d_and_3d(landscapes):
    _, path, _ = landscapes
    fig = viz.plot_surface(path)
    check_picture(fig)
    for ax in data_axes(fig):
        assert [ln for ln in ax.lines if role(ln) == "path"], ax.get_title()
    assert "principal directions" in fig._suptitle.get_text()


def test_landscape_interpolation_picture_properties(landscapes):
    check_picture(viz.plot_interpolation(landscapes[2]))
