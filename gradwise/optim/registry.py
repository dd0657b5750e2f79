"""The optimizer registry: every optimizer by the name the ``gradwise`` command and the descent
tools use, with the options the name stands for and the run settings it takes.

One entry per name (``momentum`` and ``nesterov`` are SGD with ``momentum=0.9``, Nesterov's
variant for the second).  ``gradwise train --optimizer``, :func:`gradwise.runs.build_optimizer`
and the descent tools of :mod:`gradwise.insight` (``descend``, ``compare``, ``race``...) read
this table and nothing else; ``tests/test_registries.py`` checks that every optimizer class of
:mod:`gradwise.optim` has an entry and a parity test.

>>> import gradwise as gw
>>> entry = get_optimizer("nesterov")
>>> entry.cls.__name__, dict(entry.implied), entry.settings
('SGD', {'momentum': 0.9, 'nesterov': True}, ('momentum', 'weight_decay'))
>>> w = gw.nn.Parameter(gw.tensor([1.0]))
>>> opt = entry.build([w], lr=0.1, momentum=0.5)
>>> opt.param_groups[0]["momentum"], opt.param_groups[0]["nesterov"]
(0.5, True)
>>> get_optimizer("lbfgs").trainable
False
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gradwise.optim.adadelta import Adadelta
from gradwise.optim.adam_family import Adamax, NAdam, RAdam
from gradwise.optim.adaptive import Adagrad, Adam, AdamW, RMSprop
from gradwise.optim.lbfgs import LBFGS
from gradwise.optim.optimizer import Optimizer, OptimizerError
from gradwise.optim.sgd import SGD
from gradwise.optim.sign_based import Lion, Rprop

# the run settings (fields of gradwise.runs.RunConfig) an entry may take besides lr
SETTINGS = ("momentum", "weight_decay")


@dataclass(frozen=True)
class OptimizerEntry:
    """One optimizer name.

    ``cls``: the Optimizer class; ``implied``: constructor options the name stands for (a
    caller's options win); ``settings``: the run settings it takes besides ``lr`` (from
    :data:`SETTINGS`; ``momentum`` only where the name is about momentum); ``trainable``:
    whether the training loop (``fit``, ``gradwise train``) can drive it, with ``reason``
    when not; ``coordinatewise``: each coordinate's update reads only its own gradient and
    state (the descent tools then run many starts as rows of one parameter); ``factory``:
    ``(params, lr, **options) -> Optimizer`` when the class's own constructor is not the way to
    build it.
    """

    name: str
    cls: type[Optimizer]
    summary: str
    implied: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    settings: tuple[str, ...] = ("weight_decay",)
    trainable: bool = True
    reason: str = ""
    coordinatewise: bool = True
    factory: Callable[..., Optimizer] | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.settings) - set(SETTINGS))
        if unknown:
            raise OptimizerError(f"optimizer {self.name!r}: unknown setting(s) {unknown}; valid: {list(SETTINGS)}")
        if not self.trainable and not self.reason:
            raise OptimizerError(f"optimizer {self.name!r}: an entry the training loop cannot drive needs a reason")
        object.__setattr__(self, "implied", MappingProxyType(dict(self.implied)))

    def options(self, **settings: Any) -> dict[str, Any]:
        """The constructor options for ``settings`` (each one the entry takes) over the implied ones."""
        unknown = sorted(set(settings) - set(self.settings))
        if unknown:
            raise OptimizerError(f"optimizer {self.name!r} does not take {', '.join(unknown)}; it takes "
                                 f"{', '.join(self.settings) or 'no setting besides lr'}")
        return {**self.implied, **settings}

    def build(self, params: Any, lr: float, **settings: Any) -> Optimizer:
        """The optimizer over ``params`` with learning rate ``lr`` and ``settings``."""
        make: Callable[..., Optimizer] = self.factory or self.cls
        return make(params, lr=lr, **self.options(**settings))


OPTIMIZERS: dict[str, OptimizerEntry] = {}


def register_optimizer(entry: OptimizerEntry) -> OptimizerEntry:
    """Add ``entry`` under its name (a name is registered once)."""
    if entry.name in OPTIMIZERS:
        raise OptimizerError(f"optimizer {entry.name!r} is registered already")
    OPTIMIZERS[entry.name] = entry
    return entry


def get_optimizer(name: str) -> OptimizerEntry:
    """The entry for ``name`` (case and surrounding spaces ignored)."""
    key = name.strip().lower()
    if key not in OPTIMIZERS:
        raise OptimizerError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[key]


def optimizer_names(trainable: bool | None = None) -> tuple[str, ...]:
    """Every registered name, or only those the training loop can (``True``) or cannot (``False``) drive."""
    return tuple(n for n, e in OPTIMIZERS.items() if trainable is None or e.trainable == trainable)


def is_coordinatewise(cls: type[Optimizer]) -> bool:
    """Whether ``cls`` (or the nearest registered class it derives from) updates each coordinate
    on its own; False for a class the registry does not know."""
    for klass in cls.__mro__:
        entries = [e for e in OPTIMIZERS.values() if e.cls is klass]
        if entries:
            return all(e.coordinatewise for e in entries)
    return False


_MOMENTUM = ("momentum", "weight_decay")
for _entry in (
    OptimizerEntry("sgd", SGD, "plain stochastic gradient descent"),
    OptimizerEntry("momentum", SGD, "SGD with heavy-ball momentum (--momentum, default 0.9)",
                   {"momentum": 0.9}, _MOMENTUM),
    OptimizerEntry("nesterov", SGD, "SGD with Nesterov momentum (--momentum, default 0.9)",
                   {"momentum": 0.9, "nesterov": True}, _MOMENTUM),
    OptimizerEntry("adam", Adam, "Adam"),
    OptimizerEntry("adamw", AdamW, "Adam with decoupled weight decay (default 0.01)"),
    OptimizerEntry("rmsprop", RMSprop, "RMSprop"),
    OptimizerEntry("adagrad", Adagrad, "Adagrad"),
    OptimizerEntry("adadelta", Adadelta, "Adadelta (lr 1.0 is its usual setting)"),
    OptimizerEntry("adamax", Adamax, "Adamax: Adam with an infinity norm"),
    OptimizerEntry("nadam", NAdam, "NAdam: Adam with Nesterov momentum"),
    OptimizerEntry("radam", RAdam, "RAdam: rectified Adam"),
    OptimizerEntry("rprop", Rprop, "Rprop: sign-based steps (full-batch descent is its intended use)",
                   settings=()),
    OptimizerEntry("lion", Lion, "Lion: sign of an interpolated momentum"),
    OptimizerEntry("lbfgs", LBFGS, "L-BFGS with an optional strong-Wolfe line search", settings=(),
                   trainable=False, coordinatewise=False,
                   reason="its step(closure) re-evaluates the loss several times per step; the training loop "
                          "runs one forward and backward per batch and calls step() without a closure"),
):
    register_optimizer(_entry)
del _entry
