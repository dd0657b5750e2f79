"""``LRScheduler``: the base every learning-rate scheduler builds on, with PyTorch's protocol.

A scheduler owns a counter ``last_epoch`` (``0`` right after construction) and
writes ``group["lr"]`` of each of its optimizer's parameter groups.  The usual
loop is ``optimizer.step(); scheduler.step()``: the k-th ``scheduler.step()``
sets the learning rate used by the (k+1)-th ``optimizer.step()``.

Most schedulers are *chainable*: ``get_lr`` rescales the learning rate that is
currently in the group (not the base one), so several schedulers stepping the
same optimizer multiply their effects (see ``ChainedScheduler``).  Those with a
closed form also define ``_get_closed_form_lr``, used by ``step(epoch)`` and by
``SequentialLR`` when it hands over to the next scheduler.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from gradwise.errors import GradwiseError
from gradwise.optim.optimizer import Optimizer


class SchedulerError(GradwiseError, ValueError):
    """Bad scheduler arguments or state: the message names the option, the value and what is valid."""


class SchedulerTypeError(GradwiseError, TypeError):
    """A scheduler given something that is not a gradwise optimizer (or scheduler, for compositions)."""


# Attributes that describe the running process, not the schedule: never saved, never loaded.
_RUNTIME = frozenset({"optimizer", "_is_initial", "_in_step"})
# Set on the optimizer by its wrapped ``step`` so the first scheduler step can check the call order.
_STEPPED = "_stepped_for_lr_scheduler"


def check_optimizer(who: str, optimizer: Any) -> None:
    """Schedulers drive a :class:`gradwise.optim.Optimizer` and nothing else."""
    if not isinstance(optimizer, Optimizer):
        raise SchedulerTypeError(f"{who}: optimizer must be a gradwise.optim.Optimizer (e.g. gradwise.optim.SGD), "
                                 f"got {type(optimizer).__name__}")


def check_number(who: str, name: str, value: Any, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> None:
    """``value`` must be a finite real number (not a bool) inside the given interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
        rng = " and ".join(s for s in (lo, hi) if s)
        raise SchedulerError(f"{who}: invalid {name}={value!r}; expected a finite number{' ' + rng if rng else ''}")


def check_int(who: str, name: str, value: Any, low: int) -> None:
    """``value`` must be an integer (not a bool) ``>= low``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise SchedulerError(f"{who}: invalid {name}={value!r}; expected an integer >= {low}")


def check_choice(who: str, name: str, value: Any, choices: Sequence[str]) -> None:
    """``value`` must be one of the named options."""
    if value not in choices:
        raise SchedulerError(f"{who}: unknown {name}={value!r}; valid choices: "
                             + ", ".join(repr(c) for c in choices))


def check_milestones(who: str, milestones: Any) -> list[int]:
    """Milestones are integers ``>= 0`` in increasing order (a repeated one counts once per repeat)."""
    try:
        ms = list(milestones)
    except TypeError:
        raise SchedulerError(f"{who}: milestones must be a list of integers, got {type(milestones).__name__}") from None
    for m in ms:
        check_int(who, "milestone", m, 0)
    for a, b in zip(ms, ms[1:]):
        if b < a:
            raise SchedulerError(f"{who}: milestones must be increasing, got {ms} ({b} comes after {a})")
    return [int(m) for m in ms]


def per_group(who: str, name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per parameter group: a scalar is repeated, a list/tuple must have one entry per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise SchedulerError(f"{who}: {name} has {len(value)} values but the optimizer has {n} parameter "
                                 f"group(s); pass one value or a list of {n}")
        return list(value)
    return [value] * n


def group_values(optimizer: Optimizer, key: str) -> list[Any]:
    """``group[key]`` of every parameter group, as a new list."""
    return [group[key] for group in optimizer.param_groups]


class _RecordingStep:
    """Stands in for ``optimizer.step``: notes that the optimizer stepped, then runs the real step.

    It holds the optimizer itself (not a weak reference) so that ``copy.deepcopy`` of the
    optimizer gives a copy whose ``step`` updates the copy.
    """

    _tracked_for_lr_scheduler = True

    def __init__(self, optimizer: Optimizer, step: Callable[..., Any], pass_self: bool) -> None:
        self._optimizer = optimizer
        self._step = step
        self._pass_self = pass_self
        self.__wrapped__ = step
        self.__doc__ = step.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        setattr(self._optimizer, _STEPPED, True)
        if self._pass_self:
            return self._step(self._optimizer, *args, **kwargs)
        return self._step(*args, **kwargs)


def _track_optimizer_steps(optimizer: Optimizer) -> None:
    """Replace ``optimizer.step`` (once per optimizer) by one that records that it ran.

    Only used to warn when ``scheduler.step()`` comes before the first ``optimizer.step()``,
    which silently skips the first value of the schedule.
    """
    inner = optimizer.step
    if getattr(inner, "_tracked_for_lr_scheduler", False):
        return
    if getattr(inner, "__self__", None) is optimizer:  # the class's method: keep its function
        optimizer.step = _RecordingStep(optimizer, inner.__func__, True)  # type: ignore[attr-defined]
    else:  # already replaced on the instance by the user: wrap whatever callable is there
        optimizer.step = _RecordingStep(optimizer, inner, False)  # type: ignore[method-assign]


class LRScheduler:
    """Base class: subclasses implement :meth:`get_lr` (the learning rates at ``last_epoch``).

    On construction with ``last_epoch=-1`` every parameter group gets ``initial_lr``
    (its current ``lr``, unless already set), ``base_lrs`` is the list of those, and one
    initial step sets ``last_epoch = 0``.  Resuming with ``last_epoch >= 0`` requires the
    groups to already carry ``initial_lr`` (load the optimizer's state first).

    >>> import gradwise as gw
    >>> from gradwise.optim.lr_scheduler import LRScheduler
    >>> class Halving(LRScheduler):  # lr_t = base_lr / 2**t
    ...     def get_lr(self):
    ...         return [b / 2 ** self.last_epoch for b in self.base_lrs]
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0)
    >>> sched = Halving(opt)
    >>> for _ in range(3):
    ...     opt.step(); sched.step()
    >>> sched.get_last_lr(), sched.last_epoch, opt.param_groups[0]["initial_lr"]
    ([0.125], 3, 1.0)
    """

    _is_initial: bool = False
    _in_step: bool = False
    # Attributes that hold functions (or objects) rather than state; subclasses extend this.
    _not_saved: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        who = type(self).__name__
        check_optimizer(who, optimizer)
        check_int(who, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise SchedulerError(f"{who}: resuming with last_epoch={last_epoch} needs 'initial_lr' in every "
                                         f"parameter group, but param_groups[{i}] has none; load the optimizer's "
                                         "state_dict first, or start with last_epoch=-1")
        self.base_lrs: list[float] = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _track_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and take the step that sets ``last_epoch`` to its first value."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch`` (called by :meth:`step`; use :meth:`get_last_lr` to read them)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def _warn_outside_step(self) -> None:
        if not self._in_step:
            warnings.warn("get_lr() computes the next learning rates; to read the current ones use "
                          "get_last_lr()", UserWarning, stacklevel=3)

    def get_last_lr(self) -> list[float]:
        """The learning rates this scheduler set last, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: float | None = None) -> None:
        """Advance ``last_epoch`` by one (or set it to ``epoch``, using the closed form where there is one)
        and write the new learning rates into the optimizer.  Call it after ``optimizer.step()``."""
        if self._step_count == 1 and not getattr(self.optimizer, _STEPPED, False):
            warnings.warn("scheduler.step() was called before optimizer.step(); call optimizer.step() first, "
                          "otherwise the first value of the schedule is skipped", UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            check_number(type(self).__name__, "epoch", epoch, 0)
        self._update_lr(epoch)

    def _update_lr(self, epoch: float | None = None) -> None:
        self._in_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch  # type: ignore[assignment]
                closed_form: Callable[[], list[float]] | None = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._in_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = group_values(self.optimizer, "lr")

    # ------------------------------------------------------------- state dict
    def _saved_keys(self) -> list[str]:
        return [k for k in vars(self) if k not in _RUNTIME and k not in self._not_saved]

    def state_dict(self) -> dict[str, Any]:
        """Everything the schedule depends on except the optimizer and user functions, as plain values
        (numbers, strings, lists, dicts), so ``gradwise.save`` can store it."""
        return {k: copy.deepcopy(vars(self)[k]) for k in self._saved_keys()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (also load the optimizer's own state dict)."""
        own = set(self._saved_keys())
        unknown = sorted(set(state_dict) - own)
        if unknown:
            raise SchedulerError(f"{type(self).__name__}.load_state_dict: keys {unknown} are not part of this "
                                 f"scheduler's state (expected {sorted(own)}); was it saved from another scheduler?")
        for k, v in state_dict.items():
            setattr(self, k, copy.deepcopy(v))
        self._after_load()

    def _after_load(self) -> None:
        """Rebuild derived attributes after :meth:`load_state_dict` (subclass hook)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={getattr(self, 'last_epoch', None)})"


class _LRScheduler(LRScheduler):
    """Older name of :class:`LRScheduler`, kept (as in PyTorch) for code that subclasses it."""
