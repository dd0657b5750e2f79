"""The torch names the PyTorch corpus found missing (api/compat_more.py): ``masked_select``,
``cdist`` and ``bincount``.  Values against NumPy always and against torch when installed;
gradients by float64 central finite differences (gw.gradcheck)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise.errors import DtypeError, ShapeError


def f64(*shape, seed=0, requires_grad=True):
    arr = np.random.default_rng(seed).standard_normal(shape)
    return gw.tensor(arr, dtype=gw.float64, requires_grad=requires_grad)


# ---------------------------------------------------------------------- masked_select
def test_masked_select_values_and_broadcasting():
    x = f64(3, 4)
    a = x.detach().numpy()
    np.testing.assert_array_equal(gw.masked_select(x, x > 0).detach().numpy(), a[a > 0])
    row_mask = gw.tensor([True, False, True, False])          # broadcasts over the rows
    np.testing.assert_array_equal(x.masked_select(row_mask).detach().numpy(), a[:, [0, 2]].reshape(-1))
    col = f64(3, 1, seed=1)                                     # the input broadcasts too
    out = gw.masked_select(col, gw.tensor([[True, True], [False, True], [False, False]]))
    c = col.detach().numpy()[:, 0]
    np.testing.assert_array_equal(out.detach().numpy(), [c[0], c[0], c[1]])
    assert gw.masked_select(x, gw.zeros(3, 4, dtype=gw.bool)).shape == (0,)


def test_masked_select_gradient():
    x = f64(3, 4)
    mask = gw.tensor(np.random.default_rng(2).random((3, 4)) > 0.4)
    assert gw.gradcheck(lambda p: gw.masked_select(p, mask) * gw.arange(float(int(mask.sum())), dtype=gw.float64),
                        (x,))
    col = f64(3, 1, seed=3)   # broadcast copies sum their gradients
    assert gw.gradcheck(lambda p: p.masked_select(gw.tensor([[True, False, True]]).expand(3, 3)).pow(2), (col,))
    gw.masked_select(x, mask).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), mask.numpy().astype(np.float64))


def test_masked_select_errors():
    with pytest.raises(DtypeError, match="masked_select: expected a bool mask"):
        gw.masked_select(gw.ones(3), gw.tensor([1, 0, 1]))
    with pytest.raises(ShapeError, match=r"masked_select: .*\(2, 3\).*\(4,\).*do not broadcast"):
        gw.masked_select(gw.ones(2, 3), gw.ones(4, dtype=gw.bool))


def test_masked_select_oracle():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(4).standard_normal((2, 3, 4))
    m = np.random.default_rng(5).random((3, 1)) > 0.5
    x, tx = gw.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = gw.masked_select(x, gw.tensor(m)), torch.masked_select(tx, torch.tensor(m))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


# ---------------------------------------------------------------------------- cdist
def _cdist_ref(a, b, p):
    d = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == np.inf:
        return d.max(-1)
    if p == 0:
        return (d != 0).sum(-1).astype(a.dtype)
    return (d ** p).sum(-1) ** (1 / p)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, np.inf, 0.0])
def test_cdist_values(p):
    x1, x2 = f64(4, 3), f64(5, 3, seed=1)
    out = gw.cdist(x1, x2, p=p)
    assert out.shape == (4, 5)
    np.testing.assert_allclose(out.detach().numpy(), _cdist_ref(x1.detach().numpy(), x2.detach().numpy(), p),
                               rtol=1e-12)


def test_cdist_batches_broadcast():
    x1, x2 = f64(2, 4, 3), f64(1, 5, 3, seed=1)
    out = gw.cdist(x1, x2)
    assert out.shape == (2, 4, 5)
    np.testing.assert_allclose(out.detach().numpy(), _cdist_ref(x1.detach().numpy(), x2.detach().numpy(), 2.0))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, np.inf])
def test_cdist_gradient(p):
    # distinct points (no zero distance, no ties for inf): the norm is smooth there
    x1, x2 = f64(3, 2), f64(4, 2, seed=1)
    assert gw.gradcheck(lambda a, b: gw.cdist(a, b, p=p), (x1, x2))


def test_cdist_gradient_at_a_zero_distance_is_zero():
    x1 = gw.tensor([[1.0, 2.0]], dtype=gw.float64, requires_grad=True)
    x2 = gw.tensor([[1.0, 2.0], [4.0, 6.0]], dtype=gw.float64)
    d = gw.cdist(x1, x2)
    assert d.tolist() == [[0.0, 5.0]]
    d.sum().backward()
    # the zero distance contributes 0 (not NaN); the other one (x1 - x2[1]) / 5
    np.testing.assert_allclose(x1.grad.numpy(), [[-0.6, -0.8]])


def test_cdist_errors():
    with pytest.raises(ShapeError, match=r"cdist: .*same M.*\(3, 2\) and \(4, 3\)"):
        gw.cdist(gw.ones(3, 2), gw.ones(4, 3))
    with pytest.raises(ShapeError, match="cdist"):
        gw.cdist(gw.ones(3), gw.ones(3))
    with pytest.raises(ValueError, match="cdist: p must be a number >= 0"):
        gw.cdist(gw.ones(3, 2), gw.ones(4, 2), p=-1)
    with pytest.raises(ValueError, match="cdist: unknown compute_mode 'fast'"):
        gw.cdist(gw.ones(3, 2), gw.ones(4, 2), compute_mode="fast")
    with pytest.raises(DtypeError):
        gw.cdist(gw.ones(3, 2), gw.ones(4, 2, dtype=gw.float64))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_cdist_oracle(p):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(6).standard_normal((2, 4, 3))
    b = np.random.default_rng(7).standard_normal((2, 5, 3))
    x1, x2 = gw.tensor(a, requires_grad=True), gw.tensor(b, requires_grad=True)
    t1, t2 = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = gw.cdist(x1, x2, p=p), torch.cdist(t1, t2, p=p)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10)
    w = np.random.default_rng(8).standard_normal(tout.shape)
    (out * gw.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), t1.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(x2.grad.numpy(), t2.grad.numpy(), rtol=1e-8, atol=1e-12)


# -------------------------------------------------------------------------- bincount
def test_bincount_counts_and_weights():
    x = gw.tensor([0, 2, 2, 5, 1, 2])
    out = gw.bincount(x)
    assert out.dtype == gw.int64 and out.tolist() == [1, 1, 3, 0, 0, 1]
    assert x.bincount(minlength=8).tolist() == [1, 1, 3, 0, 0, 1, 0, 0]
    assert gw.bincount(x, minlength=2).shape == (6,)        # minlength is a minimum
    w = gw.tensor([0.5, 1.0, 2.0, 3.0, 4.0, 0.25])
    wout = gw.bincount(x, weights=w)
    assert wout.dtype == gw.float32
    np.testing.assert_allclose(wout.numpy(), [0.5, 4.0, 3.25, 0.0, 0.0, 3.0])
    assert gw.bincount(x, weights=w.double()).dtype == gw.float64
    assert gw.bincount(gw.tensor([], dtype=gw.int64)).tolist() == []
    assert gw.bincount(gw.tensor([], dtype=gw.int64), minlength=3).tolist() == [0, 0, 0]


def test_bincount_errors():
    with pytest.raises(ShapeError, match="bincount: input must be a 1-D tensor of non-negative integers.*minimum -1"):
        gw.bincount(gw.tensor([1, -1]))
    with pytest.raises(ShapeError, match=r"bincount: .*shape \(1, 1\)"):
        gw.bincount(gw.tensor([[1]]))
    with pytest.raises(ShapeError, match="dtype float32"):
        gw.bincount(gw.tensor([1.0]))
    with pytest.raises(ShapeError, match=r"bincount: weights must have the input's shape \(2,\), got \(3,\)"):
        gw.bincount(gw.tensor([1, 2]), weights=gw.ones(3))
    with pytest.raises(ValueError, match="bincount: minlength must be a non-negative int"):
        gw.bincount(gw.tensor([1, 2]), minlength=-1)


def test_bincount_oracle():
    torch = pytest.importorskip("torch")
    idx = np.random.default_rng(9).integers(0, 7, size=30)
    w = np.random.default_rng(10).random(30).astype(np.float32)
    assert gw.bincount(gw.tensor(idx), minlength=9).tolist() == torch.bincount(torch.tensor(idx), minlength=9).tolist()
    np.testing.assert_allclose(gw.bincount(gw.tensor(idx), weights=gw.tensor(w)).numpy(),
                               torch.bincount(torch.tensor(idx), weights=torch.tensor(w)).numpy(), rtol=1e-6)
