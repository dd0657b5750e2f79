"""``gradwise slope``: the loss against one weight, its slope at points A, B, C, the step descent
takes from each, and the local minimum where the gradient is zero and descent stops.

The loss is a 1-D test function with a global and a local minimum (``--fn curve``, the
default) or ``--model tiny``: a 1-3-1 tanh network's training loss against one weight, the
other nine held at their trained values (:func:`gradwise.insight.slope.tiny_model_slice`).
By default the points are one where the slope is negative, one where it is positive, and the
local minimum itself, where it is zero.  ``--animate FILE`` (``.gif``, or ``.mp4`` with ffmpeg)
also writes the descents frame by frame.
"""

from __future__ import annotations

import argparse
from typing import Any

from gradwise.commands.gradient import figure_option, function_option, numbers_option
from gradwise.insight.functions import FUNCTIONS, DescentError

MODELS = ("tiny",)
# per loss: the points with a negative and a positive slope, and the default learning rate (the
# local minimum is added as the third point)
DEFAULTS: dict[str, tuple[tuple[float, ...], float]] = {"curve": ((-1.15, 1.7), 0.1), "tiny": ((-5.0, 2.5), 2.0)}


def run_slope(args: argparse.Namespace) -> int:
    """``gradwise slope``: draw the slope picture (and its animation)."""
    from gradwise.insight.functions import Objective
    from gradwise.insight.slope import slope_view, tiny_model_slice
    from gradwise.viz.slope_plots import animate_slope, plot_slope

    out = figure_option(args.out)
    animate = None
    if args.animate is not None:
        from gradwise.viz.animation import check_animation_path

        animate = check_animation_path(args.animate)
    if args.steps < 1:
        raise DescentError(f"--steps: expected a positive integer, got {args.steps}")
    if args.lr is not None and not args.lr > 0:
        raise DescentError(f"--lr: expected a positive learning rate, got {args.lr}")
    fn: str | Objective
    if args.model is not None:
        key, fn, variable = args.model, tiny_model_slice(), "w"
    else:
        key = fn = function_option("curve" if args.fn is None else args.fn, dim=1)
        variable = "x"
    points, lr = DEFAULTS.get(key, ((), 0.1))
    lr = args.lr if args.lr is not None else lr
    at: list[float] | None
    if args.at is not None:
        at = numbers_option(args.at, "--at", what=" (points on the horizontal axis, e.g. -1.3,1.7,1)")
        if len(at) > 26:
            raise DescentError(f"--at: at most 26 points (labelled A to Z), got {len(at)}")
    else:
        from gradwise.insight.slope import minima_1d

        obj = FUNCTIONS[fn] if isinstance(fn, str) else fn
        local = [m.point[0] for m in (obj.minima or minima_1d(obj)) if not m.is_global]
        at = [*points, *local[:1]] if points else None
    view = slope_view(fn, at, lr=lr, steps=args.steps, variable=variable)
    plot_slope(view, out)
    var = view.variable
    print(f"slope: {view.function}, plain gradient descent with lr {view.lr:g} for {args.steps} steps")
    t = view.tangents
    for i, label in enumerate(view.labels):
        p = view.paths[i]
        sign = {-1: f"{t.slopes[i]:.4g} < 0: step right by {-view.lr * t.slopes[i]:+.3g}", 0: "0: no step",
                1: f"{t.slopes[i]:.4g} > 0: step left by {-view.lr * t.slopes[i]:+.3g}"}[int(t.signs[i])]
        end = f"local minimum at {var} = {view.minima[view.trapped[label]].point[0]:.4g} (trapped)" \
            if label in view.trapped else ("the global minimum" if p.reached_global else
                                           f"{var} = {p.final[0]:.4g}, loss {p.final_loss:.4g}")
        print(f"  {label}: {var} = {t.x[i]:.4g}, loss {t.values[i]:.4g}, dL/d{var} = {sign}; descent ends at {end}")
    for m in view.minima:
        print(f"  {'global' if m.is_global else 'local'} minimum: {var} = {m.point[0]:.4g}, loss {m.value:.4g}")
    print(f"wrote {out}")
    if animate is not None:
        animate_slope(view, animate)
        print(f"wrote {animate}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``slope`` to the ``gradwise`` command's subparsers."""
    names = ", ".join(k for k, f in FUNCTIONS.items() if f.dim == 1)
    p = subparsers.add_parser(
        "slope", help="the loss against one weight: the slope at A, B, C, the step descent takes, the local minimum",
        description="Plot a loss against one weight (a 1-D test function with a local and a global minimum, or a "
                    "tiny network's loss with its other weights fixed); at chosen points draw the tangent, the sign "
                    "of the gradient and the step plain gradient descent takes, and mark the local minimum where "
                    "the gradient is zero and descent stops.")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--fn", help=f"1-D test function: {names} (default curve)")
    source.add_argument("--model", choices=MODELS,
                        help="instead of --fn: a tiny 1-3-1 tanh network's training loss against one weight")
    p.add_argument("--at", help="comma-separated points, labelled A, B, C... (default: a point with a negative "
                                "slope, one with a positive slope and the local minimum)")
    p.add_argument("--lr", type=float, help="learning rate of the descents (default: 0.1 for curve, 2 for tiny)")
    p.add_argument("--steps", type=int, default=200, help="descent steps from each point")
    p.add_argument("--out", default="slope.png", help="figure file: .png, .svg or .pdf")
    p.add_argument("--animate", metavar="FILE", help="also write the descents as an animation: .gif (or .mp4 where "
                                                     "ffmpeg is installed)")
    p.set_defaults(handler=run_slope)
