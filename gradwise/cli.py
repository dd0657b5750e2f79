"""The ``gradwise`` command: its parser, built from the command registry, and the dispatch.

Every subcommand lives in a module of :mod:`gradwise.commands` listed in
:data:`gradwise.commands.registry.COMMAND_MODULES` (``demo``, ``train``, ``evaluate``,
``derive``, the descent pictures...); this module only builds the parser and calls the
chosen command's handler.

``gradwise --version`` prints the version (and Python's and NumPy's); every command's
``--help`` shows each option's default.  Bad options or values end with one line naming the
option and the valid choices and exit status 2 (missing MNIST files name ``--download``
where the command has it); Ctrl-C during training saves ``interrupted.ckpt`` in the run
folder, prints how to resume, and exits with status 130.

``mpiexec -n R gradwise train ... --distributed`` trains data-parallel on R
processes (``--batch-size`` per process); only rank 0 prints and writes the run
folder, and an error on any rank ends the whole job with that rank's message.
"""

from __future__ import annotations

import argparse
import copy
import platform
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from gradwise.commands import EXIT_INTERRUPTED, EXIT_USAGE
from gradwise.commands.registry import register_all
from gradwise.errors import GradwiseError
from gradwise.version import __version__

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "DefaultsHelpFormatter", "build_parser", "main", "version_text"]


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """``--help`` with each option's default: ``(default: X)`` is added to an option's help
    unless the help already states that default (``"steps per run (default 500)"``).

    Unlike argparse's ``ArgumentDefaultsHelpFormatter`` it also shows defaults of options
    without help text, and leaves out what is not a value: ``None`` (no default: the help says
    what happens), flags' ``False``, and required options.

    >>> p = argparse.ArgumentParser(prog="x", formatter_class=DefaultsHelpFormatter)
    >>> _ = p.add_argument("--steps", type=int, default=500)
    >>> _ = p.add_argument("--lr", default="0.1", help="learning rate (default 0.1)")
    >>> text = p.format_help()
    >>> "(default: 500)" in text, text.count("0.1")
    (True, 1)
    """

    @staticmethod
    def _shows_default(action: argparse.Action) -> bool:
        default = action.default
        if default is None or default is argparse.SUPPRESS or action.required:
            return False
        if action.nargs == 0:               # flags (store_true, count, help, version): no value to show
            return False
        return bool(action.option_strings) or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE)

    @staticmethod
    def _states_default(action: argparse.Action, help_text: str) -> bool:
        """Whether ``help_text`` already says what the default is (the word and the value)."""
        if "default" not in help_text.lower():
            return False
        default: Any = action.default
        forms = {str(default)}
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            forms |= {f"{default:g}", repr(default)}
        return "%(default)" in help_text or any(form in help_text for form in forms)

    def _format_action(self, action: argparse.Action) -> str:
        if not action.help and self._shows_default(action):
            action = copy.copy(action)      # argparse prints no help line for an option without help text
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if self._shows_default(action) and not self._states_default(action, text):
            text = f"{text} (default: %(default)s)".lstrip()
        return text


def version_text() -> str:
    """What ``gradwise --version`` prints: gradwise's version, with Python's and NumPy's.

    >>> version_text().startswith("gradwise ")
    True
    """
    import numpy as np

    return f"gradwise {__version__} (Python {platform.python_version()}, NumPy {np.__version__})"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (no usage block, no traceback) and shows
    the defaults in ``--help``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        from gradwise.distributed.comm import launcher_world

        launched = launcher_world()      # under mpiexec every rank parses the same options: rank 0 reports
        quiet = launched is not None and launched[0] != 0
        self.exit(EXIT_USAGE, None if quiet else f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``gradwise`` parser: one subcommand per entry of the command registry."""
    parser = _Parser(prog="gradwise", description="Train networks by gradient descent and see what the gradients do.")
    parser.add_argument("--version", action="version", version=version_text(),
                        help="print gradwise's version (with Python's and NumPy's) and exit")
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
            print(f"gradwise {args.command}: error: {_for_the_command_line(exc, args)}", file=sys.stderr)
        return EXIT_USAGE


def _for_the_command_line(exc: BaseException, args: argparse.Namespace) -> BaseException:
    """``exc`` in the command line's terms: missing dataset files name the ``--download`` option
    (of this command, or of ``gradwise train`` for commands without one) instead of the Python
    API's ``download=True``."""
    restate = getattr(exc, "with_fetch_hint", None)        # gradwise.data.errors.DatasetNotFoundError
    if restate is None:
        return exc
    restated: BaseException = restate("--download" if hasattr(args, "download") else "--download to 'gradwise train'")
    return restated


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
