"""Metrics against scikit-learn's definitions, accumulated over uneven batches."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise.train import metrics as M

sk = pytest.importorskip("sklearn.metrics")
RNG = np.random.default_rng(0)


def batches(n, sizes):
    edges = np.cumsum([0, *sizes])
    assert edges[-1] == n
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def test_classification_metrics_accumulate_exactly_over_uneven_batches():
    logits = RNG.standard_normal((103, 5))
    y = RNG.integers(0, 5, 103)
    acc, top2, cm = M.Accuracy(), M.TopKAccuracy(2), M.ConfusionMatrix(5)
    for s in batches(103, [32, 32, 32, 7]):
        for m in (acc, top2, cm):
            m.update(gw.tensor(logits[s]), gw.tensor(y[s]))
    assert acc.compute() == pytest.approx(sk.accuracy_score(y, logits.argmax(1)))
    assert top2.compute() == pytest.approx(sk.top_k_accuracy_score(y, logits, k=2, labels=range(5)))
    np.testing.assert_array_equal(cm.compute(), sk.confusion_matrix(y, logits.argmax(1), labels=range(5)))


def test_regression_metrics_match_sklearn():
    t = RNG.standard_normal((77, 1))
    p = t + 0.3 * RNG.standard_normal((77, 1))
    ms = [M.MeanSquaredError(), M.MeanAbsoluteError(), M.R2Score()]
    for s in batches(77, [10, 60, 7]):
        for m in ms:
            m.update(p[s], t[s])
    assert ms[0].compute() == pytest.approx(sk.mean_squared_error(t, p), rel=1e-12)
    assert ms[1].compute() == pytest.approx(sk.mean_absolute_error(t, p), rel=1e-12)
    assert ms[2].compute() == pytest.approx(sk.r2_score(t, p), rel=1e-10)
    assert M.r2_score(p, t) == pytest.approx(sk.r2_score(t, p), rel=1e-10)


def test_binary_scores_are_thresholded():
    probs = np.array([0.9, 0.2, 0.6, 0.4])
    logits = np.array([[1.5], [-0.3], [0.2], [-2.0]])
    y = np.array([1, 0, 0, 0])
    assert M.accuracy(probs, y) == 0.75
    assert M.accuracy(logits, y) == 0.75
    np.testing.assert_array_equal(M.confusion_matrix(probs, y), [[2, 1], [0, 1]])


def test_state_dict_round_trip_resumes_sums():
    a, b = M.Accuracy(), M.Accuracy()
    a.update(np.eye(3), np.array([0, 1, 0]))
    b.load_state_dict(a.state_dict())
    b.update(np.eye(2), np.array([0, 1]))
    assert b.compute() == pytest.approx(4 / 5)


def test_errors_name_the_metric_and_the_shapes():
    with pytest.raises(M.MetricError, match=r"accuracy: expected integer class targets of shape \(4,\).*\(3,\)"):
        M.accuracy(np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(M.MetricError, match="unknown metric 'acuracy'.*accuracy"):
        M.get_metric("acuracy")
    with pytest.raises(M.MetricError, match=r"mse: outputs of shape \(4,\) and targets of shape \(5,\)"):
        M.mse(np.zeros(4), np.zeros(5))
    assert M.get_metric("top3_accuracy").k == 3
