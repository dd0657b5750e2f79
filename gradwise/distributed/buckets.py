"""Moving whole models between ranks in a few large messages: parameter broadcast and gradient averaging.

A collective call has a fixed cost (latency, synchronisation) on top of the bytes it
moves, so one call per parameter would make a 20-tensor model pay 20 latencies per
step.  Here the tensors are packed, in order, into flat NumPy buffers of one dtype
each ("buckets", closed once they reach ``bucket_size_mb``, 25 MB by default as in
PyTorch's DistributedDataParallel), each bucket is moved by one MPI call, and the
values are unpacked again: a step costs ``ceil(gradient bytes / bucket size)``
calls per dtype, usually one.

The layout depends only on the list of tensors (their order, shapes and dtypes),
never on which gradients happen to exist, so every rank builds the same buffers.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.distributed.comm import DistributedError, _world

DEFAULT_BUCKET_SIZE_MB = 25.0


def _tensors(obj: Any, op: str) -> list[Tensor]:
    """The parameters of a module or optimizer, or the tensors of an iterable, each once, in order."""
    if isinstance(obj, Tensor):
        items: Iterable[Any] = [obj]
    elif hasattr(obj, "param_groups"):
        items = [p for g in obj.param_groups for p in g["params"]]
    elif callable(getattr(obj, "parameters", None)):
        items = obj.parameters()
    else:
        try:
            items = iter(obj)
        except TypeError:
            raise DistributedError(f"{op}: expected a Module, an Optimizer or an iterable of tensors, got "
                                   f"{type(obj).__name__}") from None
    out, seen = [], set()
    for t in items:
        if not isinstance(t, Tensor):
            raise DistributedError(f"{op}: expected tensors, got a {type(t).__name__}")
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def _bucket_bytes(bucket_size_mb: Any, op: str) -> int:
    if not isinstance(bucket_size_mb, (int, float)) or isinstance(bucket_size_mb, bool) \
            or not math.isfinite(bucket_size_mb) or bucket_size_mb <= 0:
        raise DistributedError(f"{op}: bucket_size_mb must be a positive finite number of megabytes, "
                               f"got {bucket_size_mb!r}")
    return max(1, int(bucket_size_mb * 2**20))


def plan_buckets(tensors: list[Tensor], bucket_bytes: int) -> list[list[int]]:
    """Indices into ``tensors`` grouped into buckets: one dtype per bucket, tensors kept in order within
    a dtype, a bucket closed once it holds ``bucket_bytes`` or more (a larger tensor gets one alone).

    >>> import gradwise as gw
    >>> ts = [gw.zeros(4), gw.zeros(4, dtype="float64"), gw.zeros(4), gw.zeros(4)]
    >>> plan_buckets(ts, bucket_bytes=48)     # three float32 tensors of 16 bytes fill a bucket
    [[0, 2, 3], [1]]
    >>> plan_buckets(ts, bucket_bytes=32)
    [[1], [0, 2], [3]]
    """
    open_: dict[np.dtype, list[int]] = {}
    size: dict[np.dtype, int] = {}
    done: list[list[int]] = []
    for i, t in enumerate(tensors):
        dt = t._data.dtype
        open_.setdefault(dt, []).append(i)
        size[dt] = size.get(dt, 0) + t._data.nbytes
        if size[dt] >= bucket_bytes:
            done.append(open_.pop(dt))
            size[dt] = 0
    return done + [b for b in open_.values() if b]


def _signature(named: list[tuple[str, Tensor]]) -> int:
    """A 63-bit fingerprint of names, shapes and dtypes: ranks whose models differ disagree on it."""
    text = ";".join(f"{n}:{tuple(t.shape)}:{t._data.dtype.str}" for n, t in named)
    return zlib.crc32(text.encode()) | (len(named) << 32)


def _check_same_everywhere(named: list[tuple[str, Tensor]], op: str) -> None:
    world = _world()
    if world.size == 1:
        return
    sig = _signature(named)
    both = np.array([sig, -sig], dtype=np.int64)
    world.allreduce(both, "max")              # [max over ranks, -min over ranks]
    if both[0] != -both[1]:
        raise DistributedError(f"{op}: the ranks hold different models (their parameter/buffer names, shapes or "
                               f"dtypes differ; rank {world.rank} has {len(named)} tensors); build the same model "
                               "on every rank")


def broadcast_parameters(model: Any, root: int = 0, bucket_size_mb: float = DEFAULT_BUCKET_SIZE_MB) -> None:
    """Copy rank ``root``'s parameters and buffers into every other rank's ``model`` (in place), so
    that all replicas start from the same point.  ``model``: a Module (parameters and buffers, such as
    BatchNorm's running statistics) or an iterable of tensors.  Every rank must pass the same
    architecture; if the names, shapes or dtypes differ, every rank raises :class:`DistributedError`.

    >>> import gradwise as gw
    >>> layer = gw.nn.Linear(3, 2)
    >>> broadcast_parameters(layer)        # a world of one: nothing moves
    """
    op = "broadcast_parameters"
    world = _world()
    if not isinstance(root, int) or isinstance(root, bool) or not 0 <= root < world.size:
        raise DistributedError(f"{op}: root must be a rank in [0, {world.size}), got {root!r}")
    if callable(getattr(model, "named_parameters", None)):
        named = list(model.named_parameters()) + list(model.named_buffers())
    else:
        named = [(str(i), t) for i, t in enumerate(_tensors(model, op))]
    bucket_bytes = _bucket_bytes(bucket_size_mb, op)
    _check_same_everywhere(named, op)
    if world.size == 1:
        return
    tensors = [t for _, t in named]
    for bucket in plan_buckets(tensors, bucket_bytes):
        flat = np.concatenate([tensors[i]._data.reshape(-1) for i in bucket])
        world.broadcast(flat, root)
        if world.rank == root:
            continue
        offset = 0
        for i in bucket:
            t = tensors[i]
            n = t._data.size
            t._write(flat[offset:offset + n].reshape(t.shape))
            offset += n


def allreduce_gradients(model_or_params: Any, average: bool = True,
                        bucket_size_mb: float = DEFAULT_BUCKET_SIZE_MB) -> int:
    """Sum (``average=True``: average) every parameter's ``.grad`` across ranks, in a few calls.

    ``model_or_params``: a Module, an Optimizer or an iterable of parameters; parameters with
    ``requires_grad=False`` are skipped.  Gradients are packed into flat buffers of at most about
    ``bucket_size_mb`` megabytes per dtype (default 25 MB), each reduced in place by one MPI
    ``Allreduce``, then each ``.grad`` becomes a view of its slice ``(same shape and dtype as the
    parameter)``.  The average divides by the world size, as if all ranks' samples had been one batch.

    A parameter whose gradient is ``None`` on some ranks (a branch of the model that some ranks did
    not use this step) counts as a zero gradient there, as in PyTorch; one that is ``None`` on every
    rank stays ``None`` everywhere.  Which ranks had a gradient travels in the last bucket, so this
    costs no extra call.  Returns the number of ``Allreduce`` calls made (0 in a world of one, where
    the gradients are left untouched).

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.ones(3)); (2 * w).sum().backward()
    >>> allreduce_gradients([w]), w.grad.tolist()   # a world of one
    (0, [2.0, 2.0, 2.0])
    """
    op = "allreduce_gradients"
    bucket_bytes = _bucket_bytes(bucket_size_mb, op)
    params = [p for p in _tensors(model_or_params, op) if p.requires_grad]
    world = _world()
    if world.size == 1 or not params:
        return 0
    buckets = plan_buckets(params, bucket_bytes)
    flats = []
    for b, bucket in enumerate(buckets):
        extra = len(params) if b == len(buckets) - 1 else 0
        flat = np.zeros(sum(params[i]._data.size for i in bucket) + extra, dtype=params[bucket[0]]._data.dtype)
        offset = 0
        for i in bucket:
            p = params[i]
            n = p._data.size
            if p.grad is not None:
                flat[offset:offset + n] = p.grad._data.reshape(-1)     # casts a stray dtype to the parameter's
            offset += n
        if extra:
            # how many ranks had each gradient: > 0 somewhere means "a gradient" everywhere
            flat[offset:] = [p.grad is not None for p in params]
        flats.append(flat)
    for flat in flats:
        world.allreduce(flat, "sum")
    present = flats[-1][-len(params):] > 0
    for bucket, flat in zip(buckets, flats):
        grads = flat[:flat.size - len(params)] if flat is flats[-1] else flat
        if average:
            np.divide(grads, world.size, out=grads)
        unpack_bucket(grads, bucket, params, present)
    return len(flats)


def unpack_bucket(flat: np.ndarray, bucket: list[int], params: list[Tensor], present: Any) -> None:
    """Point each present parameter's ``.grad`` at its slice of a reduced bucket (no copy).

    ``flat`` holds the bucket's gradients back to back, in ``bucket`` order; ``present[i]`` says
    whether any rank had a gradient for ``params[i]`` (an absent one keeps ``.grad`` None).
    """
    offset = 0
    for i in bucket:
        p = params[i]
        n = p._data.size
        if present[i]:
            view = flat[offset:offset + n].reshape(p.shape)
            if p.grad is None:
                p.grad = Tensor._make(view)
            else:
                p.grad._data = view
        offset += n
