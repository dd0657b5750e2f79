"""The command registry: every module that adds subcommands to ``gradwise``, in ``--help`` order.

Each module has ``register(subparsers)``, which adds its subcommands, each with
``set_defaults(handler=...)``: a function ``(args) -> exit status``.  :mod:`gradwise.cli` builds
its parser from this list and calls the handler; nothing else lists commands.
``tests/test_registries.py`` checks that every module of :mod:`gradwise.commands` with a
``register`` is listed here and that ``--help`` works for every command.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="gradwise")
>>> names = register_all(parser.add_subparsers(dest="command"))
>>> names[:4]
['demo', 'train', 'evaluate', 'derive']
"""

from __future__ import annotations

import importlib
from typing import Any

COMMAND_MODULES: tuple[str, ...] = (
    "gradwise.commands.demo",        # demo
    "gradwise.commands.train",       # train
    "gradwise.commands.evaluate",    # evaluate
    "gradwise.commands.derive",      # derive
    "gradwise.commands.functions",   # descent, lr-triptych, minima
    "gradwise.commands.gradient",    # gradient (at a point: steepest ascent/descent, the contour)
    "gradwise.commands.slope",       # slope (the loss against one weight: A, B, C and a local minimum)
    "gradwise.commands.networks",    # lr-find, batch-modes, landscape
    "gradwise.commands.report",      # report
    "gradwise.commands.run",         # run (a PyTorch script on gradwise)
    "gradwise.commands.playground",  # playground (the [playground] extra)
)


def register_all(subparsers: Any) -> list[str]:
    """Add every registered command to ``subparsers`` (an argparse subparsers action); returns
    the command names in the order added."""
    before = len(subparsers.choices)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return list(subparsers.choices)[before:]
