"""``gradwise derive CASE``: backpropagation by hand for a small sigmoid network, checked by autograd."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``derive`` to the ``gradwise`` command's subparsers."""
    from gradwise.insight.derivations import CASES

    derive = subparsers.add_parser("derive", help="derive a small sigmoid network's gradients by hand, checked by "
                                                  "autograd",
                                   description="Backpropagation by hand for one of six sigmoid networks (no bias, "
                                               "squared error): every intermediate with its formula and matrix "
                                               "shapes, then the closed-form gradients beside autograd's.")
    derive.add_argument("case", choices=tuple(CASES), help="which network")
    derive.add_argument("--seed", type=int, default=0, help="seed of the random inputs and weights (default 0)")
    derive.add_argument("--no-values", action="store_true", help="formulas and shapes only")
    derive.set_defaults(handler=_derive)


def _derive(args: argparse.Namespace) -> int:
    from gradwise.insight.derivations import derive

    print(derive(args.case, seed=args.seed).to_text(values=not args.no_values))
    return 0
