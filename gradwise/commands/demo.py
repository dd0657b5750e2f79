"""``gradwise demo``: train an MLP on the bundled digits (a few seconds) and write a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

# the demo's run settings (every other setting at RunConfig's default)
DEMO: dict[str, Any] = {"dataset": "digits", "model": "mlp:128,64", "activation": "relu", "optimizer": "adam",
                        "lr": 1e-3, "epochs": 30, "batch_size": 32, "mode": "minibatch", "seed": 0}


def register(subparsers: Any) -> None:
    """Add ``demo`` to the ``gradwise`` command's subparsers."""
    demo = subparsers.add_parser("demo", help="train an MLP on the bundled digits (a few seconds) and write a run "
                                              "folder",
                                 description="Train an MLP (64-128-64-10, ReLU) on scikit-learn's bundled 8x8 digits "
                                             "with Adam, show progress, print the test accuracy and write a run "
                                             "folder.")
    demo.add_argument("--out", help="run folder (default: runs/demo-<time>)")
    demo.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from gradwise.commands.train import refuse_to_overwrite, run_training
    from gradwise.runs.folders import default_run_dir
    from gradwise.runs.recipe import RunConfig

    cfg = RunConfig(**DEMO, progress=not args.no_progress).validate()
    out = Path(args.out) if args.out else default_run_dir(cfg, prefix="demo")
    refuse_to_overwrite(out, args.overwrite)
    return run_training(cfg, out, None, "gradwise demo")
