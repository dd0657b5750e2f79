"""Schedules given by a factor: ``LambdaLR`` (user function of the step), ``MultiplicativeLR``
(user factor applied each step) and ``ExponentialLR`` (a constant factor each step)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from gradwise.optim.lr_scheduler.base import (
    LRScheduler,
    SchedulerError,
    check_number,
    check_optimizer,
    group_values,
    per_group,
)
from gradwise.optim.optimizer import Optimizer

LrLambda = Callable[[int], float]


class _LambdaState(LRScheduler):
    """Shared by the two schedulers that take ``lr_lambda``: one function per parameter group.

    Functions are never saved (a checkpoint holds no code); a callable *object* has its
    attributes (``vars(obj)``) saved and restored, as in PyTorch.
    """

    _not_saved = ("lr_lambdas",)

    def _set_lambdas(self, optimizer: Optimizer, lr_lambda: LrLambda | list[LrLambda]) -> None:
        who = type(self).__name__
        check_optimizer(who, optimizer)
        self.lr_lambdas: list[LrLambda] = per_group(who, "lr_lambda", optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise SchedulerError(f"{who}: lr_lambda must be a function of the epoch (or a list of them, one "
                                     f"per parameter group), got {type(fn).__name__}")

    def state_dict(self) -> dict[str, Any]:
        """The base state plus ``lr_lambdas``: ``None`` for a function, its attributes for a callable object."""
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state; the functions themselves come from the constructor."""
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        if len(saved) != len(self.lr_lambdas):
            raise SchedulerError(f"{type(self).__name__}.load_state_dict: {len(saved)} saved lr_lambdas for "
                                 f"{len(self.lr_lambdas)} parameter groups")
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                vars(fn).update(attrs)


class LambdaLR(_LambdaState):
    """``lr_t = base_lr * lr_lambda(t)``, with one ``lr_lambda`` for all groups or one per group.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import LambdaLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = LambdaLR(opt, lr_lambda=lambda t: 1 / (t + 1))
    >>> lrs = []
    >>> for _ in range(3):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.333..., 0.25]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: LrLambda | list[LrLambda], last_epoch: int = -1) -> None:
        self._set_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class MultiplicativeLR(_LambdaState):
    """``lr_t = lr_{t-1} * lr_lambda(t)`` for ``t >= 1`` (so ``lr_t = base_lr * prod_{k=1..t} lr_lambda(k)``).

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import MultiplicativeLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = MultiplicativeLR(opt, lr_lambda=lambda t: 0.5)
    >>> lrs = []
    >>> for _ in range(3):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: LrLambda | list[LrLambda], last_epoch: int = -1) -> None:
        self._set_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        if self._is_initial:
            return group_values(self.optimizer, "lr")
        return [g["lr"] * fn(self.last_epoch)
                for fn, g in zip(self.lr_lambdas, self.optimizer.param_groups, strict=True)]


class ExponentialLR(LRScheduler):
    """``lr_t = base_lr * gamma**t``, applied as ``lr_t = lr_{t-1} * gamma``.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import ExponentialLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> opt.step(); sched.step(); opt.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_number("ExponentialLR", "gamma", gamma, 0, low_open=True)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        if self._is_initial:  # resuming: keep the learning rates the optimizer already has
            return group_values(self.optimizer, "lr")
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]
