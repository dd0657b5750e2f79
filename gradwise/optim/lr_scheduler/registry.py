"""The scheduler registry: the learning-rate schedules a run names (``gradwise train --scheduler``).

Each entry builds its scheduler from what a run knows (epochs, steps per epoch, the learning
rate) and says whether it is stepped per epoch or per batch.  A scheduler class without an
entry is listed in :data:`UNREGISTERED` with the reason a one-word setting cannot describe it;
``tests/test_registries.py`` checks that every class of :mod:`gradwise.optim.lr_scheduler` is
in one or the other.

>>> import gradwise as gw
>>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=0.1)
>>> sched, interval = build_scheduler("onecycle", opt, epochs=4, steps_per_epoch=10, lr=0.1)
>>> type(sched).__name__, sched.total_steps, interval
('OneCycleLR', 40, 'step')
>>> build_scheduler("none", opt, epochs=4, steps_per_epoch=10, lr=0.1)
(None, 'epoch')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradwise.optim.lr_scheduler.base import LRScheduler, SchedulerError, _LRScheduler
from gradwise.optim.lr_scheduler.composition import ChainedScheduler, SequentialLR
from gradwise.optim.lr_scheduler.cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from gradwise.optim.lr_scheduler.cyclic import CyclicLR, OneCycleLR
from gradwise.optim.lr_scheduler.multiplicative import ExponentialLR, LambdaLR, MultiplicativeLR
from gradwise.optim.lr_scheduler.plateau import ReduceLROnPlateau
from gradwise.optim.lr_scheduler.polynomial import LinearLR, PolynomialLR
from gradwise.optim.lr_scheduler.step import ConstantLR, MultiStepLR, StepLR
from gradwise.optim.optimizer import Optimizer


@dataclass(frozen=True)
class Span:
    """What a run knows when it builds its scheduler."""

    epochs: int
    steps_per_epoch: int
    lr: float


@dataclass(frozen=True)
class SchedulerEntry:
    """One schedule name: its class (None for ``none``), how a run builds it, and whether it is
    stepped every ``"epoch"`` or every ``"step"`` (batch)."""

    name: str
    cls: type[LRScheduler] | None
    build: Callable[[Optimizer, Span], LRScheduler | None]
    interval: str
    summary: str


SCHEDULERS: dict[str, SchedulerEntry] = {}

# scheduler classes that no name stands for, each with the reason
UNREGISTERED: dict[type[LRScheduler], str] = {
    LRScheduler: "the base class of every schedule",
    _LRScheduler: "PyTorch's legacy name of the base class",
    LambdaLR: "its factor is a Python function: code, not a setting",
    MultiplicativeLR: "its factor is a Python function: code, not a setting",
    SequentialLR: "a composition of other schedulers, built in code",
    ChainedScheduler: "a composition of other schedulers, built in code",
    MultiStepLR: "needs its milestones, which a one-word --scheduler cannot carry; pass it to fit(scheduler=...)",
    ConstantLR: "a warm-up piece (factor, total_iters) for SequentialLR, not a whole schedule",
    LinearLR: "a warm-up piece (start/end factors, total_iters) for SequentialLR, not a whole schedule",
    PolynomialLR: "needs its power and length, which a one-word --scheduler cannot carry; pass it to "
                  "fit(scheduler=...)",
    CosineAnnealingWarmRestarts: "needs its restart period T_0 and T_mult, which a one-word --scheduler cannot "
                                 "carry; pass it to fit(scheduler=...)",
    CyclicLR: "needs its base/max learning rates and cycle length, which a one-word --scheduler cannot carry; "
              "pass it to fit(scheduler=...)",
}


def register_scheduler(entry: SchedulerEntry) -> SchedulerEntry:
    """Add ``entry`` under its name (a name is registered once)."""
    if entry.name in SCHEDULERS:
        raise SchedulerError(f"scheduler {entry.name!r} is registered already")
    if entry.interval not in ("epoch", "step"):
        raise SchedulerError(f"scheduler {entry.name!r}: interval must be 'epoch' or 'step', got {entry.interval!r}")
    SCHEDULERS[entry.name] = entry
    return entry


def get_scheduler(name: str) -> SchedulerEntry:
    if name not in SCHEDULERS:
        raise SchedulerError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")
    return SCHEDULERS[name]


def build_scheduler(name: str, optimizer: Optimizer, *, epochs: int, steps_per_epoch: int,
                    lr: float) -> tuple[LRScheduler | None, str]:
    """``(scheduler or None, interval)`` for the schedule ``name`` of a run."""
    entry = get_scheduler(name)
    return entry.build(optimizer, Span(epochs, steps_per_epoch, lr)), entry.interval


for _entry in (
    SchedulerEntry("none", None, lambda opt, s: None, "epoch", "a constant learning rate"),
    SchedulerEntry("cosine", CosineAnnealingLR, lambda opt, s: CosineAnnealingLR(opt, T_max=s.epochs), "epoch",
                   "cosine annealing to 0 over the run"),
    SchedulerEntry("step", StepLR, lambda opt, s: StepLR(opt, step_size=max(1, s.epochs // 3), gamma=0.1), "epoch",
                   "divide by 10 every third of the run"),
    SchedulerEntry("exponential", ExponentialLR, lambda opt, s: ExponentialLR(opt, gamma=0.95), "epoch",
                   "multiply by 0.95 every epoch"),
    SchedulerEntry("plateau", ReduceLROnPlateau, lambda opt, s: ReduceLROnPlateau(opt, factor=0.5, patience=3),
                   "epoch", "halve after 3 epochs without improvement of the validation loss"),
    SchedulerEntry("onecycle", OneCycleLR,
                   lambda opt, s: OneCycleLR(opt, max_lr=s.lr, total_steps=s.epochs * s.steps_per_epoch), "step",
                   "one cycle up to --lr and down, stepped every batch"),
):
    register_scheduler(_entry)
del _entry
