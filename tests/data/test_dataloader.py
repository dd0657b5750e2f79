"""DataLoader: batch counts, the TensorDataset fast path, seeded shuffling, samplers, collate."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import (
    BatchSampler,
    DataError,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def labelled(n):
    """x row i is [i, -i]; y is i, so a batch's y gives its indices."""
    x = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    return TensorDataset(gw.tensor(x), gw.arange(n))


def epoch(loader):
    return [y.tolist() for _, y in loader]


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11])
@pytest.mark.parametrize("bs", [1, 3, 10, 20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_counts_and_sizes(n, bs, drop_last):
    loader = DataLoader(labelled(n), batch_size=bs, drop_last=drop_last)
    expected = n // bs if drop_last else math.ceil(n / bs)
    batches = list(loader)
    assert len(loader) == expected == len(batches)
    sizes = [len(y) for _, y in batches]
    full = [bs] * (n // bs)
    assert sizes == (full if drop_last or n % bs == 0 else full + [n % bs])


def test_sequential_batches_hold_the_rows():
    loader = DataLoader(labelled(7), batch_size=3)
    (x0, y0), (x1, y1), (x2, y2) = loader
    assert y0.tolist() == [0, 1, 2] and y2.tolist() == [6]
    np.testing.assert_array_equal(x1.numpy(), [[3, -3], [4, -4], [5, -5]])
    assert x1.dtype == np.float32 and y1.dtype == np.int64


def test_fast_path_never_builds_samples(monkeypatch):
    def boom(self, index):
        raise AssertionError("per-sample __getitem__ called")

    ds = labelled(20)
    monkeypatch.setattr(TensorDataset, "__getitem__", boom)
    train, _ = random_split(ds, [15, 5], generator=gw.Generator(0))
    nested = Subset(Subset(ds, list(range(19, -1, -1))), [0, 5, 6])
    assert sorted(sum(epoch(DataLoader(ds, batch_size=4, shuffle=True)), [])) == list(range(20))
    assert sum(epoch(DataLoader(train, batch_size=4)), []) == train.indices.tolist()
    # nested subsets compose: outer [0, 5, 6] of the reversed order -> 19, 14, 13
    assert epoch(DataLoader(nested, batch_size=2)) == [[19, 14], [13]]


def test_fast_path_output_is_detached_copy():
    x = gw.randn(6, 2, generator=gw.Generator(0), requires_grad=True)
    before = x.detach().numpy().copy()
    ds = TensorDataset(x, gw.arange(6))
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert not xb.requires_grad and xb.grad_fn is None and not yb.requires_grad
    np.testing.assert_array_equal(xb.numpy(), before[:4])
    xb.numpy()[:] = 0.0  # the batch is a copy: the dataset keeps its values
    np.testing.assert_array_equal(x.detach().numpy(), before)


def test_subclass_getitem_is_honoured():
    calls = []

    class Doubled(TensorDataset):
        def __getitem__(self, i):
            calls.append(i)
            x, y = super().__getitem__(i)
            return x * 2, y

    ds = Doubled(gw.ones(5, 2), gw.arange(5))
    xb, yb = next(iter(DataLoader(ds, batch_size=5)))
    assert calls == [0, 1, 2, 3, 4]
    assert xb.tolist() == [[2.0, 2.0]] * 5 and yb.tolist() == [0, 1, 2, 3, 4]


def test_collate_fn_disables_fast_path():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return [int(y) for _, y in samples]

    batches = list(DataLoader(labelled(5), batch_size=2, collate_fn=collate))
    assert batches == [[0, 1], [2, 3], [4]] and seen == [2, 2, 1]


def test_shuffle_reproducible_and_matches_generator_permutation():
    a = DataLoader(labelled(11), batch_size=4, shuffle=True, generator=gw.Generator(5))
    b = DataLoader(labelled(11), batch_size=4, shuffle=True, generator=gw.Generator(5))
    ref = np.random.default_rng(5)  # gradwise.Generator(5) is PCG64 seeded with 5
    for _ in range(3):
        ea, eb = epoch(a), epoch(b)
        assert ea == eb
        assert sum(ea, []) == ref.permutation(11).tolist()
        assert sorted(sum(ea, [])) == list(range(11))  # every index exactly once


def test_different_seeds_and_epochs_differ():
    a = DataLoader(labelled(50), batch_size=50, shuffle=True, generator=gw.Generator(1))
    b = DataLoader(labelled(50), batch_size=50, shuffle=True, generator=gw.Generator(2))
    first, second = epoch(a), epoch(a)
    assert first != second
    assert first != epoch(b)


def test_generator_state_resumes_remaining_epochs():
    g = gw.Generator(123)
    loader = DataLoader(labelled(13), batch_size=5, shuffle=True, generator=g)
    epoch(loader)
    state = g.get_state()
    later = [epoch(loader) for _ in range(3)]
    g2 = gw.Generator(999)
    g2.set_state(state)
    resumed = DataLoader(labelled(13), batch_size=5, shuffle=True, generator=g2)
    assert [epoch(resumed) for _ in range(3)] == later


def test_one_permutation_per_epoch_and_none_without_shuffle():
    g = gw.Generator(0)
    ref = np.random.default_rng(0)
    epoch(DataLoader(labelled(8), batch_size=3, generator=g))
    assert g.get_state() == ref.bit_generator.state  # no draw without shuffle
    epoch(DataLoader(labelled(8), batch_size=3, shuffle=True, generator=g))
    ref.permutation(8)
    assert g.get_state() == ref.bit_generator.state


def test_default_generator_when_none():
    loader = DataLoader(labelled(30), batch_size=30, shuffle=True)
    gw.manual_seed(42)
    first = epoch(loader)
    gw.manual_seed(42)
    assert epoch(loader) == first


def test_permutation_drawn_when_iterator_is_created():
    g = gw.Generator(0)
    loader = DataLoader(labelled(10), batch_size=10, shuffle=True, generator=g)
    it = iter(loader)
    state = g.get_state()
    assert len(it) == 1
    next(it)
    assert g.get_state() == state


def test_custom_sampler_and_samplers():
    ds = labelled(6)
    assert epoch(DataLoader(ds, batch_size=2, sampler=[5, 0, 3])) == [[5, 0], [3]]
    assert epoch(DataLoader(ds, batch_size=4, sampler=SequentialSampler(ds))) == [[0, 1, 2, 3], [4, 5]]
    rs = RandomSampler(ds, generator=gw.Generator(3))
    assert list(rs) == np.random.default_rng(3).permutation(6).tolist() and len(rs) == 6
    bs = BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    assert len(BatchSampler(range(7), batch_size=3, drop_last=False)) == 3
    # a negative index means counting from the end, as in indexing
    assert epoch(DataLoader(ds, batch_size=2, sampler=[-1, 0])) == [[5, 0]]


def test_loader_errors():
    ds = labelled(4)
    for bad in (0, -2):
        with pytest.raises(DataError, match=f"batch_size must be a positive int \\(>= 1\\), got {bad}"):
            DataLoader(ds, batch_size=bad)
    for bad in (None, 2.0, True, "4"):
        with pytest.raises(TypeError, match="DataLoader: batch_size must be a positive int"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(DataError, match="mutually exclusive"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(TypeError, match="sampler must be an iterable of indices with __len__"):
        DataLoader(ds, sampler=iter([0, 1]))
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(ds, collate_fn=3)
    with pytest.raises(TypeError, match="gradwise.Generator"):
        DataLoader(ds, shuffle=True, generator=42)
    with pytest.raises(IndexError, match="sampler gave index 9, out of range for a dataset of length 4"):
        list(DataLoader(ds, sampler=[0, 9]))
    with pytest.raises(TypeError, match="integer indices"):
        list(DataLoader(ds, sampler=[0.5]))


Point = namedtuple("Point", ["x", "label"])


class Records(Dataset):
    def __init__(self, make):
        self.make = make

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.make(i)


def test_collate_dicts_tuples_lists_and_numbers():
    ds = Records(lambda i: {"x": np.full((2,), i, dtype=np.float64), "y": i, "w": 0.5 * i, "ok": i % 2 == 0,
                            "name": f"s{i}", "pair": (gw.tensor([i, i + 1]), [i, -i])})
    b = next(iter(DataLoader(ds, batch_size=3)))
    assert set(b) == {"x", "y", "w", "ok", "name", "pair"}
    assert b["x"].shape == (3, 2) and b["x"].dtype == np.float64
    assert b["y"].tolist() == [0, 1, 2] and b["y"].dtype == np.int64
    assert b["w"].dtype == np.float32 and b["w"].tolist() == [0.0, 0.5, 1.0]
    assert b["ok"].tolist() == [True, False, True] and b["ok"].dtype == np.bool_
    assert b["name"] == ["s0", "s1", "s2"]
    t, lst = b["pair"]
    assert isinstance(b["pair"], tuple) and t.tolist() == [[0, 1], [1, 2], [2, 3]]
    assert isinstance(lst, list) and [v.tolist() for v in lst] == [[0, 1, 2], [0, -1, -2]]


def test_collate_namedtuple_and_mixed_numbers():
    b = default_collate([Point(gw.tensor([1.0]), 1), Point(gw.tensor([2.0]), 2)])
    assert isinstance(b, Point) and b.x.tolist() == [[1.0], [2.0]] and b.label.tolist() == [1, 2]
    assert default_collate([1, 2.5]).tolist() == [1.0, 2.5]
    assert default_collate([np.float64(1.5), np.float64(2.0)]).dtype == np.float64


def test_collate_errors():
    with pytest.raises(DataError, match=r"different shapes: sample 0 is \(2,\), sample 1 is \(3,\)"):
        default_collate([gw.zeros(2), gw.zeros(3)])
    with pytest.raises(DataError, match="same keys"):
        default_collate([{"a": 1}, {"b": 1}])
    with pytest.raises(DataError, match="same number of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="cannot batch a sample of type object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="mixed sample types"):
        default_collate([gw.zeros(2), np.zeros(2)])
    with pytest.raises(DataError, match="empty batch"):
        default_collate([])


def test_collate_matches_torch_default_collate():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as tcollate

    rng = np.random.default_rng(0)
    samples = [{"img": rng.standard_normal((2, 3)), "label": int(i), "meta": [np.int32(i), np.float32(i / 2)]}
               for i in range(5)]
    ours, theirs = default_collate(samples), tcollate(samples)
    np.testing.assert_array_equal(ours["img"].numpy(), theirs["img"].numpy())
    assert ours["img"].dtype == np.float64 and theirs["img"].dtype == torch.float64
    np.testing.assert_array_equal(ours["label"].numpy(), theirs["label"].numpy())
    for o, t in zip(ours["meta"], theirs["meta"]):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
        assert o.dtype == np.dtype(str(t.dtype).removeprefix("torch."))
