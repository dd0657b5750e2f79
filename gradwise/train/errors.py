"""Errors of the training layer."""

from __future__ import annotations

from pathlib import Path

from gradwise.errors import GradwiseError


class TrainingError(GradwiseError, ValueError):
    """A fit option or training input that cannot work; the message names it and what is valid."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during fit: raised after the current step finished and, when the trainer has a
    ``checkpoint_dir``, after a resumable checkpoint was written to ``checkpoint_path``."""

    def __init__(self, checkpoint_path: Path | None) -> None:
        where = f"; resume from {checkpoint_path}" if checkpoint_path else ""
        super().__init__(f"training interrupted{where}")
        self.checkpoint_path = checkpoint_path
