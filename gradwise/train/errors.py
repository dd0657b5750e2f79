"""Errors of the training layer."""

from __future__ import annotations

import signal
from pathlib import Path

from gradwise.errors import GradwiseError


class TrainingError(GradwiseError, ValueError):
    """A fit option or training input that cannot work; the message names it and what is valid."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP during fit: raised after the current step finished and, when the
    trainer has a ``checkpoint_dir``, after a resumable checkpoint was written to
    ``checkpoint_path``.  ``signum`` is the signal that stopped the run."""

    def __init__(self, checkpoint_path: Path | None, signum: int = signal.SIGINT) -> None:
        where = f"; resume from {checkpoint_path}" if checkpoint_path else ""
        super().__init__(f"training interrupted by {signal.Signals(signum).name}{where}")
        self.checkpoint_path = checkpoint_path
        self.signum = int(signum)
