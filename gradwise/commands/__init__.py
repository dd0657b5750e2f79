"""Subcommands of the ``gradwise`` command, each module exposing ``register(subparsers)`` and
listed in :data:`gradwise.commands.registry.COMMAND_MODULES`, and what they share with
:mod:`gradwise.cli`: the argument types and the exit statuses."""

from __future__ import annotations

import argparse
import math

# exit statuses: a bad option or value (one line on stderr); Ctrl-C
# exit statuses: 2 a bad option or file, 3 a run that diverged, 130 Ctrl-C (143 SIGTERM, 129 SIGHUP)
EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (the error names what was given)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value
