"""Losses: values against their formulas, float64 gradient checks, reductions, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.nn import functional as F

rng = np.random.default_rng(0)
P = rng.standard_normal((4, 3))
T = rng.standard_normal((4, 3))


def t64(a, grad=False):
    return gw.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


@pytest.mark.parametrize("fn,ref", [
    (F.mse_loss, lambda d: d ** 2),
    (F.l1_loss, np.abs),
    (lambda a, b, r="mean": F.huber_loss(a, b, r, delta=0.7),
     lambda d: np.where(np.abs(d) < 0.7, 0.5 * d ** 2, 0.7 * (np.abs(d) - 0.35))),
    (lambda a, b, r="mean": F.smooth_l1_loss(a, b, r, beta=0.5),
     lambda d: np.where(np.abs(d) < 0.5, 0.5 * d ** 2 / 0.5, np.abs(d) - 0.25)),
])
def test_regression_losses(fn, ref):
    d = P - T
    assert np.isclose(fn(t64(P), t64(T)).item(), ref(d).mean())
    assert np.isclose(fn(t64(P), t64(T), "sum").item(), ref(d).sum())
    assert np.allclose(fn(t64(P), t64(T), "none").numpy(), ref(d))
    assert gw.gradcheck(lambda a: fn(a, t64(T)), (t64(P, True),))


def test_bce_family():
    p = rng.uniform(0.05, 0.95, (5,))
    y = (rng.random(5) < 0.5).astype(float)
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert np.isclose(F.binary_cross_entropy(t64(p), t64(y)).item(), ref.mean())
    x = np.log(p / (1 - p))
    pw = np.array(2.5)
    ref_pw = -(pw * y * np.log(p) + (1 - y) * np.log(1 - p))
    out = F.binary_cross_entropy_with_logits(t64(x), t64(y), pos_weight=t64(pw))
    assert np.isclose(out.item(), ref_pw.mean())
    assert gw.gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, t64(y), pos_weight=t64(pw)), (t64(x, True),))
    assert gw.gradcheck(lambda a: F.binary_cross_entropy(a, t64(y)), (t64(p, True),))
    big = F.binary_cross_entropy_with_logits(t64([1000.0, -1000.0]), t64([0.0, 1.0]))
    assert big.item() == 1000.0                                  # stable for huge logits
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        F.binary_cross_entropy(t64([1.5]), t64([1.0]))


def test_classification_losses_and_modules():
    x = t64(P, True)
    target = gw.tensor([0, 2, 1, 1])
    assert gw.gradcheck(lambda a: nn.CrossEntropyLoss(label_smoothing=0.1)(a, target), (x,))
    assert gw.gradcheck(lambda a: nn.NLLLoss()(a.log_softmax(1), target), (x,))
    assert gw.gradcheck(lambda a: nn.MultiMarginLoss()(a, target), (x,))
    assert gw.gradcheck(lambda a: nn.MultiMarginLoss(p=2, margin=0.5)(a, target), (x,))
    hinge = sum(max(0.0, 1 - P[i, t] + P[i, j]) for i, t in enumerate([0, 2, 1, 1]) for j in range(3) if j != t)
    assert np.isclose(F.multi_margin_loss(t64(P), target).item(), hinge / 3 / 4)


def test_kl_div_and_cosine_and_gaussian_nll():
    q = rng.dirichlet(np.ones(3), 4)
    logp = np.log(rng.dirichlet(np.ones(3), 4))
    assert np.isclose(F.kl_div(t64(logp), t64(q), reduction="batchmean").item(),
                      (q * (np.log(q) - logp)).sum() / 4)
    assert np.isclose(F.kl_div(t64(logp), t64(np.log(q)), reduction="sum", log_target=True).item(),
                      (q * (np.log(q) - logp)).sum())
    assert gw.gradcheck(lambda a: nn.KLDivLoss(reduction="batchmean")(a, t64(q)), (t64(logp, True),))
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    y = gw.tensor([1, -1, 1, -1])
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    ref = np.where(y.numpy() == 1, 1 - cos, np.maximum(0, cos - 0.1)).mean()
    assert np.isclose(nn.CosineEmbeddingLoss(0.1)(t64(a), t64(b), y).item(), ref, atol=1e-8)
    var = rng.uniform(0.5, 2, (4, 3))
    ref = 0.5 * (np.log(var) + (P - T) ** 2 / var + math.log(2 * math.pi))
    assert np.isclose(nn.GaussianNLLLoss(full=True)(t64(P), t64(T), t64(var)).item(), ref.mean())
    assert gw.gradcheck(lambda m, v: F.gaussian_nll_loss(m, t64(T), v), (t64(P, True), t64(var, True)))


def test_loss_errors_name_both_shapes_and_reduction():
    with pytest.raises(ValueError, match=r"prediction of shape \(4, 1\) and target of shape \(4,\)"):
        nn.MSELoss()(gw.ones(4, 1), gw.ones(4))
    with pytest.raises(ValueError, match="reduction='average'"):
        nn.L1Loss(reduction="average")
    with pytest.raises(IndexError, match="out of range for 3 classes"):
        nn.CrossEntropyLoss()(gw.ones(2, 3), gw.tensor([0, 3]))
