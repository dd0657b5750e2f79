"""``gradwise.distributed``: data-parallel training over MPI (``pip install 'gradwise[mpi]'``).

Launch one process per replica with ``mpiexec -n R python train.py`` (or
``mpiexec -n R gradwise train ... --distributed``); in the script, pass
``strategy=gradwise.distributed.data_parallel()`` to :func:`gradwise.train.fit` /
:class:`~gradwise.train.Trainer` (or ``distributed=True``, which this package provides once
imported), or build the pieces yourself:

* the process group: :func:`init`, :func:`rank`, :func:`world_size`, :func:`is_main`,
  :func:`barrier`, :func:`allreduce`, :func:`broadcast`, :func:`abort`,
  :func:`abort_on_error` (a world of one without ``mpiexec`` or without mpi4py);
* whole models: :func:`broadcast_parameters` (parameters and buffers from one rank to
  all) and :func:`allreduce_gradients` (gradients averaged in a few bucketed calls);
* data: :class:`DistributedSampler` (each rank's shard of each epoch, reshuffled per
  epoch from a shared seed), :class:`GlobalBatchSampler` (each rank's share of every
  one-process batch: what ``fit`` builds) and :class:`ShardSampler` (every sample once, for evaluation).

See ``docs/distributed.md`` for launching, what is averaged, BatchNorm and multi-node runs.

>>> import gradwise.distributed as dist
>>> dist.is_main() == (dist.rank() == 0)
True
"""

from gradwise.distributed.buckets import (
    DEFAULT_BUCKET_SIZE_MB,
    allreduce_gradients,
    broadcast_parameters,
    plan_buckets,
)
from gradwise.distributed.comm import (
    INSTALL_HINT,
    DistributedError,
    MPIUnavailableError,
    abort,
    abort_on_error,
    allreduce,
    backend,
    barrier,
    broadcast,
    init,
    is_initialized,
    is_main,
    launcher_world,
    rank,
    world_size,
)
from gradwise.distributed.sampler import DistributedSampler, GlobalBatchSampler, ShardSampler
from gradwise.distributed.training import DataParallel, data_parallel
from gradwise.train.strategy import register_data_parallel

register_data_parallel(data_parallel)     # what fit(distributed=True) trains with

__all__ = [
    "DEFAULT_BUCKET_SIZE_MB", "INSTALL_HINT", "DataParallel", "DistributedError", "DistributedSampler",
    "GlobalBatchSampler", "MPIUnavailableError", "ShardSampler", "abort", "abort_on_error", "allreduce",
    "allreduce_gradients", "backend",
    "barrier", "broadcast", "broadcast_parameters", "data_parallel", "init", "is_initialized", "is_main",
    "launcher_world", "plan_buckets", "rank", "world_size",
]
