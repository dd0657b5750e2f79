"""DistributedSampler and ShardSampler, in one process with num_replicas/rank given explicitly."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import DataLoader, TensorDataset
from gradwise.distributed import DistributedError, DistributedSampler, GlobalBatchSampler, ShardSampler


def shards(n, replicas, **kw):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


def expected_order(n, replicas, seed, epoch, shuffle=True, drop_last=False):
    """A plain re-implementation: one permutation from Generator(seed + epoch), padded by cycling
    through it again (or cut) to a multiple of the number of replicas."""
    order = list(gw.Generator().manual_seed(seed + epoch).np.permutation(n)) if shuffle else list(range(n))
    if drop_last:
        return order[:(n // replicas) * replicas]
    total = -(-n // replicas) * replicas
    while len(order) < total:
        order += order[:total - len(order)]
    return order


@pytest.mark.parametrize("n, replicas", [(12, 3), (10, 4), (7, 2), (3, 5), (1, 1), (100, 8)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_shards_interleave_one_shared_order_padded_by_repeating(n, replicas, shuffle):
    got = shards(n, replicas, shuffle=shuffle, seed=11)
    order = expected_order(n, replicas, 11, 0, shuffle)
    assert [len(s) for s in got] == [-(-n // replicas)] * replicas          # every rank the same length
    for r, s in enumerate(got):
        assert s == order[r::replicas]
    # the shards cover the dataset; only the padding repeats indices
    counts = Counter(i for s in got for i in s)
    assert set(counts) == set(range(n))
    assert sum(c - 1 for c in counts.values()) == -(-n // replicas) * replicas - n


@pytest.mark.parametrize("n, replicas", [(12, 3), (10, 4), (7, 2), (3, 5)])
def test_drop_last_cuts_the_tail_and_shards_are_disjoint(n, replicas):
    got = shards(n, replicas, shuffle=True, seed=2, drop_last=True)
    order = expected_order(n, replicas, 2, 0, drop_last=True)
    assert [len(s) for s in got] == [n // replicas] * replicas
    flat = [i for s in got for i in s]
    assert len(flat) == len(set(flat)) == (n // replicas) * replicas
    assert sorted(flat) == sorted(order)


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 4, False), (10, 4, True), (9, 3, False), (3, 5, False)])
def test_unshuffled_order_matches_torch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    for r in range(replicas):
        theirs = torch.utils.data.DistributedSampler(range(n), num_replicas=replicas, rank=r, shuffle=False,
                                                     drop_last=drop_last)
        ours = DistributedSampler(range(n), num_replicas=replicas, rank=r, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_each_epoch_reshuffles_the_same_way_on_every_rank():
    samplers = [DistributedSampler(range(40), num_replicas=4, rank=r, seed=5) for r in range(4)]
    epochs = []
    for epoch in range(3):
        for s in samplers:
            s.set_epoch(epoch)
        orders = [s.global_order() for s in samplers]
        assert all(np.array_equal(o, orders[0]) for o in orders)           # one permutation on all ranks
        assert sorted(orders[0].tolist()) == list(range(40))
        epochs.append([list(s) for s in samplers])
    assert epochs[0] != epochs[1] != epochs[2]
    samplers[0].set_epoch(1)
    assert list(samplers[0]) == epochs[1][0]                                # an epoch's order is reproducible
    other_seed = DistributedSampler(range(40), num_replicas=4, rank=0, seed=6)
    assert list(other_seed) != epochs[0][0]


def test_global_batches_are_the_single_process_batches():
    """Per step, the union of the ranks' batches of b is the single-process batch of R*b."""
    n, replicas, b = 48, 3, 4
    x = gw.arange(n)
    ds = TensorDataset(x, x)
    loaders = [DataLoader(ds, batch_size=b, sampler=DistributedSampler(ds, replicas, r, seed=1))
               for r in range(replicas)]
    for loader in loaders:
        loader.sampler.set_epoch(2)
    order = expected_order(n, replicas, 1, 2)
    steps = list(zip(*[[set(xb.tolist()) for xb, _ in loader] for loader in loaders]))
    assert len(steps) == n // (replicas * b)
    for k, per_rank in enumerate(steps):
        assert set().union(*per_rank) == set(order[k * replicas * b:(k + 1) * replicas * b])


def test_shard_sampler_gives_every_sample_to_exactly_one_rank():
    for n, replicas in [(10, 4), (3, 5), (8, 2), (0, 3)]:
        got = [list(ShardSampler(range(n), num_replicas=replicas, rank=r)) for r in range(replicas)]
        assert sorted(i for s in got for i in s) == list(range(n))
        assert max(map(len, got)) - min(map(len, got)) <= 1
        assert [len(ShardSampler(range(n), replicas, r)) for r in range(replicas)] == [len(s) for s in got]


def test_defaults_come_from_the_process_group():
    s = DistributedSampler(range(5), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (1, 0, [0, 1, 2, 3, 4])


@pytest.mark.parametrize("kwargs, match", [
    ({"num_replicas": 0, "rank": 0}, r"num_replicas must be a positive int, got 0"),
    ({"num_replicas": 2, "rank": 2}, r"rank must be an int in \[0, 2\) for num_replicas=2, got 2"),
    ({"num_replicas": 2, "rank": -1}, r"rank must be an int in \[0, 2\)"),
    ({"num_replicas": 2, "rank": 0, "seed": -3}, r"seed must be a non-negative int .* got -3"),
])
def test_bad_arguments_name_the_option(kwargs, match):
    with pytest.raises(DistributedError, match=match):
        DistributedSampler(range(4), **kwargs)


def test_bad_epoch_and_unsized_dataset():
    s = DistributedSampler(range(4), num_replicas=1, rank=0)
    with pytest.raises(DistributedError, match=r"set_epoch: epoch must be a non-negative int, got -1"):
        s.set_epoch(-1)
    with pytest.raises(DistributedError, match=r"must have a length .* got generator"):
        DistributedSampler((i for i in range(3)), num_replicas=1, rank=0)
    assert list(DistributedSampler([], num_replicas=2, rank=1)) == []      # nothing to pad with: no steps


def global_batches(n, replicas, b, seed=3, drop_last=False):
    """Each rank's loader batches from a GlobalBatchSampler, every rank's generator in the same state."""
    out = []
    for r in range(replicas):
        s = GlobalBatchSampler(range(n), replicas, r, batch_size=b, generator=gw.Generator().manual_seed(seed),
                               drop_last=drop_last)
        out.append(list(DataLoader(list(range(n)), batch_size=b, sampler=s, collate_fn=list)))
    return out


@pytest.mark.parametrize("n, replicas, b", [(64, 2, 8), (61, 2, 8), (52, 3, 4), (20, 4, 1)])
def test_global_batch_sampler_splits_each_one_process_batch_between_the_ranks(n, replicas, b):
    """Step k across the ranks holds exactly the samples of batch k of one process with batch R*b
    drawn from the same generator state, with no padding; every rank takes the same number of steps."""
    one = list(DataLoader(list(range(n)), batch_size=replicas * b, shuffle=True,
                          generator=gw.Generator().manual_seed(3), collate_fn=list))
    ranks = global_batches(n, replicas, b)
    assert {len(steps) for steps in ranks} == {len(one)}
    for k, batch in enumerate(one):
        parts = [ranks[r][k] for r in range(replicas)]
        assert sorted(i for part in parts for i in part) == sorted(batch)
        assert parts[0] == batch[0::replicas]                       # interleaved within the batch


def test_global_batch_sampler_pads_only_a_last_batch_smaller_than_the_world():
    """65 samples, batches of 16 on 2 ranks: the last global batch has 1 sample, so rank 1 gets the
    epoch's first index again (equal step counts); 66 samples need no padding."""
    ranks = global_batches(65, 2, 8)
    assert len(ranks[0]) == len(ranks[1]) == 5
    order = gw.Generator().manual_seed(3).np.permutation(65).tolist()
    assert ranks[0][-1] == [order[64]] and ranks[1][-1] == [order[0]]
    assert [len(s[-1]) for s in global_batches(66, 2, 8)] == [1, 1]


def test_global_batch_sampler_drop_last_cuts_to_whole_global_batches():
    ranks = global_batches(61, 2, 8, drop_last=True)
    assert [len(steps) for steps in ranks] == [3, 3] and all(len(b) == 8 for steps in ranks for b in steps)


def test_global_batch_sampler_checks_its_arguments():
    with pytest.raises(DistributedError, match="batch_size"):
        GlobalBatchSampler(range(4), 2, 0, batch_size=0)
    with pytest.raises(DistributedError, match="rank"):
        GlobalBatchSampler(range(4), 2, 2, batch_size=1)
