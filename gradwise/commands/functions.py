"""``gradwise descent``, ``gradwise lr-triptych`` and ``gradwise minima``: gradient descent on
test functions, drawn to a PNG or SVG file (the suffix of ``--out`` picks the format).

Every bad value ends in a :class:`~gradwise.insight.DescentError` naming the option and what
is valid; ``gradwise.cli`` prints it as one line and exits with status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, overload

from gradwise.commands.animate_option import add_animate_option, maybe_animate
from gradwise.insight.functions import FUNCTIONS, DescentError

_FORMATS = (".png", ".svg", ".pdf")


def _function(text: str, option: str = "--fn", dim: int | None = None) -> str:
    if text not in FUNCTIONS:
        raise DescentError(f"{option}: unknown test function {text!r}; choose one of {', '.join(FUNCTIONS)}")
    if dim is not None and FUNCTIONS[text].dim != dim:
        names = ", ".join(k for k, f in FUNCTIONS.items() if f.dim == dim)
        raise DescentError(f"{option}: {text} is a function of {FUNCTIONS[text].dim} variable(s); this command "
                           f"needs {dim}: {names}")
    return text


@overload
def _number(text: str, option: str, positive: bool = True) -> float: ...
@overload
def _number(text: None, option: str, positive: bool = True) -> None: ...
def _number(text: str | None, option: str, positive: bool = True) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise DescentError(f"{option}: expected a number, got {text!r}") from None
    if positive and not (0 < value < float("inf")):
        raise DescentError(f"{option}: expected a positive finite number, got {text}")
    return value


def _count(text: str, option: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise DescentError(f"{option}: expected a positive integer, got {text!r}") from None
    if value < 1:
        raise DescentError(f"{option}: expected a positive integer, got {value}")
    return value


def _numbers(text: str | None, option: str, count: int | None = None, positive: bool = False) -> list[float] | None:
    if text is None:
        return None
    values = [_number(part.strip(), option, positive) for part in text.split(",") if part.strip()]
    if count is not None and len(values) != count:
        raise DescentError(f"{option}: expected {count} comma-separated numbers, got {text!r}")
    return values


def _out(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in _FORMATS:
        raise DescentError(f"--out: the file name must end in {', '.join(_FORMATS)} (the suffix picks the "
                           f"format), got {text!r}")
    return path


def _optimizer(text: str, option: str) -> str:
    from gradwise.optim.registry import OPTIMIZERS

    name = text.strip().lower()
    if name not in OPTIMIZERS:
        raise DescentError(f"{option}: unknown optimizer {text.strip()!r}; choose from {', '.join(OPTIMIZERS)}")
    return name


def _start(text: str | None, fn: str) -> list[float] | None:
    values = _numbers(text, "--start")
    if values is not None and len(values) != FUNCTIONS[fn].dim:
        raise DescentError(f"--start: {fn} takes {FUNCTIONS[fn].dim} coordinate(s), got {text!r}")
    return values


def run_descent(args: argparse.Namespace) -> int:
    """``gradwise descent``: the optimizer race on one function, drawn and tabulated."""
    from gradwise import insight, viz

    fn = _function(args.fn)
    out = _out(args.out)
    optimizers = [_optimizer(o, "--optimizers") for o in args.optimizers.split(",") if o.strip()]
    if not optimizers:
        raise DescentError("--optimizers: give at least one optimizer, e.g. sgd,momentum,adam")
    lr = _number(args.lr, "--lr")
    steps = _count(args.steps, "--steps")
    tol = _number(args.tol, "--tol")
    start = _start(args.start, fn)
    result = insight.race(fn, start, optimizers, lr, steps=steps, tol=tol)
    grid = insight.function_grid(fn)
    if args.view == "surface" and grid.dim == 2:
        viz.plot_function_surface(grid, result, out)
    else:
        viz.plot_descent(grid, result, insight.gradient_arrows(fn) if grid.dim == 2 else None, out,
                         title=f"{fn}: {', '.join(optimizers)}")
    print(result.to_text())
    print(f"wrote {out}")
    maybe_animate(args, "descent", grid=grid, runs=result, title=f"{fn}: {', '.join(optimizers)}")
    return 0


def run_lr_triptych(args: argparse.Namespace) -> int:
    """``gradwise lr-triptych``: too small, well chosen and too large learning rates side by side."""
    from gradwise import insight, viz

    fn = _function(args.fn)
    out = _out(args.out)
    lrs = _numbers(args.lrs, "--lrs", count=3, positive=True)
    optimizer = _optimizer(args.optimizer, "--optimizer")
    steps = _count(args.steps, "--steps")
    start = _start(args.start, fn)
    try:
        trip = insight.lr_triptych(fn, start, lrs, optimizer, steps=steps)
    except DescentError as exc:
        raise DescentError(f"--lrs: {exc}") from None
    viz.plot_lr_triptych(trip, insight.function_grid(fn), out)
    print(trip.summary())
    print(f"wrote {out}")
    maybe_animate(args, "lr-triptych", triptych=trip, grid=insight.function_grid(fn))
    return 0


def run_minima(args: argparse.Namespace) -> int:
    """``gradwise minima``: the basin map from a grid of starts and the critical points by their Hessian."""
    from gradwise import insight, viz

    fn = _function(args.fn)
    if not FUNCTIONS[fn].minima:
        names = ", ".join(k for k, f in FUNCTIONS.items() if f.minima)
        raise DescentError(f"--fn: {fn} has no minimum to map basins of; choose one of {names}")
    out = _out(args.out)
    optimizer = _optimizer(args.optimizer, "--optimizer")
    lr = _number(args.lr, "--lr")
    grid_n = _count(args.grid, "--grid")
    if grid_n < 2:
        raise DescentError(f"--grid: expected at least 2 points per axis, got {grid_n}")
    steps = _count(args.steps, "--steps")
    tol = _number(args.tol, "--tol")
    basins = insight.basin_map(fn, optimizer, lr, grid=grid_n, steps=steps, tol=tol)
    critical = insight.find_critical_points(fn)
    grid = insight.function_grid(fn)
    if grid.dim == 1:
        viz.plot_tangents(grid, insight.tangent_lines(fn), out, basins=basins)
    else:
        viz.plot_basins(basins, grid, critical, out)
    print(basins.summary())
    print("critical points (Hessian eigenvalues):")
    for c in critical:
        pt = ", ".join(f"{v:.4f}" for v in c.point)
        eig = ", ".join(f"{v:.3g}" for v in c.eigenvalues)
        print(f"  ({pt})  f={c.value:.4g}  {c.kind}{' (global)' if c.is_global else ''}  [{eig}]")
    print(f"wrote {out}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``descent``, ``lr-triptych`` and ``minima`` to the ``gradwise`` command's subparsers."""
    names = ", ".join(FUNCTIONS)
    p = subparsers.add_parser(
        "descent", help="race optimizers on a test function: contours, paths and steps to the minimum",
        description="Run several optimizers from one start on a test function; draw their paths on the contours "
                    "with the negative gradient, and print steps-to-tolerance for each.")
    p.add_argument("--fn", default="rosenbrock", help=f"test function: {names} (default rosenbrock)")
    p.add_argument("--optimizers", default="sgd,momentum,nesterov,rmsprop,adagrad,adam",
                   help="comma-separated optimizer names (default: the six of the race)")
    p.add_argument("--lr", help="one learning rate for all (default: a rate suggested per optimizer)")
    p.add_argument("--steps", default="2000", help="steps per run (default 2000: at the suggested rates Adam reaches "
                                                  "Rosenbrock's minimum within 1e-3 in about 1700)")
    p.add_argument("--tol", default="1e-3",
                   help="distance to a global minimum that counts as reached (default 1e-3); ending in a local "
                        "minimum is not success")
    p.add_argument("--start", help="start point, e.g. -1.5,2 (default: the function's own)")
    p.add_argument("--view", choices=("contour", "surface"), default="contour", help="2-D contours or a 3-D surface")
    p.add_argument("--out", required=True, help="output file: .png or .svg")
    add_animate_option(p)
    p.set_defaults(handler=run_descent)

    p = subparsers.add_parser(
        "lr-triptych", help="too small, well chosen and too large learning rates side by side",
        description="Gradient descent from one start with three learning rates (by default 1/100, 1/2 and 1.1 "
                    "times the optimizer's stable bound: 2/lambda_max for plain gradient descent, "
                    "2(1+beta)/lambda_max for heavy-ball momentum), each judged too small, converged, oscillating, "
                    "diverging or stalled.")
    p.add_argument("--fn", default="bowl", help=f"test function: {names} (default bowl)")
    p.add_argument("--lrs", help="three learning rates a,b,c (default: from the optimizer's stable bound)")
    p.add_argument("--optimizer", default="sgd", help="optimizer name (default sgd)")
    p.add_argument("--steps", default="400", help="steps per run (default 400)")
    p.add_argument("--start", help="start point (default: the function's own)")
    p.add_argument("--out", required=True, help="output file: .png or .svg")
    add_animate_option(p)
    p.set_defaults(handler=run_lr_triptych)

    p = subparsers.add_parser(
        "minima", help="basins of attraction from a grid of starts, and critical points by their Hessian",
        description="Descend from every point of a grid, colour each start by the minimum it reaches, report the "
                    "share reaching a global minimum, and classify the critical points (minimum, maximum, saddle) "
                    "by the eigenvalues of the Hessian.")
    p.add_argument("--fn", default="camel",
                   help=f"test function with minima (default camel: two global and four local minima; himmelblau "
                        f"has four minima, all global): {names}")
    p.add_argument("--optimizer", default="sgd", help="optimizer name (default sgd)")
    p.add_argument("--lr", help="learning rate (default: one over the largest curvature on the grid)")
    p.add_argument("--grid", default="41", help="starts per axis (default 41)")
    p.add_argument("--steps", default="600", help="steps per start (default 600)")
    p.add_argument("--tol", default="1e-2", help="distance to a minimum that counts as reached (default 1e-2)")
    p.add_argument("--out", required=True, help="output file: .png or .svg")
    p.set_defaults(handler=run_minima)
