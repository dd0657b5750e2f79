"""The activation registry: every activation module class, keyed by class, with its name and the
properties the gradient monitor reads.

``gradwise train --activation`` offers the names of the entries a hidden layer can use;
:class:`gradwise.insight.GradientMonitor` finds the activations of a model by looking each
module's class up here (:func:`activation_of`, subclasses included), and reads whether its
units can die (exact zeros on a half-line, like ReLU) or saturate (flat tails, like the
sigmoid).  ``tests/test_registries.py`` checks that every activation class of
:mod:`gradwise.nn` has an entry.

>>> from gradwise import nn
>>> activation_of(nn.ReLU()).name, activation_of(nn.Tanh()).saturation
('relu', 'tanh')
>>> activation_of(nn.Linear(2, 2)) is None
True
>>> activation_named("leaky_relu").cls is nn.LeakyReLU
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradwise.errors import GradwiseError
from gradwise.nn.module import Module
from gradwise.nn.modules.activation import (
    ELU,
    GELU,
    SELU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)

SATURATION_KINDS = ("sigmoid", "tanh", "clip")


class ActivationRegistryError(GradwiseError, ValueError):
    """An unknown activation name or a malformed registry entry."""


@dataclass(frozen=True)
class ActivationEntry:
    """One activation class.

    ``name``: its name in run settings (``--activation``), PyTorch's functional name;
    ``elementwise``: applied to each entry on its own, so it can sit between hidden layers
    and the gradient monitor measures it (Softmax, which normalises along a dimension, is
    not); ``dead_units``: its output is exactly zero on a half-line, so a unit can die;
    ``saturation``: ``"sigmoid"`` (flat near 0 and 1), ``"tanh"`` (near -1 and 1) or
    ``"clip"`` (exact bounds, ``bounds(module)``) where its derivative vanishes in the tails.
    """

    cls: type[Module]
    name: str
    elementwise: bool = True
    dead_units: bool = False
    saturation: str | None = None
    bounds: Callable[[Any], tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        if self.saturation is not None and self.saturation not in SATURATION_KINDS:
            raise ActivationRegistryError(f"activation {self.name!r}: saturation must be one of "
                                          f"{SATURATION_KINDS} or None, got {self.saturation!r}")

    def clip_bounds(self, module: Any) -> tuple[float, float]:
        """The bounds outside which a ``"clip"`` activation's derivative is zero."""
        return self.bounds(module) if self.bounds is not None else (-1.0, 1.0)


ACTIVATIONS: dict[type[Module], ActivationEntry] = {}


def register_activation(entry: ActivationEntry) -> ActivationEntry:
    """Add ``entry`` (a class and a name are registered once)."""
    if entry.cls in ACTIVATIONS:
        raise ActivationRegistryError(f"{entry.cls.__name__} is registered already")
    if any(e.name == entry.name for e in ACTIVATIONS.values()):
        raise ActivationRegistryError(f"activation name {entry.name!r} is registered already")
    ACTIVATIONS[entry.cls] = entry
    return entry


def activation_of(module: Module | type[Module]) -> ActivationEntry | None:
    """The entry of ``module``'s class or of its nearest registered base class; None for a module
    that is not an activation."""
    cls = module if isinstance(module, type) else type(module)
    for klass in cls.__mro__:
        entry = ACTIVATIONS.get(klass)
        if entry is not None:
            return entry
    return None


def activation_named(name: str) -> ActivationEntry:
    """The entry called ``name``."""
    for entry in ACTIVATIONS.values():
        if entry.name == name:
            return entry
    raise ActivationRegistryError(f"unknown activation {name!r}; choose one of {', '.join(activation_names())}")


def activation_names(elementwise: bool = True) -> tuple[str, ...]:
    """The names a run can put between hidden layers (``elementwise=False``: every name)."""
    return tuple(e.name for e in ACTIVATIONS.values() if e.elementwise or not elementwise)


def _hardtanh_bounds(module: Any) -> tuple[float, float]:
    return float(getattr(module, "min_val", -1.0)), float(getattr(module, "max_val", 1.0))


for _entry in (
    ActivationEntry(ReLU, "relu", dead_units=True),
    ActivationEntry(Tanh, "tanh", saturation="tanh"),
    ActivationEntry(Sigmoid, "sigmoid", saturation="sigmoid"),
    ActivationEntry(GELU, "gelu"),
    ActivationEntry(SiLU, "silu"),
    ActivationEntry(ELU, "elu"),
    ActivationEntry(LeakyReLU, "leaky_relu"),
    ActivationEntry(ReLU6, "relu6", dead_units=True, saturation="clip", bounds=lambda m: (-math.inf, 6.0)),
    ActivationEntry(SELU, "selu"),
    ActivationEntry(Mish, "mish"),
    ActivationEntry(Softplus, "softplus"),
    ActivationEntry(Softsign, "softsign", saturation="tanh"),
    ActivationEntry(Hardtanh, "hardtanh", saturation="clip", bounds=_hardtanh_bounds),
    ActivationEntry(LogSigmoid, "logsigmoid"),
    ActivationEntry(Softmax, "softmax", elementwise=False),
    ActivationEntry(LogSoftmax, "log_softmax", elementwise=False),
):
    register_activation(_entry)
del _entry
