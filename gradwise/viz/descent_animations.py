"""Descent frame by frame: the animations of ``gradwise descent``, ``lr-triptych`` and ``batch-modes``.

Each function builds its figure once (the contours or axes, with limits fixed from the whole
record so nothing jumps between frames), then reveals the record step by step through
:func:`gradwise.viz.animation.write_frames`: the optimizer paths grow on the contours with a
dot at each run's current position (a cross on the border where a run has left the view), and
the loss curves grow beside them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.viz.animation import frame_steps, write_frames
from gradwise.viz.figure_files import figure
from gradwise.viz.function_plots import RUN_COLORS, as_runs, draw_critical_points, draw_landscape


class _Path:
    """One run on one axes: its line (revealed up to a step) and a head at the current position;
    a head outside the view is drawn as a cross on the border."""

    def __init__(self, ax: Any, xy: tuple[np.ndarray, np.ndarray], color: str, label: str | None, box: Any) -> None:
        self.x, self.y = xy
        self.box = box
        (self.line,) = ax.plot([], [], "-", color=color, lw=1.5, marker=".", ms=3, zorder=4, label=label)
        (self.head,) = ax.plot([], [], "o", color=color, mec="black", ms=8, zorder=6)

    def show(self, k: int) -> None:
        k = min(k, len(self.x) - 1)
        self.line.set_data(self.x[:k + 1], self.y[:k + 1])
        finite = np.flatnonzero(np.isfinite(self.x[:k + 1]) & np.isfinite(self.y[:k + 1]))
        if not finite.size:
            self.head.set_data([], [])
            return
        hx, hy = float(self.x[finite[-1]]), float(self.y[finite[-1]])
        (x0, x1), (y0, y1) = self.box
        inside = x0 <= hx <= x1 and y0 <= hy <= y1
        self.head.set_marker("o" if inside else "X")
        self.head.set_data([min(max(hx, x0), x1)], [min(max(hy, y0), y1)])


def _xy(run: Any, dim: int) -> tuple[np.ndarray, np.ndarray]:
    return (run.positions[:, 0], run.losses) if dim == 1 else (run.positions[:, 0], run.positions[:, 1])


class _Gap:
    """One run's ``f - f*`` curve, revealed up to a step; values above the view are drawn on its top
    edge, with a triangle where the run first left it (a diverging run)."""

    def __init__(self, ax: Any, gaps: np.ndarray, color: str, label: str, top: float) -> None:
        self.gaps, self.top = gaps, top
        (self.line,) = ax.plot([], [], "-", color=color, lw=1.6, label=label)
        (self.mark,) = ax.plot([], [], "^", color=color, mec="black", ms=8, zorder=5)

    def show(self, k: int) -> None:
        shown = self.gaps[:k + 1]
        self.line.set_data(np.arange(len(shown)), np.minimum(shown, self.top))
        gone = np.flatnonzero(~(shown <= self.top))          # above the view, or inf/NaN after a divergence
        self.mark.set_data(([gone[0]], [self.top]) if gone.size else ([], []))


def _gap_axes(ax: Any, pairs: list[tuple[str, Any]], steps: int) -> list[_Gap]:
    """Empty ``f - f*`` curves on a log axis whose limits fit every run's record from its start
    down (a run that blows up leaves through the top, marked)."""
    gaps = np.concatenate([t.gaps for _, t in pairs])
    positive = gaps[np.isfinite(gaps) & (gaps > 0)]
    starts = np.array([t.gaps[0] for _, t in pairs], dtype=float)
    starts = starts[np.isfinite(starts) & (starts > 0)]
    top = 30.0 * float(starts.max()) if starts.size else (float(positive.max()) * 3 if positive.size else 1.0)
    bottom = max(float(positive.min()) if positive.size else top * 1e-6, top * 1e-14) / 3
    curves = [_Gap(ax, t.gaps, RUN_COLORS[i % len(RUN_COLORS)], label, top) for i, (label, t) in enumerate(pairs)]
    if any(np.any(~(t.gaps <= top)) for _, t in pairs):        # some run leaves through the top
        ax.plot([], [], "^", color="gray", mec="black", label="left the view (diverging)")
    ax.set_yscale("log")
    ax.set_ylim(bottom, top * 1.5)
    ax.set(xlim=(0, steps), xlabel="step", ylabel="f(x) - f*  (log scale)")
    ax.grid(True, alpha=0.3)
    return curves


def _box(ax: Any) -> Any:
    return ax.get_xlim(), ax.get_ylim()


def animate_descent(grid: Any, runs: Any, path: str | os.PathLike[str], *, title: str | None = None,
                    max_frames: int = 60, fps: int = 8) -> Path:
    """The optimizer race of ``runs`` (a Comparison, a dict or list of Trajectories) on the
    contours of ``grid``, step by step, with ``f - f*`` growing beside it."""
    pairs = as_runs(runs)
    if not pairs:
        raise ValueError("animate_descent: no runs to animate")
    steps = min(t.steps for _, t in pairs)
    fig = figure(12.0, 5.4)
    ax, gap_ax = fig.subplots(1, 2, width_ratios=(1.15, 1))
    draw_landscape(ax, grid)
    draw_critical_points(ax, grid.critical_points, legend=False)
    box = _box(ax)
    paths = [_Path(ax, _xy(t, grid.dim), RUN_COLORS[i % len(RUN_COLORS)], label, box)
             for i, (label, t) in enumerate(pairs)]
    gap_lines = _gap_axes(gap_ax, pairs, steps)
    gap_ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    chosen = frame_steps(steps, max_frames)
    name = title or f"descent on {grid.function}"

    def draw(frame: int) -> None:
        k = int(chosen[frame])
        for p in paths:
            p.show(k)
        for curve in gap_lines:
            curve.show(k)
        ax.set_title(f"{name}: step {k} of {steps}", fontsize=10)
        gap_ax.set_title("loss above the minimum", fontsize=10)

    return write_frames(fig, draw, len(chosen), path, fps=fps)


def animate_lr_triptych(triptych: Any, grid: Any, path: str | os.PathLike[str], *, max_frames: int = 60,
                        fps: int = 8) -> Path:
    """The three learning rates of a :class:`~gradwise.insight.Triptych` side by side, step by
    step, each panel titled with its rate and the verdict of the whole run."""
    runs = list(triptych.runs)
    steps = min(r.steps for r in runs)
    fig = figure(13.0, 6.4)
    mosaic = fig.subplot_mosaic([["a", "b", "c"], ["d", "d", "d"]], height_ratios=(1, 0.8))
    panels = [mosaic[k] for k in "abc"]
    paths = []
    pairs = []
    for i, (ax, run, verdict) in enumerate(zip(panels, runs, triptych.verdicts)):
        draw_landscape(ax, grid)
        draw_critical_points(ax, grid.critical_points, legend=False)
        verdict_text = verdict.label.replace("_", " ")
        ax.set_title(f"lr = {run.lr:.3g}: {verdict_text}", fontsize=10)
        paths.append(_Path(ax, _xy(run, grid.dim), RUN_COLORS[i % len(RUN_COLORS)], None, _box(ax)))
        pairs.append((f"lr = {run.lr:.3g} ({verdict_text})", run))
    gap_ax = mosaic["d"]
    gap_lines = _gap_axes(gap_ax, pairs, steps)
    gap_ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    chosen = frame_steps(steps, max_frames)

    def draw(frame: int) -> None:
        k = int(chosen[frame])
        for p in paths:
            p.show(k)
        for curve in gap_lines:
            curve.show(k)
        fig.suptitle(f"learning rate on {triptych.function}: same start, three step sizes (step {k} of {steps})")

    return write_frames(fig, draw, len(chosen), path, fps=fps)


_MODE_STYLE = {"full": ("tab:blue", "full batch"), "sgd": ("tab:red", "stochastic (B=1)"),
               "minibatch": ("tab:green", "mini-batch")}


def animate_batch_modes(comparison: Any, path: str | os.PathLike[str], *, frames: int = 50, fps: int = 8) -> Path:
    """A :class:`~gradwise.insight.BatchModeComparison` as training goes: the loss over the whole
    training set and the loss of each update's own batch against epochs, revealed up to the
    epoch each frame shows."""
    fig = figure(12.0, 5.0)
    whole_ax, batch_ax = fig.subplots(1, 2)
    n = comparison.n_train
    series = []          # (line, x, y) revealed where x <= the frame's epoch
    for mode, run in comparison.runs.items():
        color, name = _MODE_STYLE.get(mode, ("black", mode))
        label = name + (f" (B={run.batch_size})" if mode == "minibatch" else "") + f", lr {run.lr:g}"
        (line,) = whole_ax.plot([], [], "o-", ms=3, color=color, label=label)
        series.append((line, np.asarray(run.epoch, dtype=float), np.asarray(run.train_loss, dtype=float), whole_ax))
        steps = run.steps
        if len(steps.get("loss", ())):
            x, loss = np.asarray(steps["samples_seen"], dtype=float) / n, np.asarray(steps["loss"], dtype=float)
            # the mean over a tenth of an epoch: single-sample losses span many decades, their mean does not
            k = max(1, min(run.updates_per_epoch // 10, len(loss)))
            mean = np.convolve(loss, np.ones(k) / k, mode="valid")
            (bline,) = batch_ax.plot([], [], "-", lw=1.4, color=color, label=label + (f" (mean of {k})" if k > 1
                                                                                        else ""))
            series.append((bline, x[k - 1:], mean, batch_ax))
    for ax, title in ((whole_ax, "loss over the whole training set"),
                      (batch_ax, "loss of each update's batch (running mean)")):
        shown = np.concatenate([y for _, _, y, a in series if a is ax] or [np.ones(1)])
        positive = shown[np.isfinite(shown) & (shown > 0)]
        ax.set_yscale("log")
        ax.set(xlim=(0, comparison.epochs), xlabel="epoch", ylabel="training loss (log scale)", title=title)
        if positive.size:
            ax.set_ylim(positive.min() / 1.5, positive.max() * 1.5)
    whole_ax.legend(fontsize=7, loc="upper right")
    epochs = np.linspace(0.0, float(comparison.epochs), max(2, frames))

    def draw(frame: int) -> None:
        t = float(epochs[frame])
        for line, x, y, _ in series:
            keep = x <= t + 1e-9
            line.set_data(x[keep], y[keep])
        fig.suptitle(f"full batch, stochastic and mini-batch descent from the same start: epoch {t:.2f} of "
                     f"{comparison.epochs}")

    return write_frames(fig, draw, len(epochs), path, fps=fps)
