"""Cyclical schedules stepped once per batch: ``CyclicLR`` (Smith's triangular cycles) and ``OneCycleLR``
(one warm-up then anneal).  Both may cycle momentum (``momentum`` for SGD-like optimizers, ``betas[0]``
for Adam-like ones) inversely to the learning rate."""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

from gradwise.optim.lr_scheduler.base import (
    LRScheduler,
    SchedulerError,
    check_choice,
    check_int,
    check_number,
    check_optimizer,
    per_group,
)
from gradwise.optim.optimizer import Optimizer


def _momentum_setup(who: str, optimizer: Optimizer, base_momentum: Any, max_momentum: Any,
                    last_epoch: int) -> tuple[bool, list[float], list[float]]:
    """Check the optimizer has a momentum, and on a fresh start set it to ``max_momentum`` in every group.

    Returns ``(use_beta1, base_momentums, max_momentums)``; each group also records its
    ``base_momentum`` and ``max_momentum``.
    """
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise SchedulerError(f"{who}: cycle_momentum=True needs an optimizer with a 'momentum' or 'betas' "
                             f"hyper-parameter, but {type(optimizer).__name__} has neither; pass "
                             "cycle_momentum=False")
    use_beta1 = "betas" in optimizer.defaults
    bases = per_group(who, "base_momentum", optimizer, base_momentum)
    maxes = per_group(who, "max_momentum", optimizer, max_momentum)
    for b, m in zip(bases, maxes):
        check_number(who, "base_momentum", b, 0, 1, high_open=True)
        check_number(who, "max_momentum", m, 0, 1, high_open=True)
    if last_epoch == -1:
        for group, b, m in zip(optimizer.param_groups, bases, maxes):
            _set_momentum(group, m, use_beta1)
            group["max_momentum"] = m
            group["base_momentum"] = b
    return use_beta1, bases, maxes


def _set_momentum(group: dict[str, Any], momentum: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


class CyclicLR(LRScheduler):
    """Learning rate cycling between ``base_lr`` and ``max_lr`` (Smith, 2017), one ``step()`` per batch.

    With ``c = floor(1 + t / (up + down))`` the cycle number and ``x = 1 + t / (up + down) - c`` the
    position in it, the height is ``h = x / r`` on the way up (``x <= r = up / (up + down)``) and
    ``h = (x - 1) / (r - 1)`` on the way down; then

    ``lr_t = base_lr + (max_lr - base_lr) * h * scale``, ``momentum_t = max_m - (max_m - base_m) * h * scale``

    where ``scale`` is ``scale_fn(c)`` (``scale_mode='cycle'``) or ``scale_fn(t)`` (``'iterations'``).
    Built-in modes: ``'triangular'`` (scale 1), ``'triangular2'`` (halve each cycle: ``1 / 2**(c-1)``),
    ``'exp_range'`` (``gamma**t``).  A custom ``scale_fn`` overrides ``mode``.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import CyclicLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=0.1, momentum=0.9)
    >>> sched = CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=2)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(5):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs, round(opt.param_groups[0]["momentum"], 6)
    ([0.0, 0.5, 1.0, 0.5, 0.0, 0.5], 0.85)
    """

    _not_saved = ("_scale_fn_custom",)

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float], max_lr: float | list[float],
                 step_size_up: int = 2000, step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1) -> None:
        who = "CyclicLR"
        check_optimizer(who, optimizer)
        base_lrs = per_group(who, "base_lr", optimizer, base_lr)
        self.max_lrs = per_group(who, "max_lr", optimizer, max_lr)
        for b, m in zip(base_lrs, self.max_lrs):
            check_number(who, "base_lr", b, 0)
            check_number(who, "max_lr", m, 0)
        check_number(who, "step_size_up", step_size_up, 0, low_open=True)
        if step_size_down is not None:
            check_number(who, "step_size_down", step_size_down, 0, low_open=True)
        if scale_fn is None:
            check_choice(who, "mode", mode, ("triangular", "triangular2", "exp_range"))
        elif not callable(scale_fn):
            raise SchedulerError(f"{who}: scale_fn must be a function of the cycle or iteration number, "
                                 f"got {type(scale_fn).__name__}")
        check_choice(who, "scale_mode", scale_mode, ("cycle", "iterations"))
        check_number(who, "gamma", gamma, 0, low_open=True)

        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_mode()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _momentum_setup(
                who, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_mode(self) -> None:
        # the built-in modes fix what their scale function reads: the cycle or the iteration
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at cycle (or iteration) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        height = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [base + (top - base) * height * scale for base, top in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums,
                                        strict=True):
                _set_momentum(group, high - (high - low) * height * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """The base state; a custom ``scale_fn`` that is a callable object has its attributes saved."""
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (None if fn is None or isinstance(fn, types.FunctionType)
                                     else dict(vars(fn)))
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state; the ``scale_fn`` itself comes from the constructor."""
        state = dict(state_dict)
        attrs = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if attrs is not None and self._scale_fn_custom is not None:
            vars(self._scale_fn_custom).update(attrs)
        self._init_scale_mode()


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), one ``step()`` per batch, for ``total_steps`` steps (or
    ``epochs * steps_per_epoch``).

    Start at ``initial_lr = max_lr / div_factor``, rise to ``max_lr`` over the first
    ``pct_start * total_steps - 1`` steps, then anneal down to ``min_lr = initial_lr / final_div_factor``
    at step ``total_steps - 1``.  With ``three_phase=True`` the descent first mirrors the rise (back to
    ``initial_lr`` at step ``2 pct_start total_steps - 2``) and then anneals to ``min_lr``.  Within a
    phase from ``a`` (at step ``s0``) to ``b`` (at step ``s1``), with ``p = (t - s0) / (s1 - s0)``:

    ``cos``: ``b + (a - b) (1 + cos(pi p)) / 2``; ``linear``: ``a + (b - a) p``.

    Momentum (or ``betas[0]``) moves the other way, between ``max_momentum`` and ``base_momentum``.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import OneCycleLR
    >>> opt = gw.optim.Adam([gw.nn.Parameter(gw.zeros(1))])
    >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=0.6, anneal_strategy="linear",
    ...                    div_factor=10.0, final_div_factor=1.0)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
    >>> lrs, opt.param_groups[0]["betas"]
    ([0.1, 0.55, 1.0, 0.55, 0.1], (0.95, 0.999))
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        who = "OneCycleLR"
        check_optimizer(who, optimizer)
        if total_steps is not None:
            check_int(who, "total_steps", total_steps, 1)
            self.total_steps = int(total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            check_int(who, "epochs", epochs, 1)
            check_int(who, "steps_per_epoch", steps_per_epoch, 1)
            self.total_steps = int(epochs * steps_per_epoch)
        else:
            raise SchedulerError(f"{who}: give total_steps, or both epochs and steps_per_epoch "
                                 f"(got total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r})")
        check_number(who, "pct_start", pct_start, 0, 1)
        check_choice(who, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        check_number(who, "div_factor", div_factor, 0, low_open=True)
        check_number(who, "final_div_factor", final_div_factor, 0, low_open=True)
        max_lrs = per_group(who, "max_lr", optimizer, max_lr)
        for m in max_lrs:
            check_number(who, "max_lr", m, 0)

        # Each phase: (last step, lr key at its start, at its end, momentum key at its start, at its end);
        # the keys name entries of the parameter group.
        rise = float(pct_start * self.total_steps) - 1
        # each phase: [last step, lr key at its start, lr key at its end, momentum keys likewise]
        if three_phase:
            self._schedule_phases: list[list[Any]] = [
                [rise, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                 "max_momentum"],
                [self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"],
            ]
        else:
            self._schedule_phases = [
                [rise, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"],
            ]
        # A step lands in a phase of zero length (0/0) only at the very start or the very end.
        last_start = self._schedule_phases[-2][0]
        if rise == 0 or self._schedule_phases[-1][0] == last_start:
            raise SchedulerError(f"{who}: pct_start={pct_start!r} with total_steps={self.total_steps} leaves a "
                                 "phase of zero steps; change pct_start or total_steps")
        self._anneal_func_type = anneal_strategy

        if last_epoch == -1:
            for top, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, _, _ = _momentum_setup(who, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        self._warn_outside_step()
        t = self.last_epoch
        if t > self.total_steps:
            raise SchedulerError(f"OneCycleLR: stepped {t} times but total_steps={self.total_steps}; build it "
                                 "with more total_steps (or epochs * steps_per_epoch) to train longer")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_a, lr_b, mom_a, mom_b) in enumerate(self._schedule_phases):
                if t <= end or i == len(self._schedule_phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(group[lr_a], group[lr_b], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self._anneal(group[mom_a], group[mom_b], pct), self.use_beta1)
                    break
                start = end
        return lrs
