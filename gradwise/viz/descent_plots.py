"""Pictures of descent on a network: the batch-mode comparison and the LR range test."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish
from gradwise.viz.function_plots import role_gid, split_at_view

_MODE_STYLE = {"full": ("tab:blue", "full batch"), "sgd": ("tab:red", "stochastic (B=1)"),
               "minibatch": ("tab:green", "mini-batch")}


def _rates_note(comparison: Any) -> str:
    """The learning rate(s) in words: one rate for all modes, or a warning that they differ."""
    rates = {m: r.lr for m, r in comparison.runs.items()}
    if len(set(rates.values())) == 1:
        return f"the same lr = {next(iter(rates.values())):g} for every mode"
    listed = ", ".join(f"{_MODE_STYLE.get(m, (None, m))[1]} {lr:g}" for m, lr in rates.items())
    return f"rates differ per mode ({listed}): the curves mix the mode's effect with the rate's"


def plot_batch_modes(comparison: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """Six panels from a :class:`~gradwise.insight.BatchModeComparison`: the loss over the whole
    training set for every mode against epochs, gradient evaluations (samples seen), optimizer
    updates and wall time; the loss of each update's own batch (what each step sees, with the
    10-90 % band of the batch losses, all inside the axes); and the mini-batch gradient variance
    ``E||g_B - g||^2`` against ``B`` (log-log) with the closed form and a ``1/B`` guide.  The
    figure's title says whether every mode ran at the same learning rate; the legend sits
    below the panels, off the data."""
    fig = figure(14, 8.6)
    axes = fig.subplots(2, 3)
    n = comparison.n_train
    shown: list[np.ndarray] = []
    bands: list[tuple[np.ndarray, np.ndarray, np.ndarray, Any]] = []
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
                axes[1, 1].plot(x, loss, "o-", color=color, ms=3)
                shown.append(np.asarray(loss))
            else:
                # over windows of a tenth of an epoch: the mean, and the 10-90 % band of the batch losses
                k = max(1, min(run.updates_per_epoch // 10, len(loss)))
                windows = np.lib.stride_tricks.sliding_window_view(loss, k)[::max(1, k // 4)]
                xw = x[k - 1:][::max(1, k // 4)]
                low, high = np.percentile(windows, [10, 90], axis=1)
                mean = windows.mean(axis=1)
                axes[1, 1].plot(xw, mean, "-", color=color, lw=1.5)
                bands.append((xw, low, high, color))
                shown += [mean, low, high]
    values = np.concatenate(shown) if shown else np.zeros(0)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size:
        # the limits hold every line and band; a band edge at exactly 0 (-inf on a log axis: a B=1
        # batch can be fitted exactly) is drawn at the lowest positive value, where the axes end
        floor = float(values.min())
        axes[1, 1].set_ylim(floor / 1.5, values.max() * 1.5)
        for xw, low, high, color in bands:
            axes[1, 1].fill_between(xw, np.clip(low, floor, None), np.clip(high, floor, None), color=color,
                                    alpha=0.2, lw=0, gid=role_gid("band"))
    for ax, xlabel, title in ((axes[0, 0], "epoch", "per epoch"),
                              (axes[0, 1], "gradient evaluations (samples seen)", "per gradient evaluation"),
                              (axes[0, 2], "optimizer updates (first point: 0)", "per update"),
                              (axes[1, 0], "wall time (s)", "per second"),
                              (axes[1, 1], "epoch", "each update's own batch loss\n(mean and 10-90 % band)")):
        ax.set(xlabel=xlabel, ylabel="training loss (whole set)" if ax is not axes[1, 1] else "batch loss")
        ax.set_title(title, fontsize=11)
        ax.set_yscale("log")
    axes[0, 2].set_xscale("log")
    v = comparison.variance
    ax = axes[1, 2]
    ax.errorbar(v.batch_sizes, v.variance, yerr=2 * v.std_error, fmt="o", color="black", ms=4, capsize=2,
                label=f"measured noise ({v.num_batches} batches per size, +-2 s.e.)")
    b = np.asarray(v.batch_sizes, dtype=np.float64)
    ax.plot(b, v.predicted, "-", color="tab:purple", label=r"predicted $\sigma^2/B \cdot (N-B)/(N-1)$")
    ax.plot(b, v.per_sample_variance / b, ":", color="gray", label=r"$\sigma^2/B$ guide")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set(xlabel="batch size B", ylabel=r"$E\,\|g_B - g\|^2$")
    ax.set_title(f"batch-gradient noise at the start\n(log-log slope {v.slope:.2f})", fontsize=11)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    more, more_labels = ax.get_legend_handles_labels()
    fig.legend(handles + more, labels + more_labels, loc="outside lower center", ncols=3, fontsize=9)
    fig.suptitle(f"full-batch vs stochastic vs mini-batch descent from the same weights, plain SGD, "
                 f"N = {n}\n{_rates_note(comparison)}", fontsize=13)
    return finish(fig, path)


_MARKERS = {"steepest": ("v", "tab:red"), "valley": ("o", "tab:green"), "minimum/10": ("s", "tab:purple")}
# what each rule means, in a few words on the plot (the full reason is in result.to_text())
_EXPLAIN = {"steepest": "steepest: the loss falls fastest here",
            "valley": "valley: halfway along the longest fall",
            "minimum/10": "minimum/10: a tenth of the lr at the lowest loss"}


def plot_lr_finder(result: Any, path: str | os.PathLike[str] | None = None, stable_lr: float | None = None) -> Any:
    """The LR range test: raw and smoothed loss (the debiased moving average) against the
    learning rate (log scale), every suggestion marked on the curve with a short note saying
    what its rule is; ``stable_lr`` (e.g. ``2 / lambda_max``) shades the rates beyond it.  The
    legend sits below the axes, off the curves."""
    fig = figure(8.5, 5.8)
    ax = fig.subplots()
    lrs, sm = result.lrs, result.smoothed
    beta = result.settings.get("smooth", float("nan"))
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
    ax.set_xlim(lrs[0] / 1.5, lrs[-1] * 1.5)
    box = (ax.get_xlim(), ax.get_ylim())
    # both curves are drawn inside the view only; where they leave it (the blow-up at the end) a
    # triangle on the edge marks it, so nothing is cut off unannounced
    for values, style, name in ((result.losses, dict(alpha=0.3, lw=0.8, ms=6), "batch loss"),
                                (sm, dict(lw=2, ms=10), f"smoothed: moving average, beta = {beta:g}, debiased "
                                                        "(/ (1 - beta^t))")):
        pieces, exits = split_at_view(np.log10(lrs), np.asarray(values, dtype=float),
                                      ((np.log10(box[0][0]), np.log10(box[0][1])), box[1]))
        for k, piece in enumerate(pieces):
            ax.plot(10 ** piece[:, 0], piece[:, 1], color="tab:blue", lw=style["lw"], alpha=style.get("alpha", 1.0),
                    gid=role_gid("path"), label=name if k == 0 else None)
        for edge, _, direction in exits:
            ax.plot(10 ** edge[0], edge[1], "^" if direction[1] > 0 else "v", color="tab:blue",
                    alpha=style.get("alpha", 1.0) ** 0.5, mec="black", ms=style["ms"], clip_on=False, zorder=6,
                    gid=role_gid("path-exit"))
    if len(sm) and not (box[1][0] <= sm[-1] <= box[1][1]):
        ax.plot([], [], "^", color="tab:blue", mec="black", ms=8, label="a curve leaves the view (blow-up)")
    order = sorted(result.suggestions, key=lambda s: s.lr)
    for k, s in enumerate(order):
        marker, color = _MARKERS.get(s.name, ("D", "black"))
        ax.plot([s.lr], [s.loss], marker, color=color, ms=10, mec="black", zorder=5, gid=role_gid("suggestion"),
                label=f"{s.name}: lr = {s.lr:.2g}")
        ax.axvline(s.lr, color=color, lw=0.9, ls="--", alpha=0.7)
        # the notes stack up from the lower left, below the flat start of the curve, each with an
        # arrow to its marker, so no note sits on the curve or on another marker
        ax.annotate(_EXPLAIN.get(s.name, s.name) + f" (lr = {s.lr:.2g})", (s.lr, s.loss), xycoords="data",
                    xytext=(0.02, 0.04 + 0.13 * (len(order) - 1 - k)), textcoords="axes fraction", ha="left",
                    va="bottom", fontsize=9, color="black", gid=role_gid("suggestion-note"),
                    bbox=dict(boxstyle="round,pad=0.25", fc="white", ec=color, alpha=0.95),
                    arrowprops=dict(arrowstyle="->", color=color, lw=1.0, shrinkB=6))
    if stable_lr is not None:
        ax.axvspan(stable_lr, lrs[-1] * 1.5, color="tab:red", alpha=0.08, label=f"unstable (lr > {stable_lr:.2g})")
    ax.set(xlabel="learning rate (log scale)", ylabel="training loss")
    ax.set_title(f"LR range test: {len(lrs)} steps, lr {lrs[0]:.2g} -> {lrs[-1]:.2g}\n{result.stop_reason}",
                 fontsize=11)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(0.0, -0.14), ncols=2, borderaxespad=0)
    return finish(fig, path)
