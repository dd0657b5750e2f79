"""Samplers: the order in which a :class:`~gradwise.data.DataLoader` visits indices.

A sampler is any iterable of dataset indices with ``__len__``; these three cover
the usual cases and a distributed sampler can plug in the same way.  Samplers
built here also expose ``indices()``, the epoch's whole order as one int64 array,
which the loader uses to avoid per-index Python work.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sized
from typing import Generic, TypeVar

import numpy as np

from gradwise.api.random import Generator, resolve
from gradwise.data.checks import check_batch_size
from gradwise.data.errors import DataError, DataTypeError

_T_co = TypeVar("_T_co", covariant=True)


class Sampler(Generic[_T_co]):
    """Base class: subclasses define ``indices()`` (one epoch's order as an int64 array) and ``__len__``.

    Generic in what it yields, like PyTorch's: indices (``Sampler[int]``) or batches of them
    (``Sampler[list[int]]``, :class:`BatchSampler`)."""

    def indices(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define indices() or override __iter__")

    def __iter__(self) -> Iterator[_T_co]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} does not define __len__")


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1`` every epoch.

    >>> from gradwise.data import SequentialSampler
    >>> list(SequentialSampler(range(4)))
    [0, 1, 2, 3]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A fresh random permutation of ``range(len(data_source))`` each epoch.

    Each epoch draws exactly one permutation from ``generator`` (gradwise's default
    generator when ``None``), so the generator's state fully determines all later
    epochs: ``generator.get_state()`` / ``set_state()`` checkpoint the order.

    >>> import gradwise as gw
    >>> from gradwise.data import RandomSampler
    >>> sorted(RandomSampler(range(5), generator=gw.Generator(0)))
    [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source: Sized, generator: Generator | None = None) -> None:
        resolve(generator)  # type check now, not at the first epoch
        self.data_source = data_source
        self.generator = generator

    def indices(self) -> np.ndarray:
        return resolve(self.generator).permutation(len(self.data_source)).astype(np.int64, copy=False)

    def __len__(self) -> int:
        return len(self.data_source)


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``).

    >>> from gradwise.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = check_batch_size(batch_size, "BatchSampler")
        self.drop_last = bool(drop_last)

    def __iter__(self) -> Iterator[list[int]]:
        order = epoch_indices(self.sampler).tolist()
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def epoch_indices(sampler: Iterable[int]) -> np.ndarray:
    """One epoch of ``sampler`` as an int64 array (one call to ``indices()`` when it has one)."""
    if isinstance(sampler, Sampler) and type(sampler).__iter__ is Sampler.__iter__:
        order = np.asarray(sampler.indices())
    else:
        try:
            order = np.fromiter((operator.index(i) for i in sampler), dtype=np.int64)
        except TypeError as exc:
            raise DataTypeError(f"sampler {type(sampler).__name__} must give integer indices ({exc})") from None
    if order.ndim != 1 or (order.size and order.dtype.kind not in "iu"):
        raise DataError(f"sampler {type(sampler).__name__} must give integer indices, got {order.dtype} values "
                        f"of shape {order.shape}")
    return order.astype(np.int64, copy=False)
