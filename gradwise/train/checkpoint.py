"""Training checkpoints: everything a run needs to continue as if it had never stopped.

A checkpoint is a :func:`gradwise.save` file (safetensors + JSON, never pickle)
holding the model's and optimizer's state dicts, the scheduler's, the counters
(epoch, batch within the epoch, global step, samples seen), the history, the
callbacks' state, the epoch's running sums, and every random state the run
draws from: gradwise's default generator, each ``Generator`` held by a module
(dropout), and the data loader's generator both now and at the start of the
epoch (so the epoch's shuffled order can be drawn again and the finished
batches skipped).  Resuming then replays the same floating-point operations in
the same order: the parameters match an uninterrupted run bit for bit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.api.random import Generator, default_generator
from gradwise.autograd.tensor import Tensor
from gradwise.errors import format_shape
from gradwise.serialization import CheckpointError, load

FORMAT = "gradwise-train-1"


def module_generators(model: Any) -> list[Generator]:
    """Every distinct ``Generator`` held as an attribute by the model's modules, in module order."""
    found: dict[int, Generator] = {}
    for m in model.modules():
        for v in vars(m).values():
            if isinstance(v, Generator):
                found.setdefault(id(v), v)
    return list(found.values())


def rng_states(model: Any, loader_generator: Generator | None, epoch_start: Any) -> dict[str, Any]:
    """Every random state a run draws from (see the module docstring), as plain values."""
    return {"default": default_generator.get_state(),
            "modules": [g.get_state() for g in module_generators(model)],
            "loader": None if loader_generator is None else loader_generator.get_state(),
            "loader_epoch_start": epoch_start}


def set_rng_states(model: Any, loader_generator: Generator | None, rng: dict[str, Any]) -> None:
    """Put back the states :func:`rng_states` captured."""
    default_generator.set_state(rng["default"])
    for g, state in zip(module_generators(model), rng["modules"]):
        g.set_state(state)
    if loader_generator is not None and rng["loader"] is not None:
        loader_generator.set_state(rng["loader"])


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A training checkpoint read and checked once (:func:`read_checkpoint`) from ``path``: pass it as
    ``fit(resume=...)`` to resume from it without reading the file again."""

    path: Path
    contents: dict[str, Any]

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> LoadedCheckpoint:
        return cls(Path(path), read_checkpoint(path))


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a training checkpoint and check that it is one (a plain ``gradwise.save`` file is not)."""
    ckpt = load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"resume: {os.fspath(path)} is a gradwise file but not a training checkpoint "
                              f"(format {ckpt.get('format') if isinstance(ckpt, dict) else None!r}, "
                              f"expected {FORMAT!r}); write one with fit(..., checkpoint_dir=...) or ModelCheckpoint")
    check_structure(ckpt, path)
    return ckpt


# What a training checkpoint holds, entry by entry: the type each must have (checked before
# anything is loaded, so a partial or edited file changes nothing).
_NUMBER = (int, float)
_SCHEMA: dict[str, Any] = {
    "model": dict, "optimizer": dict, "scheduler": (dict, type(None)), "history": dict, "callbacks": list,
    "counters": {"epoch": int, "batch_in_epoch": int, "global_step": int, "samples_seen": int, "wall_time": _NUMBER},
    "epoch_sums": {"loss_sum": _NUMBER, "n": int, "metrics": list},
    "rng": {"default": dict, "modules": list, "loader": (dict, type(None)), "loader_epoch_start": (dict, type(None))},
}


def check_structure(ckpt: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Raise :class:`CheckpointError` naming the first missing or mistyped entry of a training checkpoint."""
    def fail(what: str) -> None:
        raise CheckpointError(f"resume: {os.fspath(path)} is not a complete training checkpoint: {what}; "
                              "nothing was loaded")

    for key, kind in _SCHEMA.items():
        if key not in ckpt:
            fail(f"it has no {key!r}")
        value = ckpt[key]
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                fail(f"{key!r} is a {type(value).__name__}, expected a dict")
            for sub, sub_kind in kind.items():
                if sub not in value:
                    fail(f"{key!r} has no {sub!r}")
                if not isinstance(value[sub], sub_kind) or isinstance(value[sub], bool):
                    fail(f"{key}[{sub!r}] is {value[sub]!r}")
        elif not isinstance(value, kind):
            fail(f"{key!r} is a {type(value).__name__}")
    optimizer = ckpt["optimizer"]
    if not isinstance(optimizer.get("param_groups"), list) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), list) for g in optimizer["param_groups"]):
        fail("its optimizer state has no list of parameter groups")
    if not all(isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) for c in ckpt["callbacks"]):
        fail("its callbacks are not [name, state] pairs")


def check_compatible(ckpt: dict[str, Any], model: Any, optimizer: Any, path: str | os.PathLike[str]) -> None:
    """Raise, touching nothing, unless the checkpoint's model and optimizer fit these ones."""
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    saved = {k: tuple(np.shape(v._data if isinstance(v, Tensor) else v)) for k, v in ckpt["model"].items()}
    missing = sorted(set(own) - set(saved))
    unexpected = sorted(set(saved) - set(own))
    wrong = [f"{k}: checkpoint {format_shape(saved[k])} vs model {format_shape(own[k])}"
             for k in own if k in saved and saved[k] != own[k]]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append("shape mismatches: " + "; ".join(wrong))
        if missing:
            parts.append(f"missing in checkpoint: {missing}")
        if unexpected:
            parts.append(f"not in this model: {unexpected}")
        raise CheckpointError(f"resume: the checkpoint {os.fspath(path)} was written for a different model "
                              f"({'; '.join(parts)}); nothing was loaded. Build the same model as the run that "
                              "wrote it, or start a fresh run")
    saved_groups = [len(g["params"]) for g in ckpt["optimizer"]["param_groups"]]
    own_groups = [len(g["params"]) for g in optimizer.param_groups]
    if saved_groups != own_groups:
        raise CheckpointError(f"resume: the checkpoint's optimizer has parameter groups of sizes {saved_groups}, "
                              f"this optimizer {own_groups}; nothing was loaded")
    saved_opt = ckpt.get("optimizer_class")
    if saved_opt and saved_opt != type(optimizer).__name__:
        raise CheckpointError(f"resume: the checkpoint was written with optimizer {saved_opt}, this run uses "
                              f"{type(optimizer).__name__}; nothing was loaded")
