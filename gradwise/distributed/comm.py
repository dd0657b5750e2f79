"""The process group: who am I, how many are we, and the few collectives data parallelism needs.

gradwise runs data-parallel training as one operating-system process per replica,
started by an MPI launcher (``mpiexec -n 4 python train.py``); the processes talk
through mpi4py's buffer-based collectives on NumPy arrays (no pickling).  When a
script is not launched by ``mpiexec``, or mpi4py is not installed, the same calls
work as a group of one process: rank 0 of a world of size 1, every collective a
no-op.  So one script runs unchanged on a laptop and on a cluster.

``init()`` is idempotent and every function here calls it on first use, so calling
it explicitly is optional.  Collectives (``barrier``, ``allreduce``, ``broadcast``
and everything built on them) must be reached by every rank in the same order, as
in any MPI program; a rank that fails should call :func:`abort` (or run inside
:func:`abort_on_error`) so that the others do not wait for it forever.

>>> import gradwise.distributed as dist
>>> dist.world_size() >= 1 and 0 <= dist.rank() < dist.world_size()
True
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import numpy as np

from gradwise.errors import GradwiseError

INSTALL_HINT = "pip install 'gradwise[mpi]'"

# Environment variables by which MPI launchers tell a process its rank and the world's size
# (MPICH/Hydra and Intel MPI: PMI_*; Open MPI: OMPI_COMM_WORLD_*; MVAPICH: MV2_COMM_WORLD_*).
_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK")
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")

_REDUCE_OPS = ("sum", "max", "min")


class DistributedError(GradwiseError, ValueError):
    """A bad argument to a distributed call, or ranks that disagree (different models, different sizes)."""


class MPIUnavailableError(GradwiseError, ImportError):
    """Distributed training was asked for but mpi4py (or an MPI library) cannot be imported."""


def launcher_world() -> tuple[int, int] | None:
    """``(rank, size)`` as announced by an MPI launcher's environment variables, or None when the
    process was not started by one.  Needs no MPI library (used to explain a missing mpi4py)."""
    size = next((os.environ[v] for v in _SIZE_VARS if v in os.environ), None)
    rank = next((os.environ[v] for v in _RANK_VARS if v in os.environ), None)
    if size is None or rank is None:
        return None
    try:
        return int(rank), int(size)
    except ValueError:
        return None


class _SingleProcess:
    """A world of one: every collective leaves its buffer as it is."""

    name = "single"
    rank, size = 0, 1

    def allreduce(self, buf: np.ndarray, op: str) -> None:
        pass

    def broadcast(self, buf: np.ndarray, root: int) -> None:
        pass

    def barrier(self) -> None:
        pass

    def abort(self, code: int) -> NoReturn:
        raise SystemExit(code)


class _MPIWorld:
    """``MPI.COMM_WORLD`` through mpi4py's buffer interface (NumPy arrays, reduced in place)."""

    name = "mpi"

    def __init__(self, mpi: Any) -> None:
        self.MPI = mpi
        self.comm = mpi.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._ops = {"sum": mpi.SUM, "max": mpi.MAX, "min": mpi.MIN}

    def allreduce(self, buf: np.ndarray, op: str) -> None:
        if self.size > 1:
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self._ops[op])

    def iallreduce(self, buf: np.ndarray, op: str) -> Any:
        """Start an in-place allreduce and return its request (``.Wait()`` before reading ``buf``)."""
        return self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self._ops[op])

    def broadcast(self, buf: np.ndarray, root: int) -> None:
        if self.size > 1:
            self.comm.Bcast(buf, root=root)

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int) -> NoReturn:
        if self.size > 1:       # alone, there is nobody to stop: exit like a world of one
            self.comm.Abort(code)
        raise SystemExit(code)


_WORLD: _SingleProcess | _MPIWorld | None = None


def init(required: bool = False) -> None:
    """Join the process group (idempotent; the other functions call it on first use).

    Under ``mpiexec`` this initialises MPI through mpi4py and every process learns its
    rank.  Without a launcher, or without mpi4py, the process is a world of one.
    ``required=True`` (what ``gradwise train --distributed`` uses) raises
    :class:`MPIUnavailableError` instead of falling back when mpi4py is missing; a
    process started by ``mpiexec -n N`` with ``N > 1`` raises it too, since training
    alone would silently run ``N`` unrelated copies.

    >>> init(); world_size() >= 1
    True
    """
    global _WORLD
    if _WORLD is not None:
        return
    try:
        from mpi4py import MPI
    except ImportError as exc:
        launched = launcher_world()
        if required or (launched is not None and launched[1] > 1):
            how = (f"this process was started by an MPI launcher as rank {launched[0]} of {launched[1]}"
                   if launched else "distributed training was requested")
            raise MPIUnavailableError(f"gradwise.distributed: {how} but mpi4py cannot be imported ({exc}); "
                                      f"install it with: {INSTALL_HINT}") from None
        _WORLD = _SingleProcess()
        return
    _WORLD = _MPIWorld(MPI)


def _world() -> _SingleProcess | _MPIWorld:
    if _WORLD is None:
        init()
    assert _WORLD is not None
    return _WORLD


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _WORLD is not None


def backend() -> str:
    """``"mpi"`` (mpi4py, possibly a world of one when not launched by mpiexec) or ``"single"``."""
    return _world().name


def rank() -> int:
    """This process's index in the world, ``0 <= rank() < world_size()``."""
    return _world().rank


def world_size() -> int:
    """Number of processes taking part (1 without a launcher)."""
    return _world().size


def is_main() -> bool:
    """True on rank 0, the process that prints, logs and writes files."""
    return _world().rank == 0


def barrier() -> None:
    """Wait until every rank has reached this call."""
    _world().barrier()


def _check_buffer(buf: Any, op: str) -> np.ndarray:
    if not isinstance(buf, np.ndarray):
        raise DistributedError(f"{op}: expected a NumPy array, got {type(buf).__name__}")
    if not (buf.flags.c_contiguous and buf.flags.writeable):
        raise DistributedError(f"{op}: the array must be C-contiguous and writeable (it is reduced in place); "
                               "pass np.ascontiguousarray(x) or a copy")
    return buf


def allreduce(buf: np.ndarray, op: str = "sum") -> np.ndarray:
    """Combine ``buf`` elementwise across ranks in place (``op`` ``"sum"``, ``"max"`` or ``"min"``) and
    return it; every rank ends with the same values.  ``buf``: any shape, C-contiguous, same shape and
    dtype on every rank.

    >>> import numpy as np
    >>> total = allreduce(np.array([1.0, 2.0]))  # in a world of one: unchanged
    >>> bool((total == np.array([1.0, 2.0]) * world_size()).all())
    True
    """
    if op not in _REDUCE_OPS:
        raise DistributedError(f"allreduce: op must be one of {list(_REDUCE_OPS)}, got {op!r}")
    _world().allreduce(_check_buffer(buf, "allreduce"), op)
    return buf


def broadcast(buf: np.ndarray, root: int = 0) -> np.ndarray:
    """Overwrite ``buf`` on every rank with rank ``root``'s values (in place) and return it.

    >>> import numpy as np
    >>> broadcast(np.arange(3))
    array([0, 1, 2])
    """
    world = _world()
    if not isinstance(root, int) or isinstance(root, bool) or not 0 <= root < world.size:
        raise DistributedError(f"broadcast: root must be a rank in [0, {world.size}), got {root!r}")
    world.broadcast(_check_buffer(buf, "broadcast"), root)
    return buf


def abort(message: str = "", code: int = 1) -> NoReturn:
    """End the whole job now: write ``message`` to standard error with every line prefixed by
    ``rank R:`` and call ``MPI.COMM_WORLD.Abort(code)``, which kills every rank (a rank blocked
    in a collective would otherwise wait forever).  In a world of one: ``SystemExit(code)``."""
    world = _world()
    if message:
        text = "".join(f"rank {world.rank}: {line}\n" for line in message.rstrip("\n").splitlines())
        sys.stderr.write(text)
    sys.stderr.flush()
    sys.stdout.flush()
    world.abort(code)


@contextmanager
def abort_on_error(code: int = 1) -> Iterator[None]:
    """Inside this block, an exception on any rank of a multi-process world ends the whole job
    through :func:`abort` with that rank's traceback (and does not hang the others).  In a world
    of one the exception propagates unchanged.

    >>> with abort_on_error():
    ...     x = 1 + 1
    """
    try:
        yield
    except BaseException as exc:
        if world_size() == 1 or isinstance(exc, SystemExit) and exc.code in (0, None):
            raise
        abort("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), code)
