"""``ReduceLROnPlateau``: cut the learning rate when a monitored metric stops improving."""

from __future__ import annotations

import math
import numbers
from typing import Any

from gradwise.optim.lr_scheduler.base import (
    LRScheduler,
    SchedulerError,
    check_choice,
    check_int,
    check_number,
    check_optimizer,
    group_values,
)
from gradwise.optim.optimizer import Optimizer


class ReduceLROnPlateau(LRScheduler):
    """Multiply every group's learning rate by ``factor`` after more than ``patience`` steps without
    improvement of the metric passed to ``step(metric)``.

    A value ``a`` improves on the best so far ``b`` when (``mode='min'``) ``a < b (1 - threshold)``
    (``threshold_mode='rel'``) or ``a < b - threshold`` (``'abs'``); for ``mode='max'``,
    ``a > b (1 + threshold)`` or ``a > b + threshold``.  Each non-improving step counts as a bad
    epoch; when the count exceeds ``patience``, ``lr <- max(lr * factor, min_lr)`` (skipped when that
    changes lr by no more than ``eps``) and the next ``cooldown`` steps count no bad epochs.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import ReduceLROnPlateau
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> lrs = []
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0]:
    ...     opt.step(); sched.step(loss); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        who = "ReduceLROnPlateau"
        check_optimizer(who, optimizer)
        check_number(who, "factor", factor, 0, 1, high_open=True)
        check_choice(who, "mode", mode, ("min", "max"))
        check_choice(who, "threshold_mode", threshold_mode, ("rel", "abs"))
        check_int(who, "patience", patience, 0)
        check_int(who, "cooldown", cooldown, 0)
        check_number(who, "threshold", threshold, 0)
        check_number(who, "eps", eps, 0)
        self.optimizer = optimizer
        self.factor = factor
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise SchedulerError(f"{who}: min_lr has {len(min_lr)} values but the optimizer has {n} parameter "
                                     f"group(s); pass one value or a list of {n}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        for m in self.min_lrs:
            check_number(who, "min_lr", m, 0)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.last_epoch = 0
        self._last_lr = group_values(optimizer, "lr")
        self._reset()

    @property
    def mode_worse(self) -> float:
        """The worst possible metric for ``mode``: where ``best`` starts."""
        return math.inf if self.mode == "min" else -math.inf

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """Whether bad epochs are currently ignored after a reduction."""
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` counts as an improvement over ``best`` (see the class docstring)."""
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this step's metric (a number or a one-element tensor) and reduce lr on a plateau."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise SchedulerError(f"ReduceLROnPlateau.step: metrics must be a number (or a one-element tensor), "
                                 f"got {type(metrics).__name__}") from None
        if epoch is not None and not isinstance(epoch, numbers.Integral):
            raise SchedulerError(f"ReduceLROnPlateau.step: epoch must be an integer, got {epoch!r}")
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = group_values(self.optimizer, "lr")

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise SchedulerError(f"ReduceLROnPlateau: the optimizer now has {len(groups)} parameter groups but "
                                     f"min_lr was given for {len(self.min_lrs)}; set scheduler.min_lrs to a list "
                                     "with one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, low in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, low)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, checking the mode names."""
        super().load_state_dict(state_dict)
        check_choice("ReduceLROnPlateau.load_state_dict", "mode", self.mode, ("min", "max"))
        check_choice("ReduceLROnPlateau.load_state_dict", "threshold_mode", self.threshold_mode, ("rel", "abs"))
