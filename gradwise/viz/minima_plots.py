"""Pictures of local and global minima: the basin map with the critical points, and the 1-D
curve with tangent lines, the gradient's sign and one descent step at chosen points.

Both draw records from ``gradwise.insight`` (:class:`~gradwise.insight.BasinMap`,
:class:`~gradwise.insight.FunctionGrid`, :class:`~gradwise.insight.PointCheck`,
:class:`~gradwise.insight.TangentLines`) and return a ``matplotlib.figure.Figure``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish
from gradwise.viz.function_plots import draw_critical_points, draw_landscape, role_gid

BASIN_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974",
                "#64b5cd")
STUCK_COLOR = "#d9d9d9"


def _basin_color(label: int) -> str:
    return STUCK_COLOR if label < 0 else BASIN_COLORS[label % len(BASIN_COLORS)]


def _minimum_name(m: Any) -> str:
    pt = ", ".join(f"{v:.2f}" for v in m.point)
    return f"({pt}) {'global' if m.is_global else 'local'}"


def _fraction_bars(ax: Any, basins: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    names = [_minimum_name(m) for m in basins.minima] + ["none reached"]
    shares = list(basins.fractions) + [basins.stuck_fraction]
    colors = [_basin_color(i) for i in range(len(basins.minima))] + [STUCK_COLOR]
    hatches = ["//" if m.is_global else "" for m in basins.minima] + [""]
    bars = ax.barh(np.arange(len(names)), shares, color=colors, edgecolor="black", hatch=hatches)
    for bar, share in zip(bars, shares):
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, f"{share:.1%}", va="center", fontsize=10)
    ax.set_yticks(np.arange(len(names)), names, fontsize=10)
    ax.invert_yaxis()
    # shares are fractions; the axis reads them in % like the labels beside the bars
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.tick_params(axis="x", labelsize=10)
    ax.set(xlim=(0, 1.15), xlabel="share of starts (%)", ylabel="where descent ends")
    ax.set_title(f"{basins.global_fraction:.0%} of starts reach a global minimum\n(hatched: global)", fontsize=11)


def plot_basins(basins: Any, grid: Any, critical: Sequence[Any] | None = None,
                path: str | os.PathLike[str] | None = None) -> Any:
    """Left: the basin map (each start coloured by the minimum it reached, grey for none), the
    function's contours, sample descent paths and the critical points (``critical``: classified
    :class:`~gradwise.insight.PointCheck` records; default: the function's known ones), outlined
    and haloed so they show on every basin colour.  Right: the share of starts reaching each
    minimum.  The legend sits below the figure, off the data."""
    fig = figure(13.0, 6.2)
    ax, bar_ax = fig.subplots(1, 2, width_ratios=(1.35, 1))
    labels = basins.label_grid()
    if grid.dim == 2:
        xs, ys = basins.axes
        for lab in np.unique(labels):
            mask = np.where(labels == lab, 1.0, np.nan)
            ax.pcolormesh(xs, ys, mask, cmap=_single(_basin_color(int(lab))), shading="nearest", vmin=0, vmax=1)
        draw_landscape(ax, grid, filled=False)
        for p in basins.paths:
            ax.plot(p[:, 0], p[:, 1], "-", color="black", lw=0.6, alpha=0.7, gid=role_gid("path"))
            ax.plot(p[0, 0], p[0, 1], "o", color="black", ms=2.5, gid=role_gid("path-start"))
        ax.plot([], [], "o-", color="black", lw=0.6, ms=2.5, label="sample descent paths (from the dots)")
    else:
        draw_landscape(ax, grid)
        xs = basins.axes[0]
        low = float(np.nanmin(grid.values))
        ax.scatter(xs, np.full(xs.shape, low), c=[_basin_color(int(v)) for v in labels], marker="s", s=30,
                   edgecolor="black", linewidths=0.3, zorder=4, label="starts, coloured by where they end")
    points = critical if critical is not None else grid.critical_points
    draw_critical_points(ax, points)
    ax.set_title(f"basins of {basins.function}: {basins.optimizer}, lr {basins.lr:g}, {basins.steps} steps",
                 fontsize=11)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 5), fontsize=10, framealpha=0.9)
    _fraction_bars(bar_ax, basins)
    return finish(fig, path)


def _single(color: str) -> Any:
    from matplotlib.colors import ListedColormap

    return ListedColormap([color])


_SIGN_TEXT = {1: "f' > 0\nstep left", -1: "f' < 0\nstep right", 0: "f' = 0\nno step"}
_SIGN_COLOR = {1: "tab:red", -1: "tab:blue", 0: "black"}


def plot_tangents(grid: Any, tangents: Any, path: str | os.PathLike[str] | None = None, *,
                  basins: Any = None) -> Any:
    """A 1-D function's curve with the tangent at each of ``tangents``' points, coloured by the
    gradient's sign, an arrow down the tangent against the gradient, the point one gradient step
    ``x - lr f'(x)`` reaches (a small dot, lower on the curve), and a ring where ``f' = 0`` and
    descent stops.  ``basins``: a 1-D :class:`~gradwise.insight.BasinMap` whose starts are shown
    as a strip under the curve, coloured by the minimum each one reaches."""
    if grid.dim != 1:
        raise ValueError(f"plot_tangents: {grid.function} has {grid.dim} variables; tangent lines need a 1-D function")
    fig = figure(9.0, 5.6)
    ax = fig.subplots()
    draw_landscape(ax, grid)
    draw_critical_points(ax, grid.critical_points)
    for i in range(len(tangents.x)):
        sign = int(tangents.signs[i])
        color = _SIGN_COLOR[sign]
        seg = tangents.segments[i]
        ax.plot(seg[:, 0], seg[:, 1], "-", color=color, lw=1.2, alpha=0.8)
        here = (tangents.x[i], tangents.values[i])
        ax.plot(*here, "o", color=color, ms=5, zorder=6)
        if tangents.stopped[i]:
            ax.plot(*here, "o", mfc="none", mec="black", ms=14, mew=1.2, zorder=6)
        else:
            ax.annotate("", xy=tuple(tangents.downhill[i]), xytext=here,
                        arrowprops=dict(arrowstyle="-|>", color=color, lw=1.8, shrinkA=0, shrinkB=0), zorder=7)
            ax.plot(tangents.next_x[i], tangents.next_values[i], ".", color=color, mec="black", ms=7, zorder=8)
        ax.annotate(_SIGN_TEXT[sign], here, textcoords="offset points", xytext=(0, 14 if sign else -30),
                    ha="center", fontsize=7, color=color)
    if basins is not None:
        low = float(np.nanmin(grid.values))
        span = float(np.nanmax(grid.values)) - low
        xs = basins.axes[0]
        ax.scatter(xs, np.full(xs.shape, low - 0.13 * span), c=[_basin_color(int(v)) for v in basins.labels],
                   marker="s", s=18, edgecolor="none", zorder=4)
        for k, m in enumerate(basins.minima):
            ax.plot([], [], "s", color=_basin_color(k), label=f"starts ending at x = {m.point[0]:g} "
                    f"({'global' if m.is_global else 'local'}): {basins.fractions[k]:.0%}")
        ax.plot([], [], "s", color=STUCK_COLOR, label=f"starts stopping elsewhere: {basins.stuck_fraction:.0%}")
    ax.plot([], [], ".", color="gray", mec="black", ms=7, label=f"after one step x - {tangents.lr:g} f'(x)")
    ax.set_title(f"{grid.function}: moving against the gradient lowers f; where f' = 0 descent stops", fontsize=11)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=2, fontsize=9, framealpha=0.9)
    return finish(fig, path)
