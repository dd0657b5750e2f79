"""Gradient allreduce overlapped with the backward pass (what PyTorch's DDP reducer does).

The gradients are grouped into buckets in **reverse registration order** (the last
layer's parameters first: the backward finishes them first).  Each parameter has a
post-accumulate-grad hook; once every parameter of a bucket is final, the bucket is
copied into a flat buffer and its sum over ranks starts with a nonblocking
``Iallreduce`` while the backward goes on.  Buckets start strictly in order (bucket
``k`` only after ``k - 1``), so every rank issues the same collectives in the same
order.  :meth:`OverlappedReducer.finish` starts the buckets the backward did not
complete (parameters without a gradient count as zeros), reduces the small float64
vector of loss, counts and flags, waits for everything, divides by the world size and
makes each ``.grad`` a view of its slice, exactly as :func:`allreduce_gradients` does:
the same sums of the same float values, elementwise, so the result is bit-identical
(for 2 ranks always, since ``a + b`` does not depend on MPI's algorithm).

It falls back to the plain path (all ranks together, decided from the reduced flags)
when a step is unusual: ranks with different sample counts (the last, shorter batch of
an epoch, where each rank's gradient must be weighted before the sum), or a parameter
whose gradient changed after its bucket had started (two backwards in one step).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.distributed.buckets import plan_buckets, unpack_bucket
from gradwise.distributed.comm import _world


def _remove(handles: list[Any]) -> None:
    for h in handles:
        h.remove()


class OverlappedReducer:
    """Bucketed, overlapped gradient averaging for one list of parameters (see the module docstring).

    ``armed`` is False until the owner calls :meth:`finish` once; while it is False the hooks
    do nothing (a backward outside a training step starts no collective)."""

    def __init__(self, params: list[Tensor], bucket_bytes: int) -> None:
        self.params = params
        order = list(range(len(params)))[::-1]
        self.buckets = [[order[j] for j in b] for b in plan_buckets([params[i] for i in order], bucket_bytes)]
        self.bucket_of = {id(params[i]): k for k, b in enumerate(self.buckets) for i in b}
        self.armed = False
        self._reset()
        me = weakref.ref(self)

        def hook(p: Tensor) -> None:
            r = me()
            if r is not None and r.armed:
                r._ready(p)

        handles = [p.register_post_accumulate_grad_hook(hook) for p in params]
        weakref.finalize(self, _remove, handles)    # hooks go away with the reducer

    def _reset(self) -> None:
        self.ready: list[set[int]] = [set() for _ in self.buckets]
        self.flats: list[np.ndarray | None] = [None] * len(self.buckets)
        self.requests: list[Any] = []
        self.stale = False

    def drop(self) -> None:
        """Wait for what is in flight, then stop reacting to hooks (the owner replaces this reducer)."""
        for r in self.requests:
            r.Wait()
        self.armed = False
        self._reset()

    def matches(self, params: list[Tensor]) -> bool:
        return len(params) == len(self.params) and all(a is b for a, b in zip(params, self.params))

    def _ready(self, p: Tensor) -> None:
        k = self.bucket_of[id(p)]
        if self.flats[k] is not None:      # its bucket is already on its way: this step must fall back
            self.stale = True
            return
        self.ready[k].add(id(p))
        while len(self.requests) < len(self.buckets) and len(self.ready[len(self.requests)]) == \
                len(self.buckets[len(self.requests)]):
            self._launch(len(self.requests))

    def _launch(self, k: int) -> None:
        bucket = self.buckets[k]
        flat = np.zeros(sum(self.params[i]._data.size for i in bucket), dtype=self.params[bucket[0]]._data.dtype)
        offset = 0
        for i in bucket:
            p = self.params[i]
            n = p._data.size
            if p.grad is not None:
                flat[offset:offset + n] = p.grad._data.reshape(-1)     # casts a stray dtype to the parameter's
            offset += n
        self.flats[k] = flat
        self.requests.append(_world().iallreduce(flat, "sum"))  # type: ignore[union-attr]

    def finish(self, loss: float, count: int) -> tuple[np.ndarray, bool]:
        """End the step: start the remaining buckets, reduce ``[loss * count, count, count**2, stale,
        presence...]`` (sums), wait for every bucket.  Returns the reduced vector and whether the
        overlapped result may be used (else the caller takes the plain path; the ``.grad`` are untouched)."""
        world = _world()
        while len(self.requests) < len(self.buckets):
            self._launch(len(self.requests))
        sums = np.array([loss * count, count, float(count) ** 2, float(self.stale)]
                        + [p.grad is not None for p in self.params], dtype=np.float64)
        world.allreduce(sums, "sum")
        for r in self.requests:
            r.Wait()
        total = sums[1]
        # the overlapped sums equal the plain path's only if no rank weights its gradient
        # (every count equal: R * sum(c^2) == (sum c)^2, exact for integer counts) and no bucket went stale
        usable = sums[3] == 0 and world.size * sums[2] == total * total
        if usable:
            present = sums[4:] > 0
            for bucket, flat in zip(self.buckets, self.flats):
                assert flat is not None
                np.divide(flat, world.size, out=flat)
                unpack_bucket(flat, bucket, self.params, present)
        self._reset()
        self.armed = True
        return sums, bool(usable)
