"""Convolution, pooling, embedding, dropout and cross-entropy against plain references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import gradwise as gw

rng = np.random.default_rng(0)


def _conv_reference(x, w, stride, pad, dil, groups):
    # direct loops over output positions: obviously right, slow
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for b, oc, i, j in itertools.product(range(n), range(o), range(ho), range(wo)):
        grp = oc // og
        patch = xp[b, grp * cg:(grp + 1) * cg, i * stride:i * stride + dil * (kh - 1) + 1:dil,
                   j * stride:j * stride + dil * (kw - 1) + 1:dil]
        out[b, oc, i, j] = np.sum(patch * w[oc])
    return out


@pytest.mark.parametrize("stride,pad,dil,groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2)])
def test_conv2d_matches_loops(stride, pad, dil, groups):
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 4 // groups, 3, 3))
    out = gw.conv2d(gw.tensor(x), gw.tensor(w), stride=stride, padding=pad, dilation=dil, groups=groups)
    assert np.allclose(out.numpy(), _conv_reference(x, w, stride, pad, dil, groups))


def test_conv_transpose_is_the_adjoint_of_conv():
    # <conv(x, w), y> == <x, conv_transpose(y, w)> for the matching geometry
    x, w = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    y = rng.standard_normal((2, 4, 4, 4))
    lhs = np.sum(gw.conv2d(gw.tensor(x), gw.tensor(w), stride=2, padding=1).numpy() * y)
    rhs = np.sum(x * gw.conv_transpose2d(gw.tensor(y), gw.tensor(w), stride=2, padding=1).numpy())
    assert np.isclose(lhs, rhs)


def test_conv1d_same_and_bias():
    x, w, b = rng.standard_normal((2, 3, 9)), rng.standard_normal((5, 3, 4)), rng.standard_normal(5)
    out = gw.conv1d(gw.tensor(x), gw.tensor(w), gw.tensor(b), padding="same")
    ref = _conv_reference(np.pad(x, ((0, 0), (0, 0), (1, 2)))[:, :, None, :], w[:, :, None, :], 1, 0, 1, 1)
    assert out.shape == (2, 5, 9) and np.allclose(out.numpy(), ref[:, :, 0, :] + b[:, None])


@pytest.mark.parametrize("n,k,s,p,ceil", [(7, 3, 2, 1, False), (7, 3, 2, 1, True), (6, 2, 2, 0, True),
                                          (5, 3, 3, 1, True)])
def test_pool_output_sizes_follow_pytorch(n, k, s, p, ceil):
    import math
    out = gw.max_pool2d(gw.ones(1, 1, n, n), k, s, p, ceil_mode=ceil).shape[-1]
    expect = (math.ceil if ceil else math.floor)((n + 2 * p - k) / s) + 1
    if ceil and (expect - 1) * s >= n + p:
        expect -= 1
    assert out == expect


def test_max_pool_values_gradient_and_overlap():
    x = gw.tensor(rng.permutation(16).reshape(1, 1, 4, 4).astype(float), requires_grad=True)
    out = gw.max_pool2d(x, 2, stride=1)                     # overlapping windows
    ref = np.max(np.lib.stride_tricks.sliding_window_view(x.detach().numpy()[0, 0], (2, 2)), axis=(2, 3))
    assert np.array_equal(out.detach().numpy()[0, 0], ref)
    out.sum().backward()
    assert x.grad.numpy().sum() == 9                         # one unit per window, accumulated
    assert x.grad.numpy().flatten()[np.argmax(x.detach().numpy())] >= 1


def test_avg_and_adaptive_pool():
    x = gw.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    assert gw.avg_pool2d(x, 2).tolist() == [[[[2.5, 4.5], [10.5, 12.5]]]]
    assert np.allclose(gw.adaptive_avg_pool2d(x, 1).numpy(), 7.5)
    assert np.allclose(gw.adaptive_avg_pool2d(x, 2).numpy(), gw.avg_pool2d(x, 2).numpy())
    assert gw.adaptive_avg_pool2d(gw.ones(2, 3, 5, 7), (3, None)).shape == (2, 3, 3, 7)


def test_embedding_accumulates_and_skips_padding():
    w = gw.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    out = gw.embedding(gw.tensor([[1, 1, 3], [0, 3, 3]]), w, padding_idx=3)
    assert out.shape == (2, 3, 2) and np.array_equal(out.detach().numpy()[0, 2], w.detach().numpy()[3])
    out.sum().backward()
    assert w.grad.numpy()[:, 0].tolist() == [1.0, 2.0, 0.0, 0.0]
    with pytest.raises(IndexError, match="index 4 is out of range for 4 embeddings"):
        gw.embedding(gw.tensor([4]), w)


def test_dropout_scaling_reproducibility_and_eval():
    x = gw.ones(10_000)
    a = gw.dropout(x, 0.3, generator=gw.Generator().manual_seed(1))
    b = gw.dropout(x, 0.3, generator=gw.Generator().manual_seed(1))
    assert np.array_equal(a.numpy(), b.numpy())
    kept = a.numpy()[a.numpy() > 0]
    assert np.allclose(kept, 1 / 0.7) and abs(len(kept) / 10_000 - 0.7) < 0.03
    assert gw.dropout(x, 0.3, training=False) is x
    assert gw.dropout(x, 1.0).numpy().sum() == 0
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        gw.dropout(x, 1.5)


def _ce_reference(logits, target, weight, ignore, smoothing):
    lsm = logits - logits.max(1, keepdims=True)
    lsm = lsm - np.log(np.exp(lsm).sum(1, keepdims=True))
    c = logits.shape[1]
    w = np.ones(c) if weight is None else weight
    keep = target != ignore
    t = np.where(keep, target, 0)
    nll = -lsm[np.arange(len(t)), t] * w[t] * keep
    smooth = -(lsm * w).sum(1) / c * keep
    return ((1 - smoothing) * nll + smoothing * smooth).sum() / (w[t] * keep).sum()


@pytest.mark.parametrize("weight,smoothing", [(None, 0.0), (np.array([0.2, 1.0, 3.0]), 0.0),
                                              (np.array([0.2, 1.0, 3.0]), 0.25)])
def test_cross_entropy_matches_reference(weight, smoothing):
    logits = rng.standard_normal((6, 3)) * 3
    target = np.array([0, 2, 1, -100, 2, 0])
    out = gw.cross_entropy(gw.tensor(logits), gw.tensor(target),
                           weight=None if weight is None else gw.tensor(weight), label_smoothing=smoothing)
    assert np.isclose(out.item(), _ce_reference(logits, target, weight, -100, smoothing))


def test_cross_entropy_kdim_probabilities_and_unbatched():
    x = gw.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    t = gw.tensor(rng.integers(0, 3, (2, 4)))
    per = gw.cross_entropy(x, t, reduction="none")
    assert per.shape == (2, 4)
    onehot = np.moveaxis(np.eye(3)[t.numpy()], -1, 1)
    assert np.isclose(gw.cross_entropy(x, gw.tensor(onehot)).item(), per.mean().item())
    assert gw.cross_entropy(gw.tensor([1.0, 2.0, 0.5]), gw.tensor(1)).shape == ()
    gw.cross_entropy(x, t).backward()
    assert np.allclose(x.grad.numpy().sum(axis=1), 0)        # softmax - onehot sums to zero
