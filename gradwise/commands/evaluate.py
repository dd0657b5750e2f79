"""``gradwise evaluate RUN_DIR``: a run folder's final model on its test split."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``evaluate`` to the ``gradwise`` command's subparsers."""
    evaluate = subparsers.add_parser("evaluate", help="evaluate a run folder's final model on its test split")
    evaluate.add_argument("run_dir", help="a folder written by 'gradwise train' or 'gradwise demo'")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from gradwise.runs.folders import evaluate_run

    figures = evaluate_run(args.run_dir)
    if args.json:
        print(json.dumps(figures))
    else:
        print(", ".join(f"test {k} {v:.4f}" for k, v in figures.items()))
    return 0
