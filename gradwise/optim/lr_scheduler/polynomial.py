"""Polynomial ramps over ``total_iters`` steps: ``LinearLR`` (warm-up or linear decay of a factor)
and ``PolynomialLR`` (decay to zero with a power)."""

from __future__ import annotations

from gradwise.optim.lr_scheduler.base import LRScheduler, check_int, check_number, group_values
from gradwise.optim.optimizer import Optimizer


class LinearLR(LRScheduler):
    """``lr_t = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)``.

    Applied as a ratio of consecutive factors, so it composes with other schedulers:
    ``lr_t = lr_{t-1} * f(t) / f(t-1)`` with ``f`` the factor above.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import LinearLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        check_number("LinearLR", "start_factor", start_factor, 0, 1, low_open=True)
        check_number("LinearLR", "end_factor", end_factor, 0, 1)
        check_int("LinearLR", "total_iters", total_iters, 1)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return group_values(self.optimizer, "lr")
        # f(t)/f(t-1) = 1 + (end - start) / (total_iters * start + (t - 1) * (end - start))
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_epoch - 1) * delta)
        return [g["lr"] * ratio for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * frac) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """``lr_t = base_lr * (1 - min(t, total_iters) / total_iters)**power``: zero from ``total_iters`` on.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import PolynomialLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = PolynomialLR(opt, total_iters=4, power=2.0)
    >>> lrs = []
    >>> for _ in range(5):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5625, 0.25, 0.0625, 0.0, 0.0]
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        check_int("PolynomialLR", "total_iters", total_iters, 1)
        check_number("PolynomialLR", "power", power, 0)
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        if self._is_initial or self.last_epoch > self.total_iters:
            return group_values(self.optimizer, "lr")
        # ratio of consecutive closed-form values: ((1 - t/T) / (1 - (t-1)/T))**power
        t, total = self.last_epoch, self.total_iters
        ratio = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [g["lr"] * ratio for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (1.0 - frac) ** self.power for base in self.base_lrs]
