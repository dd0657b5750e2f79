"""How many processes train together: the strategy object a :class:`~gradwise.train.Trainer` runs with.

The fit loop asks its strategy for everything that differs between one process and several
replicas of the model: the loaders (each replica its own shard), the start of a fit (one
set of weights everywhere), the step (gradients averaged after backward), the sums of an
epoch and of an evaluation (over every replica), stop flags (one replica's Ctrl-C stops
all), what a checkpoint records, and what happens on an error.  :class:`SingleProcess`, the
default, does each of these for one process; :mod:`gradwise.distributed` provides the MPI
data-parallel strategy (``gradwise.distributed.data_parallel()``), and whoever builds a
distributed run passes it in: ``fit(..., strategy=...)``.  This layer imports no MPI code.

>>> s = SingleProcess()
>>> s.world_size, s.is_main, s.any(True, False), s.reduce_sums(3.0, 4)
(1, True, (True, False), (3.0, 4))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from gradwise.api.random import Generator
from gradwise.autograd.tensor import Tensor
from gradwise.data.loader import DataLoader
from gradwise.train.batches import make_loader
from gradwise.train.errors import TrainingError


@runtime_checkable
class Strategy(Protocol):
    """What the fit loop needs from the processes it trains on (one, or replicas of the model)."""

    @property
    def world_size(self) -> int:
        """Processes training together."""
        ...

    @property
    def is_main(self) -> bool:
        """Whether this process prints, runs the writing callbacks and writes checkpoints."""
        ...

    def train_loader(self, data: Any, mode: str, batch_size: int, generator: Generator | None) -> DataLoader:
        """This process's loader of the training data for the descent ``mode``."""
        ...

    def eval_loader(self, data: Any, batch_size: int, what: str = "data") -> DataLoader:
        """This process's share of ``data`` for evaluation, in order."""
        ...

    def start(self, model: Any, generator: Generator | None, checkpoint: dict[str, Any] | None) -> None:
        """At the start of fit, after any resume: make the replicas agree (weights, the shuffling generator)."""
        ...

    def synchronize(self, params: list[Tensor], loss: float, count: int) -> tuple[float, int]:
        """After backward: the mean loss and sample count of the global batch; the gradients of
        ``params`` become the global batch's gradient."""
        ...

    def any(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag ORed over the processes (a stop seen by one stops all at the same step)."""
        ...

    def reduce_sums(self, loss_sum: float, n: int) -> tuple[float, int]:
        """An evaluation's loss sum and sample count over every process."""
        ...

    def reduce_metrics(self, metrics: list[Any]) -> None:
        """Replace each metric's running sums with their sum over every process."""
        ...

    def checkpoint_entry(self) -> dict[str, Any] | None:
        """What a checkpoint records about the processes (None: nothing)."""
        ...

    def fail(self, exc: BaseException) -> None:
        """Called when fit fails with ``exc`` before it propagates; a multi-process strategy ends
        the whole job here (the other processes may wait in a collective)."""
        ...


class SingleProcess:
    """The default strategy: one process, every collective the identity."""

    world_size = 1
    is_main = True

    def train_loader(self, data: Any, mode: str, batch_size: int, generator: Generator | None) -> DataLoader:
        return make_loader(data, mode, batch_size, generator)

    def eval_loader(self, data: Any, batch_size: int, what: str = "data") -> DataLoader:
        return make_loader(data, "minibatch", batch_size, None, what=what, shuffle=False)

    def start(self, model: Any, generator: Generator | None, checkpoint: dict[str, Any] | None) -> None:
        return None

    def synchronize(self, params: list[Tensor], loss: float, count: int) -> tuple[float, int]:
        return loss, count

    def any(self, *flags: bool) -> tuple[bool, ...]:
        return tuple(bool(f) for f in flags)

    def reduce_sums(self, loss_sum: float, n: int) -> tuple[float, int]:
        return loss_sum, n

    def reduce_metrics(self, metrics: list[Any]) -> None:
        return None

    def checkpoint_entry(self) -> dict[str, Any] | None:
        return None

    def fail(self, exc: BaseException) -> None:
        return None


# ``fit(distributed=True)``: the factory gradwise.distributed registers when it is imported (this
# layer may not import it); it returns the data-parallel strategy, or SingleProcess in a world of one.
_data_parallel: Callable[[], Strategy] | None = None


def register_data_parallel(factory: Callable[[], Strategy]) -> None:
    """Make ``factory`` the strategy of ``fit(distributed=True)`` (gradwise.distributed calls this)."""
    global _data_parallel
    _data_parallel = factory


def resolve_strategy(strategy: Strategy | None, distributed: bool | Strategy) -> Strategy:
    """The strategy for a Trainer's ``strategy=`` and (older) ``distributed=`` arguments."""
    if not isinstance(distributed, bool):
        if strategy is not None:
            raise TrainingError("fit: pass the strategy once, as strategy=...")
        strategy, distributed = distributed, False
    if strategy is not None:
        if not isinstance(strategy, Strategy):
            raise TrainingError(f"fit: strategy must be a gradwise.train.Strategy (such as "
                                f"gradwise.distributed.data_parallel()), got {type(strategy).__name__}")
        if distributed:
            raise TrainingError("fit: pass either distributed=True or strategy=..., not both")
        return strategy
    if not distributed:
        return SingleProcess()
    if _data_parallel is None:
        raise TrainingError("fit(distributed=True): the data-parallel strategy lives in gradwise.distributed; "
                            "pass strategy=gradwise.distributed.data_parallel() (or import gradwise.distributed "
                            "before calling fit)")
    return _data_parallel()
