"""Runs described by plain settings: a dataset name, a model spec like ``mlp:64,32``, an optimizer
name.  The ``gradwise`` command builds its runs here, and so can a script or a notebook.

Every name a setting may take comes from the registry of its kind: datasets from
:mod:`gradwise.data.registry`, activations from :mod:`gradwise.nn.registry`, optimizers from
:mod:`gradwise.optim.registry`, schedules from :mod:`gradwise.optim.lr_scheduler.registry` and
descent modes from :data:`gradwise.train.batches.MODES`.

>>> cfg = RunConfig(dataset="iris", model="mlp:16", epochs=2, progress=False)
>>> build_model(cfg, in_features=4, out_features=3)
Sequential(
  (0): Linear(in_features=4, out_features=16, bias=True)
  (1): ReLU()
  (2): Linear(in_features=16, out_features=3, bias=True)
)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise import nn
from gradwise.api.random import Generator
from gradwise.autograd.tensor import Tensor
from gradwise.data.registry import Task, dataset_names, load_dataset
from gradwise.errors import GradwiseError
from gradwise.nn.registry import activation_named, activation_names
from gradwise.optim.lr_scheduler import registry as schedulers
from gradwise.optim.registry import OPTIMIZERS, get_optimizer, optimizer_names
from gradwise.train.batches import MODES

__all__ = ["RecipeError", "RunConfig", "RunTask", "Task", "build_model", "build_optimizer", "build_scheduler",
           "hidden_sizes", "load_task", "run_task", "steps_per_epoch", "validation_split"]


DEFAULT_MOMENTUM = 0.9       # SGD momentum of --optimizer momentum/nesterov when --momentum is not given


class RecipeError(GradwiseError, ValueError):
    """A run setting with a value that is not one of the valid choices."""


@dataclass
class RunConfig:
    """Every setting of a run (what ``config.json`` in a run folder holds)."""

    dataset: str = "digits"
    model: str = "mlp:64,32"
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float | None = None         # SGD momentum for --optimizer momentum/nesterov (None: 0.9); others: None
    weight_decay: float | None = None     # None: the optimizer's own default (0, or 0.01 for AdamW)
    epochs: int = 20
    mode: str = "minibatch"
    batch_size: int = 32
    scheduler: str = "none"
    seed: int = 0
    data_root: str = "data"
    download: bool = False
    progress: bool = True
    checkpoint_every: str = "1"           # "N" or "Nepochs": last.ckpt every N epochs; "Nsteps"; "0": never
    keep: int = 0                         # also keep the K newest periodic checkpoints (epoch-/step-*.ckpt)
    val_fraction: float = 0.1             # share of the training data held out for validation (0: none)
    standardize_targets: bool = True      # regression: train on (y - mean) / std of the training part
    init_from: str | None = None          # a checkpoint or run folder whose weights a new run starts from

    def validate(self, source: str = "settings") -> RunConfig:
        """Check every setting's type, then its value; a wrong one raises :class:`RecipeError`
        naming the setting, what it must be and what it is."""
        check_types(self, source)

        def choice(option: str, value: Any, valid: Iterable[str]) -> None:
            if value not in valid:
                raise RecipeError(f"--{option.replace('_', '-')}: invalid choice {value!r}; valid: "
                                  f"{', '.join(valid)}")

        choice("dataset", self.dataset, dataset_names())
        choice("activation", self.activation, activation_names())
        entry = OPTIMIZERS.get(self.optimizer)
        if entry is not None and not entry.trainable:
            raise RecipeError(f"--optimizer: {self.optimizer} cannot train a run: {entry.reason}; valid: "
                              f"{', '.join(optimizer_names(trainable=True))}")
        choice("optimizer", self.optimizer, optimizer_names(trainable=True))
        if self.momentum is not None and "momentum" not in get_optimizer(self.optimizer).settings:
            raise RecipeError(f"--momentum: optimizer {self.optimizer} has no momentum setting; use --optimizer "
                              "momentum or nesterov (SGD with momentum), or leave --momentum out")
        if self.weight_decay is not None and "weight_decay" not in get_optimizer(self.optimizer).settings:
            raise RecipeError(f"--weight-decay: {self.optimizer} has no weight decay; leave it out")
        choice("scheduler", self.scheduler, tuple(schedulers.SCHEDULERS))
        choice("mode", self.mode, MODES)
        for option, low in (("epochs", 1), ("batch_size", 1)):
            value = getattr(self, option)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise RecipeError(f"--{option.replace('_', '-')}: must be an integer >= {low}, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise RecipeError(f"--lr: must be a positive finite number, got {self.lr!r}")
        hidden_sizes(self.model)
        checkpoint_interval(self.checkpoint_every)
        if self.keep < 0:
            raise RecipeError(f"--keep: must be an integer >= 0, got {self.keep}")
        if not (math.isfinite(self.val_fraction) and 0 <= self.val_fraction < 1):
            raise RecipeError(f"--val-fraction: must be a number in [0, 1) (0: no validation split), got "
                              f"{self.val_fraction!r}")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str) -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise RecipeError(f"{source}: unknown setting(s) {unknown}; valid: {sorted(known)}")
        cfg = cls(**values)
        check_types(cfg, source)
        return cfg


# what each annotation of RunConfig accepts, and how an error names it
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "str": ((str,), "a string"), "int": ((int,), "an integer"), "float": ((int, float), "a number"),
    "bool": ((bool,), "true or false"), "float | None": ((int, float, type(None)), "a number (or null)"),
    "str | None": ((str, type(None)), "a string (or null)"),
}


def check_types(cfg: RunConfig, source: str) -> None:
    """Raise :class:`RecipeError` for the first setting whose value is not of its declared type (a
    TOML file's ``seed = "abc"``, ``lr = true``, ``progress = "no"``); ints are accepted for floats."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        kinds, text = _KINDS[str(f.type)]
        bad_bool = isinstance(value, bool) and bool not in kinds     # True is an int to Python, not to a run
        if bad_bool or not isinstance(value, kinds):
            raise RecipeError(f"{source}: setting {f.name!r} must be {text}, got {type(value).__name__} {value!r}")


def checkpoint_interval(spec: str) -> tuple[str, int]:
    """``"2"`` or ``"2epochs"`` -> ``("epochs", 2)``; ``"500steps"`` -> ``("steps", 500)``; ``"0"`` -> ``("off", 0)``.

    >>> checkpoint_interval("500steps"), checkpoint_interval("1")
    (('steps', 500), ('epochs', 1))
    """
    text = str(spec).strip().lower()
    unit = "steps" if text.endswith("steps") else "epochs"
    number = text.removesuffix(unit).strip()
    if not number.isdigit():
        raise RecipeError(f"--checkpoint-every: expected N (epochs), Nepochs or Nsteps, e.g. 1, 2epochs or "
                          f"500steps (0 turns periodic checkpoints off), got {spec!r}")
    n = int(number)
    return ("off", 0) if n == 0 else (unit, n)


def hidden_sizes(spec: str) -> list[int]:
    """``"mlp:64,32"`` -> ``[64, 32]``; ``"linear"`` -> ``[]`` (no hidden layer)."""
    if spec == "linear":
        return []
    kind, _, sizes = spec.partition(":")
    try:
        hidden = [int(s) for s in sizes.split(",")] if sizes else []
    except ValueError:
        hidden = [-1]
    if kind != "mlp" or not hidden or min(hidden) < 1:
        raise RecipeError(f"--model: invalid spec {spec!r}; valid: 'linear' or 'mlp:' followed by hidden layer "
                          "sizes, e.g. 'mlp:64,32'")
    return hidden


def load_task(cfg: RunConfig) -> Task:
    """The dataset named by ``cfg.dataset``, split into train and test with ``cfg.seed``."""
    return load_dataset(cfg.dataset, seed=cfg.seed, root=cfg.data_root, download=cfg.download)



@dataclass(frozen=True)
class RunTask(Task):
    """The data a run trains on: ``x_train``/``y_train`` are the training part (the validation part
    carved out), ``x_val``/``y_val`` the held-out validation part (``None`` when ``val_fraction`` is 0),
    ``x_test``/``y_test`` the untouched test split.  Regression targets are standardised with
    ``target_mean``/``target_std`` from the training part (``y = (raw - mean) / std``; ``std`` is one
    number over all outputs, so MSE scales by ``std**2`` and MAE by ``std`` back to the data's units);
    classification keeps its labels (mean 0, std 1)."""

    x_val: Any = None
    y_val: Any = None
    target_mean: Any = None
    target_std: float = 1.0

    def in_target_units(self, figures: dict[str, float]) -> dict[str, float]:
        """Loss/metrics computed on standardised targets, in the targets' original units (r2 is the
        same in both; MSE loss and ``mse`` scale by ``std**2``, ``mae`` by ``std``)."""
        s = self.target_std
        factor = {"loss": s * s, "mse": s * s, "mae": s}
        return {k: v * factor.get(k, 1.0) if self.kind == "regression" else v for k, v in figures.items()}


def validation_split(y: Any, fraction: float, seed: int, stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(train indices, validation indices)`` (each sorted) holding out ``fraction`` of ``len(y)``
    samples, drawn from ``seed``; ``stratify=True`` holds out ``fraction`` of each class (labels ``y``),
    so both parts keep the class shares.  The same ``seed`` gives the same split.

    >>> labels = np.array([0] * 10 + [1] * 10)
    >>> tr, va = validation_split(labels, 0.2, seed=0, stratify=True)
    >>> len(tr), len(va), np.bincount(labels[va]).tolist()
    (16, 4, [2, 2])
    """
    labels = np.asarray(y._data if isinstance(y, Tensor) else y)
    n = len(labels)
    if fraction <= 0:
        return np.arange(n), np.arange(0)
    rng = np.random.default_rng([seed, 0x5A11D])      # its own stream: the test split's draw is not reused
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)] if stratify else [np.arange(n)]
    held = []
    for idx in groups:
        idx = rng.permutation(idx)
        held.append(idx[:int(math.floor(fraction * len(idx) + 0.5))])
    val = np.sort(np.concatenate(held)) if held else np.arange(0)
    train = np.setdiff1d(np.arange(n), val)
    if len(val) == 0 or len(train) == 0:
        raise RecipeError(f"--val-fraction: {fraction:g} of {n} training samples leaves "
                          f"{len(train)} to train on and {len(val)} to validate on; use a fraction that keeps "
                          "both non-empty, or 0 for no validation split")
    return train, val


def _take(t: Any, idx: np.ndarray) -> Tensor:
    return Tensor(np.ascontiguousarray(np.asarray(t._data if isinstance(t, Tensor) else t)[idx]))


def run_task(cfg: RunConfig) -> RunTask:
    """The data of a run: :func:`load_task`'s split (raw), then the validation part carved out of the
    training part with ``cfg.val_fraction`` and ``cfg.seed`` (stratified for classification, a plain
    shuffle for regression), and regression targets standardised from the training part (unless
    ``cfg.standardize_targets`` is false).  It depends
    only on ``cfg``, so a resumed run and ``gradwise evaluate`` rebuild the same split."""
    task = load_task(cfg)
    classification = task.kind == "classification"
    train, val = validation_split(task.y_train, cfg.val_fraction, cfg.seed, stratify=classification)
    x_tr, y_tr = _take(task.x_train, train), _take(task.y_train, train)
    x_val = _take(task.x_train, val) if len(val) else None
    y_val = _take(task.y_train, val) if len(val) else None
    y_te = task.y_test
    mean: Any = None
    std = 1.0
    if not classification and cfg.standardize_targets:
        raw = np.asarray(y_tr._data, dtype=np.float64)
        mean = raw.mean(axis=0)
        std = float(np.sqrt(np.mean((raw - mean) ** 2))) or 1.0

        def scale(t: Any) -> Tensor:
            a = np.asarray(t._data if isinstance(t, Tensor) else t)
            return Tensor(((a.astype(np.float64) - mean) / std).astype(a.dtype))

        y_tr, y_te = scale(y_tr), scale(y_te)
        y_val = None if y_val is None else scale(y_val)
    return RunTask(x_tr, y_tr, task.x_test, y_te, task.in_features, task.out_features, task.kind,
                   x_val=x_val, y_val=y_val, target_mean=mean, target_std=std)

def build_model(cfg: RunConfig, in_features: int, out_features: int, generator: Generator | None = None) -> Any:
    """An MLP ``in -> hidden... -> out`` with ``cfg.activation`` between layers (PyTorch's default init)."""
    sizes = [in_features, *hidden_sizes(cfg.model), out_features]
    activation = activation_named(cfg.activation).cls
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, generator=generator))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def build_optimizer(cfg: RunConfig, params: Any) -> Any:
    """The optimizer named by ``cfg.optimizer`` with ``cfg.lr`` and the settings its entry takes
    (``momentum``/``nesterov`` are SGD with ``cfg.momentum``, 0.9 when None; ``cfg.weight_decay`` when given)."""
    entry = get_optimizer(cfg.optimizer)
    settings: dict[str, Any] = {}
    if "momentum" in entry.settings:
        settings["momentum"] = DEFAULT_MOMENTUM if cfg.momentum is None else cfg.momentum
    if cfg.weight_decay is not None:
        settings["weight_decay"] = cfg.weight_decay
    return entry.build(params, cfg.lr, **settings)


def build_scheduler(cfg: RunConfig, optimizer: Any, steps_per_epoch: int) -> tuple[Any, str]:
    """``(scheduler or None, interval)`` for ``cfg.scheduler``."""
    return schedulers.build_scheduler(cfg.scheduler, optimizer, epochs=cfg.epochs, steps_per_epoch=steps_per_epoch,
                                      lr=cfg.lr)


def steps_per_epoch(cfg: RunConfig, n_train: int, world_size: int = 1) -> int:
    """Optimizer steps in one epoch for the run's mode (the last short batch counts); data-parallel
    over ``world_size`` ranks, each rank steps through its ``ceil(n_train / world_size)`` samples.

    >>> steps_per_epoch(RunConfig(batch_size=32), 1000), steps_per_epoch(RunConfig(batch_size=32), 1000, 4)
    (32, 8)
    """
    if cfg.mode == "full":
        return 1
    per_rank = -(-n_train // world_size)
    if cfg.mode == "sgd":
        return per_rank
    return -(-per_rank // cfg.batch_size)
