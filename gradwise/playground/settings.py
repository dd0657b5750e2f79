"""The playground's settings: every choice the page offers, its limits, and the checks that turn a
value sent by the page into a clear message.

:func:`parse_settings` takes the plain dict the page sends (JSON) and returns a frozen
:class:`Settings`, or raises :class:`PlaygroundError` naming the setting, the value and what is
valid; nothing else reaches the engine.

>>> s = parse_settings({"dataset": "moons", "hidden": [8, 8], "lr": 0.1})
>>> s.dataset, s.hidden, s.lr
('moons', (8, 8), 0.1)
>>> parse_settings({"hidden": [8, -2]})
Traceback (most recent call last):
...
gradwise.playground.settings.PlaygroundError: hidden: layer 2 has width -2; every width must be an integer from 1 to 32
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from gradwise.errors import GradwiseError

DATASETS = ("spirals", "moons", "circles", "xor", "blobs")
FEATURES = ("x", "y", "x2", "y2", "xy", "sinx", "siny")
FEATURE_LABELS = {"x": "x", "y": "y", "x2": "x²", "y2": "y²", "xy": "xy", "sinx": "sin πx", "siny": "sin πy"}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "gelu")
INITS = ("default", "zeros", "too_small", "too_large", "xavier", "kaiming")
LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "adamw")
BATCH_MODES = ("full", "stochastic", "minibatch")

# Bounds on what one session may ask for: they keep a session's memory and CPU small
# (a 6 x 32 network on 1000 points costs well under a millisecond per step).
MAX_LAYERS = 6
MAX_WIDTH = 32
MIN_SAMPLES, MAX_SAMPLES = 20, 1000
LR_RANGE = (1e-5, 10.0)
MAX_STEPS_PER_SECOND = 200.0
MAX_SEED = 2**31 - 1


class PlaygroundError(GradwiseError, ValueError):
    """A playground setting or message that cannot work; the message names it and what is valid."""


@dataclass(frozen=True)
class Settings:
    """One playground run, fully described (with ``seed``, it reproduces the run exactly)."""

    dataset: str = "spirals"
    n_samples: int = 300
    noise: float = 0.1
    val_fraction: float = 0.2
    features: tuple[str, ...] = ("x", "y")
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    init: str = "default"
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float = 0.03
    batch_mode: str = "minibatch"
    batch_size: int = 16
    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    speed: float = 30.0             # updates per second while playing

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _choice(name: str, value: Any, valid: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in valid:
        raise PlaygroundError(f"{name}: {value!r} is not a valid choice; valid: {', '.join(valid)}")
    return value


def _number(name: str, value: Any, low: float, high: float, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PlaygroundError(f"{name}: must be a finite number, got {value!r}")
    if value < low or value > high or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise PlaygroundError(f"{name}: must be in {bracket}{low:g}, {high:g}], got {value!r}")
    return float(value)


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise PlaygroundError(f"{name}: must be an integer from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise PlaygroundError(f"{name}: must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def _hidden(value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise PlaygroundError(f"hidden: must be a list of layer widths, e.g. [8, 8], got {value!r}")
    if len(value) > MAX_LAYERS:
        raise PlaygroundError(f"hidden: at most {MAX_LAYERS} hidden layers, got {len(value)}")
    widths = []
    for i, w in enumerate(value, 1):
        if isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= MAX_WIDTH:
            raise PlaygroundError(f"hidden: layer {i} has width {w!r}; every width must be an integer from 1 "
                                  f"to {MAX_WIDTH}")
        widths.append(int(w))
    return tuple(widths)


def _features(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise PlaygroundError(f"features: must be a non-empty list of input features from {', '.join(FEATURES)}, "
                              f"got {value!r}")
    chosen = set()
    for f in value:
        chosen.add(_choice("features", f, FEATURES))
    return tuple(f for f in FEATURES if f in chosen)          # a fixed order: the same run, the same columns


def parse_settings(values: Any, base: Settings | None = None) -> Settings:
    """``base`` (the defaults when ``None``) with the entries of ``values`` (a dict) checked and applied.

    Raises :class:`PlaygroundError` for an unknown key or a bad value, naming it and what is valid.
    """
    base = base or Settings()
    if not isinstance(values, dict):
        raise PlaygroundError(f"settings: must be an object of setting: value, got {type(values).__name__}")
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise PlaygroundError(f"settings: unknown setting(s) {unknown}; valid: {sorted(known)}")
    merged = {**base.to_dict(), **values}
    s = Settings(
        dataset=_choice("dataset", merged["dataset"], DATASETS),
        n_samples=_integer("n_samples", merged["n_samples"], MIN_SAMPLES, MAX_SAMPLES),
        noise=_number("noise", merged["noise"], 0.0, 1.0),
        val_fraction=_number("val_fraction", merged["val_fraction"], 0.0, 0.5),
        features=_features(merged["features"]),
        hidden=_hidden(merged["hidden"]),
        activation=_choice("activation", merged["activation"], ACTIVATIONS),
        init=_choice("init", merged["init"], INITS),
        loss=_choice("loss", merged["loss"], LOSSES),
        optimizer=_choice("optimizer", merged["optimizer"], OPTIMIZERS),
        lr=_number("lr", merged["lr"], *LR_RANGE),
        batch_mode=_choice("batch_mode", merged["batch_mode"], BATCH_MODES),
        batch_size=_integer("batch_size", merged["batch_size"], 1, MAX_SAMPLES),
        l2=_number("l2", merged["l2"], 0.0, 1.0),
        dropout=_number("dropout", merged["dropout"], 0.0, 0.9),
        seed=_integer("seed", merged["seed"], 0, MAX_SEED),
        speed=_number("speed", merged["speed"], 0.0, MAX_STEPS_PER_SECOND, low_open=True),
    )
    return s
