"""PyTorch's worker options of ``DataLoader``, accepted and checked; loading stays in-process.

gradwise loads every batch in the main process, in order, so a loader built with
``num_workers=4`` gives exactly the batches (same order, same random draws) as one built with
``num_workers=0``.  The worker options of ``torch.utils.data.DataLoader`` are accepted so that
PyTorch scripts run unchanged, and validated as PyTorch validates them:

* ``num_workers``: an int >= 0 (recorded; no worker processes are started);
* ``prefetch_factor``: only with ``num_workers > 0`` (``None`` then means 2, as in PyTorch);
* ``persistent_workers=True``: only with ``num_workers > 0``;
* ``timeout``: a number >= 0; a positive one only with ``num_workers > 0`` (PyTorch's
  single-process loader refuses it too); there is never a worker to wait for;
* ``multiprocessing_context``: only with ``num_workers > 0``; a start method name must be one
  this platform has;
* ``worker_init_fn``: a callable or ``None``.  It is **never called**: PyTorch calls it inside
  each worker process, and there is none.  The usual contents of a ``worker_init_fn``
  (re-seeding NumPy so that forked workers do not repeat one another, or splitting an
  iterable dataset by ``get_worker_info().id``) are about several processes; run in the main
  process they would re-seed its global RNG every epoch.  Code written for PyTorch already
  handles ``get_worker_info() is None`` (the single-process case), which is what gradwise gives;
* ``pin_memory`` (and ``pin_memory_device``): page-locked memory speeds up copies to a GPU;
  gradwise computes on the CPU, so it has no effect.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

from gradwise.data.errors import DataError, DataTypeError


def get_worker_info() -> None:
    """Information about the current DataLoader worker: always ``None`` in gradwise.

    PyTorch returns a ``WorkerInfo`` (``id``, ``num_workers``, ``seed``, ``dataset``) inside
    a worker process and ``None`` in the main process.  gradwise loads every batch in the main
    process, so it is always ``None`` and a dataset written for PyTorch takes its
    single-process branch (the whole dataset, not a worker's shard).

    >>> from gradwise.data import get_worker_info
    >>> get_worker_info() is None
    True
    """
    return None


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataTypeError(f"DataLoader: {name} must be an int, got {type(value).__name__} {value!r}")
    return value


def check_worker_options(num_workers: Any, prefetch_factor: Any, persistent_workers: Any, timeout: Any,
                         worker_init_fn: Any, multiprocessing_context: Any) -> tuple[int, int | None, float]:
    """Validate PyTorch's worker options; returns ``(num_workers, prefetch_factor, timeout)``.

    ``prefetch_factor`` comes back as 2 when ``num_workers > 0`` and it was ``None``, as in
    PyTorch.  Errors name the option, the value and what is valid.

    >>> check_worker_options(2, None, False, 0, None, None)
    (2, 2, 0.0)
    >>> check_worker_options(-1, None, False, 0, None, None)
    Traceback (most recent call last):
    ...
    gradwise.data.errors.DataError: DataLoader: num_workers must be >= 0 (got -1); use num_workers=0 \
for loading in the main process (gradwise always loads there)
    """
    n = _check_int("num_workers", num_workers)
    if n < 0:
        raise DataError(f"DataLoader: num_workers must be >= 0 (got {n}); use num_workers=0 for loading in the "
                        "main process (gradwise always loads there)")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise DataTypeError(f"DataLoader: timeout must be a number of seconds, got {type(timeout).__name__}")
    if timeout < 0:
        raise DataError(f"DataLoader: timeout must be >= 0 seconds (got {timeout})")
    if timeout > 0 and n == 0:
        raise DataError(f"DataLoader: timeout={timeout} applies to waiting for worker processes and needs "
                        "num_workers > 0 (PyTorch refuses it too); leave timeout=0")
    if prefetch_factor is not None:
        if n == 0:
            raise DataError(f"DataLoader: prefetch_factor={prefetch_factor!r} can only be given with "
                            "num_workers > 0 (as in PyTorch); set prefetch_factor=None")
        if _check_int("prefetch_factor", prefetch_factor) < 0:
            raise DataError(f"DataLoader: prefetch_factor must be >= 0 (got {prefetch_factor})")
    elif n > 0:
        prefetch_factor = 2
    if persistent_workers and n == 0:
        raise DataError("DataLoader: persistent_workers=True needs num_workers > 0 (as in PyTorch)")
    if worker_init_fn is not None and not callable(worker_init_fn):
        raise DataTypeError(f"DataLoader: worker_init_fn must be callable or None, got "
                            f"{type(worker_init_fn).__name__}")
    if multiprocessing_context is not None:
        _check_context(multiprocessing_context, n)
    return n, prefetch_factor, float(timeout)


def _check_context(context: Any, num_workers: int) -> None:
    if num_workers == 0:
        raise DataError(f"DataLoader: multiprocessing_context={context!r} can only be used with num_workers > 0 "
                        "(as in PyTorch)")
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise DataError(f"DataLoader: multiprocessing_context={context!r} is not a start method of this "
                            f"platform; valid: {methods}")
    elif not isinstance(context, multiprocessing.context.BaseContext):
        raise DataTypeError(f"DataLoader: multiprocessing_context must be a start method name or a "
                            f"multiprocessing context, got {type(context).__name__}")


WorkerInitFn = Callable[[int], None]
