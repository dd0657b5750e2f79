"""``DataLoader``: iterate over a dataset in (optionally shuffled) batches.

Each epoch (each ``iter(loader)``) asks the sampler for the whole order once,
then cuts it into batches of ``batch_size``.  With ``shuffle=True`` that is one
permutation drawn from ``generator``, and nothing else draws random numbers, so
saving ``generator.get_state()`` between epochs and restoring it with
``set_state()`` replays the remaining epochs exactly.

Fast path: when the dataset is a :class:`TensorDataset` (or a :class:`Subset`
of one, nested any depth) that does not override ``__getitem__``, and
``collate_fn`` is ``None``, a batch is one fancy-index of each underlying array
with the batch's index array; no sample is built one by one.

PyTorch's worker options (``num_workers``, ``pin_memory``, ``prefetch_factor``,
``persistent_workers``, ``worker_init_fn``, ``timeout``, ``multiprocessing_context``) are
accepted and checked as PyTorch checks them (:mod:`gradwise.data.workers`), but every batch is
loaded in the main process: the batches are the same, in the same order, from the same random
draws, whatever ``num_workers`` says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from gradwise.api.random import Generator, resolve
from gradwise.autograd.tensor import Tensor
from gradwise.data.checks import check_batch_size
from gradwise.data.collate import default_collate
from gradwise.data.dataset import Dataset, Subset, TensorDataset
from gradwise.data.errors import DataError, DataTypeError
from gradwise.data.sampler import RandomSampler, SequentialSampler, epoch_indices
from gradwise.data.workers import WorkerInitFn, check_worker_options


def _overrides_getitem(cls: type, base: type) -> bool:
    """Whether a subclass of ``base`` defines its own ``__getitem__`` (then it must be honoured)."""
    for klass in cls.__mro__:
        if klass is base:
            return False
        if "__getitem__" in klass.__dict__:
            return True
    return True


def _batched_source(dataset: Any) -> tuple[tuple[Tensor, ...], np.ndarray | None] | None:
    """The tensors behind a (Subset of a) TensorDataset and the index map into them, or None."""
    index = None
    while isinstance(dataset, Subset) and not _overrides_getitem(type(dataset), Subset):
        # subset[k] == inner[indices[k]], so the maps compose as inner_indices[outer_indices].
        index = dataset.indices if index is None else dataset.indices[index]
        dataset = dataset.dataset
    if isinstance(dataset, TensorDataset) and not _overrides_getitem(type(dataset), TensorDataset):
        return dataset.tensors, index
    return None


class DataLoader:
    """Batches of ``dataset``, in order or shuffled.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        batch_size: samples per batch, an int >= 1.
        shuffle: draw a new random order every epoch (from ``generator``).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: the :class:`gradwise.Generator` for shuffling (gradwise's default
            generator when ``None``); its state is the only source of randomness.
        collate_fn: merges a list of samples into a batch (default
            :func:`default_collate`: tensors stacked along a new dimension 0).
        sampler: any iterable of indices with ``__len__`` (e.g. a distributed
            sampler); mutually exclusive with ``shuffle=True``.
        num_workers: accepted for PyTorch scripts (an int >= 0); gradwise always loads in the
            main process, so the batches are those of ``num_workers=0``.
        pin_memory, pin_memory_device: no effect (there is no GPU to copy to).
        prefetch_factor, persistent_workers, timeout, multiprocessing_context: checked as
            PyTorch checks them (only with ``num_workers > 0``), otherwise without effect.
        worker_init_fn: a callable or ``None``; never called, since there is no worker process
            (:func:`gradwise.data.get_worker_info` is ``None``, PyTorch's single-process case).
        in_order: accepted; batches always come in the sampler's order.

    See :mod:`gradwise.data.workers` for why the worker options are accepted but inert.

    ``len(loader)`` is the number of batches per epoch:
    ``ceil(N / batch_size)``, or ``floor(N / batch_size)`` with ``drop_last``.

    >>> import gradwise as gw
    >>> from gradwise.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(gw.randn(10, 3), gw.arange(10))
    >>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=gw.Generator(0))
    >>> len(loader), [tuple(x.shape) for x, y in loader]
    (3, [(4, 3), (4, 3), (2, 3)])
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 generator: Generator | None = None, collate_fn: Callable[[list[Any]], Any] | None = None,
                 sampler: Iterable[int] | None = None, *, num_workers: int = 0, pin_memory: bool = False,
                 timeout: float = 0, worker_init_fn: WorkerInitFn | None = None,
                 multiprocessing_context: Any = None, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "", in_order: bool = True) -> None:
        if not hasattr(dataset, "__getitem__"):
            raise DataTypeError(f"DataLoader: dataset must be a map-style dataset with __getitem__ and __len__, "
                                f"got {type(dataset).__name__}")
        self.batch_size = check_batch_size(batch_size, "DataLoader")
        self.num_workers, self.prefetch_factor, self.timeout = check_worker_options(
            num_workers, prefetch_factor, persistent_workers, timeout, worker_init_fn, multiprocessing_context)
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = str(pin_memory_device)
        self.persistent_workers = bool(persistent_workers)
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = bool(in_order)
        resolve(generator)  # type check now rather than at the first epoch
        if collate_fn is not None and not callable(collate_fn):
            raise DataTypeError(f"DataLoader: collate_fn must be callable or None, got {type(collate_fn).__name__}")
        if sampler is not None:
            if shuffle:
                raise DataError("DataLoader: sampler= and shuffle=True are mutually exclusive; the sampler "
                                "decides the order (use RandomSampler for shuffling)")
            if not hasattr(sampler, "__iter__") or not hasattr(sampler, "__len__"):
                raise DataTypeError(f"DataLoader: sampler must be an iterable of indices with __len__, got "
                                    f"{type(sampler).__name__}")
        else:
            try:
                len(dataset)
            except TypeError:
                raise DataTypeError(f"DataLoader: dataset {type(dataset).__name__} has no __len__; define it or "
                                    "pass a sampler=") from None
            sampler = RandomSampler(dataset, generator) if shuffle else SequentialSampler(dataset)
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        return _LoaderIterator(self)

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.sampler)}, "  # type: ignore[arg-type]
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})")


class _LoaderIterator:
    """One epoch: the order is fixed (and any permutation drawn) when the iterator is made."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        order = epoch_indices(loader.sampler)
        self._source = _batched_source(loader.dataset) if loader.collate_fn is None else None
        if self._source is not None and order.size:
            n = len(loader.dataset)
            lo, hi = int(order.min()), int(order.max())
            if lo < -n or hi >= n:
                raise IndexError(f"DataLoader: the sampler gave index {lo if lo < -n else hi}, out of range for "
                                 f"a dataset of length {n}")
            if lo < 0:
                order = np.where(order < 0, order + n, order)
        bs = loader.batch_size
        self._stop = (len(order) // bs) * bs if loader.drop_last else len(order)
        self._order = order
        self._start = 0

    def __iter__(self) -> _LoaderIterator:
        return self

    def __len__(self) -> int:
        return -(-(self._stop - self._start) // self._loader.batch_size)

    def __next__(self) -> Any:
        if self._start >= self._stop:
            raise StopIteration
        bs = self._loader.batch_size
        idx = self._order[self._start:min(self._start + bs, self._stop)]
        self._start += bs
        if self._source is not None:
            tensors, index = self._source
            if index is not None:
                idx = index[idx]
            return tuple(Tensor._make(t._data[idx]) for t in tensors)
        dataset = self._loader.dataset
        samples = [dataset[i] for i in idx.tolist()]
        collate = self._loader.collate_fn or default_collate
        return collate(samples)
