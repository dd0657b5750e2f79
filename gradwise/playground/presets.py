"""Guided presets: one click sets up a run that shows one thing about training, with a sentence
saying what to watch.  Each preset is a set of settings applied over the defaults (never over the
page's current settings), so the same preset always gives the same run.

>>> p = PRESETS["deep_sigmoid"]
>>> apply_preset("deep_sigmoid").activation, len(apply_preset("deep_sigmoid").hidden)
('sigmoid', 6)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradwise.playground.settings import PlaygroundError, Settings, parse_settings

_MOONS = {"dataset": "moons", "hidden": [8, 8], "activation": "tanh", "optimizer": "sgd",
          "batch_mode": "minibatch", "batch_size": 16, "noise": 0.1}
_DEEP = {"dataset": "circles", "noise": 0.05, "hidden": [8] * 6, "optimizer": "sgd", "lr": 0.3,
         "batch_mode": "minibatch", "batch_size": 32}


@dataclass(frozen=True)
class Preset:
    """``name`` (its key), ``title`` (the button), ``sentence`` (what to watch) and ``settings``
    (over the defaults)."""

    name: str
    title: str
    sentence: str
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "sentence": self.sentence}


_ALL = (
    Preset("lr_small", "LR too small",
           "With lr = 0.001 plain SGD barely moves: the loss curve is almost flat and the boundary hardly changes.",
           {**_MOONS, "lr": 0.001}),
    Preset("lr_right", "LR just right",
           "With lr = 0.1 the loss falls steadily and the boundary settles between the moons.",
           {**_MOONS, "lr": 0.1}),
    Preset("lr_large", "LR too large",
           "With lr = 8 each step overshoots: the loss jumps around instead of falling.",
           {**_MOONS, "lr": 8.0}),
    Preset("full_batch", "Full batch",
           "Full batch: one smooth, exact gradient step per pass over the data, but only one step per pass.",
           {**_MOONS, "lr": 0.1, "batch_mode": "full"}),
    Preset("stochastic", "Stochastic",
           "Stochastic: one sample per step, so each gradient is noisy and the loss curve is jagged.",
           {**_MOONS, "lr": 0.1, "batch_mode": "stochastic"}),
    Preset("minibatch", "Mini-batch",
           "Mini-batch of 16: steps almost as cheap as stochastic ones with much less noise.",
           {**_MOONS, "lr": 0.1, "batch_mode": "minibatch"}),
    Preset("deep_sigmoid", "Deep sigmoid net",
           "Six sigmoid layers: each one shrinks the gradient (sigmoid' <= 1/4), so the early layers get almost "
           "none and stop learning: the monitor calls them vanishing.",
           {**_DEEP, "activation": "sigmoid", "init": "default"}),
    Preset("deep_relu_fix", "…and the fix",
           "The same depth with ReLU and Kaiming initialisation keeps every layer's gradient of the same size, "
           "and the circles are learned.",
           {**_DEEP, "activation": "relu", "init": "kaiming"}),
    Preset("exploding_init", "Exploding init",
           "Weights of std 3 multiply the signal at every layer: the first loss is huge, the steps explode and "
           "the run diverges.",
           {"dataset": "spirals", "hidden": [8] * 6, "activation": "leaky_relu", "init": "too_large",
            "optimizer": "sgd", "lr": 0.003}),
    Preset("local_minimum", "Local minimum",
           "Three ReLU units on XOR with plain full-batch descent settle at a loss near 0.39 and stay there; "
           "switch the optimizer to momentum and reset to escape it.",
           {"dataset": "xor", "noise": 0.0, "hidden": [3], "activation": "relu", "optimizer": "sgd", "lr": 0.1,
            "batch_mode": "full", "seed": 5}),
)
PRESETS: dict[str, Preset] = {p.name: p for p in _ALL}


def apply_preset(name: Any) -> Settings:
    """The settings of preset ``name``; :class:`PlaygroundError` for an unknown name."""
    if not isinstance(name, str) or name not in PRESETS:
        raise PlaygroundError(f"preset: {name!r} is not a preset; valid: {', '.join(PRESETS)}")
    return parse_settings(PRESETS[name].settings)
