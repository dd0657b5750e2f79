"""Draw the figures the docs pages show, into ``docs/figures/``.

    python docs/make_figures.py                 # every figure
    python docs/make_figures.py lr_triptych     # only the named ones

Each figure is one function in :data:`FIGURES` (name -> function taking the output folder and
returning the file it wrote); it makes the same records and pictures as the ``gradwise``
command named in its docstring, saved small enough to commit (PNG, 80 dpi).  Nothing here
is drawn by hand: rerun the script after changing the library and commit the result.
Needs matplotlib (``pip install 'gradwise[viz]'``); the playground's screenshots need the
playground and browser test dependencies (``pip install -e '.[test]'``, Debian's chromium).

:data:`FILES` names every file the script writes: tests/test_docs_site.py checks that each
figure a docs page shows is one of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "figures"
DPI = 80


def _save(fig: object, path: Path) -> Path:
    from gradwise.viz.figure_files import save

    return save(fig, path, dpi=DPI)


def lr_triptych(out: Path) -> Path:
    """``gradwise lr-triptych --fn bowl``: too small, well chosen and too large learning rates."""
    from gradwise import insight, viz

    trip = insight.lr_triptych("bowl")
    return _save(viz.plot_lr_triptych(trip, insight.function_grid("bowl")), out / "lr_triptych.png")


def optimizer_race(out: Path) -> Path:
    """``gradwise descent --fn rosenbrock --steps 3000 --tol 1e-2``: six optimizers, each with its
    suggested learning rate, on Rosenbrock's valley."""
    from gradwise import insight, viz

    race = insight.race("rosenbrock", steps=3000, tol=1e-2)
    fig = viz.plot_descent(insight.function_grid("rosenbrock"), race, insight.gradient_arrows("rosenbrock"),
                           title="rosenbrock: sgd, momentum, nesterov, rmsprop, adagrad, adam")
    return _save(fig, out / "optimizer_race.png")


def basins_himmelblau(out: Path) -> Path:
    """``gradwise minima --fn himmelblau``: basins of the four global minima, critical points."""
    from gradwise import insight, viz

    fig = viz.plot_basins(insight.basin_map("himmelblau"), insight.function_grid("himmelblau"),
                          insight.find_critical_points("himmelblau"))
    return _save(fig, out / "basins_himmelblau.png")


def basins_camel(out: Path) -> Path:
    """``gradwise minima --fn camel``: two global and four local minima; many starts end locally."""
    from gradwise import insight, viz

    fig = viz.plot_basins(insight.basin_map("camel"), insight.function_grid("camel"),
                          insight.find_critical_points("camel", grid=15))
    return _save(fig, out / "basins_camel.png")


def curve_tangents(out: Path) -> Path:
    """``gradwise minima --fn curve``: the 1-D curve, tangents, the gradient's sign, basins."""
    from gradwise import insight, viz

    fig = viz.plot_tangents(insight.function_grid("curve"), insight.tangent_lines("curve"),
                            basins=insight.basin_map("curve"))
    return _save(fig, out / "curve_tangents.png")


def batch_modes(out: Path) -> Path:
    """``gradwise batch-modes --dataset digits`` (docs/batch_modes.md), through the command itself."""
    import argparse

    from gradwise.commands.networks import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    path = out / "batch_modes.png"
    # the page's rates, named so that the figure follows the page whatever the command's defaults
    rates = ["--lr-full", "0.5", "--lr-sgd", "0.01", "--lr-minibatch", "0.1"]
    args = parser.parse_args(["batch-modes", "--dataset", "digits", *rates, "--out", str(path), "--dpi", str(DPI)])
    args.handler(args)
    return path


def playground(out: Path) -> Path:
    """``gradwise playground`` in headless Chromium (docs/playground.md): the browser test drives
    the real command (spirals learned by a ReLU network, the on-demand views, the deep sigmoid
    preset) and saves its screenshots into ``out``.  Returns the laptop-width screenshot."""
    import os
    import subprocess

    test = HERE.parent / "tests" / "playground" / "test_browser.py"
    env = dict(os.environ, GRADWISE_PLAYGROUND_SCREENSHOTS=str(out))
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", str(test),
                    "-k", "spirals_relu_learns or deep_sigmoid_preset"], cwd=HERE.parent, env=env, check=True)
    missing = [name for name in PLAYGROUND_SHOTS if not (out / name).is_file()]
    if missing:
        raise RuntimeError(f"playground: the browser test ran but wrote no {', '.join(missing)} into {out} "
                           "(were the tests skipped? they need starlette, uvicorn, playwright and /usr/bin/chromium)")
    return out / PLAYGROUND_SHOTS[0]


PLAYGROUND_SHOTS = ("playground_laptop.png", "playground_420.png", "playground_on_demand.png",
                    "playground_deep_sigmoid.png")

FIGURES: dict[str, Callable[[Path], Path]] = {
    "lr_triptych": lr_triptych,
    "optimizer_race": optimizer_race,
    "basins_himmelblau": basins_himmelblau,
    "basins_camel": basins_camel,
    "curve_tangents": curve_tangents,
    "batch_modes": batch_modes,
    "playground": playground,
}

# every file the figures above write, by name (the playground writes four screenshots)
FILES: tuple[str, ...] = tuple(f"{name}.png" for name in FIGURES if name != "playground") + PLAYGROUND_SHOTS


def main(argv: list[str] | None = None) -> int:
    names = list(FIGURES) if not argv else argv
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        print(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = FIGURES[name](OUT)
        print(f"{name}: {path.relative_to(HERE.parent)} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
