"""Reductions: dims, ties, zeros in products, norms at zero, numerical stability."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw


def test_dims_tuples_negative_and_keepdim_match_numpy():
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    x = gw.tensor(a)
    assert np.allclose(x.sum(dim=(0, -1)).numpy(), a.sum(axis=(0, 2)))
    assert x.mean(dim=1, keepdim=True).shape == (2, 1, 4)
    assert np.allclose(x.var(dim=2).numpy(), a.var(axis=2, ddof=1))
    assert np.allclose(x.std(dim=2, correction=0).numpy(), a.std(axis=2))
    assert np.allclose(x.var(unbiased=False).numpy(), a.var())
    assert np.allclose(x.sum(axis=1, keepdims=True).numpy(), a.sum(axis=1, keepdims=True))
    assert x.argmax().item() == a.argmax() and x.argmin(dim=1).tolist() == a.argmin(axis=1).tolist()


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, 4.0], [0.0, 1.5, 0.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
def test_prod_gradient_is_exact_with_zeros(values):
    x = gw.tensor(values, dtype=gw.float64, requires_grad=True)
    assert gw.gradcheck(lambda t: t.prod(), (x,), atol=1e-8, rtol=1e-6)
    assert gw.gradcheck(lambda t: t.reshape(2, 2).prod(dim=1), (x,), atol=1e-8, rtol=1e-6)
    x.prod().backward()
    expect = [np.prod(np.delete(values, i)) for i in range(4)]
    assert np.allclose(x.grad.numpy(), expect)


def test_max_along_dim_picks_one_index_while_amax_splits_ties():
    x = gw.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [3.0] and indices.tolist() == [1]
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0]]
    x.grad = None
    x.amax(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5]]
    x.grad = None
    x.max().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5]]
    assert gw.max(x, gw.zeros(1, 3)).tolist() == [[1.0, 3.0, 3.0]]     # elementwise form


def test_norm_gradient_at_zero_is_zero_and_orders():
    z = gw.zeros(3, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]
    v = gw.tensor([3.0, -4.0])
    assert v.norm().item() == 5.0 and v.norm(1).item() == 7.0 and v.norm(float("inf")).item() == 4.0
    assert gw.linalg.vector_norm(v, 3).item() == pytest.approx((27 + 64) ** (1 / 3))


def test_softmax_family_is_stable():
    x = gw.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    s = x.softmax(dim=1)
    assert s.tolist() == [[1.0, 0.0, 0.0]]
    ls = x.log_softmax(dim=1)
    assert np.isfinite(ls.detach().numpy()).all() and ls.tolist()[0][2] == -2000.0
    assert x.logsumexp(dim=1).item() == 1000.0
    (ls.sum() + s.sum()).backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert np.allclose(gw.randn(4, 5).softmax(dim=-1).sum(dim=-1).numpy(), 1.0)


def test_cumsum_cumprod_all_any():
    x = gw.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.cumsum(0).tolist() == [[1.0, 2.0], [4.0, 6.0]]
    assert x.cumprod(1).tolist() == [[1.0, 2.0], [3.0, 12.0]]
    assert (x > 2).any().item() and not (x > 2).all().item()
    assert (x > 0).all(dim=1).tolist() == [True, True]
