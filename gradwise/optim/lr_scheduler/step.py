"""Piecewise-constant schedules: ``StepLR``, ``MultiStepLR`` and ``ConstantLR``."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable

from gradwise.optim.lr_scheduler.base import (
    LRScheduler,
    check_int,
    check_milestones,
    check_number,
    group_values,
)
from gradwise.optim.optimizer import Optimizer


class StepLR(LRScheduler):
    """``lr_t = base_lr * gamma**(t // step_size)``: multiply by ``gamma`` every ``step_size`` steps.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import StepLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        check_int("StepLR", "step_size", step_size, 1)
        check_number("StepLR", "gamma", gamma, 0, low_open=True)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return group_values(self.optimizer, "lr")
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """``lr_t = base_lr * gamma**(number of milestones <= t)``: multiply by ``gamma`` at each milestone
    (by ``gamma**k`` at a milestone listed ``k`` times).

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import MultiStepLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.1, 0.1, 0.01, 0.01]
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(check_milestones("MultiStepLR", milestones))
        check_number("MultiStepLR", "gamma", gamma, 0, low_open=True)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _after_load(self) -> None:
        # a checkpoint stores the Counter as a plain {milestone: count} dict
        self.milestones = Counter({int(k): int(v) for k, v in dict(self.milestones).items()})

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        if self.last_epoch not in self.milestones:
            return group_values(self.optimizer, "lr")
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """``lr_t = base_lr * factor`` for ``t < total_iters``, then ``base_lr``.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import ConstantLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = ConstantLR(opt, factor=0.5, total_iters=2)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        check_number("ConstantLR", "factor", factor, 0, 1, low_open=True)
        check_int("ConstantLR", "total_iters", total_iters, 1)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return group_values(self.optimizer, "lr")
        return [g["lr"] * (1.0 / self.factor) for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]
