"""Runs described by plain settings: a dataset name, a model spec like ``mlp:64,32``, an optimizer
name.  The ``gradwise`` command builds its runs here, and so can a script or a notebook.

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
from dataclasses import dataclass
from typing import Any

from gradwise import nn, optim
from gradwise.api.random import Generator
from gradwise.errors import GradwiseError

DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes", "spirals", "moons", "mnist", "fashion_mnist")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "silu": nn.SiLU,
               "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULERS = ("none", "cosine", "step", "exponential", "plateau", "onecycle")


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
    momentum: float = 0.9
    weight_decay: float | None = None     # None: the optimizer's own default (0, or 0.01 for AdamW)
    epochs: int = 20
    mode: str = "minibatch"
    batch_size: int = 32
    scheduler: str = "none"
    seed: int = 0
    data_root: str = "data"
    download: bool = False
    progress: bool = True

    def validate(self) -> RunConfig:
        def choice(option: str, value: Any, valid: Any) -> None:
            if value not in valid:
                raise RecipeError(f"--{option.replace('_', '-')}: invalid choice {value!r}; valid: "
                                  f"{', '.join(valid)}")

        choice("dataset", self.dataset, DATASETS)
        choice("activation", self.activation, tuple(ACTIVATIONS))
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("scheduler", self.scheduler, SCHEDULERS)
        choice("mode", self.mode, ("full", "sgd", "minibatch"))
        for option, low in (("epochs", 1), ("batch_size", 1)):
            value = getattr(self, option)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise RecipeError(f"--{option.replace('_', '-')}: must be an integer >= {low}, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise RecipeError(f"--lr: must be a positive finite number, got {self.lr!r}")
        hidden_sizes(self.model)
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str) -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise RecipeError(f"{source}: unknown setting(s) {unknown}; valid: {sorted(known)}")
        return cls(**values)


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


@dataclass(frozen=True)
class Task:
    """The data of a run: train/test tensors, the number of inputs and outputs and the task kind."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    in_features: int
    out_features: int
    kind: str            # "classification" or "regression"


def load_task(cfg: RunConfig) -> Task:
    """The dataset named by ``cfg.dataset``, split into train and test with ``cfg.seed``."""
    from gradwise import data

    name = cfg.dataset
    if name in ("mnist", "fashion_mnist"):
        reader = data.mnist if name == "mnist" else data.fashion_mnist
        train = reader(cfg.data_root, train=True, download=cfg.download)
        test = reader(cfg.data_root, train=False, download=cfg.download)
        (xtr, ytr), (xte, yte) = train, test
        xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)    # (N, 1, 28, 28) -> (N, 784)
        return Task(xtr, ytr, xte, yte, xtr.shape[1], 10, "classification")
    if name in ("spirals", "moons"):
        gen = Generator().manual_seed(cfg.seed)
        x, y = data.spirals(n_samples=600, generator=gen) if name == "spirals" else \
            data.moons(n_samples=600, noise=0.2, generator=gen)
        xtr, xte, ytr, yte = data.train_test_split(x, y, test_size=0.2, seed=cfg.seed, stratify=y)
        return Task(xtr, ytr, xte, yte, x.shape[1], int(y.max().item()) + 1, "classification")
    bundle = getattr(data, name)(seed=cfg.seed, standardize=True)
    out = bundle.num_classes if bundle.task == "classification" else bundle.y_train.shape[1]
    return Task(bundle.x_train, bundle.y_train, bundle.x_test, bundle.y_test, bundle.x_train.shape[1], out,
                bundle.task)


def build_model(cfg: RunConfig, in_features: int, out_features: int, generator: Generator | None = None) -> Any:
    """An MLP ``in -> hidden... -> out`` with ``cfg.activation`` between layers (PyTorch's default init)."""
    sizes = [in_features, *hidden_sizes(cfg.model), out_features]
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, generator=generator))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[cfg.activation]())
    return nn.Sequential(*layers)


def build_optimizer(cfg: RunConfig, params: Any) -> Any:
    """The optimizer named by ``cfg.optimizer`` (``momentum``/``nesterov`` are SGD with ``cfg.momentum``)."""
    kwargs = {} if cfg.weight_decay is None else {"weight_decay": cfg.weight_decay}
    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=cfg.lr, **kwargs)
    if cfg.optimizer in ("momentum", "nesterov"):
        return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.optimizer == "nesterov", **kwargs)
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}
    return cls[cfg.optimizer](params, lr=cfg.lr, **kwargs)


def build_scheduler(cfg: RunConfig, optimizer: Any, steps_per_epoch: int) -> tuple[Any, str]:
    """``(scheduler or None, interval)`` for ``cfg.scheduler``."""
    if cfg.scheduler == "none":
        return None, "epoch"
    from gradwise.optim import lr_scheduler as s

    if cfg.scheduler == "cosine":
        return s.CosineAnnealingLR(optimizer, T_max=cfg.epochs), "epoch"
    if cfg.scheduler == "step":
        return s.StepLR(optimizer, step_size=max(1, cfg.epochs // 3), gamma=0.1), "epoch"
    if cfg.scheduler == "exponential":
        return s.ExponentialLR(optimizer, gamma=0.95), "epoch"
    if cfg.scheduler == "plateau":
        return s.ReduceLROnPlateau(optimizer, factor=0.5, patience=3), "epoch"
    return s.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch), "step"


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
