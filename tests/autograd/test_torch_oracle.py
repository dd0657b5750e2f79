"""Optional oracle: gradients agree with PyTorch's (skipped when torch is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _compare(gfn, tfn, *arrays, tol=1e-10):
    gx = [gw.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    go, to = gfn(*gx), tfn(*tx)
    assert np.allclose(go.detach().numpy(), to.detach().numpy(), atol=tol)
    go.backward()
    to.backward()
    for a, b in zip(gx, tx):
        assert np.allclose(a.grad.numpy(), b.grad.numpy(), atol=tol)


def test_mlp_loss_gradients_match_torch():
    rng = np.random.default_rng(0)
    x, w1, b1, w2 = (rng.standard_normal(s) for s in ((8, 5), (5, 7), (7,), (7, 3)))
    t = np.array([0, 2, 1, 1, 0, 2, 2, 1])
    _compare(lambda a, b, c, d: gw.cross_entropy((a @ b + c).tanh() @ d, gw.tensor(t)),
             lambda a, b, c, d: F.cross_entropy((a @ b + c).tanh() @ d, torch.tensor(t)), x, w1, b1, w2)


def test_conv_net_gradients_match_torch():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    _compare(lambda a, c, d: gw.max_pool2d(gw.relu(gw.conv2d(a, c, d, padding=1)), 2).sigmoid().mean(),
             lambda a, c, d: F.max_pool2d(F.relu(F.conv2d(a, c, d, padding=1)), 2).sigmoid().mean(), x, w, b)


def test_double_backward_matches_torch():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(5)
    x = gw.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    (g,) = gw.autograd.grad((x.tanh() * x.exp()).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad((xt.tanh() * xt.exp()).sum(), xt, create_graph=True)
    (h,) = gw.autograd.grad((g ** 2).sum(), x)
    (ht,) = torch.autograd.grad((gt ** 2).sum(), xt)
    assert np.allclose(h.numpy(), ht.numpy())
