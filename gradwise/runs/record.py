"""A run folder's ``config.json``: the settings the run started with, and the history of its resumes.

A resume may change settings (most often ``epochs``, to train further).  The file never
overwrites the original settings with them: it keeps the settings of the first start and
appends one entry per resume to its ``history`` list::

    {"dataset": "iris", ..., "epochs": 20, ...,
     "history": [{"time": "2026-12-04T18:40:00Z", "from_epoch": 20, "from_step": 100,
                  "checkpoint": "final.ckpt", "changed": {"epochs": [20, 40]}}]}

``changed`` maps each setting that the resume changed to ``[before, after]``; the settings in
force are the original ones with every entry's changes applied in order
(:meth:`RunRecord.current`).  The file is written atomically and checked entry by entry when
read: a damaged or edited file raises :class:`~gradwise.runs.recipe.RecipeError` naming it.

>>> rec = RunRecord(RunConfig(epochs=20))
>>> rec = rec.resumed(RunConfig(epochs=40), from_epoch=20, from_step=100, checkpoint="final.ckpt",
...                   time="2026-12-04T18:40:00Z")
>>> rec.original.epochs, rec.current().epochs, rec.history[0]["changed"]
(20, 40, {'epochs': [20, 40]})
"""

from __future__ import annotations

import dataclasses
import json
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradwise.atomic_files import write_text_atomic
from gradwise.runs.recipe import RecipeError, RunConfig

__all__ = ["CONFIG_FILE", "RunRecord", "read_record"]

CONFIG_FILE = "config.json"     # a run folder's settings: its presence marks the folder as a run
HISTORY_KEY = "history"

# one resume entry: each key with the type its value must have
_ENTRY: dict[str, tuple[type, ...]] = {"time": (str,), "from_epoch": (int,), "from_step": (int,),
                                       "checkpoint": (str,), "changed": (dict,)}


@dataclass(frozen=True)
class RunRecord:
    """The original settings of a run and one entry per resume (see the module docstring)."""

    original: RunConfig
    history: tuple[dict[str, Any], ...] = field(default=())

    def current(self) -> RunConfig:
        """The settings in force: the original ones with every resume's changes applied in order."""
        values = dataclasses.asdict(self.original)
        for entry in self.history:
            values.update({k: after for k, (_, after) in entry["changed"].items()})
        return RunConfig(**values)

    def resumed(self, cfg: RunConfig, *, from_epoch: int, from_step: int, checkpoint: str,
                time: str | None = None) -> RunRecord:
        """This record with one more entry: a resume with the settings ``cfg`` from a checkpoint at
        ``from_epoch`` (epochs completed) and ``from_step`` (optimizer steps taken)."""
        before, after = dataclasses.asdict(self.current()), dataclasses.asdict(cfg)
        changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        entry = {"time": time or _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime()),
                 "from_epoch": int(from_epoch), "from_step": int(from_step), "checkpoint": checkpoint,
                 "changed": changed}
        return RunRecord(self.original, (*self.history, entry))

    def to_json(self) -> str:
        return json.dumps({**dataclasses.asdict(self.original), HISTORY_KEY: list(self.history)}, indent=1) + "\n"

    def write(self, run_dir: str | Path) -> Path:
        """Write ``run_dir/config.json`` atomically (a crash leaves the old file or the new one)."""
        path = Path(run_dir) / CONFIG_FILE
        write_text_atomic(path, self.to_json())
        return path


def _check_history(history: Any, path: Path) -> tuple[dict[str, Any], ...]:
    """The resume entries of ``config.json``, each checked: keys, types, and changed settings that exist
    and have their setting's type."""
    def fail(what: str) -> None:
        raise RecipeError(f"{path}: {what}; the run folder is damaged: restore the file or start a new run")

    if not isinstance(history, list):
        fail(f"'{HISTORY_KEY}' must be a list of resume entries, got {type(history).__name__}")
    known = {f.name for f in dataclasses.fields(RunConfig)}
    for i, entry in enumerate(history):
        if not isinstance(entry, dict) or set(entry) != set(_ENTRY):
            got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            fail(f"{HISTORY_KEY}[{i}] must have the keys {sorted(_ENTRY)}, got {got}")
        for key, kinds in _ENTRY.items():
            value = entry[key]
            if not isinstance(value, kinds) or isinstance(value, bool):
                fail(f"{HISTORY_KEY}[{i}].{key} must be {kinds[0].__name__}, got {type(value).__name__} {value!r}")
            if key.startswith("from_") and value < 0:
                fail(f"{HISTORY_KEY}[{i}].{key} must be >= 0, got {value}")
        for name, change in entry["changed"].items():
            if name not in known:
                fail(f"{HISTORY_KEY}[{i}].changed names an unknown setting {name!r}; valid: {sorted(known)}")
            if not isinstance(change, list) or len(change) != 2:
                fail(f"{HISTORY_KEY}[{i}].changed[{name!r}] must be [before, after], got {change!r}")
    return tuple(history)


def read_record(run_dir: str | Path, what: str = "run folder") -> RunRecord:
    """The record in ``run_dir/config.json``, checked: a missing file raises FileNotFoundError, a
    truncated or edited one a :class:`RecipeError` naming it (never a raw JSONDecodeError); the
    settings in force (:meth:`RunRecord.current`) are validated too."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{what}: {Path(run_dir)} is not a run folder (no config.json); pass a folder "
                                "written by 'gradwise train' or 'gradwise demo'")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{what}: {path} is not valid JSON ({exc}); the run folder is damaged: restore the file "
                          "or start a new run") from None
    if not isinstance(values, dict):
        raise RecipeError(f"{what}: {path} holds a {type(values).__name__}, not the settings of a run")
    history = _check_history(values.pop(HISTORY_KEY, []), path)
    # a folder written before these settings existed trained on the whole training split, raw targets
    if "val_fraction" not in values:
        values.setdefault("standardize_targets", False)
        values["val_fraction"] = 0.0
    # a folder written when every run recorded momentum 0.9, even for optimizers without momentum
    if values.get("momentum") == 0.9 and not _uses_momentum(values.get("optimizer")):
        values["momentum"] = None
    record = RunRecord(RunConfig.from_dict(values, str(path)), history)
    for entry in history:
        for name, (_, after) in entry["changed"].items():
            RunConfig.from_dict({name: after}, f"{path}: {HISTORY_KEY}")      # each change has its type
    record.current().validate(str(path))
    return record


def _uses_momentum(optimizer: Any) -> bool:
    from gradwise.optim.registry import OPTIMIZERS

    entry = OPTIMIZERS.get(optimizer) if isinstance(optimizer, str) else None
    return entry is not None and "momentum" in entry.settings
