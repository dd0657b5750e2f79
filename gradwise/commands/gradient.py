"""``gradwise gradient --fn F --at x,y``: the gradient at one point of a 2-D test function, pictured.

The picture (:func:`gradwise.viz.gradient_plots.plot_gradient`): the contours around the point,
the gradient and the negative gradient, a fan of unit directions ``u`` coloured by the
directional derivative ``grad f . u = |grad f| cos(theta)`` (with a colour bar), and beside it
that rate against theta, marking steepest ascent (theta = 0), steepest descent (theta = pi)
and no change along the contour (theta = +-pi/2).

A bad ``--fn``/``--at``/``--out`` raises :class:`~gradwise.insight.DescentError` naming the
option and what is valid; ``gradwise.cli`` prints it in one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from gradwise.insight.functions import FUNCTIONS, DescentError

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def function_option(text: str, option: str = "--fn", dim: int | None = None) -> str:
    """The test function named ``text``; the error lists the valid names (those of ``dim`` variables)."""
    names = ", ".join(k for k, f in FUNCTIONS.items() if dim is None or f.dim == dim)
    if text not in FUNCTIONS:
        raise DescentError(f"{option}: unknown test function {text!r}; choose one of {names}")
    if dim is not None and FUNCTIONS[text].dim != dim:
        raise DescentError(f"{option}: {text} is a function of {FUNCTIONS[text].dim} variable(s); this command "
                           f"needs {dim}: {names}")
    return text


def numbers_option(text: str, option: str, count: int | None = None, what: str = "") -> list[float]:
    """Comma-separated finite numbers (exactly ``count`` of them when given)."""
    values = []
    for part in text.split(","):
        try:
            value = float(part.strip())
        except ValueError:
            raise DescentError(f"{option}: expected comma-separated numbers{what}, got {text!r}") from None
        if not math.isfinite(value):
            raise DescentError(f"{option}: expected finite numbers{what}, got {text!r}")
        values.append(value)
    if count is not None and len(values) != count:
        raise DescentError(f"{option}: expected {count} comma-separated numbers{what}, got {text!r}")
    return values


def figure_option(text: str, option: str = "--out") -> Path:
    """A figure file name whose suffix picks the format."""
    path = Path(text)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise DescentError(f"{option}: the file name must end in {', '.join(FIGURE_SUFFIXES)} (the suffix picks "
                           f"the format), got {text!r}")
    return path


def run_gradient(args: argparse.Namespace) -> int:
    """``gradwise gradient``: draw the gradient and the directional derivatives at ``--at``."""
    from gradwise.insight.direction_fan import direction_fan, neighbourhood
    from gradwise.insight.function_views import function_grid
    from gradwise.viz.gradient_plots import plot_gradient

    fn = function_option(args.fn, dim=2)
    at = FUNCTIONS[fn].start if args.at is None else numbers_option(args.at, "--at", 2, " x,y (e.g. 1,-0.5)")
    out = figure_option(args.out)
    if not 4 <= args.directions <= 360 or args.directions % 4:
        raise DescentError(f"--directions: expected a multiple of 4 between 4 and 360 (so the fan holds theta = 0, "
                           f"+-pi/2 and pi), got {args.directions}")
    fan = direction_fan(fn, at, n=args.directions)
    plot_gradient(fan, function_grid(fn, 160, neighbourhood(fn, at)), out)
    x, y = fan.point
    print(f"gradient of {fn} at ({x:g}, {y:g}): f = {fan.value:.6g}, grad f = ({fan.gradient[0]:.6g}, "
          f"{fan.gradient[1]:.6g}), |grad f| = {fan.grad_norm:.6g}")
    if fan.grad_norm > 0:
        d = fan.steepest_descent
        print(f"  steepest ascent  (theta = 0):     u = ({-d[0]:.4f}, {-d[1]:.4f}), rate +{fan.grad_norm:.6g}")
        print(f"  steepest descent (theta = pi):    u = ({d[0]:.4f}, {d[1]:.4f}), rate -{fan.grad_norm:.6g}")
        c = fan.contour_direction
        print(f"  no change (theta = +-pi/2):       u = +-({c[0]:.4f}, {c[1]:.4f}), along the contour")
    else:
        print("  the gradient is zero: a critical point, where no direction changes f to first order")
    print(f"wrote {out}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``gradient`` to the ``gradwise`` command's subparsers."""
    names = ", ".join(k for k, f in FUNCTIONS.items() if f.dim == 2)
    p = subparsers.add_parser(
        "gradient", help="the gradient at a point: steepest ascent, steepest descent, and the flat contour",
        description="Draw the contours of a 2-D test function around a point, the gradient and the negative "
                    "gradient there, a fan of unit directions u coloured by the directional derivative "
                    "grad f . u = |grad f| cos(theta), and that rate against theta: largest along the gradient "
                    "(theta = 0), smallest against it (theta = pi), zero along the contour (theta = +-pi/2).")
    p.add_argument("--fn", default="himmelblau", help=f"2-D test function: {names}")
    p.add_argument("--at", help="the point x,y, e.g. 1,1 (default: the function's start point)")
    p.add_argument("--directions", type=int, default=24, help="unit directions in the fan (a multiple of 4)")
    p.add_argument("--out", default="gradient.png", help="figure file: .png, .svg or .pdf")
    p.set_defaults(handler=run_gradient)
