"""The gradient at one point of a 2-D function, pictured: which way is up, which way is down,
and which way is flat.

:func:`plot_gradient` draws a :class:`~gradwise.insight.direction_fan.DirectionFan` on the
contours of a :class:`~gradwise.insight.FunctionGrid` (a close-up around the point) and, beside
it, the directional derivative ``grad f . u = |grad f| cos(theta)`` against the angle theta
between ``u`` and the gradient, with steepest ascent (theta = 0), steepest descent (theta = pi)
and no change along the contour (theta = +-pi/2) marked on both.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish
from gradwise.viz.function_plots import draw_landscape

ASCENT_COLOR, DESCENT_COLOR, CONTOUR_COLOR = "darkred", "navy", "black"
FAN_CMAP = "coolwarm"        # blue: f falls along u; white: flat; red: f rises
RATE_LABEL = "directional derivative ∇f·u = |∇f| cos θ"


def _norm(fan: Any) -> Any:
    from matplotlib.colors import Normalize

    scale = fan.grad_norm if fan.grad_norm > 0 else 1.0
    return Normalize(vmin=-scale, vmax=scale)       # symmetric: white is exactly "no change"


def _fan_panel(ax: Any, fan: Any, grid: Any) -> Any:
    """Contours, the fan coloured by rate, the gradient and its negative, the contour's tangent."""
    draw_landscape(ax, grid)
    xs, ys = grid.axes
    # the level set through the point: the directions at theta = +-pi/2 are tangent to it
    ax.contour(xs, ys, grid.values, levels=[fan.value], colors=CONTOUR_COLOR, linewidths=1.4, linestyles="--")
    side = min(hi - lo for lo, hi in grid.domain)
    length = 0.28 * side
    x0, y0 = fan.point
    quiver = ax.quiver(np.full(len(fan.rates), x0), np.full(len(fan.rates), y0), fan.directions[:, 0] * length,
                       fan.directions[:, 1] * length, fan.rates, cmap=FAN_CMAP, norm=_norm(fan), angles="xy",
                       scale_units="xy", scale=1, width=0.006, edgecolor="black", linewidth=0.3, zorder=4)
    if fan.grad_norm > 0:
        up = -fan.steepest_descent * 1.45 * length
        ax.quiver([x0], [y0], [up[0]], [up[1]], color=ASCENT_COLOR, angles="xy", scale_units="xy", scale=1,
                  width=0.013, zorder=6, label="∇f: steepest ascent (θ = 0)")
        ax.quiver([x0], [y0], [-up[0]], [-up[1]], color=DESCENT_COLOR, angles="xy", scale_units="xy", scale=1,
                  width=0.013, zorder=6, label="−∇f: steepest descent (θ = π)")
        t = fan.contour_direction * 1.45 * length
        ax.plot([x0 - t[0], x0 + t[0]], [y0 - t[1], y0 + t[1]], "-", color=CONTOUR_COLOR, lw=2.2, zorder=5,
                label="θ = ±π/2: along the contour, no change")
    ax.plot([], [], "--", color=CONTOUR_COLOR, lw=1.4, label=f"contour f = {fan.value:.4g} through the point")
    ax.plot([x0], [y0], "o", color="white", mec="black", ms=8, zorder=7, label=f"x = ({x0:.3g}, {y0:.3g})")
    ax.set_title("unit directions u at the point, coloured by the rate of change of f along u", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, framealpha=0.95)
    return quiver


def _rate_panel(ax: Any, fan: Any) -> None:
    """``|grad f| cos(theta)`` against theta, the fan's rates on it, the three special angles."""
    from matplotlib import colormaps

    g = fan.grad_norm
    theta = np.linspace(-math.pi, math.pi, 361)
    ax.plot(theta, g * np.cos(theta), "-", color="black", lw=1.6, label="|∇f| cos θ")
    # the fan's directions at theta in [-pi, pi); the one at -pi is drawn at +pi as well
    angles = np.concatenate([fan.angles, fan.angles[np.isclose(fan.angles, -math.pi)] + 2 * math.pi])
    rates = np.concatenate([fan.rates, fan.rates[np.isclose(fan.angles, -math.pi)]])
    ax.scatter(angles, rates, c=rates, cmap=colormaps[FAN_CMAP], norm=_norm(fan), edgecolor="black", s=36,
               zorder=5, label="the fan's directions (autograd)")
    fd_angles = np.concatenate([fan.angles, fan.angles[np.isclose(fan.angles, -math.pi)] + 2 * math.pi])
    fd = np.concatenate([fan.fd_rates, fan.fd_rates[np.isclose(fan.angles, -math.pi)]])
    ax.plot(fd_angles, fd, "x", color="dimgray", ms=5, zorder=6, label="finite differences")
    ax.axhline(0.0, color="gray", lw=0.8)
    top = g if g > 0 else 1.0
    for at in (-math.pi, -math.pi / 2, 0.0, math.pi / 2, math.pi):
        ax.axvline(at, color="gray", lw=0.6, ls=":")
    ax.set_xticks([-math.pi, -math.pi / 2, 0.0, math.pi / 2, math.pi], ["−π", "−π/2", "0", "π/2", "π"])
    ax.set(xlim=(-math.pi - 0.25, math.pi + 0.25), ylim=(-1.75 * top, 1.75 * top),
           ylabel="∇f·u: rate of change of f along u")
    if g == 0:      # no gradient, no angle to measure from: every direction is flat to first order
        ax.set_xlabel("θ: angle of u from the x axis (∇f = 0 has no direction)")
        ax.set_title("∇f = 0: f changes along no direction to first order", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=3, framealpha=0.95)
        return
    ax.annotate("steepest ascent\nθ = 0: ∇f·u = +|∇f|", (0.0, g), textcoords="offset points", xytext=(0, 10),
                ha="center", va="bottom", fontsize=8, color=ASCENT_COLOR)
    for side in (-1, 1):
        ax.annotate("steepest descent\nθ = π: −|∇f|" if side > 0 else "steepest descent\nθ = −π: −|∇f|",
                    (side * math.pi, -g), textcoords="offset points", xytext=(-side * 6, -10),
                    ha="right" if side > 0 else "left", va="top", fontsize=8, color=DESCENT_COLOR)
        ax.annotate("no change\n(along the contour)\nθ = " + ("+π/2" if side > 0 else "−π/2"),
                    (side * math.pi / 2, 0.0), textcoords="offset points", xytext=(side * 4, 8),
                    ha="left" if side > 0 else "right", va="bottom", fontsize=8, color=CONTOUR_COLOR)
    ax.set_xlabel("θ: angle between u and ∇f")
    ax.secondary_yaxis("right", functions=(lambda r: r / g, lambda c: c * g)).set_ylabel("cos θ")
    ax.set_title("∇f·u = |∇f| cos θ: largest along ∇f, smallest against it", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=3, framealpha=0.95)


def plot_gradient(fan: Any, grid: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """Two panels: the contours of ``grid`` (a 2-D close-up around ``fan.point``) with ``fan``'s
    unit directions coloured by ``grad f . u`` (with a colour bar), the gradient and the negative
    gradient, and the contour through the point; beside it ``grad f . u`` (and ``cos(theta)``,
    the right axis) against theta.  Returns the figure (written to ``path`` when given).

    >>> from gradwise.insight import function_grid
    >>> from gradwise.insight.direction_fan import direction_fan, neighbourhood
    >>> fan = direction_fan("himmelblau", (1.0, 1.0))
    >>> fig = plot_gradient(fan, function_grid("himmelblau", 60, neighbourhood("himmelblau", (1.0, 1.0))))
    >>> [ax.get_xlabel() for ax in fig.axes[:2]]
    ['x', 'θ: angle between u and ∇f']
    """
    if grid.dim != 2:
        raise ValueError(f"plot_gradient: {grid.function} has {grid.dim} variable(s); the picture needs 2")
    fig = figure(13.5, 6.4)
    left, right = fig.subplots(1, 2, width_ratios=(1.15, 1))
    quiver = _fan_panel(left, fan, grid)
    bar = fig.colorbar(quiver, ax=left, shrink=0.85, pad=0.02)
    bar.set_label(RATE_LABEL)
    _rate_panel(right, fan)
    gx, gy = fan.gradient
    x0, y0 = fan.point
    if fan.grad_norm > 0:
        title = (f"gradient of {fan.function} at ({x0:.3g}, {y0:.3g}): ∇f = ({gx:.3g}, {gy:.3g}), "
                 f"|∇f| = {fan.grad_norm:.3g}; f rises fastest along ∇f and falls fastest along −∇f")
    else:
        title = (f"gradient of {fan.function} at ({x0:.3g}, {y0:.3g}): ∇f = 0, a critical point: no direction "
                 "changes f to first order")
    fig.suptitle(title, fontsize=11)
    return finish(fig, path)
