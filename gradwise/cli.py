"""The ``gradwise`` command: its parser, built from the command registry, and the dispatch.

Every subcommand lives in a module of :mod:`gradwise.commands` listed in
:data:`gradwise.commands.registry.COMMAND_MODULES` (``demo``, ``train``, ``evaluate``,
``derive``, the descent pictures...); this module only builds the parser and calls the
chosen command's handler.

Bad options or values end with one line naming the option and the valid choices
and exit status 2; Ctrl-C during training saves ``interrupted.ckpt`` in the run
folder, prints how to resume, and exits with status 130.

``mpiexec -n R gradwise train ... --distributed`` trains data-parallel on R
processes (``--batch-size`` per process); only rank 0 prints and writes the run
folder, and an error on any rank ends the whole job with that rank's message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from gradwise.commands import EXIT_INTERRUPTED, EXIT_USAGE
from gradwise.commands.registry import register_all
from gradwise.errors import GradwiseError

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (no usage block, no traceback)."""

    def error(self, message: str) -> NoReturn:
        from gradwise.distributed.comm import launcher_world

        launched = launcher_world()      # under mpiexec every rank parses the same options: rank 0 reports
        quiet = launched is not None and launched[0] != 0
        self.exit(EXIT_USAGE, None if quiet else f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``gradwise`` parser: one subcommand per entry of the command registry."""
    parser = _Parser(prog="gradwise", description="Train networks by gradient descent and see what the gradients do.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    register_all(sub)
    return parser


def _quiet(args: argparse.Namespace) -> bool:
    """Whether this process is a rank other than 0 of a --distributed launch (it prints nothing)."""
    if not getattr(args, "distributed", False):
        return False
    from gradwise import distributed as dist

    if dist.is_initialized():
        return dist.rank() != 0
    launched = dist.launcher_world()
    return launched is not None and launched[0] != 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradwise`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
        return status
    except KeyboardInterrupt:
        if not _quiet(args):
            print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (GradwiseError, FileNotFoundError, ImportError) as exc:
        if not _quiet(args):      # every rank fails alike on a bad setting: one line, from rank 0
            print(f"gradwise {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
