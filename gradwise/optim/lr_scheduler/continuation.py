"""What "train for more epochs" means for each schedule: resuming a run with a longer horizon.

A resumed run loads its scheduler's whole state from the checkpoint (its period, step size,
position), so its learning rate goes on exactly as the original schedule would have gone on
past its end.  For some schedules that is what a PyTorch or fastai user expects; for others
the original schedule has no sensible "past its end":

- **continues** -- the rule does not depend on the run's length, or repeats by design, so
  the schedule simply goes on: ``StepLR`` (the step size of the original run is kept: the
  LR keeps dropping by ``gamma`` every ``step_size`` epochs), ``MultiStepLR`` (no milestone
  after the last one: the LR stays), ``ExponentialLR``, ``MultiplicativeLR``, ``LambdaLR``
  (the factor rule goes on), ``ReduceLROnPlateau`` (it watches the validation loss, whatever
  the length), ``ConstantLR`` and ``LinearLR`` (warm-up pieces that hold their end factor),
  ``CyclicLR`` and ``CosineAnnealingWarmRestarts`` (they cycle forever).
- **horizon** -- the schedule is planned over the run's length (its *horizon*), and going
  past it is wrong: ``CosineAnnealingLR`` (``T_max``: past it the cosine rises back to the
  initial LR), ``OneCycleLR`` (``total_steps``: it refuses to step past them) and
  ``PolynomialLR`` (``total_iters``: past them the LR stays at 0, so training further does
  nothing).  ``gradwise train --resume`` refuses to lengthen such a run, and says to start
  a new run from its weights instead (``--init-from``: a fresh optimizer and a fresh
  schedule over the new run's epochs, as fastai's ``fine_tune`` does).
- **composition** -- ``SequentialLR`` and ``ChainedScheduler`` follow their pieces.

A shorter resume (fewer epochs than planned) is always allowed: the schedule follows the
original path and stops early.

>>> resume_rule(CosineAnnealingLR), horizon_key(CosineAnnealingLR), resume_rule(StepLR)
('horizon', 'T_max', 'continues')
"""

from __future__ import annotations

from typing import Any

from gradwise.optim.lr_scheduler.base import LRScheduler, _LRScheduler
from gradwise.optim.lr_scheduler.composition import ChainedScheduler, SequentialLR
from gradwise.optim.lr_scheduler.cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from gradwise.optim.lr_scheduler.cyclic import CyclicLR, OneCycleLR
from gradwise.optim.lr_scheduler.multiplicative import ExponentialLR, LambdaLR, MultiplicativeLR
from gradwise.optim.lr_scheduler.plateau import ReduceLROnPlateau
from gradwise.optim.lr_scheduler.polynomial import LinearLR, PolynomialLR
from gradwise.optim.lr_scheduler.step import ConstantLR, MultiStepLR, StepLR

__all__ = ["HORIZONS", "RESUME_RULES", "horizon_key", "longer_than_planned", "resume_rule"]

# every scheduler class: "continues", "horizon" or "composition" (see the module docstring)
RESUME_RULES: dict[type, str] = {
    StepLR: "continues", MultiStepLR: "continues", ExponentialLR: "continues", MultiplicativeLR: "continues",
    LambdaLR: "continues", ReduceLROnPlateau: "continues", ConstantLR: "continues", LinearLR: "continues",
    CyclicLR: "continues", CosineAnnealingWarmRestarts: "continues",
    CosineAnnealingLR: "horizon", OneCycleLR: "horizon", PolynomialLR: "horizon",
    SequentialLR: "composition", ChainedScheduler: "composition",
    LRScheduler: "continues", _LRScheduler: "continues",     # a subclass's own rule decides; the base has none
}

# the state key that holds a "horizon" schedule's length, and what happens past it
HORIZONS: dict[type, tuple[str, str]] = {
    CosineAnnealingLR: ("T_max", "past its end the cosine rises back to the initial learning rate"),
    OneCycleLR: ("total_steps", "it cannot step past its last step"),
    PolynomialLR: ("total_iters", "past its end the learning rate stays at 0"),
}


def resume_rule(cls: type) -> str:
    """``"continues"``, ``"horizon"`` or ``"composition"`` for a scheduler class (the nearest registered
    base class decides for a subclass of your own)."""
    for klass in cls.__mro__:
        if klass in RESUME_RULES:
            return RESUME_RULES[klass]
    raise TypeError(f"resume_rule: {cls.__name__} is not a learning-rate scheduler class")


def horizon_key(cls: type) -> str | None:
    """The state key holding the planned length of a ``"horizon"`` schedule (None for the others)."""
    for klass in cls.__mro__:
        if klass in HORIZONS:
            return HORIZONS[klass][0]
    return None


def longer_than_planned(scheduler: Any, saved_state: dict[str, Any]) -> tuple[int, int, str] | None:
    """``(planned, asked, why)`` when ``scheduler`` (built for the resumed run's length) has a longer
    horizon than the one in ``saved_state`` (the checkpoint's), for a ``"horizon"`` schedule; ``None``
    when the schedule may go on (it continues, or the resumed run is no longer than planned).

    >>> import gradwise as gw
    >>> opt = gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=0.1)
    >>> saved = CosineAnnealingLR(opt, T_max=20).state_dict()
    >>> longer_than_planned(CosineAnnealingLR(opt, T_max=40), saved)[:2]
    (20, 40)
    >>> longer_than_planned(CosineAnnealingLR(opt, T_max=10), saved) is None
    True
    """
    key = horizon_key(type(scheduler))
    if key is None or key not in saved_state:
        return None
    planned, asked = int(saved_state[key]), int(getattr(scheduler, key))
    if asked <= planned:
        return None
    return planned, asked, next(why for cls, (k, why) in HORIZONS.items() if isinstance(scheduler, cls))
