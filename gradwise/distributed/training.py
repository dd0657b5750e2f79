"""The data-parallel strategy of the fit loop: ``fit(..., strategy=data_parallel())``.

Every rank holds a full replica of the model and trains on its own share of each
batch; after each backward the gradients are averaged, so every replica takes the
same optimizer step and the replicas never drift apart.  With ``R`` ranks and a
per-rank ``batch_size`` of ``b``, a step sees ``R * b`` samples, and (mean-reduced
loss) the averaged gradient is that of the global batch:

    g = sum_r (k_r / K) g_r,    K = sum_r k_r,

where ``g_r`` is rank ``r``'s gradient of its mean loss over ``k_r`` samples.  In
mini-batch and stochastic mode the ranks draw the permutation a single process would
draw and split each of its batches of ``R * b`` between them (:class:`GlobalBatchSampler`):
every step but the last of an epoch has ``k_r = b`` (the plain average), and in the last,
shorter one the weights make the gradient that of the one-process batch.  In full-batch
mode the shards may differ by one sample, and the weights make the gradient that of the
whole training set.

A :class:`DataParallel` object is a :class:`gradwise.train.Strategy`: the Trainer calls it at
each point where the replicas must agree.  This module imports the train and data layers; the
train layer never imports it (``gradwise.distributed`` registers :func:`data_parallel` as the
strategy of the older ``fit(distributed=True)`` when it is imported).
"""

from __future__ import annotations

import json
import traceback
from typing import Any, NoReturn

import numpy as np

from gradwise.api.random import Generator, default_generator
from gradwise.autograd.tensor import Tensor
from gradwise.data.loader import DataLoader
from gradwise.data.sampler import RandomSampler, SequentialSampler
from gradwise.distributed.buckets import (
    DEFAULT_BUCKET_SIZE_MB,
    _bucket_bytes,
    allreduce_gradients,
    broadcast_parameters,
)
from gradwise.distributed.comm import DistributedError, _world, abort, init
from gradwise.distributed.overlap import OverlappedReducer
from gradwise.distributed.sampler import DistributedSampler, GlobalBatchSampler, ShardSampler
from gradwise.train.batches import make_loader
from gradwise.train.errors import TrainingError
from gradwise.train.strategy import SingleProcess, Strategy


def _allgather_bytes(data: bytes) -> list[bytes]:
    """Every rank's ``data``, in rank order, with two sum-allreduces (each rank fills only its own slot)."""
    world = _world()
    if world.size == 1:
        return [data]
    lengths = np.zeros(world.size, dtype=np.int64)
    lengths[world.rank] = len(data)
    world.allreduce(lengths, "sum")
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    buf = np.zeros(int(offsets[-1]), dtype=np.uint8)
    buf[offsets[world.rank]:offsets[world.rank + 1]] = np.frombuffer(data, dtype=np.uint8)
    world.allreduce(buf, "sum")
    return [buf[offsets[r]:offsets[r + 1]].tobytes() for r in range(world.size)]


def reduce_metric_states(metrics: list[Any]) -> None:
    """Replace each metric's running sums (its ``state_dict()``) with their sum over all ranks.

    Every built-in metric keeps plain sums (counts, sums of errors), so the summed state is
    the state one process would have reached seeing every rank's samples.  A rank that saw
    no samples may lack some keys: the ranks first agree on the keys and shapes (a small
    exchange of JSON text), then add everything in one float64 vector.
    """
    world = _world()
    if world.size == 1 or not metrics:
        return
    states = [m.state_dict() for m in metrics]
    layout = [{k: (list(np.shape(v)) if isinstance(v, np.ndarray) else None) for k, v in s.items()} for s in states]
    merged: list[dict[str, Any]] = [{} for _ in metrics]
    for text in _allgather_bytes(json.dumps(layout).encode()):
        for mine, theirs, m in zip(merged, json.loads(text), metrics):
            for k, shape in theirs.items():
                if k in mine and mine[k] != shape:
                    raise DistributedError(f"{m.name}: the ranks keep the state {k!r} with different shapes "
                                           f"{mine[k]} and {shape}; a metric must keep plain sums to be reduced")
                mine[k] = shape
    parts = []
    for state, keys in zip(states, merged):
        for k in sorted(keys):
            shape = keys[k]
            value = state.get(k, 0.0 if shape is None else np.zeros(shape))
            parts.append(np.asarray(value, dtype=np.float64).reshape(-1))
    flat = np.concatenate(parts) if parts else np.zeros(0)
    world.allreduce(flat, "sum")
    offset = 0
    for m, state, keys in zip(metrics, states, merged):
        new: dict[str, Any] = {}
        for k in sorted(keys):
            shape = keys[k]
            size = 1 if shape is None else int(np.prod(shape))
            chunk = flat[offset:offset + size]
            offset += size
            old = state.get(k)
            if shape is None:
                new[k] = float(chunk[0])
            else:
                dtype = old.dtype if isinstance(old, np.ndarray) else np.float64
                values = chunk.reshape(shape)
                new[k] = (np.rint(values) if np.dtype(dtype).kind in "iub" else values).astype(dtype)
        m.load_state_dict(new)


def data_parallel(bucket_size_mb: float = DEFAULT_BUCKET_SIZE_MB, overlap: bool = True) -> Strategy:
    """The strategy for ``fit(..., strategy=...)`` in this process: :class:`DataParallel` under
    ``mpiexec -n R`` with ``R > 1``, else :class:`~gradwise.train.SingleProcess` (a world of one
    trains exactly as a plain run does).  ``overlap``: start each gradient bucket's allreduce
    during the backward (:mod:`gradwise.distributed.overlap`); False reduces after it.

    >>> type(data_parallel()).__name__      # no mpiexec here
    'SingleProcess'
    """
    replicas = DataParallel(bucket_size_mb, overlap=overlap)
    return replicas if replicas.world_size > 1 else SingleProcess()


class DataParallel:
    """The data-parallel :class:`~gradwise.train.Strategy` of a :class:`~gradwise.train.Trainer`
    (see :func:`data_parallel`)."""

    def __init__(self, bucket_size_mb: float = DEFAULT_BUCKET_SIZE_MB, overlap: bool = True) -> None:
        if not isinstance(overlap, bool):
            raise DistributedError(f"DataParallel: overlap must be True or False, got {overlap!r}")
        self.overlap = overlap
        self._reducer: OverlappedReducer | None = None
        init()
        world = _world()
        self.rank, self.world_size = world.rank, world.size
        self.is_main = self.rank == 0
        self.bucket_size_mb = bucket_size_mb
        self._own_sampler: GlobalBatchSampler | None = None

    # ---------------------------------------------------------------- loaders
    def train_loader(self, data: Any, mode: str, batch_size: int, generator: Generator | None) -> DataLoader:
        """Each rank's loader: batches of ``batch_size`` (``1`` in sgd mode; its whole shard in full mode).

        From ``(x, y)``, a Dataset or a DataLoader with a random or sequential sampler, the order is
        the one a single process would draw (the same generator, one permutation per epoch) and each
        rank takes its share of every global batch of ``R * batch_size`` (a
        :class:`GlobalBatchSampler`); a loader built on a :class:`DistributedSampler` is used as is."""
        base = make_loader(data, mode, batch_size, generator)      # validates and turns (x, y) into a Dataset
        if isinstance(base.sampler, DistributedSampler):
            return base                                             # the user split it already
        if not isinstance(base.sampler, (RandomSampler, SequentialSampler)):
            raise TrainingError(f"fit(distributed=True): the DataLoader's sampler {type(base.sampler).__name__} "
                                "cannot be split between ranks; pass a Dataset or (x, y), or build the loader with "
                                "sampler=gradwise.distributed.DistributedSampler(dataset)")
        dataset, n = base.dataset, len(base.dataset)
        if mode == "full":
            if n < self.world_size:
                raise TrainingError(f"fit(distributed=True, mode='full'): {n} training samples cannot be shared "
                                    f"by {self.world_size} ranks; every rank needs at least one")
            shard = ShardSampler(dataset, self.world_size, self.rank)
            return DataLoader(dataset, batch_size=len(shard), sampler=shard, collate_fn=base.collate_fn)
        # the generator a one-process loader would shuffle with: the loader's own, else fit's
        shuffle = isinstance(base.sampler, RandomSampler)
        gen = base.sampler.generator if isinstance(base.sampler, RandomSampler) else base.generator
        sampler = GlobalBatchSampler(dataset, self.world_size, self.rank, batch_size=base.batch_size,
                                     shuffle=shuffle, generator=gen, drop_last=base.drop_last)
        self._own_sampler = sampler
        # generator=: the fit loop records and restores the shuffling generator's state through the loader
        return DataLoader(dataset, batch_size=base.batch_size, sampler=sampler, generator=gen,
                          collate_fn=base.collate_fn)

    def eval_loader(self, data: Any, batch_size: int, what: str = "data") -> DataLoader:
        """This rank's shard of ``data`` for evaluation: each sample on exactly one rank, no padding."""
        base = make_loader(data, "minibatch", batch_size, None, what=what, shuffle=False)
        if isinstance(base.sampler, ShardSampler):
            return base
        shard = ShardSampler(base.dataset, self.world_size, self.rank)
        return DataLoader(base.dataset, batch_size=base.batch_size, sampler=shard, collate_fn=base.collate_fn)

    # ---------------------------------------------------------------- collectives of the loop
    def start(self, model: Any, generator: Generator | None, checkpoint: dict[str, Any] | None) -> None:
        """At the start of fit (after any resume): one set of weights everywhere, and rank 0's
        shuffling generator state on every rank (so all draw the order a single process would)."""
        broadcast_parameters(model, root=0, bucket_size_mb=self.bucket_size_mb)
        if self._own_sampler is not None and self._own_sampler.shuffle:
            gen = self._own_sampler.generator or default_generator
            (state,) = _allgather_bytes(json.dumps(gen.get_state()).encode() if self.is_main else b"")[:1]
            gen.set_state(json.loads(state))

    def synchronize(self, params: list[Tensor], loss: float, count: int) -> tuple[float, int]:
        """After backward: the global mean loss and sample count, and every rank's gradients replaced by
        the global batch's gradient (each rank weighted by its share of the samples)."""
        world = _world()
        red = self._reducer
        if self.overlap and (red is None or not red.matches(params)):
            if red is not None:
                red.drop()
            # armed from the next step on; the epoch's first step (after reduce_metrics disarms) reduces here
            red = self._reducer = OverlappedReducer(params, _bucket_bytes(self.bucket_size_mb, "DataParallel"))
        if red is not None and red.armed:
            sums, usable = red.finish(loss, count)
            total = int(round(sums[1]))
            if usable:
                return float(sums[0] / max(total, 1)), total
        else:
            sums = np.array([loss * count, count], dtype=np.float64)
            world.allreduce(sums, "sum")
            total = int(round(sums[1]))
            if red is not None:
                red.armed = True
        share = count * world.size / max(total, 1)
        if share != 1.0:
            for p in params:
                if p.grad is not None:
                    p.grad._data = p.grad._data * p.grad._data.dtype.type(share)
        allreduce_gradients(params, average=True, bucket_size_mb=self.bucket_size_mb)
        return float(sums[0] / max(total, 1)), total

    def any(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag ORed over ranks (a Ctrl-C or a stop request seen by one rank stops all of them
        after the same step)."""
        buf = np.array([bool(f) for f in flags], dtype=np.int32)
        _world().allreduce(buf, "max")
        return tuple(bool(v) for v in buf)

    def reduce_sums(self, loss_sum: float, n: int) -> tuple[float, int]:
        sums = np.array([loss_sum, n], dtype=np.float64)
        _world().allreduce(sums, "sum")
        return float(sums[0]), int(round(sums[1]))

    def reduce_metrics(self, metrics: list[Any]) -> None:
        if self._reducer is not None:      # end of an epoch: no backward outside a step starts a collective
            self._reducer.armed = False
        reduce_metric_states(metrics)

    def checkpoint_entry(self) -> dict[str, Any]:
        return {"world_size": self.world_size}

    def fail(self, exc: BaseException) -> NoReturn:
        """End the whole job with this rank's traceback (the other ranks may be blocked in a collective)."""
        abort("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), 1)
