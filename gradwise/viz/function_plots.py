"""Pictures of gradient descent on test functions: contours with paths and negative-gradient
arrows, the 3-D surface, and the learning-rate triptych.

Every function draws records from ``gradwise.insight`` (:class:`~gradwise.insight.FunctionGrid`,
:class:`~gradwise.insight.Trajectory`, :class:`~gradwise.insight.Comparison`,
:class:`~gradwise.insight.GradientArrows`, :class:`~gradwise.insight.Triptych`) and returns a
``matplotlib.figure.Figure``, written to ``path`` (``.png``/``.svg``/``.pdf``) when given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish

# marker, colour and legend name of each kind of critical point
KIND_STYLE = {"global": ("*", "gold", "global minimum"), "minimum": ("o", "white", "local minimum"),
              "maximum": ("^", "tab:red", "maximum"), "saddle": ("X", "tab:orange", "saddle"),
              "degenerate": ("D", "tab:purple", "flat (degenerate)")}
RUN_COLORS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:cyan",
              "tab:olive", "black")


def as_runs(runs: Any) -> list[tuple[str, Any]]:
    """``(label, Trajectory)`` pairs from a Comparison, a mapping, a sequence or one Trajectory."""
    if runs is None:
        return []
    if hasattr(runs, "runs") and isinstance(runs.runs, Mapping):
        runs = runs.runs
    if isinstance(runs, Mapping):
        return [(str(k), v) for k, v in runs.items()]
    if hasattr(runs, "positions"):
        return [(runs.label, runs)]
    if isinstance(runs, Sequence):
        return [(r.label, r) for r in runs]
    raise TypeError(f"expected Trajectory records (a Comparison, a dict, a list or one), got {type(runs).__name__}")


def levels(values: np.ndarray, n: int = 20) -> np.ndarray:
    """Contour levels at quantiles of the grid's values: evenly spread over the area of the
    picture whatever the function's range (Rosenbrock spans 0 to 2500, Himmelblau 0 to 900)."""
    finite = values[np.isfinite(values)]
    lv = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, n) ** 1.5))
    return lv if lv.size >= 2 else np.array([finite.min(), finite.min() + 1.0])


def draw_landscape(ax: Any, grid: Any, filled: bool = True) -> None:
    """Filled contours of a 2-D grid (``filled=False``: contour lines only), or the curve of a 1-D
    one, on ``ax``, limits set to the domain."""
    if grid.dim == 1:
        ax.plot(grid.axes[0], grid.values, color="black", lw=1.6)
        ax.set(xlim=grid.domain[0], xlabel="x", ylabel="f(x)")
        return
    xs, ys = grid.axes
    lv = levels(grid.values)
    if filled:
        from matplotlib.colors import BoundaryNorm

        # one colour per band (the levels are quantiles, so a linear colour scale would paint
        # most bands the same dark shade); no antialiasing: flat bands keep the PNG small
        ax.contourf(xs, ys, grid.values, levels=lv, cmap="viridis", norm=BoundaryNorm(lv, 256), alpha=0.8,
                    antialiased=False)
    else:
        ax.contour(xs, ys, grid.values, levels=lv[::2], colors="black", linewidths=0.4, alpha=0.45)
    ax.set(xlim=grid.domain[0], ylim=grid.domain[1], xlabel="x", ylabel="y", aspect="equal")


def draw_critical_points(ax: Any, points: Sequence[Any], legend: bool = True) -> None:
    """Markers for critical points (records with ``point``, ``kind``, and ``is_global`` for minima)."""
    seen = set()
    for c in points:
        key = "global" if getattr(c, "is_global", False) else c.kind
        marker, color, name = KIND_STYLE.get(key, ("o", "gray", key))
        pt = np.asarray(c.point, dtype=float).ravel()
        xy = (pt[0], c.value) if pt.size == 1 else (pt[0], pt[1])
        ax.plot(*xy, marker=marker, color=color, mec="black", ms=13 if key == "global" else 8, ls="none",
                zorder=5, label=name if legend and key not in seen else None)
        seen.add(key)


def draw_paths(ax: Any, runs: list[tuple[str, Any]], dim: int, first_color: int = 0) -> None:
    """Each run's path: positions joined by a line, a dot per step, start circle, end cross."""
    for i, (label, t) in enumerate(runs, start=first_color):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        if dim == 1:
            xy = (t.positions[:, 0], t.losses)
        else:
            xy = (t.positions[:, 0], t.positions[:, 1])
        # a dot per step for short runs, about 60 dots along long ones
        ax.plot(*xy, "-", color=color, lw=1.4, marker=".", ms=3, markevery=max(1, t.steps // 60), label=label,
                zorder=4)
        ax.plot(xy[0][0], xy[1][0], "o", color=color, mec="black", ms=7, zorder=6)
        end = np.flatnonzero(np.isfinite(xy[0]))[-1]
        ax.plot(xy[0][end], xy[1][end], "X", color=color, mec="black", ms=8, zorder=6)


def draw_arrows(ax: Any, arrows: Any, length: float) -> None:
    """Unit negative-gradient directions at the arrows' points, drawn ``length`` long."""
    if arrows.points.shape[1] == 1:
        px, py = arrows.points[:, 0], arrows.values
        u, v = arrows.directions[:, 0], np.zeros(len(px))
    else:
        px, py = arrows.points[:, 0], arrows.points[:, 1]
        u, v = arrows.directions[:, 0], arrows.directions[:, 1]
    ax.quiver(px, py, u * length, v * length, angles="xy", scale_units="xy", scale=1, color="white",
              edgecolor="black", linewidth=0.4, width=0.004, zorder=3, label="-gradient (direction)")


def draw_gaps(ax: Any, runs: list[tuple[str, Any]], title: str = "loss above the minimum") -> None:
    """``loss - f*`` against the step, log scale (the step axis is each run's own)."""
    for i, (label, t) in enumerate(runs):
        ax.plot(np.arange(t.steps + 1), t.gaps, color=RUN_COLORS[i % len(RUN_COLORS)], lw=1.6, label=label)
    ax.set_yscale("log", nonpositive="mask")
    ax.set(xlabel="step", ylabel="f(x) - f*", title=title)
    ax.grid(True, which="major", alpha=0.3)


def plot_descent(grid: Any, runs: Any = None, arrows: Any = None, path: str | os.PathLike[str] | None = None, *,
                 title: str | None = None, loss_panel: bool = True) -> Any:
    """Contours of ``grid`` (a 1-D function: its curve) with every run's path, the known critical
    points, the negative-gradient ``arrows``, and (``loss_panel``) ``f - f*`` against the step.

    ``runs``: a :class:`~gradwise.insight.Comparison` (the optimizer race), a ``{label:
    Trajectory}`` dict, a list of Trajectories or one.
    """
    pairs = as_runs(runs)
    panel = loss_panel and bool(pairs)
    fig = figure(11.5 if panel else 6.4, 5.2)
    axes = fig.subplots(1, 2, width_ratios=(1.15, 1)) if panel else [fig.subplots()]
    ax = axes[0]
    draw_landscape(ax, grid)
    draw_critical_points(ax, grid.critical_points)
    if arrows is not None:
        side = max(hi - lo for lo, hi in grid.domain)
        draw_arrows(ax, arrows, 0.06 * side)
    draw_paths(ax, pairs, grid.dim)
    ax.set_title(title or f"descent on {grid.function}")
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    if panel:
        draw_gaps(axes[1], pairs)
        axes[1].legend(fontsize=7)
    return finish(fig, path)


def plot_function_surface(grid: Any, runs: Any = None, path: str | os.PathLike[str] | None = None, *,
                          title: str | None = None) -> Any:
    """The 2-D function as a 3-D surface, with each run's path drawn on it at its losses."""
    if grid.dim != 2:
        raise ValueError(f"plot_function_surface: {grid.function} has {grid.dim} variable(s); a surface needs 2 "
                         "(draw 1-D functions with plot_descent)")
    fig = figure(7.2, 5.6)
    ax = fig.add_subplot(projection="3d")
    xs, ys = grid.axes
    mx, my = np.meshgrid(xs, ys)
    ax.plot_surface(mx, my, grid.values, cmap="viridis", alpha=0.75, linewidth=0, rcount=60, ccount=60)
    for i, (label, t) in enumerate(as_runs(runs)):
        ax.plot(t.positions[:, 0], t.positions[:, 1], t.losses, color=RUN_COLORS[i % len(RUN_COLORS)], lw=2,
                label=label, zorder=10)
    for c in grid.critical_points:
        key = "global" if c.is_global else c.kind
        marker, color, _ = KIND_STYLE.get(key, ("o", "gray", key))
        ax.scatter([c.point[0]], [c.point[1]], [c.value], marker=marker, color=color, edgecolor="black", s=60)
    ax.set(xlim=grid.domain[0], ylim=grid.domain[1], xlabel="x", ylabel="y", zlabel="f(x, y)",
           title=title or f"{grid.function} surface")
    if runs is not None:
        ax.legend(fontsize=7)
    return finish(fig, path)


TRIPTYCH_TITLES = ("too small", "well chosen", "too large")


def plot_lr_triptych(triptych: Any, grid: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """Three panels side by side, one per learning rate of a :class:`~gradwise.insight.Triptych`
    (the path on the contours, the verdict in the title), and below them ``f - f*`` against the
    step for all three."""
    wide = grid.dim == 2 and (grid.domain[0][1] - grid.domain[0][0]) > 1.5 * (grid.domain[1][1] - grid.domain[1][0])
    fig = figure(13.0, 6.8 if wide else 8.4)
    mosaic = fig.subplot_mosaic([["a", "b", "c"], ["d", "d", "d"]], height_ratios=(1, 1.1 if wide else 0.8))
    axes = [mosaic[k] for k in "abcd"]
    runs = []
    for i, (ax, name, run, verdict) in enumerate(zip(axes[:3], TRIPTYCH_TITLES, triptych.runs, triptych.verdicts)):
        draw_landscape(ax, grid)
        draw_critical_points(ax, grid.critical_points, legend=False)
        draw_paths(ax, [(f"lr={run.lr:g}", run)], grid.dim, first_color=i)
        ax.set_title(f"{name}: lr = {run.lr:.3g}\n-> {verdict.label}", fontsize=10)
        runs.append((f"{name} (lr={run.lr:.3g}): {verdict.label}", run))
    draw_gaps(axes[3], runs, f"stable for lr < 2/lambda_max = {triptych.bound.bound:.3g}")
    axes[3].legend(fontsize=7)
    fig.suptitle(f"learning rate on {triptych.function}: same start, three step sizes")
    return finish(fig, path)
