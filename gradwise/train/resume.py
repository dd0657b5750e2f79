"""Writing a trainer's checkpoint and resuming from one: the trainer's side of
:mod:`gradwise.train.checkpoint` (which holds the file's layout and its checks).

A resume either loads everything or changes nothing: what it would change is copied first
and put back if any part fails to load.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradwise.serialization import CheckpointError, save
from gradwise.train.checkpoint import FORMAT, check_compatible, module_generators, set_rng_states
from gradwise.train.errors import TrainingError

if TYPE_CHECKING:
    from gradwise.train.loop import Trainer


def save_checkpoint(trainer: Trainer, path: str | Path, rng: dict[str, Any] | None = None) -> Path:
    """Write a resumable checkpoint of ``trainer``'s run as it stands (between steps) to ``path``
    (distributed: only rank 0 writes; the others return the path).  ``rng``: the random states to
    record (default: those of now)."""
    path = Path(path)
    if not trainer.strategy.is_main:
        return path
    entry = trainer.strategy.checkpoint_entry()
    extra = {} if entry is None else {"distributed": entry}
    save({
        "format": FORMAT,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "optimizer_class": type(trainer.optimizer).__name__,
        "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
        "counters": {"epoch": trainer.epoch, "batch_in_epoch": trainer.batch_in_epoch,
                     "global_step": trainer.global_step, "samples_seen": trainer.samples_seen,
                     "wall_time": trainer._elapsed()},
        "epoch_sums": {"loss_sum": trainer._loss_sum, "n": trainer._n,
                       "metrics": [m.state_dict() for m in trainer.metrics]},
        "history": trainer.history.state_dict(),
        "callbacks": [[type(c).__name__, c.state_dict()] for c in trainer.callbacks],
        "rng": rng if rng is not None else trainer._rng_now(),
        **extra,
    }, path)
    return path


def restore(trainer: Trainer, ckpt: dict[str, Any], path: str | Path) -> None:
    """Load the checkpoint ``ckpt`` (read from ``path``) into ``trainer``; raise, changing nothing,
    when it does not fit this run or fails to load."""
    check_compatible(ckpt, trainer.model, trainer.optimizer, path)
    gens = module_generators(trainer.model)
    if len(gens) != len(ckpt["rng"]["modules"]):
        raise TrainingError(f"resume: the checkpoint holds {len(ckpt['rng']['modules'])} module random "
                            f"generator(s), this model {len(gens)}; nothing was loaded")
    if (trainer.scheduler is None) != (ckpt["scheduler"] is None):
        raise TrainingError("resume: the checkpoint was written " + ("with" if ckpt["scheduler"] else "without")
                            + " an LR scheduler and this run is " + ("not" if trainer.scheduler is None else "")
                            + " using one; nothing was loaded")
    backup = _restorable_state(trainer)
    try:
        trainer.model.load_state_dict(ckpt["model"])
        trainer.optimizer.load_state_dict(ckpt["optimizer"])
        c = ckpt["counters"]
        trainer.epoch, trainer.batch_in_epoch = c["epoch"], c["batch_in_epoch"]
        trainer.global_step, trainer.samples_seen = c["global_step"], c["samples_seen"]
        trainer._time_offset = c["wall_time"]
        trainer.history.load_state_dict(ckpt["history"])
        saved_cbs: dict[str, list[Any]] = {}
        for name, state in ckpt["callbacks"]:
            saved_cbs.setdefault(name, []).append(state)
        for cb in trainer.callbacks:       # callbacks of one class are matched in order
            queue = saved_cbs.get(type(cb).__name__)
            if queue:
                cb.load_state_dict(queue.pop(0))
        sums = ckpt["epoch_sums"]
        trainer._loss_sum, trainer._n = sums["loss_sum"], sums["n"]
        for m, state in zip(trainer.metrics, sums["metrics"]):
            m.load_state_dict(state)
        if not trainer.strategy.is_main and trainer.batch_in_epoch:
            for m in trainer.metrics:      # rank 0's saved sums already count every rank's batches
                m.reset()
    except Exception as exc:    # put back everything already loaded: a failed resume changes nothing
        _put_back(trainer, backup)
        if isinstance(exc, (TrainingError, CheckpointError)):
            raise
        raise CheckpointError(f"resume: {os.fspath(path)} could not be loaded ({type(exc).__name__}: {exc}); "
                              "nothing was changed") from exc
    if trainer.batch_in_epoch == 0:    # an epoch boundary: the next epoch draws from these states
        set_rng_states(trainer.model, trainer.generator, ckpt["rng"])


def _restorable_state(trainer: Trainer) -> dict[str, Any]:
    """Copies of what :func:`restore` changes, for putting back after a failed resume."""
    return {"model": {k: np.array(v._data, copy=True) for k, v in trainer.model.state_dict().items()},
            "optimizer": copy.deepcopy(trainer.optimizer.state_dict()),
            "counters": (trainer.epoch, trainer.batch_in_epoch, trainer.global_step, trainer.samples_seen,
                         trainer._time_offset, trainer._loss_sum, trainer._n),
            "history": copy.deepcopy(trainer.history.state_dict()),
            "callbacks": [copy.deepcopy(cb.state_dict()) for cb in trainer.callbacks],
            "metrics": [copy.deepcopy(m.state_dict()) for m in trainer.metrics]}


def _put_back(trainer: Trainer, backup: dict[str, Any]) -> None:
    """Undo a partly loaded resume with the copies :func:`_restorable_state` took."""
    trainer.model.load_state_dict(backup["model"])     # in place, without recording a graph
    trainer.optimizer.load_state_dict(backup["optimizer"])
    (trainer.epoch, trainer.batch_in_epoch, trainer.global_step, trainer.samples_seen,
     trainer._time_offset, trainer._loss_sum, trainer._n) = backup["counters"]
    trainer.history.load_state_dict(backup["history"])
    for cb, state in zip(trainer.callbacks, backup["callbacks"]):
        cb.load_state_dict(state)
    for m, state in zip(trainer.metrics, backup["metrics"]):
        m.load_state_dict(state)
