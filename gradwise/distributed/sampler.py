"""Samplers that split a dataset between ranks: each rank trains on its own share of every epoch.

:class:`DistributedSampler` (training) follows PyTorch's: every rank draws the same
permutation of ``range(N)`` from the shared ``seed`` and the epoch number (so the
ranks agree without talking), pads it by repeating its first indices (or, with
``drop_last``, cuts its tail) to a multiple of the number of ranks, and rank ``r``
keeps positions ``r, r + R, r + 2R, ...`` (interleaved, not contiguous).

Interleaving makes a distributed step look like a single-process one: with ``R``
ranks each loading batches of ``b``, step ``k`` of rank ``r`` holds positions
``(k*b + j)*R + r`` for ``j < b``, so across ranks step ``k`` covers exactly positions
``k*R*b ... (k+1)*R*b - 1`` of the permutation, the ``k``-th batch of one process
loading batches of ``R*b`` from the same permutation.

:class:`GlobalBatchSampler` (what ``fit`` builds from ``(x, y)``, a Dataset or a shuffled
DataLoader) draws the one-process order from the run's generator and does not pad: ``R``
ranks with batches of ``b`` take the steps of one process with batches of ``R * b``.

:class:`ShardSampler` (evaluation) gives every sample to exactly one rank, with no
padding, so sums over ranks count each sample once; shards may differ by one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.api.random import Generator, resolve
from gradwise.data.sampler import Sampler
from gradwise.distributed.comm import DistributedError, rank, world_size


def _replicas(num_replicas: Any, rank_: Any, owner: str) -> tuple[int, int]:
    if num_replicas is None:
        num_replicas = world_size()
    if rank_ is None:
        rank_ = rank()
    if not isinstance(num_replicas, int) or isinstance(num_replicas, bool) or num_replicas < 1:
        raise DistributedError(f"{owner}: num_replicas must be a positive int, got {num_replicas!r}")
    if not isinstance(rank_, int) or isinstance(rank_, bool) or not 0 <= rank_ < num_replicas:
        raise DistributedError(f"{owner}: rank must be an int in [0, {num_replicas}) for num_replicas="
                               f"{num_replicas}, got {rank_!r}")
    return num_replicas, rank_


def _length(dataset: Any, owner: str) -> int:
    try:
        return len(dataset)
    except TypeError:
        raise DistributedError(f"{owner}: the dataset must have a length (map-style), got "
                               f"{type(dataset).__name__}") from None


class DistributedSampler(Sampler):
    """This rank's share of ``dataset`` for one epoch; call :meth:`set_epoch` before each epoch.

    Args:
        dataset: anything with ``__len__`` (``N`` samples).
        num_replicas: number of ranks ``R`` (default: the world size).
        rank: this rank ``r`` (default: this process's rank).
        shuffle: a new permutation each epoch, the same on every rank: drawn from a
            :class:`gradwise.Generator` seeded with ``seed + epoch``; without it the order is
            ``0 .. N-1``.
        seed: shared by all ranks (must be equal everywhere).
        drop_last: cut the order to ``floor(N / R) * R`` samples instead of padding it to
            ``ceil(N / R) * R`` by repeating its first indices (wrapping around when ``R > N``).

    ``len(sampler)`` is the same on every rank (``ceil(N / R)``, or ``floor(N / R)`` with
    ``drop_last``), so every rank takes the same number of steps.

    >>> s = DistributedSampler(range(10), num_replicas=4, rank=1, shuffle=False)
    >>> list(s), len(s)     # order 0..9 padded with 0, 1 to 12, rank 1 takes positions 1, 5, 9
    ([1, 5, 9], 3)
    >>> list(DistributedSampler(range(10), num_replicas=4, rank=1, shuffle=False, drop_last=True))
    [1, 5]
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        owner = "DistributedSampler"
        self.num_replicas, self.rank = _replicas(num_replicas, rank, owner)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise DistributedError(f"{owner}: seed must be a non-negative int (the same on every rank), got {seed!r}")
        self.dataset = dataset
        n = _length(dataset, owner)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        r = self.num_replicas
        self.num_samples = n // r if self.drop_last else -(-n // r)
        self.total_size = self.num_samples * r

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose permutation the next iteration uses (``seed + epoch`` seeds it)."""
        if not isinstance(epoch, (int, np.integer)) or isinstance(epoch, bool) or epoch < 0:
            raise DistributedError(f"DistributedSampler.set_epoch: epoch must be a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)

    def global_order(self) -> np.ndarray:
        """The epoch's order over all ranks, ``(total_size,)`` int64, padded or cut: rank ``r`` takes
        ``global_order()[r::num_replicas]``."""
        n = len(self.dataset)
        if self.shuffle:
            order = resolve(Generator().manual_seed(self.seed + self.epoch)).permutation(n).astype(np.int64)
        else:
            order = np.arange(n, dtype=np.int64)
        if self.total_size <= n:
            return order[:self.total_size]
        # pad by repeating the start of the order (wrapping as often as needed) to a multiple of R
        return np.resize(order, self.total_size)

    def indices(self) -> np.ndarray:
        return self.global_order()[self.rank::self.num_replicas]

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank}, shuffle={self.shuffle}, "
                f"seed={self.seed}, drop_last={self.drop_last}, epoch={self.epoch})")


class GlobalBatchSampler(Sampler):
    """This rank's share of every global batch of a one-process epoch: what ``fit(..., distributed=True)``
    builds from ``(x, y)``, a Dataset or a shuffled DataLoader.

    The epoch's order is drawn exactly as a one-process loader draws it: one
    ``generator.permutation(N)`` per epoch (gradwise's default generator when ``None``; no
    shuffle: ``0 .. N-1``), so ``R`` ranks whose generators are in the same state (the
    data-parallel strategy copies rank 0's state to every rank at the start of ``fit``) see
    the order one process would see.  A one-process batch of ``B = R * b`` takes positions
    ``kB .. kB + B - 1``; rank ``r`` loading batches of ``b`` takes positions
    ``kB + r, kB + r + R, ...`` of it, i.e. ``order[r::R]``.  Nothing is padded: in the last,
    shorter batch the ranks hold ``ceil((L - r) / R)`` of its ``L`` samples, and the
    count-weighted gradient average makes the step that of the one-process batch.  Only when
    that batch has fewer samples than ranks (``0 < L < R``) would a rank be left with nothing,
    and then the order is padded by repeating its first indices (as :class:`DistributedSampler`
    does) so that every rank takes the same number of steps; that one step then repeats
    ``R - L`` samples.  ``drop_last`` cuts the order to whole global batches.

    >>> import gradwise as gw
    >>> g0, g1 = gw.Generator().manual_seed(3), gw.Generator().manual_seed(3)
    >>> ranks = [GlobalBatchSampler(range(10), 2, r, batch_size=2, generator=g)
    ...          for r, g in ((0, g0), (1, g1))]
    >>> order = gw.Generator().manual_seed(3).np.permutation(10)   # one process's epoch
    >>> [a.tolist() for a in (ranks[0].indices(), ranks[1].indices())] == [order[0::2].tolist(),
    ...                                                                  order[1::2].tolist()]
    True
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None, *,
                 batch_size: int, shuffle: bool = True, generator: Generator | None = None,
                 drop_last: bool = False) -> None:
        owner = "GlobalBatchSampler"
        self.num_replicas, self.rank = _replicas(num_replicas, rank, owner)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise DistributedError(f"{owner}: batch_size (per rank) must be a positive int, got {batch_size!r}")
        resolve(generator)      # type check now
        self.dataset, self.batch_size, self.generator = dataset, batch_size, generator
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        n = _length(dataset, owner)
        global_batch = batch_size * self.num_replicas
        self.total_size = (n // global_batch) * global_batch if self.drop_last else n
        tail = self.total_size % global_batch
        if 0 < tail < self.num_replicas:       # a rank would have nothing in the last step: pad it
            self.total_size += self.num_replicas - tail

    def global_order(self) -> np.ndarray:
        """The epoch's order over all ranks, ``(total_size,)`` int64 (draws the epoch's permutation)."""
        n = len(self.dataset)
        if self.shuffle:
            order = resolve(self.generator).permutation(n).astype(np.int64, copy=False)
        else:
            order = np.arange(n, dtype=np.int64)
        return order[:self.total_size] if self.total_size <= n else np.resize(order, self.total_size)

    def indices(self) -> np.ndarray:
        return self.global_order()[self.rank::self.num_replicas]

    def __len__(self) -> int:
        # rank r's count, ceil((total - r) / R): the ranks' loaders take the same number of batches
        return max(0, -(-(self.total_size - self.rank) // self.num_replicas))

    def __repr__(self) -> str:
        return (f"GlobalBatchSampler(num_replicas={self.num_replicas}, rank={self.rank}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})")


class ShardSampler(Sampler):
    """Every index of ``dataset`` given to exactly one rank, in order, without padding: rank ``r`` gets
    ``r, r + R, r + 2R, ...`` (``ceil((N - r) / R)`` indices, so shards differ by at most one).  For
    evaluation, where a sum over ranks must count each sample once.

    >>> list(ShardSampler(range(10), num_replicas=4, rank=3))
    [3, 7]
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None) -> None:
        self.num_replicas, self.rank = _replicas(num_replicas, rank, "ShardSampler")
        self.dataset = dataset
        _length(dataset, "ShardSampler")

    def indices(self) -> np.ndarray:
        return np.arange(self.rank, len(self.dataset), self.num_replicas, dtype=np.int64)

    def __len__(self) -> int:
        return max(0, -(-(len(self.dataset) - self.rank) // self.num_replicas))

    def __repr__(self) -> str:
        return f"ShardSampler(num_replicas={self.num_replicas}, rank={self.rank})"
