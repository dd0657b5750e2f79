"""Pictures of a training run: loss, metrics and learning rate (from a ``History``), gradient
flow through the layers (from a ``GradientMonitor``) and weight/gradient histograms over
epochs (from a ``HistogramRecorder``)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish

_SKIP = ("epoch", "loss", "lr", "samples_seen", "wall_time", "val_loss")


def _tables(history: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(steps, epochs)`` arrays from a History or its ``state_dict()``/JSON form."""
    if hasattr(history, "steps") and hasattr(history, "epochs") and not isinstance(history, Mapping):
        return dict(history.steps), dict(history.epochs)
    if isinstance(history, Mapping) and "steps" in history and "epochs" in history:
        def arr(col: Any) -> np.ndarray:
            return np.array([math.nan if v is None else v for v in col], dtype=np.float64)
        return ({k: arr(v) for k, v in history["steps"].items()}, {k: arr(v) for k, v in history["epochs"].items()})
    raise TypeError(f"training_curves: expected a gradwise.train.History (or its state_dict), got "
                    f"{type(history).__name__}")


def training_curves(history: Any, path: str | os.PathLike[str] | None = None, title: str | None = None) -> Any:
    """Four panels: loss (per step and per epoch, with ``val_loss``), metrics (per epoch, training
    and validation), the learning rate and the global gradient norm (per step).  Steps are
    placed at ``samples_seen / samples per epoch``, so every panel reads in epochs.

    Returns the ``matplotlib.figure.Figure``; writes it to ``path`` (``.png``/``.svg``/``.pdf``)
    when given.
    """
    steps, epochs = _tables(history)
    if len(epochs.get("epoch", ())) == 0 and len(steps.get("step", ())) == 0:
        raise ValueError("training_curves: the history is empty (no step or epoch was recorded)")
    per_epoch = float(epochs["samples_seen"][0]) if len(epochs.get("samples_seen", ())) else float("nan")
    xs = steps["samples_seen"] / per_epoch if per_epoch > 0 else steps.get("step", np.arange(len(steps["loss"])))
    xe = epochs["epoch"] + 1 if "epoch" in epochs else np.arange(1, len(epochs.get("loss", ())) + 1)
    fig = figure(10, 6.4)
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    if len(steps.get("loss", ())):
        ax.plot(xs, steps["loss"], color="tab:blue", alpha=0.25, lw=0.8, label="batch loss")
    if len(epochs.get("loss", ())):
        ax.plot(xe, epochs["loss"], "o-", color="tab:blue", ms=3, label="train loss (epoch mean)")
    if "val_loss" in epochs:
        ax.plot(xe, epochs["val_loss"], "s-", color="tab:orange", ms=3, label="validation loss")
    batch_loss = np.asarray(steps.get("loss", np.zeros(0)))
    finite = batch_loss[np.isfinite(batch_loss)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 30:
        ax.set_yscale("log")
    ax.set(title="loss", xlabel="epoch", ylabel="loss")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    names = [k for k in epochs if k not in _SKIP and not k.startswith("val_")]
    names += [k for k in epochs if k.startswith("val_") and k != "val_loss"]
    colors: dict[str, Any] = {}
    for k in names:
        base = k.removeprefix("val_")
        line = ax.plot(xe, epochs[k], "s--" if k.startswith("val_") else "o-", ms=3, label=k,
                       color=colors.get(base))
        colors.setdefault(base, line[0].get_color())
    ax.set(title="metrics", xlabel="epoch")
    if names:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no metrics recorded", ha="center", va="center", transform=ax.transAxes, color="gray")
    ax = axes[1, 0]
    if len(steps.get("lr", ())):
        ax.plot(xs, steps["lr"], color="tab:green")
        lr = steps["lr"][np.isfinite(steps["lr"]) & (steps["lr"] > 0)]
        if lr.size and lr.max() / lr.min() > 20:
            ax.set_yscale("log")
    ax.set(title="learning rate", xlabel="epoch", ylabel="lr")
    ax = axes[1, 1]
    if len(steps.get("grad_norm", ())):
        g = steps["grad_norm"]
        ax.plot(xs, np.where(g > 0, g, np.nan), color="tab:red", lw=0.8)
        if np.nanmax(np.where(g > 0, g, np.nan), initial=0) > 0:
            ax.set_yscale("log")
    ax.set(title="gradient norm (all parameters, before clipping)", xlabel="epoch", ylabel="||g||")
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def _layer_series(monitor: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Layer labels, the sampled steps ``(T,)`` and the gradient norms ``(L, T)`` of a GradientMonitor."""
    names = list(monitor.layer_names)
    hists = [monitor.layer_history(n) for n in names]
    if not hists or len(hists[0].steps) == 0:
        raise ValueError("gradient_flow: the monitor has no records yet; pass it to fit(callbacks=[monitor]) "
                         "or call observe_gradients() after backward")
    labels = [f"{h.name} ({h.kind}" + (f"+{h.activation})" if h.activation else ")") for h in hists]
    steps = np.asarray(hists[0].steps)
    norms = np.stack([np.asarray(h.grad_norm, dtype=np.float64) for h in hists])
    return labels, steps, norms


def gradient_flow(monitor: Any, path: str | os.PathLike[str] | None = None, max_lines: int = 40) -> Any:
    """Gradient flow through the layers of a monitored network.

    Left: the gradient norm of every layer (input side first, log scale), one line per
    sampled step coloured from early (dark) to late (light), the median in black: a line
    that falls towards the input is a vanishing gradient, one that rises an exploding one.
    Right: the same norms as a layers-by-steps map (``log10 ||g||``).  The monitor keeps
    its last ``window`` sampled steps (``GradientMonitor(model, window=...)``).
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    labels, steps, norms = _layer_series(monitor)
    with np.errstate(divide="ignore", invalid="ignore"):
        logn = np.where(norms > 0, np.log10(norms), np.nan)
    fig = figure(11, 4.4)
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.25])
    cmap = colormaps["viridis"]
    norm = Normalize(vmin=float(steps[0]), vmax=float(max(steps[-1], steps[0] + 1)))
    pick = np.unique(np.linspace(0, len(steps) - 1, min(max_lines, len(steps))).round().astype(int))
    x = np.arange(len(labels))
    for t in pick:
        ax.plot(x, np.where(norms[:, t] > 0, norms[:, t], np.nan), color=cmap(norm(steps[t])), lw=1, alpha=0.7)
    with np.errstate(all="ignore"):
        med = np.nanmedian(np.where(norms > 0, norms, np.nan), axis=1) if np.isfinite(logn).any() else None
    if med is not None:
        ax.plot(x, med, "o-", color="black", lw=2, ms=4, label="median over steps")
        ax.legend(fontsize=8)
        ax.set_yscale("log")
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set(title="gradient norm per layer (input -> output)", ylabel="||grad||")
    sm = fig.colorbar(_mappable(cmap, norm), ax=ax)
    sm.set_label("step")
    mesh = ax2.pcolormesh(np.arange(len(steps) + 1), np.arange(len(labels) + 1), logn, cmap="magma", shading="flat")
    ax2.set_yticks(x + 0.5, labels, fontsize=8)
    tick = np.unique(np.linspace(0, len(steps) - 1, min(6, len(steps))).round().astype(int))
    ax2.set_xticks(tick + 0.5, [str(int(steps[t])) for t in tick])
    ax2.set(title="log10 gradient norm over time", xlabel="step")
    fig.colorbar(mesh, ax=ax2).set_label("log10 ||grad||")
    return finish(fig, path)


def _mappable(cmap: Any, norm: Any) -> Any:
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=norm, cmap=cmap)
    sm.set_array([])
    return sm


def weight_histograms(recorder: Any, path: str | os.PathLike[str] | None = None,
                      names: Sequence[str] | None = None, max_params: int = 6) -> Any:
    """Histograms of weights (left column) and gradients (right column) over epochs, one row per
    parameter (default: the first ``max_params`` recorded), drawn as ridgelines: each epoch's
    histogram is a curve, later epochs higher up and lighter."""
    from matplotlib import colormaps

    chosen = list(names) if names is not None else list(recorder.names)[:max_params]
    if not chosen:
        raise ValueError("weight_histograms: the recorder has no histograms yet; pass it to fit(callbacks=[...])")
    fig = figure(10, 1.9 * len(chosen) + 0.8)
    axes = np.atleast_2d(fig.subplots(len(chosen), 2, squeeze=False))
    cmap = colormaps["viridis"]
    for row, name in enumerate(chosen):
        for col, kind in enumerate(("weight", "grad")):
            h = recorder.histograms(name, kind)
            ax = axes[row, col]
            s = len(h.epochs)
            for k in range(s):
                edges, counts = h.edges[k], h.counts[k]
                if not np.isfinite(edges).all() or counts.max() <= 0:
                    continue
                centers = (edges[:-1] + edges[1:]) / 2
                base = 0.6 * k
                color = cmap(k / max(s - 1, 1))
                ax.fill_between(centers, base, base + counts / counts.max(), color=color, alpha=0.35, lw=0)
                ax.plot(centers, base + counts / counts.max(), color=color, lw=0.9)
            ax.set_yticks([0.6 * k for k in range(0, s, max(1, s // 5))],
                          [str(int(h.epochs[k])) for k in range(0, s, max(1, s // 5))], fontsize=7)
            ax.set_ylabel("epoch", fontsize=8)
            ax.set_title(f"{name}: {'weights' if kind == 'weight' else 'gradients'}", fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
    return finish(fig, path)
