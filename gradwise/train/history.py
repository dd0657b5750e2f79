"""``History``: what a training run recorded, per step and per epoch, as NumPy arrays.

Per step: ``step``, ``epoch``, ``loss`` (the mini-batch loss before the update),
``lr`` (of the first parameter group), ``grad_norm`` (global L2 norm of all
gradients, before any clipping), ``samples_seen`` (gradient evaluations so far:
the x-axis that makes full-batch, stochastic and mini-batch runs comparable)
and ``wall_time`` (seconds since the run started).

Per epoch: ``epoch``, ``loss`` (mean training loss over the epoch, weighted by
batch size), ``lr``, ``samples_seen``, ``wall_time``, every training metric by
its name and every validation figure as ``val_<name>`` (``val_loss`` too).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.atomic_files import write_text_atomic
from gradwise.train.history_display import history_html, history_text

STEP_KEYS = ("step", "epoch", "loss", "lr", "grad_norm", "samples_seen", "wall_time")


def _json_number(v: float) -> float | None:
    return None if isinstance(v, float) and not math.isfinite(v) else v


class History:
    """Records of one run.  ``history.steps["loss"]`` and ``history.epochs["val_accuracy"]`` are arrays.

    >>> h = History()
    >>> h.log_step(step=1, epoch=0, loss=0.7, lr=0.1, grad_norm=2.0, samples_seen=32, wall_time=0.01)
    >>> h.log_epoch(epoch=0, loss=0.7, lr=0.1, samples_seen=32, wall_time=0.01, accuracy=0.5)
    >>> h.steps["loss"], h.epochs["accuracy"]
    (array([0.7]), array([0.5]))
    >>> h.last("accuracy")
    0.5
    """

    def __init__(self) -> None:
        self._steps: dict[str, list[float]] = {k: [] for k in STEP_KEYS}
        self._epochs: dict[str, list[float]] = {}

    # ------------------------------------------------------------------ recording
    def log_step(self, **values: float) -> None:
        for k in STEP_KEYS:
            self._steps[k].append(float(values[k]))

    def log_epoch(self, **values: float) -> None:
        n = len(self._epochs.get("epoch", []))
        for k, v in values.items():
            # a figure that appears late (validation every few epochs) is NaN before it appeared
            self._epochs.setdefault(k, [math.nan] * n).append(float(v))
        for col in self._epochs.values():
            if len(col) == n:
                col.append(math.nan)

    # ------------------------------------------------------------------ reading
    @property
    def steps(self) -> dict[str, np.ndarray]:
        """Per-step records as arrays (``step`` and ``epoch`` as int64)."""
        return {k: np.asarray(v, dtype=np.int64 if k in ("step", "epoch", "samples_seen") else np.float64)
                for k, v in self._steps.items()}

    @property
    def epochs(self) -> dict[str, np.ndarray]:
        """Per-epoch records as arrays."""
        return {k: np.asarray(v, dtype=np.int64 if k in ("epoch", "samples_seen") else np.float64)
                for k, v in self._epochs.items()}

    def last(self, key: str) -> float:
        """The latest per-epoch value of ``key`` (``KeyError`` naming the known keys otherwise)."""
        if key not in self._epochs or not self._epochs[key]:
            raise KeyError(f"History has no epoch record {key!r}; recorded: {sorted(self._epochs)}")
        return self._epochs[key][-1]

    def __len__(self) -> int:
        return len(self._epochs.get("epoch", []))

    def __repr__(self) -> str:
        """A table of the epochs (see :mod:`gradwise.train.history_display`)."""
        return history_text(self)

    def _repr_html_(self) -> str:
        """Jupyter's display: the loss curves and the table of epochs, self-contained HTML."""
        return history_html(self)

    # ------------------------------------------------------------------ export
    def to_csv(self, path: str | os.PathLike[str], level: str = "epoch") -> None:
        """Write one row per epoch (``level="epoch"``) or per step (``level="step"``), atomically."""
        table = self._table(level)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(list(table))
        for row in zip(*table.values()):
            writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
        write_text_atomic(path, buf.getvalue())

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write ``{"steps": {...}, "epochs": {...}}`` (lists; NaN and infinities as null), atomically."""
        write_text_atomic(path, json.dumps(self.state_dict(json_safe=True), indent=1))

    def _table(self, level: str) -> dict[str, list[float]]:
        if level == "epoch":
            return self._epochs
        if level == "step":
            return self._steps
        raise ValueError(f"History.to_csv: level must be 'epoch' or 'step', got {level!r}")

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self, json_safe: bool = False) -> dict[str, Any]:
        conv = _json_number if json_safe else (lambda v: v)
        return {"steps": {k: [conv(v) for v in col] for k, col in self._steps.items()},
                "epochs": {k: [conv(v) for v in col] for k, col in self._epochs.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        def floats(col: list[Any]) -> list[float]:
            return [math.nan if v is None else float(v) for v in col]

        self._steps = {k: floats(state["steps"].get(k, [])) for k in STEP_KEYS}
        self._epochs = {k: floats(v) for k, v in state["epochs"].items()}

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> History:
        """Read a file written by :meth:`to_json`."""
        h = cls()
        h.load_state_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        return h
