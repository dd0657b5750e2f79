"""``gradwise run script.py [args...]``: run an unchanged PyTorch script on gradwise.

``import torch`` and its submodules resolve to gradwise for the run (see
:mod:`gradwise.torch_compat`); ``--report DIR`` writes the gradient health of the networks
the script's optimizers train to ``DIR/report.html``.  The exit status is the script's.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``run`` to the ``gradwise`` command's subparsers."""
    run = subparsers.add_parser(
        "run", help="run a PyTorch script with 'import torch' resolved to gradwise",
        description="Run a PyTorch script unchanged: 'import torch' (and torch.nn, torch.optim, torch.utils.data, "
                    "...) resolve to gradwise. A torch name gradwise lacks stops the script with one line that "
                    "points to docs/pytorch_compatibility.md. torch.save/torch.load use gradwise's safe format "
                    "(no pickle). Options after the script go to the script.")
    run.add_argument("--report", metavar="DIR",
                     help="watch the gradients of the networks the script's optimizers train and write "
                          "DIR/report.html at the end")
    run.add_argument("script", help="the Python file to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script (its sys.argv[1:])")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gradwise.allocator import set_allocator_tuning
    from gradwise.torch_compat.runner import run_script

    set_allocator_tuning(True)   # a training process: reuse freed pages between steps (gradwise/allocator.py)
    return run_script(args.script, args.args, report_dir=args.report)
