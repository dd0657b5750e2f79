"""Pictures of descent on a network: the batch-mode comparison and the LR range test."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish

_MODE_STYLE = {"full": ("tab:blue", "full batch"), "sgd": ("tab:red", "stochastic (B=1)"),
               "minibatch": ("tab:green", "mini-batch")}


def plot_batch_modes(comparison: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """Six panels from a :class:`~gradwise.insight.BatchModeComparison`: the loss over the whole
    training set for every mode against epochs, gradient evaluations (samples seen), optimizer
    updates and wall time; the loss of each update's own batch (what each step sees); and the
    mini-batch gradient variance ``E||g_B - g||^2`` against ``B`` (log-log) with the closed form
    and a ``1/B`` guide."""
    fig = figure(14, 7.6)
    axes = fig.subplots(2, 3)
    n = comparison.n_train
    for mode, run in comparison.runs.items():
        color, name = _MODE_STYLE.get(mode, (None, mode))
        label = f"{name}" + (f" (B={run.batch_size})" if mode == "minibatch" else "") + f", lr {run.lr:g}"
        updates = run.epoch * run.updates_per_epoch
        for ax, x in zip((axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0]),
                         (run.epoch, run.samples_seen, np.maximum(updates, 0.5), run.wall_time)):
            ax.plot(x, run.train_loss, "o-", ms=3, color=color, label=label)
        steps = run.steps
        if len(steps.get("loss", ())):
            x, loss = steps["samples_seen"] / n, steps["loss"]
            if run.updates_per_epoch == 1:
                axes[1, 1].plot(x, loss, "o-", color=color, ms=3, label=label)
            else:
                # over windows of a tenth of an epoch: the mean, and the 10-90 % band of the batch losses
                k = max(1, min(run.updates_per_epoch // 10, len(loss)))
                windows = np.lib.stride_tricks.sliding_window_view(loss, k)[::max(1, k // 4)]
                xw = x[k - 1:][::max(1, k // 4)]
                low, high = np.percentile(windows, [10, 90], axis=1)
                axes[1, 1].fill_between(xw, low, high, color=color, alpha=0.2, lw=0)
                axes[1, 1].plot(xw, windows.mean(axis=1), "-", color=color, lw=1.5,
                                label=label + " (mean, 10-90 % band)")
    finals = np.concatenate([r.train_loss for r in comparison.runs.values()])
    finals = finals[np.isfinite(finals) & (finals > 0)]
    if finals.size:
        axes[1, 1].set_ylim(finals.min() / 5, finals.max() * 3)
    for ax, xlabel, title in ((axes[0, 0], "epoch", "per epoch"),
                              (axes[0, 1], "gradient evaluations (samples seen)", "per unit of gradient work"),
                              (axes[0, 2], "optimizer updates (first point: 0)", "per update"),
                              (axes[1, 0], "wall time (s)", "per second"),
                              (axes[1, 1], "epoch", "loss of each update's batch")):
        ax.set(xlabel=xlabel, ylabel="training loss", title=title)
        ax.set_yscale("log")
    axes[0, 0].legend(fontsize=7)                    # the same runs in every loss panel: one legend each kind
    axes[1, 1].legend(fontsize=7)
    axes[0, 2].set_xscale("log")
    v = comparison.variance
    ax = axes[1, 2]
    ax.errorbar(v.batch_sizes, v.variance, yerr=2 * v.std_error, fmt="o", color="black", ms=4, capsize=2,
                label=f"measured ({v.num_batches} batches per size, +-2 s.e.)")
    b = np.asarray(v.batch_sizes, dtype=np.float64)
    ax.plot(b, v.predicted, "-", color="tab:purple", label=r"$\sigma^2/B \cdot (N-B)/(N-1)$")
    ax.plot(b, v.per_sample_variance / b, ":", color="gray", label=r"$\sigma^2/B$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set(xlabel="batch size B", ylabel=r"$E\,\|g_B - g\|^2$",
           title=f"batch-gradient noise at the start (slope {v.slope:.2f})")
    ax.legend(fontsize=7)
    return finish(fig, path)


_MARKERS = {"steepest": ("v", "tab:red"), "valley": ("o", "tab:green"), "minimum/10": ("s", "tab:purple")}


def plot_lr_finder(result: Any, path: str | os.PathLike[str] | None = None, stable_lr: float | None = None) -> Any:
    """The LR range test: raw and smoothed loss against the learning rate (log scale) with a
    marker and a legend entry for every suggestion; ``stable_lr`` (e.g. ``2 / lambda_max``)
    shades the rates beyond it."""
    fig = figure(7.5, 4.6)
    ax = fig.subplots()
    lrs, sm = result.lrs, result.smoothed
    ax.plot(lrs, result.losses, color="tab:blue", alpha=0.25, lw=0.8, label="batch loss")
    ax.plot(lrs, sm, color="tab:blue", lw=2, label="smoothed loss")
    for s in result.suggestions:
        marker, color = _MARKERS.get(s.name, ("D", "black"))
        ax.plot([s.lr], [s.loss], marker, color=color, ms=9, mec="black",
                label=f"{s.name}: lr = {s.lr:.2g}")
        ax.axvline(s.lr, color=color, lw=0.8, ls="--", alpha=0.6)
    if stable_lr is not None:
        ax.axvspan(stable_lr, lrs[-1] * 1.5, color="tab:red", alpha=0.08, label=f"unstable (lr > {stable_lr:.2g})")
    finite = sm[np.isfinite(sm)]
    if finite.size:
        # from the start to the lowest smoothed loss: the part worth reading (the blow-up runs off the top)
        stop = int(np.argmin(np.where(np.isfinite(sm), sm, np.inf)))
        raw = result.losses[:stop + 1]
        raw = raw[np.isfinite(raw)]
        low = min(float(finite.min()), float(raw.min()) if raw.size else np.inf)
        high = float(np.max(sm[:max(stop, 1) + 1][np.isfinite(sm[:max(stop, 1) + 1])]))
        pad = 0.15 * max(high - low, abs(low) * 0.05, 1e-12)
        ax.set_ylim(low - pad, high + 2 * pad)
    ax.set_xscale("log")
    ax.set(xlabel="learning rate", ylabel="loss", title=f"LR range test ({result.stop_reason})")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8, loc="best")
    return finish(fig, path)
