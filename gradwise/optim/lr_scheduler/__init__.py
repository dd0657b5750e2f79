"""``gradwise.optim.lr_scheduler``: learning-rate schedules with PyTorch's names, arguments and sequences.

Call ``scheduler.step()`` after ``optimizer.step()`` (once per epoch, or per batch for ``CyclicLR`` and
``OneCycleLR``; ``ReduceLROnPlateau.step(metric)`` takes the monitored value).  ``get_last_lr()`` gives
the learning rates in use; ``state_dict()`` holds plain values that ``gradwise.save`` can store.

- ``base``: ``LRScheduler`` (alias ``_LRScheduler``), errors, argument checks
- ``multiplicative``: ``LambdaLR``, ``MultiplicativeLR``, ``ExponentialLR``
- ``step``: ``StepLR``, ``MultiStepLR``, ``ConstantLR``
- ``polynomial``: ``LinearLR``, ``PolynomialLR``
- ``cosine``: ``CosineAnnealingLR``, ``CosineAnnealingWarmRestarts``
- ``cyclic``: ``CyclicLR``, ``OneCycleLR``
- ``plateau``: ``ReduceLROnPlateau``
- ``composition``: ``SequentialLR``, ``ChainedScheduler``
"""

from gradwise.optim.lr_scheduler.base import LRScheduler, SchedulerError, SchedulerTypeError, _LRScheduler
from gradwise.optim.lr_scheduler.composition import ChainedScheduler, SequentialLR
from gradwise.optim.lr_scheduler.cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from gradwise.optim.lr_scheduler.cyclic import CyclicLR, OneCycleLR
from gradwise.optim.lr_scheduler.multiplicative import ExponentialLR, LambdaLR, MultiplicativeLR
from gradwise.optim.lr_scheduler.plateau import ReduceLROnPlateau
from gradwise.optim.lr_scheduler.polynomial import LinearLR, PolynomialLR
from gradwise.optim.lr_scheduler.step import ConstantLR, MultiStepLR, StepLR

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SchedulerError",
    "SchedulerTypeError",
    "SequentialLR",
    "StepLR",
    "_LRScheduler",
]
