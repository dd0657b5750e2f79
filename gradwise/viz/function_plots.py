"""Pictures of gradient descent on test functions: contours with paths and negative-gradient
arrows, the 3-D surface, and the learning-rate triptych.

Every function draws records from ``gradwise.insight`` (:class:`~gradwise.insight.FunctionGrid`,
:class:`~gradwise.insight.Trajectory`, :class:`~gradwise.insight.Comparison`,
:class:`~gradwise.insight.GradientArrows`, :class:`~gradwise.insight.Triptych`) and returns a
``matplotlib.figure.Figure``, written to ``path`` (``.png``/``.svg``/``.pdf``) when given.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish

# marker, colour and legend name of each kind of critical point
KIND_STYLE = {"global": ("*", "gold", "global minimum"), "minimum": ("o", "white", "local minimum"),
              "maximum": ("^", "tab:red", "maximum"), "saddle": ("X", "tab:orange", "saddle"),
              "degenerate": ("D", "tab:purple", "flat (degenerate)")}
# SVG writes an artist's gid as the element's id, which must be unique: a role plus a number
_GIDS = itertools.count()


def role_gid(role: str) -> str:
    """A unique gid naming what an artist shows (``"path.17"``): tests find paths, exit marks and
    critical points by the part before the dot, and SVG ids stay unique."""
    return f"{role}.{next(_GIDS)}"


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


def draw_landscape(ax: Any, grid: Any, filled: bool = True) -> Any:
    """Filled contours of a 2-D grid (``filled=False``: contour lines only), or the curve of a 1-D
    one, on ``ax``, limits set to the domain.  Returns the contour set (for a colour bar), or
    None for a 1-D curve."""
    if grid.dim == 1:
        ax.plot(grid.axes[0], grid.values, color="black", lw=1.6)
        ax.set(xlim=grid.domain[0], xlabel="x", ylabel="f(x)")
        return None
    xs, ys = grid.axes
    lv = levels(grid.values)
    if filled:
        from matplotlib.colors import BoundaryNorm

        # one colour per band (the levels are quantiles, so a linear colour scale would paint
        # most bands the same dark shade); no antialiasing: flat bands keep the PNG small
        cs = ax.contourf(xs, ys, grid.values, levels=lv, cmap="viridis", norm=BoundaryNorm(lv, 256), alpha=0.8,
                         antialiased=False)
    else:
        cs = ax.contour(xs, ys, grid.values, levels=lv[::2], colors="black", linewidths=0.4, alpha=0.45)
    ax.set(xlim=grid.domain[0], ylim=grid.domain[1], xlabel="x", ylabel="y", aspect="equal")
    return cs


def level_colorbar(fig: Any, cs: Any, ax: Any, label: str) -> Any:
    """A colour bar for the contour levels of ``cs`` beside ``ax``, ticks at a few of the levels."""
    bar = fig.colorbar(cs, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label(label)
    lv = np.asarray(cs.levels)
    bar.set_ticks(lv[np.unique(np.linspace(0, len(lv) - 1, 6).round().astype(int))])
    bar.ax.tick_params(labelsize=8)
    return bar


def draw_critical_points(ax: Any, points: Sequence[Any], legend: bool = True) -> None:
    """Markers for critical points (records with ``point``, ``kind``, and ``is_global`` for minima),
    each drawn over a white halo and with a black outline, so it shows on any background colour."""
    seen = set()
    for c in points:
        key = "global" if getattr(c, "is_global", False) else c.kind
        marker, color, name = KIND_STYLE.get(key, ("o", "gray", key))
        pt = np.asarray(c.point, dtype=float).ravel()
        xy = (pt[0], c.value) if pt.size == 1 else (pt[0], pt[1])
        ms = 13 if key == "global" else 9
        ax.plot(*xy, marker=marker, color="white", mec="white", mew=3.5, ms=ms + 1, ls="none", zorder=5,
                gid=role_gid("critical-halo"))
        ax.plot(*xy, marker=marker, color=color, mec="black", mew=1.3, ms=ms, ls="none", zorder=5.1,
                gid=role_gid("critical-point"), label=name if legend and key not in seen else None)
        seen.add(key)


# each run's line style and end marker, besides its colour: overlapping paths and ends stay apart
RUN_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 1, 1, 1)))
END_MARKERS = ("P", "s", "p", "h", "8", "d", "H")  # shapes of no critical point and no exit mark


def run_style(i: int) -> tuple[str, Any, str]:
    """``(colour, line style, end marker)`` of the ``i``-th run."""
    return RUN_COLORS[i % len(RUN_COLORS)], RUN_LINESTYLES[i % len(RUN_LINESTYLES)], END_MARKERS[i % len(END_MARKERS)]


def _inside(x: np.ndarray, y: np.ndarray, box: tuple[tuple[float, float], tuple[float, float]]) -> np.ndarray:
    (x0, x1), (y0, y1) = box
    return np.isfinite(x) & np.isfinite(y) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _crossing(p: np.ndarray, q: np.ndarray, box: tuple[tuple[float, float], tuple[float, float]]) -> np.ndarray:
    """Where the segment from ``p`` (inside the box) to ``q`` first meets the box's edge."""
    (x0, x1), (y0, y1) = box
    d = q - p
    t = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, (lo, hi) in enumerate(((x0, x1), (y0, y1))):
            if not np.isfinite(q[k]):
                return p.copy()
            if d[k] > 0:
                t = min(t, (hi - p[k]) / d[k])
            elif d[k] < 0:
                t = min(t, (lo - p[k]) / d[k])
    return p + max(t, 0.0) * d


def split_at_view(x: np.ndarray, y: np.ndarray, box: tuple[tuple[float, float], tuple[float, float]]
                  ) -> tuple[list[np.ndarray], list[tuple[np.ndarray, int, np.ndarray]]]:
    """The parts of the path ``(x, y)`` inside ``box`` (``((x0, x1), (y0, y1))``) and its exits.

    Each piece is an ``(m, 2)`` array of points inside the box; a piece that leaves ends at the
    point where its last segment meets the edge.  Segments with both ends outside are dropped
    (drawn clipped, a diverging zig-zag would fill the panel).  Each exit is ``(point on the
    edge, index of the last point inside, outward direction)``.
    """
    inside = _inside(x, y, box)
    pts = np.stack([x, y], axis=1)
    pieces: list[np.ndarray] = []
    exits: list[tuple[np.ndarray, int, np.ndarray]] = []
    current: list[np.ndarray] = []
    for k in range(len(pts)):
        if inside[k]:
            if not current and k > 0 and np.all(np.isfinite(pts[k - 1])):
                current.append(_crossing(pts[k], pts[k - 1], box))      # back in: start at the edge
            current.append(pts[k])
            continue
        if current:
            if np.all(np.isfinite(pts[k])):
                edge = _crossing(current[-1], pts[k], box)
                current.append(edge)
                exits.append((edge, k - 1, pts[k] - pts[k - 1]))
            else:
                exits.append((current[-1], k - 1, np.zeros(2)))
            pieces.append(np.array(current))
            current = []
    if current:
        pieces.append(np.array(current))
    return pieces, exits


_EXIT_MARKER = {(1, 0): ">", (-1, 0): "<", (0, 1): "^", (0, -1): "v"}


def _exit_marker(direction: np.ndarray, scale: tuple[float, float]) -> str:
    d = direction / np.asarray(scale)
    if not np.any(d):
        return "o"
    k = int(np.argmax(np.abs(d)))
    return _EXIT_MARKER[(int(np.sign(d[0])), 0) if k == 0 else (0, int(np.sign(d[1])))]


def draw_paths(ax: Any, runs: list[tuple[str, Any]], dim: int, first_color: int = 0,
               box: tuple[tuple[float, float], tuple[float, float]] | None = None, note_exits: bool = True) -> None:
    """Each run's path: positions joined by a line in the run's colour and line style, a dot per
    step, a start circle and an end marker of its own shape.  Only the parts inside ``box``
    (default: the axes' current limits) are drawn; where a path leaves, an outward triangle
    sits on the edge, and (``note_exits``) the first exit is labelled with its step."""
    if box is None:
        box = (tuple(ax.get_xlim()), tuple(ax.get_ylim()) if dim == 2 else (-np.inf, np.inf))
    scale = (box[0][1] - box[0][0], box[1][1] - box[1][0] if np.isfinite(box[1][1] - box[1][0]) else 1.0)
    for i, (label, t) in enumerate(runs, start=first_color):
        color, ls, end_marker = run_style(i)
        x, y = (t.positions[:, 0], t.losses) if dim == 1 else (t.positions[:, 0], t.positions[:, 1])
        pieces, exits = split_at_view(np.asarray(x, dtype=float), np.asarray(y, dtype=float), box)
        every = max(1, t.steps // 60)          # a dot per step for short runs, about 60 along long ones
        for piece in pieces:
            ax.plot(piece[:, 0], piece[:, 1], ls=ls, color=color, lw=1.5, marker=".", ms=3, markevery=every,
                    zorder=4, gid=role_gid("path"))
        # the legend entry shows the colour, the line style and the end marker together
        ax.plot([], [], ls=ls, color=color, lw=1.5, marker=end_marker, mec="black", ms=7, label=label)
        if pieces and _inside(x[:1], y[:1], box)[0]:
            ax.plot(x[0], y[0], "o", color=color, mec="black", ms=7, zorder=6, gid=role_gid("path-start"))
        end = int(np.flatnonzero(np.isfinite(x) & np.isfinite(y))[-1])
        if _inside(x[end:end + 1], y[end:end + 1], box)[0]:
            ax.plot(x[end], y[end], end_marker, color=color, mec="black", ms=9, mew=1.2, zorder=6.5,
                    gid=role_gid("path-end"))
        for n, (edge, k, direction) in enumerate(exits):
            ax.plot(edge[0], edge[1], _exit_marker(direction, scale), color=color, mec="black", ms=10, zorder=7,
                    clip_on=False, gid=role_gid("path-exit"))
            if n == 0 and note_exits:
                _note_exit(ax, edge, k, direction / np.asarray(scale), color)


def _note_exit(ax: Any, edge: np.ndarray, step: int, direction: np.ndarray, color: str) -> None:
    """``leaves the view after step k``, written just inside the edge where the path leaves."""
    axis = int(np.argmax(np.abs(direction))) if np.any(direction) else 1
    inward = -float(np.sign(direction[axis])) or -1.0
    offset = (22 * inward, 0) if axis == 0 else (0, 22 * inward)
    ha = ("left" if inward > 0 else "right") if axis == 0 else "center"
    va = ("bottom" if inward > 0 else "top") if axis == 1 else "center"
    ax.annotate(f"leaves the view\nafter step {step}", (edge[0], edge[1]), textcoords="offset points",
                xytext=offset, ha=ha, va=va, fontsize=8, color="black", zorder=8,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=color, alpha=0.9))


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


def draw_gaps(ax: Any, runs: list[tuple[str, Any]], title: str = "loss above the minimum",
              first_color: int = 0) -> None:
    """``loss - f*`` against the step, log scale (the step axis is each run's own)."""
    for i, (label, t) in enumerate(runs, start=first_color):
        color, ls, _ = run_style(i)
        ax.plot(np.arange(t.steps + 1), t.gaps, color=color, ls=ls, lw=1.6, label=label)
    ax.set_yscale("log", nonpositive="mask")
    ax.set(xlabel="step", ylabel="f(x) - f*")
    ax.set_title(title, fontsize=11)
    ax.grid(True, which="major", alpha=0.3)


def race_verdict(pairs: list[tuple[str, Any]]) -> str:
    """One line naming the first run to settle within ``tol`` of a *global* minimum, or saying
    that none did (ending in a local minimum is not success)."""
    if not pairs:
        return ""
    t0 = pairs[0][1]
    done = [(t.steps_to_global, label) for label, t in pairs if t.steps_to_global is not None]
    local = [label for label, t in pairs if t.at_minimum and not t.reached_global]
    tail = f"; in a local minimum: {', '.join(local)}" if local else ""
    if not done:
        return f"no run reached a global minimum (within {t0.tol:g}) in {t0.steps} steps{tail}"
    steps, label = min(done)
    return f"first to a global minimum (within {t0.tol:g}): {label}, after {steps} steps{tail}"


def plot_descent(grid: Any, runs: Any = None, arrows: Any = None, path: str | os.PathLike[str] | None = None, *,
                 title: str | None = None, loss_panel: bool = True) -> Any:
    """Contours of ``grid`` (a 1-D function: its curve) with a colour bar for the levels, every
    run's path (own colour, line style and end marker; an outward triangle where a path leaves
    the view), the known critical points, the negative-gradient ``arrows``, and
    (``loss_panel``) ``f - f*`` against the step.  The title says which run reached a global
    minimum first, or that none did; the legend sits below the panels, off the data.

    ``runs``: a :class:`~gradwise.insight.Comparison` (the optimizer race), a ``{label:
    Trajectory}`` dict, a list of Trajectories or one.
    """
    pairs = as_runs(runs)
    panel = loss_panel and bool(pairs)
    fig = figure(12.5 if panel else 7.0, 6.4)
    axes = fig.subplots(1, 2, width_ratios=(1.25, 1)) if panel else [fig.subplots()]
    ax = axes[0]
    cs = draw_landscape(ax, grid)
    if cs is not None:
        level_colorbar(fig, cs, ax, "f(x, y) (contour levels)")
    draw_critical_points(ax, grid.critical_points)
    if arrows is not None:
        side = max(hi - lo for lo, hi in grid.domain)
        draw_arrows(ax, arrows, 0.06 * side)
    draw_paths(ax, pairs, grid.dim)
    ax.set_title(title or f"descent on {grid.function}", fontsize=11)
    if panel:
        draw_gaps(axes[1], pairs)
    verdict = race_verdict(pairs)
    if verdict:
        fig.suptitle(verdict, fontsize=12)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), fontsize=9, framealpha=0.9)
    return finish(fig, path)


def plot_function_surface(grid: Any, runs: Any = None, path: str | os.PathLike[str] | None = None, *,
                          title: str | None = None) -> Any:
    """The 2-D function as a 3-D surface with each run's path drawn *over* it (the axes' own
    depth sorting is off, so no path hides behind the surface), and the contours with the
    paths projected on the floor.  Paths are drawn up to where they leave the domain."""
    if grid.dim != 2:
        raise ValueError(f"plot_function_surface: {grid.function} has {grid.dim} variable(s); a surface needs 2 "
                         "(draw 1-D functions with plot_descent)")
    fig = figure(8.4, 6.8)
    ax = fig.add_subplot(projection="3d", computed_zorder=False)
    xs, ys = grid.axes
    mx, my = np.meshgrid(xs, ys)
    finite = grid.values[np.isfinite(grid.values)]
    low, high = float(finite.min()), float(finite.max())
    floor = low - 0.35 * (high - low)
    ax.contour(mx, my, grid.values, levels=levels(grid.values, 14), zdir="z", offset=floor, cmap="viridis",
               linewidths=0.8, zorder=1)
    ax.plot_surface(mx, my, grid.values, cmap="viridis", alpha=0.55, linewidth=0, rcount=50, ccount=50, zorder=2)
    box = (grid.domain[0], grid.domain[1])
    for i, (label, t) in enumerate(as_runs(runs)):
        color, ls, end_marker = run_style(i)
        pieces, _ = split_at_view(t.positions[:, 0], t.positions[:, 1], box)
        for k, piece in enumerate(pieces):
            z = np.array([grid_value(grid, p) for p in piece])
            ax.plot(piece[:, 0], piece[:, 1], z, color=color, ls=ls, lw=2.2, zorder=10, gid=role_gid("path"),
                    label=label if k == 0 else None)
            ax.plot(piece[:, 0], piece[:, 1], np.full(len(piece), floor), color=color, ls=ls, lw=1.3, zorder=3,
                    gid=role_gid("path-floor"))
        end = int(np.flatnonzero(np.isfinite(t.losses))[-1])
        if _inside(t.positions[end:end + 1, 0], t.positions[end:end + 1, 1], box)[0]:
            ax.scatter([t.positions[end, 0]], [t.positions[end, 1]], [t.losses[end]], marker=end_marker, color=color,
                       edgecolor="black", s=70, zorder=12, depthshade=False)
    for c in grid.critical_points:
        key = "global" if c.is_global else c.kind
        marker, color, _ = KIND_STYLE.get(key, ("o", "gray", key))
        ax.scatter([c.point[0]], [c.point[1]], [c.value], marker=marker, color=color, edgecolor="black", s=80,
                   zorder=11, depthshade=False)
    ax.set(xlim=grid.domain[0], ylim=grid.domain[1], zlim=(floor, high), xlabel="x", ylabel="y", zlabel="f(x, y)")
    ax.set_title(title or f"{grid.function}: paths drawn over the surface, and on the contour map below",
                 fontsize=11)
    if runs is not None:
        fig.legend(loc="outside lower center", ncols=3, fontsize=9)
    return finish(fig, path)


def grid_value(grid: Any, point: np.ndarray) -> float:
    """``f`` at ``point`` by bilinear interpolation on the grid (the paths' drawn heights follow
    the drawn surface, not the exact function, so they sit on it)."""
    xs, ys = grid.axes
    i = int(np.clip(np.searchsorted(xs, point[0]) - 1, 0, len(xs) - 2))
    j = int(np.clip(np.searchsorted(ys, point[1]) - 1, 0, len(ys) - 2))
    tx = (point[0] - xs[i]) / (xs[i + 1] - xs[i])
    ty = (point[1] - ys[j]) / (ys[j + 1] - ys[j])
    v = grid.values
    return float((1 - tx) * (1 - ty) * v[j, i] + tx * (1 - ty) * v[j, i + 1] + (1 - tx) * ty * v[j + 1, i]
                 + tx * ty * v[j + 1, i + 1])


def triptych_title(run: Any, verdict: Any, bound: Any) -> str:
    """A triptych panel's title, made from the run's verdict (never fixed text)."""
    from gradwise.insight.learning_rate import verdict_text

    return f"lr = {run.lr:.3g} ({run.lr / bound.bound:.2g} x the bound)\nverdict: {verdict_text(verdict.label)}"


def plot_lr_triptych(triptych: Any, grid: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """Three panels side by side, one per learning rate of a :class:`~gradwise.insight.Triptych`
    (the path on the contours; the title is the run's verdict), and below them ``f - f*`` against
    the step for all three, titled with the optimizer's own stability bound.  A path that
    leaves the view is drawn up to the edge, with an outward triangle and its step."""
    from gradwise.insight.learning_rate import verdict_text

    wide = grid.dim == 2 and (grid.domain[0][1] - grid.domain[0][0]) > 1.5 * (grid.domain[1][1] - grid.domain[1][0])
    fig = figure(13.0, 7.2 if wide else 8.8)
    mosaic = fig.subplot_mosaic([["a", "b", "c"], ["d", "d", "d"]], height_ratios=(1, 1.1 if wide else 0.8))
    axes = [mosaic[k] for k in "abcd"]
    runs = []
    for i, (ax, run, verdict) in enumerate(zip(axes[:3], triptych.runs, triptych.verdicts)):
        draw_landscape(ax, grid)
        draw_critical_points(ax, grid.critical_points, legend=False)
        draw_paths(ax, [(f"lr={run.lr:g}", run)], grid.dim, first_color=i)
        ax.set_title(triptych_title(run, verdict, triptych.bound), fontsize=11)
        runs.append((f"lr = {run.lr:.3g}: {verdict_text(verdict.label)}", run))
    b = triptych.bound
    method = b.method.replace("beta", r"$\beta$")
    draw_gaps(axes[3], runs, f"stable for lr < {_math_rule(b.formula)} = {b.bound:.3g}   ({method})")
    axes[3].legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.suptitle(f"learning rate on {triptych.function} with {b.optimizer}: same start, three step sizes",
                 fontsize=13)
    return finish(fig, path)


def _math_rule(formula: str) -> str:
    """``2(1+beta)/lambda_max`` in mathtext."""
    return "$" + formula.replace("beta", r"\beta ").replace("lambda_max", r"\lambda_{max}").replace(" ", r"\,") + "$"
