"""Callbacks: code that runs at fixed points of the fit loop.

Hook points, in the order the loop reaches them::

    on_fit_start(trainer)
      on_epoch_start(trainer, epoch)
        on_batch_start(trainer, batch_index)
        on_after_backward(trainer)          # gradients present, before clipping and the step
        on_batch_end(trainer, logs)         # logs: the step record (loss, lr, grad_norm, ...)
      on_epoch_end(trainer, epoch, logs)    # logs: the epoch record (loss, metrics, val_*)
    on_fit_end(trainer)
    on_exception(trainer, exc)              # instead of on_fit_end when fit raises (or Ctrl-C)

A callback stops training by setting ``trainer.stop_training = True`` (the loop
finishes the current batch and ends the epoch).  A callback that keeps state
across a resume implements ``state_dict()``/``load_state_dict()``.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradwise.errors import GradwiseError

if TYPE_CHECKING:  # pragma: no cover
    from gradwise.train.loop import Trainer


class CallbackError(GradwiseError, ValueError):
    """A callback configured with an option that cannot work (unknown mode, missing monitored value)."""


class Callback:
    """Base class; override the hooks you need.  All hooks default to doing nothing."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None: ...
    def on_batch_start(self, trainer: Trainer, batch_index: int) -> None: ...
    def on_after_backward(self, trainer: Trainer) -> None: ...
    def on_batch_end(self, trainer: Trainer, logs: dict[str, float]) -> None: ...
    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        """Fit is ending with ``exc``: release resources (the default does nothing)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def _resolve_mode(monitor: str, mode: str, owner: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise CallbackError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "max" if name in ("accuracy", "r2") or name.endswith("_accuracy") else "min"


def _monitored(logs: dict[str, float], monitor: str, owner: str) -> float:
    if monitor not in logs:
        raise CallbackError(f"{owner}: monitored value {monitor!r} is not in the epoch record; available: "
                            f"{sorted(logs)} (val_* figures need val_data=)")
    return float(logs[monitor])


class _Tracker:
    """Remembers the best value of a monitored figure and tells whether a new one improves on it."""

    def __init__(self, monitor: str, mode: str, min_delta: float, owner: str) -> None:
        self.monitor, self.owner = monitor, owner
        self.mode = _resolve_mode(monitor, mode, owner)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


def _epoch_text(epoch: int | None) -> str:
    """``epoch 3`` (1-based) for a 0-based epoch; ``no epoch`` when none improved (e.g. NaN from the start)."""
    return "no epoch" if epoch is None else f"epoch {epoch + 1}"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs;
    ``restore_best_weights`` puts the best epoch's parameters back at the end.

    >>> EarlyStopping(monitor="val_accuracy").tracker.mode
    'max'
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 5,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        if int(patience) < 0:
            raise CallbackError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.tracker = _Tracker(monitor, mode, min_delta, "EarlyStopping")
        self.patience, self.restore_best_weights = int(patience), restore_best_weights
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None
        self._best_state: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        value = _monitored(logs, self.tracker.monitor, "EarlyStopping")
        if self.tracker.improved(value):
            self.tracker.best, self.wait, self.best_epoch = value, 0, epoch
            if self.restore_best_weights:
                self._best_state = {k: v._data.copy() for k, v in trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait > self.patience:
            trainer.stop_training = True
            self.stopped_epoch = epoch
            trainer.stop_reason = (f"early stopping: {self.tracker.monitor} did not improve on "
                                   f"{self.tracker.best:.6g} ({_epoch_text(self.best_epoch)}) for {self.wait} epochs")

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.restore_best_weights and self._best_state is not None:
            trainer.model.load_state_dict(self._best_state)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.tracker.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "best_state": self._best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.best, self.wait, self.best_epoch = state["best"], state["wait"], state["best_epoch"]
        best = state.get("best_state")
        self._best_state = None if best is None else {k: np.asarray(v) for k, v in best.items()}


class ModelCheckpoint(Callback):
    """Save full, resumable checkpoints into ``dirpath``: ``last.ckpt`` after every
    ``every_n_epochs`` epochs (or every ``every_n_steps`` optimizer steps) and ``best.ckpt``
    whenever ``monitor`` improves.  ``keep=K`` also keeps the K newest periodic checkpoints as
    ``epoch-NNNNNN.ckpt`` / ``step-NNNNNNNNN.ckpt`` (hard links to the same bytes), deleting older ones.

    Each file holds model, optimizer, scheduler, counters, history and random states
    (see :mod:`gradwise.train.checkpoint`) and is written atomically.
    """

    def __init__(self, dirpath: str | os.PathLike[str], monitor: str | None = "val_loss", mode: str = "auto",
                 save_best: bool = True, save_last: bool = True, every_n_epochs: int = 1,
                 every_n_steps: int | None = None, keep: int = 0) -> None:
        if int(every_n_epochs) < 1:
            raise CallbackError(f"ModelCheckpoint: every_n_epochs must be >= 1, got {every_n_epochs}")
        if every_n_steps is not None and int(every_n_steps) < 1:
            raise CallbackError(f"ModelCheckpoint: every_n_steps must be >= 1 or None, got {every_n_steps}")
        if int(keep) < 0:
            raise CallbackError(f"ModelCheckpoint: keep must be >= 0, got {keep}")
        self.dirpath = Path(dirpath)
        self.save_best = save_best and monitor is not None
        self.tracker = _Tracker(monitor or "loss", mode, 0.0, "ModelCheckpoint")
        self.save_last, self.every_n_epochs = save_last, int(every_n_epochs)
        self.every_n_steps = None if every_n_steps is None else int(every_n_steps)
        self.keep = int(keep)
        self.best_path: Path | None = None
        self.last_path: Path | None = None

    def on_batch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if self.save_last and self.every_n_steps is not None and trainer.global_step % self.every_n_steps == 0:
            self._save_last(trainer, f"step-{trainer.global_step:09d}")

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best:
            value = _monitored(logs, self.tracker.monitor, "ModelCheckpoint")
            if self.tracker.improved(value):
                self.tracker.best = value
                self.best_path = self.dirpath / "best.ckpt"
                trainer.save_checkpoint(self.best_path)
        if self.save_last and self.every_n_steps is None and (epoch + 1) % self.every_n_epochs == 0:
            self._save_last(trainer, f"epoch-{epoch + 1:06d}")

    def _save_last(self, trainer: Trainer, tag: str) -> None:
        """Write ``last.ckpt`` (atomically) and, with ``keep``, a hard link to it named ``tag`` while
        removing all but the ``keep`` newest of those, so the disk a run uses stays bounded."""
        self.last_path = self.dirpath / "last.ckpt"
        trainer.save_checkpoint(self.last_path)
        if not self.keep or not trainer.is_main:
            return
        kept = self.dirpath / f"{tag}.ckpt"
        tmp = kept.with_name(kept.name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(self.last_path, tmp)          # no second copy of the bytes where links work
        except OSError:
            shutil.copyfile(self.last_path, tmp)
        os.replace(tmp, kept)
        history = sorted(self.dirpath.glob("step-*.ckpt")) + sorted(self.dirpath.glob("epoch-*.ckpt"))
        for old in history[:-self.keep] if len(history) > self.keep else []:
            old.unlink(missing_ok=True)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.tracker.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.best = state["best"]


class LRSchedulerCallback(Callback):
    """Step ``scheduler`` after every epoch (``interval="epoch"``) or every optimizer step
    (``interval="step"``).  ``ReduceLROnPlateau`` is stepped with the epoch's ``monitor`` value."""

    def __init__(self, scheduler: Any, interval: str = "epoch", monitor: str = "val_loss") -> None:
        if interval not in ("epoch", "step"):
            raise CallbackError(f"LRSchedulerCallback: interval must be 'epoch' or 'step', got {interval!r}")
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor
        self.plateau = type(scheduler).__name__ == "ReduceLROnPlateau"
        if self.plateau and interval == "step":
            raise CallbackError("LRSchedulerCallback: ReduceLROnPlateau needs interval='epoch' (it watches a metric)")

    def on_batch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.interval != "epoch":
            return
        if self.plateau:
            key = self.monitor if self.monitor in logs else "loss"
            self.scheduler.step(float(logs[key]))
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state["scheduler"])


class TerminateOnNaN(Callback):
    """Stop as soon as a step's loss is NaN or infinite (a diverged learning rate, a log of zero),
    or, with ``max_growth``, as soon as it exceeds ``max_growth`` times the first step's loss.
    ``diverged`` is then ``(step, loss)``; it stays ``None`` while the run is healthy.
    """

    def __init__(self, max_growth: float | None = None) -> None:
        if max_growth is not None and not max_growth > 1:
            raise CallbackError(f"TerminateOnNaN: max_growth must be > 1 or None, got {max_growth}")
        self.max_growth = max_growth
        self.first: float | None = None
        self.diverged: tuple[int, float] | None = None

    def on_batch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            self.diverged = (trainer.global_step, loss)
            trainer.stop_training = True
            trainer.stop_reason = (f"non-finite loss {logs['loss']} at step {int(logs['step'])}: lower the "
                                   "learning rate, clip gradients, or run under gradwise.detect_anomaly()")
            return
        if self.first is None:
            self.first = abs(loss)
        if self.max_growth is not None and abs(loss) > self.max_growth * max(self.first, 1e-12):
            self.diverged = (trainer.global_step, loss)
            trainer.stop_training = True
            trainer.stop_reason = (f"loss {loss:.4g} at step {int(logs['step'])} is over {self.max_growth:g} times "
                                   f"the first step's {self.first:.4g}: lower the learning rate")

    def state_dict(self) -> dict[str, Any]:
        return {"first": self.first}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.first = state.get("first")


class CSVLogger(Callback):
    """Rewrite ``path`` (atomically) with the per-epoch records after every epoch."""

    def __init__(self, path: str | os.PathLike[str], level: str = "epoch") -> None:
        if level not in ("epoch", "step"):
            raise CallbackError(f"CSVLogger: level must be 'epoch' or 'step', got {level!r}")
        self.path, self.level = Path(path), level

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        trainer.history.to_csv(self.path, level=self.level)


class TensorBoardLogger(Callback):
    """Write scalars (per-step loss, lr, gradient norm; per-epoch records) and, every
    ``histogram_every`` epochs, histograms of each parameter and its gradient, with tensorboardX
    (``pip install 'gradwise[tensorboard]'``).  Only the main process writes under MPI."""

    def __init__(self, logdir: str | os.PathLike[str], histogram_every: int = 1) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoardLogger needs tensorboardX: pip install 'gradwise[tensorboard]'") from None
        self.writer = SummaryWriter(str(logdir))
        self.histogram_every = int(histogram_every)

    def on_batch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        step = int(logs["step"])
        for key in ("loss", "lr", "grad_norm"):
            self.writer.add_scalar(f"step/{key}", logs[key], step)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            if key != "epoch":
                self.writer.add_scalar(f"epoch/{key}", value, epoch + 1)
        if self.histogram_every and (epoch + 1) % self.histogram_every == 0:
            for name, p in trainer.model.named_parameters():
                self.writer.add_histogram(f"weights/{name}", np.asarray(p._data), epoch + 1)
                if p.grad is not None:
                    self.writer.add_histogram(f"grads/{name}", np.asarray(p.grad._data), epoch + 1)
        self.writer.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        self.writer.close()

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        self.writer.close()
