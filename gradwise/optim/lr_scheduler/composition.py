"""Schedulers made of schedulers: ``SequentialLR`` (one after another, switching at milestones) and
``ChainedScheduler`` (all at once, their factors multiplying)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from gradwise.optim.lr_scheduler.base import (
    LRScheduler,
    SchedulerError,
    SchedulerTypeError,
    check_int,
    check_milestones,
    check_optimizer,
    group_values,
)
from gradwise.optim.lr_scheduler.plateau import ReduceLROnPlateau
from gradwise.optim.optimizer import Optimizer


def _check_parts(who: str, schedulers: Sequence[Any], optimizer: Optimizer | None) -> list[LRScheduler]:
    parts = list(schedulers)
    if not parts:
        raise SchedulerError(f"{who}: expects at least one scheduler, got none")
    for i, s in enumerate(parts):
        if not isinstance(s, LRScheduler):
            raise SchedulerTypeError(f"{who}: schedulers[{i}] must be a gradwise LRScheduler, "
                                     f"got {type(s).__name__}")
        if isinstance(s, ReduceLROnPlateau):
            raise SchedulerError(f"{who}: schedulers[{i}] is a ReduceLROnPlateau, which needs a metric in step(); "
                                 "step it separately")
        if s.optimizer is not optimizer:
            raise SchedulerError(f"{who}: schedulers[{i}] ({type(s).__name__}) drives a different optimizer; "
                                 "all schedulers must share one optimizer")
    return parts


class _Composite(LRScheduler):
    """State of a composition: its own counters plus the state of each part, in order."""

    _not_saved = ("_schedulers",)
    _schedulers: list[LRScheduler]   # set by each subclass's __init__ (annotation only)

    def state_dict(self) -> dict[str, Any]:
        """Own state plus ``'_schedulers'``: the list of the parts' state dicts."""
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore own state and each part's."""
        state = dict(state_dict)
        parts = state.pop("_schedulers", None)
        if parts is None or len(parts) != len(self._schedulers):
            raise SchedulerError(f"{type(self).__name__}.load_state_dict: the saved state has "
                                 f"{'no' if parts is None else len(parts)} scheduler states for "
                                 f"{len(self._schedulers)} schedulers")
        super().load_state_dict(state)
        for s, st in zip(self._schedulers, parts):
            s.load_state_dict(st)


class SequentialLR(_Composite):
    """Run ``schedulers[i]`` from step ``milestones[i-1]`` until step ``milestones[i]``; each one starts
    from its own beginning (``last_epoch = 0``, closed form) when its turn comes.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import ConstantLR, ExponentialLR, SequentialLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> warm = ConstantLR(opt, factor=0.1, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> sched = SequentialLR(opt, schedulers=[warm, decay], milestones=[2])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.1, 0.1, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int],
                 last_epoch: int = -1) -> None:
        who = "SequentialLR"
        check_optimizer(who, optimizer)
        check_int(who, "last_epoch", last_epoch, -1)
        parts = _check_parts(who, schedulers, optimizer)
        ms = check_milestones(who, milestones)
        if len(ms) != len(parts) - 1:
            raise SchedulerError(f"{who}: {len(parts)} schedulers need {len(parts) - 1} milestones "
                                 f"(one per switch), got {len(ms)}: {ms}")
        self._schedulers = parts
        self._milestones = ms
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Every part already took its initial step when it was built: undo that, then
        # start again from the initial learning rates with only the part that runs at step 0.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        first = parts[bisect_right(ms, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _undo_initial_steps(sched: LRScheduler) -> None:
        if isinstance(sched, _Composite):
            for s in sched._schedulers:
                SequentialLR._undo_initial_steps(s)
        else:
            sched.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Advance one step, handing over to the next scheduler at a milestone."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)  # its first step: last_epoch = 0, from the closed form where there is one
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Step every scheduler in ``schedulers`` at each ``step()``; chainable schedulers rescale the
    current learning rate, so their factors multiply.

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import ChainedScheduler, ConstantLR, ExponentialLR
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = ChainedScheduler([ConstantLR(opt, factor=0.1, total_iters=2), ExponentialLR(opt, gamma=0.5)])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
    >>> lrs
    [0.1, 0.05, 0.25, 0.125]
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        who = "ChainedScheduler"
        seq = list(schedulers)
        if optimizer is None and seq and isinstance(seq[0], LRScheduler):
            optimizer = seq[0].optimizer
        if optimizer is not None:
            check_optimizer(who, optimizer)
        self._schedulers = _check_parts(who, seq, optimizer)
        # _check_parts raised unless every part drives `optimizer`, so this is that optimizer (not None)
        self.optimizer = self._schedulers[0].optimizer
        self._last_lr = group_values(self._schedulers[-1].optimizer, "lr")

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = group_values(self._schedulers[-1].optimizer, "lr")
