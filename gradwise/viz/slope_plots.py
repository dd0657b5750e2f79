"""The loss against one weight, pictured: the slope at points A, B, C, the step descent takes, and
the local minimum where the gradient is zero and descent stops.

:func:`plot_slope` draws a :class:`~gradwise.insight.slope.SlopeView`; :func:`animate_slope`
writes its descents frame by frame (a ball per point rolling down the curve, its tangent and
next step redrawn each frame) through :mod:`gradwise.viz.animation`.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish

POINT_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:cyan")
TRAP_COLOR, GLOBAL_COLOR = "tab:red", "gold"


def _color(i: int) -> str:
    return POINT_COLORS[i % len(POINT_COLORS)]


def _names(view: Any) -> tuple[str, str]:
    """Axis names: ``w`` and ``L(w)`` for a model's weight, ``x`` and ``f(x)`` for a test function."""
    return (view.variable, f"loss L({view.variable})") if view.variable != "x" else ("x", "f(x)")


def _sign_text(slope: float, sign: int, step: float, lr: float, var: str) -> str:
    if sign == 0:
        return f"dL/d{var} = 0: no step"
    way = "right" if step > 0 else "left"
    return f"dL/d{var} = {slope:.3g} {'<' if sign < 0 else '>'} 0: step {way} by {step:+.3g} (lr {lr:g})"


def _draw_minima(ax: Any, view: Any) -> None:
    var = view.variable
    for k, m in enumerate(view.minima):
        x, v = m.point[0], m.value
        if m.is_global:
            ax.plot([x], [v], "*", color=GLOBAL_COLOR, mec="black", ms=18, zorder=6,
                    label=f"global minimum: loss {v:.4g}")
            continue
        trapped = [label for label, i in view.trapped.items() if i == k]
        ax.plot([x], [v], "o", mfc="none", mec=TRAP_COLOR, mew=2.5, ms=22, zorder=6,
                label=f"local minimum: dL/d{var} = 0, loss {v:.4g}" + (" (a trap)" if trapped else ""))
        text = f"local minimum, dL/d{var} = 0:\ndescent stops here"
        if trapped:
            text += f"\n(trapped: {', '.join(trapped)})"
        ax.annotate(text, (x, v), textcoords="offset points", xytext=(0, -26), ha="center", va="top", fontsize=8,
                    color=TRAP_COLOR, fontweight="bold")


def _limits(ax: Any, view: Any) -> None:
    lo, hi = float(view.xs[0]), float(view.xs[-1])
    vmin, vmax = float(np.nanmin(view.values)), float(np.nanmax(view.values))
    span = max(vmax - vmin, 1e-12)
    ax.set(xlim=(lo, hi), ylim=(vmin - 0.3 * span, vmax + 0.12 * span))


def plot_slope(view: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """Top: the loss curve; at each chosen point its letter, tangent (slope = the gradient), the
    step ``-lr dL/dw`` as an arrow, and the descent's path; the global minimum (star) and each
    local minimum (ring) where the gradient is zero and descent stops.  Bottom: ``dL/dw``
    against ``w``, its sign at each point.

    >>> from gradwise.insight.slope import slope_view
    >>> fig = plot_slope(slope_view("curve", [-1.3, 1.7, 1.0], steps=50))
    >>> [t.get_text() for t in fig.axes[0].texts if len(t.get_text()) == 1]
    ['A', 'B', 'C']
    """
    var, loss_name = _names(view)
    fig = figure(13.0, 8.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.1, 1))
    top.plot(view.xs, view.values, "-", color="black", lw=1.8, label=loss_name, zorder=2)
    t = view.tangents
    for i, label in enumerate(view.labels):
        color = _color(i)
        x, v, slope, sign = float(t.x[i]), float(t.values[i]), float(t.slopes[i]), int(t.signs[i])
        seg = t.segments[i]
        top.plot(seg[:, 0], seg[:, 1], "-", color=color, lw=2.4, zorder=4,
                 label=f"{label}: tangent, slope dL/d{var} = {slope:.3g}")
        p = view.paths[i]
        top.plot(p.positions[1:, 0], p.losses[1:], ".", color=color, ms=4, alpha=0.6, zorder=3)
        step = float(t.next_x[i] - x)
        if sign != 0:
            top.annotate("", xy=(float(t.next_x[i]), float(t.next_values[i])), xytext=(x, v), zorder=7,
                         arrowprops=dict(arrowstyle="-|>", color=color, lw=2.2, shrinkA=0, shrinkB=0))
        top.plot([x], [v], "o", color=color, mec="black", ms=9, zorder=8)
        top.annotate(label, (x, v), textcoords="offset points", xytext=(0, 12), ha="center", va="bottom",
                     fontsize=13, fontweight="bold", color=color, zorder=9)
        where = (x - float(view.xs[0])) / float(view.xs[-1] - view.xs[0])      # keep the text inside the axes
        top.annotate(_sign_text(slope, sign, step, view.lr, var), (x, v), textcoords="offset points",
                     xytext=(0, 30 + 12 * (i % 2)), ha="left" if where < 0.25 else "right" if where > 0.75 else
                     "center", va="bottom", fontsize=7.5, color=color)
    _draw_minima(top, view)
    top.plot([], [], ".", color="gray", label=f"plain gradient descent from each point (lr {view.lr:g})")
    _limits(top, view)
    top.set(xlabel=var, ylabel=loss_name,
            title=f"{view.function}: the slope says which way is downhill; where it is zero, descent stops")
    top.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.95)   # off the curve
    bottom.plot(view.xs, view.slopes, "-", color="black", lw=1.4, label=f"dL/d{var}")
    bottom.axhline(0.0, color="gray", lw=0.9)
    bottom.fill_between(view.xs, view.slopes, 0, where=view.slopes < 0, color="tab:blue", alpha=0.15,
                        label=f"dL/d{var} < 0: moving right lowers the loss")
    bottom.fill_between(view.xs, view.slopes, 0, where=view.slopes > 0, color="tab:red", alpha=0.15,
                        label=f"dL/d{var} > 0: moving left lowers the loss")
    for i, label in enumerate(view.labels):
        bottom.plot([t.x[i]], [t.slopes[i]], "o", color=_color(i), mec="black", ms=8, zorder=5)
        bottom.annotate(label, (float(t.x[i]), float(t.slopes[i])), textcoords="offset points", xytext=(6, 4),
                        fontsize=11, fontweight="bold", color=_color(i))
    bottom.set(xlabel=var if var != "x" else "x", ylabel=f"gradient dL/d{var}",
               title="the gradient: its sign is the way uphill, so descent steps the other way")
    # symmetric log scale: the sign stays readable where the slope is small beside a steep wall
    small = np.abs(view.slopes[np.isfinite(view.slopes) & (view.slopes != 0)])
    bottom.set_yscale("symlog", linthresh=max(1e-6, 0.5 * float(np.median(small))) if small.size else 1.0)
    bottom.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.95)
    fig.suptitle("\n".join(textwrap.wrap(view.description, 150)), fontsize=9)
    return finish(fig, path)


def animate_slope(view: Any, path: str | os.PathLike[str], *, max_frames: int = 60, fps: int = 8) -> Path:
    """The descents of ``view`` frame by frame: at each shown step, every point's ball on the
    curve, its tangent there and the arrow of the step it is about to take."""
    from gradwise.viz.animation import frame_steps, write_frames

    var, loss_name = _names(view)
    fig = figure(10.0, 5.0)
    ax = fig.subplots()
    ax.plot(view.xs, view.values, "-", color="black", lw=1.8, zorder=2)
    _draw_minima(ax, view)
    _limits(ax, view)
    ax.set(xlabel=var, ylabel=loss_name)
    width = float(view.xs[-1] - view.xs[0])
    balls, tangents, trails = [], [], []
    for i, label in enumerate(view.labels):
        color = _color(i)
        (trail,) = ax.plot([], [], ".", color=color, ms=4, alpha=0.6, zorder=3)
        (tangent,) = ax.plot([], [], "-", color=color, lw=2.2, zorder=4)
        start = float(view.paths[i].positions[0, 0])
        (ball,) = ax.plot([], [], "o", color=color, mec="black", ms=10, zorder=8,
                          label=f"{label}: descent from {var} = {start:.3g}")
        balls.append(ball)
        tangents.append(tangent)
        trails.append(trail)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    arrows: list[Any] = []
    steps = frame_steps(min(p.steps for p in view.paths), max_frames)

    def draw(frame: int) -> None:
        k = int(steps[frame])
        for a in arrows:
            a.remove()
        arrows.clear()
        for i, p in enumerate(view.paths):
            x, v = float(p.positions[k, 0]), float(p.losses[k])
            # the slope there, from the step descent takes: x_{k+1} = x_k - lr f'(x_k)
            nxt = float(p.positions[min(k + 1, p.steps), 0])
            slope = (x - nxt) / view.lr if k < p.steps else 0.0
            h = 0.07 * width / np.sqrt(1.0 + slope ** 2)
            tangents[i].set_data([x - h, x + h], [v - slope * h, v + slope * h])
            balls[i].set_data([x], [v])
            trails[i].set_data(p.positions[:k + 1, 0], p.losses[:k + 1])
            if abs(nxt - x) > 0:
                arrows.append(ax.annotate("", xy=(nxt, float(p.losses[min(k + 1, p.steps)])), xytext=(x, v),
                                          arrowprops=dict(arrowstyle="-|>", color=_color(i), lw=2), zorder=7))
        ax.set_title(f"{view.function}: gradient descent, lr {view.lr:g}, step {k} of {steps[-1]}", fontsize=10)

    return write_frames(fig, draw, len(steps), path, fps=fps)
