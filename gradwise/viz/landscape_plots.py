"""Pictures of loss landscapes: a 1-D interpolation and a 2-D surface (random filter-normalised
plane, or the PCA plane of a training path with the path drawn on it)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure, finish
from gradwise.viz.function_plots import role_gid


def _locator(n: int) -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n)


def plot_interpolation(line: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """Loss against ``a`` along ``(1 - a) theta_0 + a theta_1`` (an
    :class:`~gradwise.insight.Interpolation`), the two endpoints marked."""
    fig = figure(6.5, 4)
    ax = fig.subplots()
    ax.plot(line.alphas, line.losses, "-", color="tab:blue", lw=2)
    ax.plot([0, 1], [line.start_loss, line.end_loss], "o", color="tab:red", ms=7, zorder=3)
    for a, loss, text in ((0, line.start_loss, line.labels[0]), (1, line.end_loss, line.labels[1])):
        ax.annotate(f"{text}\n{loss:.3g}", (a, loss), textcoords="offset points", xytext=(0, 10), ha="center",
                    fontsize=8)
    ax.margins(y=0.18)
    pos = line.losses[np.isfinite(line.losses)]
    if pos.size and pos.min() > 0 and pos.max() / pos.min() > 30:
        ax.set_yscale("log")
    ax.set(xlabel=r"$a$ in $(1-a)\,\theta_0 + a\,\theta_1$", ylabel="loss",
           title=f"1-D interpolation ({line.labels[0]} -> {line.labels[1]}, distance {line.distance:.3g})")
    ax.title.set_fontsize(11)
    return finish(fig, path)


FILTER_NORMALISED = ("filter-normalised: each random direction is rescaled filter by filter (one unit's incoming "
                     "weights) to the norm of that filter in the trained weights (Li et al., 2018), so 1 on an axis "
                     "moves every unit's weights by their own size. No training path: random directions in weight "
                     "space are almost orthogonal to it (see the trajectory kind).")
PCA_PLANE = (r"the plane of the training path's two principal directions (PCA of $\theta_t-\theta_{final}$), centred "
             "on the trained weights; the path is drawn from its start (circle) to its end (star).")


def plot_surface(surface: Any, path: str | os.PathLike[str] | None = None, three_d: bool = True) -> Any:
    """A :class:`~gradwise.insight.Surface` as filled contours of ``log10(loss)`` (left) and, with
    ``three_d``, as a 3-D surface (right, z axis ``log10 loss``); a training path, when the
    surface has one, is drawn on both from its start (circle) to its end (star).  A caption
    under the title says what the plane is (what "filter-normalised" means, or which PCA
    plane); the legend sits below the axes."""
    import textwrap

    a, b, loss = surface.alphas, surface.betas, surface.losses
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(np.where(loss > 0, loss, np.nan))
    finite = z[np.isfinite(z)]
    has_path = surface.path is not None
    fig = figure(12 if three_d else 6.5, 6.4)
    ax = fig.add_subplot(1, 2 if three_d else 1, 1)
    levels = np.linspace(finite.min(), finite.max(), 25) if finite.size and np.ptp(finite) > 0 else 10
    cs = ax.contourf(a, b, z, levels=levels, cmap="viridis")
    ax.contour(a, b, z, levels=levels, colors="white", linewidths=0.3, alpha=0.5)
    bar = fig.colorbar(cs, ax=ax, format="%.2f")
    bar.set_label("log10 loss")
    bar.locator = _locator(6)
    bar.update_ticks()
    names = ("PC 1", "PC 2") if has_path else ("direction 1", "direction 2")
    if has_path:
        p = surface.path
        ax.plot(p[:, 0], p[:, 1], "-", color="tab:red", lw=1.8, gid=role_gid("path"),
                label="training path (one dot per epoch)")
        ax.plot(p[:, 0], p[:, 1], ".", color="white", ms=4)
        ax.plot(p[0, 0], p[0, 1], "o", color="tab:red", mec="white", ms=9,
                label=f"start, loss {surface.path_losses[0]:.3g}")
        ax.plot(p[-1, 0], p[-1, 1], "*", color="gold", mec="black", ms=14,
                label=f"end (trained), loss {surface.path_losses[-1]:.3g}")
        ev = surface.explained_variance
        ax.set(xlabel=f"PC 1 ({ev[0]:.1%} of the path's variance)", ylabel=f"PC 2 ({ev[1]:.1%})")
    else:
        ax.plot(0, 0, "*", color="gold", mec="black", ms=14, label=f"trained weights, loss {surface.center_loss:.3g}")
        ax.set(xlabel="direction 1 (filter-normalised)", ylabel="direction 2 (filter-normalised)")
    ax.set_title(f"loss surface: {surface.kind}", fontsize=12)
    if three_d:
        ax3 = fig.add_subplot(1, 2, 2, projection="3d", computed_zorder=False)
        aa, bb = np.meshgrid(a, b)
        ax3.plot_surface(aa, bb, np.where(np.isfinite(z), z, np.nan), cmap="viridis", linewidth=0,
                         antialiased=True, rstride=1, cstride=1, alpha=0.8, zorder=1)
        if has_path:
            pz = np.log10(np.maximum(surface.path_losses, 1e-300))
            ax3.plot(surface.path[:, 0], surface.path[:, 1], pz, "-", color="tab:red", lw=2.2, zorder=5,
                     gid=role_gid("path"))
            ax3.scatter(surface.path[[0], 0], surface.path[[0], 1], pz[[0]], color="tab:red", edgecolor="white", s=50,
                        zorder=6, depthshade=False)
            ax3.scatter(surface.path[[-1], 0], surface.path[[-1], 1], pz[[-1]], marker="*", color="gold",
                        edgecolor="black", s=160, zorder=6, depthshade=False)
        else:
            ax3.scatter([0], [0], [np.log10(max(surface.center_loss, 1e-300))], marker="*", color="gold",
                        edgecolor="black", s=160, zorder=6, depthshade=False)
        for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
            axis.set_major_locator(_locator(4))
        ax3.tick_params(labelsize=8)
        ax3.set_xlabel(names[0], fontsize=10)
        ax3.set_ylabel(names[1], fontsize=10)
        ax3.set_zlabel("log10 loss", fontsize=10)
        ax3.set_title("the same surface in 3-D" + (" with the path" if has_path else ""), fontsize=12)
        ax3.view_init(elev=35, azim=-60)
        ax3.set_box_aspect(None, zoom=0.85)
    caption = PCA_PLANE if has_path else FILTER_NORMALISED
    fig.suptitle("\n".join(textwrap.wrap(caption, 140 if three_d else 80)), fontsize=10)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncols=2, borderaxespad=0)
    return finish(fig, path)
