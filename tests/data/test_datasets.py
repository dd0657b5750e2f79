"""TensorDataset, Subset, ConcatDataset, random_split: semantics and errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import ConcatDataset, DataError, Dataset, Subset, TensorDataset, random_split


def make(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) * 10
    return x, y, TensorDataset(gw.tensor(x), gw.tensor(y))


def test_tensor_dataset_rows_and_len():
    x, y, ds = make()
    assert len(ds) == 10
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.numpy(), x[4])
    assert yi.item() == y[4]
    np.testing.assert_array_equal(ds[-1][0].numpy(), x[-1])


def test_tensor_dataset_accepts_arrays_without_copy():
    x = np.zeros((4, 2), dtype=np.float64)
    ds = TensorDataset(x)
    assert ds.tensors[0].dtype == np.float64
    x[1, 0] = 5.0
    assert ds[1][0].tolist() == [5.0, 0.0]


def test_tensor_dataset_errors_name_shapes():
    with pytest.raises(DataError, match=r"same size in dimension 0.*\(5, 2\), \(4,\)"):
        TensorDataset(gw.zeros(5, 2), gw.zeros(4))
    with pytest.raises(DataError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(DataError, match="0-d tensor"):
        TensorDataset(gw.tensor(1.0))
    with pytest.raises(TypeError, match="TensorDataset: argument 0"):
        TensorDataset(object())


def test_subset_maps_indices_and_normalises_negatives():
    x, y, ds = make()
    s = Subset(ds, [3, -1, 0])
    assert len(s) == 3
    assert s.indices.tolist() == [3, 9, 0]
    assert [s[i][1].item() for i in range(3)] == [30, 90, 0]
    assert s[-1][1].item() == 0
    with pytest.raises(IndexError, match="Subset: index 3 is out of range for a dataset of length 3"):
        s[3]


def test_subset_errors():
    _, _, ds = make()
    with pytest.raises(IndexError, match="index 10 is out of range for a dataset of length 10"):
        Subset(ds, [0, 10])
    with pytest.raises(DataError, match="1-D sequence of ints"):
        Subset(ds, [0.5, 1.0])
    with pytest.raises(TypeError, match="index must be an int"):
        Subset(ds, [1, 2])["a"]
    assert len(Subset(ds, [])) == 0


def test_concat_and_add():
    _, _, a = make(3)
    b = TensorDataset(gw.arange(100, 105))
    c = a + b
    assert isinstance(c, ConcatDataset)
    assert len(c) == 8
    assert c.cumulative_sizes == [3, 8]
    assert [c[i][-1].item() for i in range(len(c))] == [0, 10, 20, 100, 101, 102, 103, 104]
    assert c[-5][-1].item() == 100
    assert c[-8][-1].item() == 0
    with pytest.raises(IndexError, match="index 8 is out of range for a dataset of length 8"):
        c[8]
    with pytest.raises(IndexError, match="index -9"):
        c[-9]
    with pytest.raises(DataError, match="non-empty"):
        ConcatDataset([])


def test_concat_skips_empty_datasets():
    empty = TensorDataset(gw.zeros(0))
    c = ConcatDataset([empty, TensorDataset(gw.arange(2)), empty, TensorDataset(gw.arange(5, 6))])
    assert [c[i][0].item() for i in range(len(c))] == [0, 1, 5]


def test_base_dataset_errors():
    class NoLen(Dataset):
        def __getitem__(self, i):
            return i

    with pytest.raises(TypeError, match="NoLen does not define __len__"):
        len(NoLen())
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        Dataset()[0]


def test_random_split_ints_partition_and_reproducible():
    _, _, ds = make(10)
    parts = random_split(ds, [6, 3, 1], generator=gw.Generator(7))
    assert [len(p) for p in parts] == [6, 3, 1]
    seen = np.concatenate([p.indices for p in parts])
    assert sorted(seen.tolist()) == list(range(10))
    again = random_split(ds, [6, 3, 1], generator=gw.Generator(7))
    assert all((p.indices == q.indices).all() for p, q in zip(parts, again))
    other = random_split(ds, [6, 3, 1], generator=gw.Generator(8))
    assert any((p.indices != q.indices).any() for p, q in zip(parts, other))
    # The split is the generator's permutation cut into consecutive pieces.
    perm = np.random.default_rng(7).permutation(10)
    np.testing.assert_array_equal(seen, perm)


@pytest.mark.parametrize(("n", "fracs", "expected"), [
    (10, [0.8, 0.2], [8, 2]),
    (10, [0.5, 0.3, 0.2], [5, 3, 2]),
    (11, [1 / 3, 1 / 3, 1 / 3], [4, 4, 3]),  # floors 3, 3, 3; remainder 2 goes round-robin
    (7, [0.1, 0.9], [1, 6]),  # floors 0, 6; the leftover sample goes to the first split
])
def test_random_split_fractions_match_torch_rule(n, fracs, expected):
    parts = random_split(TensorDataset(gw.arange(n)), fracs, generator=gw.Generator(0))
    assert [len(p) for p in parts] == expected


def test_random_split_matches_torch_lengths():
    torch = pytest.importorskip("torch")
    from torch.utils.data import random_split as trs

    for n, fracs in [(11, [1 / 3, 1 / 3, 1 / 3]), (7, [0.1, 0.9]), (100, [0.7, 0.2, 0.1]), (5, [0.5, 0.5])]:
        ours = [len(p) for p in random_split(TensorDataset(gw.arange(n)), fracs, generator=gw.Generator(0))]
        theirs = [len(p) for p in trs(range(n), fracs, generator=torch.Generator().manual_seed(0))]
        assert ours == theirs


def test_random_split_errors():
    ds = TensorDataset(gw.arange(10))
    with pytest.raises(DataError, match=r"lengths \[6, 3\] sum to 9, but the dataset has 10 samples"):
        random_split(ds, [6, 3])
    with pytest.raises(DataError, match="fractional lengths must sum to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(DataError, match="must not be negative"):
        random_split(ds, [11, -1])
    with pytest.raises(DataError, match="non-empty sequence"):
        random_split(ds, [])
    with pytest.raises(TypeError, match="gradwise.Generator"):
        random_split(ds, [5, 5], generator=np.random.default_rng(0))


def test_random_split_warns_on_empty_fraction():
    with pytest.warns(UserWarning, match="split 1 is empty"):
        parts = random_split(TensorDataset(gw.arange(2)), [0.9, 0.1], generator=gw.Generator(0))
    assert [len(p) for p in parts] == [2, 0]


def test_random_split_uses_default_generator_when_none():
    ds = TensorDataset(gw.arange(20))
    gw.manual_seed(3)
    a = random_split(ds, [10, 10])[0].indices
    gw.manual_seed(3)
    b = random_split(ds, [10, 10])[0].indices
    np.testing.assert_array_equal(a, b)
