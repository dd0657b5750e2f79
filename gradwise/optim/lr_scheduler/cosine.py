"""Cosine annealing: ``CosineAnnealingLR`` (one half-cosine, continued periodically past ``T_max``)
and ``CosineAnnealingWarmRestarts`` (SGDR: restart at ``base_lr`` after ``T_0``, ``T_0 T_mult``, ...)."""

from __future__ import annotations

import math

from gradwise.optim.lr_scheduler.base import LRScheduler, check_int, check_number, group_values
from gradwise.optim.optimizer import Optimizer


class CosineAnnealingLR(LRScheduler):
    """``lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi t / T_max)) / 2``.

    Computed recursively, as PyTorch does, so that it composes with other schedulers:
    ``lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max))``.
    Where the denominator vanishes (``t - 1 = T_max, 3 T_max, ...``, the minima) the step adds
    ``(base_lr - eta_min) (1 - cos(pi / T_max)) / 2`` instead.  Past ``T_max`` the learning rate
    climbs back up along the same cosine (there is no restart: see ``CosineAnnealingWarmRestarts``).

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import CosineAnnealingLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=2)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
    >>> lrs
    [0.5, 0.0, 0.5, 1.0]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        check_number("CosineAnnealingLR", "T_max", T_max, 0, low_open=True)
        check_number("CosineAnnealingLR", "eta_min", eta_min, 0)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        if self._is_initial:
            return group_values(self.optimizer, "lr")
        t, period, low = self.last_epoch, self.T_max, self.eta_min
        if (t - 1 - period) % (2 * period) == 0:
            # leaving a minimum: the ratio below would be x/0
            return [g["lr"] + (base - low) * (1 - math.cos(math.pi / period)) / 2
                    for base, g in zip(self.base_lrs, self.optimizer.param_groups, strict=True)]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (g["lr"] - low) + low for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi T_cur / T_i)) / 2``, where ``T_cur`` counts the
    epochs since the last restart and the i-th period lasts ``T_i = T_0 * T_mult**i`` epochs.

    ``step()`` advances one epoch; ``step(epoch)`` jumps to any (fractional) epoch, e.g.
    ``step(epoch + batch / n_batches)`` inside an epoch.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import CosineAnnealingWarmRestarts
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    >>> lrs = []
    >>> for _ in range(6):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
    >>> lrs
    [0.5, 1.0, 0.853553, 0.5, 0.146447, 1.0]
    >>> sched.step(0.5); round(sched.get_last_lr()[0], 6)
    0.853553
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        check_int("CosineAnnealingWarmRestarts", "T_0", T_0, 1)
        check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult, 1)
        check_number("CosineAnnealingWarmRestarts", "eta_min", eta_min, 0)
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        cos = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base - self.eta_min) * cos / 2 for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch`` (any number >= 0, fractional allowed)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # restart
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            check_number("CosineAnnealingWarmRestarts.step", "epoch", epoch, 0)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # restart n starts at epoch T_0 (T_mult**n - 1) / (T_mult - 1); invert for n
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._in_step = True
        try:
            values = self.get_lr()
        finally:
            self._in_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = group_values(self.optimizer, "lr")
