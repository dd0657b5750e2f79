"""Shape, join and indexing ops behave like NumPy/PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw

A = np.arange(24.0).reshape(2, 3, 4)


@pytest.mark.parametrize("key", [1, -1, (0, 2), (slice(None), 1), (Ellipsis, -1), (None, 0, slice(1, 3)),
                                 ([0, 1, 1],), (slice(None), [2, 0]), (A > 10,), (0, [1, 2], [3, 0]),
                                 (slice(None, None, -1),)])
def test_getitem_matches_numpy(key):
    assert np.array_equal(gw.tensor(A)[key].numpy(), A[key])


def test_repeated_indices_accumulate():
    x = gw.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    x[[0, 0, 1]].sum().backward()
    assert x.grad.tolist() == [2.0, 1.0, 0.0, 0.0]
    x.grad = None
    x[gw.tensor([3, 3, 3])].sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 3.0]


def test_gather_scatter_index_select_take_along():
    x = gw.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    idx = gw.tensor([[0, 0], [1, 0]])
    g = x.gather(1, idx)
    assert g.tolist() == [[1.0, 1.0], [4.0, 3.0]]
    g.sum().backward()
    assert x.grad.tolist() == [[2.0, 0.0], [1.0, 1.0]]
    s = gw.zeros(2, 3).scatter_add(1, gw.tensor([[0, 0, 2]]), gw.ones(1, 3))
    assert s.tolist() == [[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    assert x.index_select(0, gw.tensor([1, 1])).tolist() == [[3.0, 4.0], [3.0, 4.0]]
    a = np.random.default_rng(0).standard_normal((3, 4))
    i = np.argsort(a, axis=1)
    assert np.array_equal(gw.take_along_dim(gw.tensor(a), gw.tensor(i), dim=1).numpy(),
                          np.take_along_axis(a, i, 1))


def test_cat_stack_split_chunk_unbind():
    a, b = gw.ones(2, 3), gw.zeros(1, 3)
    assert gw.cat([a, b]).shape == (3, 3) and gw.concatenate([a, a], dim=1).shape == (2, 6)
    assert gw.stack([a, a], dim=2).shape == (2, 3, 2)
    assert [t.shape[0] for t in gw.arange(10).split(4)] == [4, 4, 2]
    assert [t.shape[0] for t in gw.arange(10).split([3, 7])] == [3, 7]
    assert [t.shape[0] for t in gw.arange(10).chunk(3)] == [4, 4, 2]
    assert [t.tolist() for t in gw.tensor([[1, 2], [3, 4]]).unbind(1)] == [[1, 3], [2, 4]]
    x = gw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    p, q = x.split([1, 2])
    (p * 2 + q.sum()).sum().backward()
    assert x.grad.tolist() == [2.0, 1.0, 1.0]


@pytest.mark.parametrize("mode,np_mode", [("constant", "constant"), ("reflect", "reflect"),
                                          ("replicate", "edge"), ("circular", "wrap")])
def test_pad_matches_numpy(mode, np_mode):
    a = np.arange(12.0).reshape(3, 4)
    out = gw.pad(gw.tensor(a), (1, 2, 2, 1), mode=mode).numpy()       # last dim first, PyTorch order
    assert np.array_equal(out, np.pad(a, ((2, 1), (1, 2)), mode=np_mode))


def test_views_and_reorders():
    x = gw.tensor(A)
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.transpose(0, 2).shape == (4, 3, 2)
    assert x.flatten(1).shape == (2, 12) and x.unflatten(2, (2, 2)).shape == (2, 3, 2, 2)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x[:, :1].squeeze(1).shape == (2, 4)
    assert x.movedim(0, -1).shape == (3, 4, 2) and x.expand(2, 2, 3, 4).shape == (2, 2, 3, 4)
    assert np.array_equal(x.flip(0).numpy(), A[::-1])
    assert np.array_equal(x.roll(1, 2).numpy(), np.roll(A, 1, 2))
    assert x.repeat(1, 2, 1).shape == (2, 6, 4) and gw.tile(gw.ones(2), (3,)).shape == (6,)
    m = gw.tensor(np.arange(9.0).reshape(3, 3))
    assert m.tril().tolist()[0] == [0.0, 0.0, 0.0] and m.triu(1).tolist()[2] == [0.0, 0.0, 0.0]
    assert m.diagonal().tolist() == [0.0, 4.0, 8.0] and m.diagonal(1).tolist() == [1.0, 5.0]


def test_masked_fill_and_setitem_gradient():
    x = gw.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.masked_fill(x < 0, 0.0) * 2
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 2.0]
