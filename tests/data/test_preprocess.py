"""standardize, one_hot, train_test_split against NumPy re-implementations."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import DataError, one_hot, standardize, train_test_split

rng = np.random.default_rng(0)


def test_standardize_matches_numpy_and_handles_constants():
    pytest.importorskip("sklearn")
    xtr = rng.normal(3.0, 2.0, size=(50, 3))
    xtr[:, 1] = 7.0  # constant feature
    xte = rng.normal(3.0, 2.0, size=(8, 3))
    a, b, (mean, std) = standardize(gw.tensor(xtr), xte)
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0)
    sd[1] = 1.0
    np.testing.assert_allclose(a.numpy(), (xtr - mu) / sd, atol=1e-12)
    np.testing.assert_allclose(b.numpy(), (xte - mu) / sd, atol=1e-12)
    np.testing.assert_allclose(mean.numpy(), mu)
    np.testing.assert_allclose(std.numpy(), sd)
    assert a.dtype == np.float64 and isinstance(b, gw.Tensor)
    assert np.all(a.numpy()[:, 1] == 0.0)


def test_standardize_per_feature_on_images_and_int_input():
    pytest.importorskip("sklearn")
    x = rng.integers(0, 255, size=(20, 1, 4, 4)).astype(np.uint8)
    (out, (mean, std)) = standardize(x)
    assert out.shape == (20, 1, 4, 4) and out.dtype == np.float32
    assert mean.shape == (1, 4, 4) and std.shape == (1, 4, 4)
    xf = x.astype(np.float64)
    np.testing.assert_allclose(out.numpy(), (xf - xf.mean(0)) / xf.std(0), atol=1e-5)


def test_standardize_errors():
    pytest.importorskip("sklearn")
    with pytest.raises(DataError, match=r"argument 1 has shape \(4, 2\), but x_train has \(5, 3\)"):
        standardize(np.zeros((5, 3)), np.zeros((4, 2)))
    with pytest.raises(DataError, match="at least one sample"):
        standardize(np.zeros((0, 3)))


def test_one_hot_matches_eye_and_nn_functional():
    labels = np.array([[0, 3], [2, 1]])
    out = one_hot(gw.tensor(labels))
    assert out.shape == (2, 2, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), np.eye(4)[labels])
    np.testing.assert_array_equal(one_hot(labels, 6, dtype=gw.int64).numpy(),
                                  gw.nn.functional.one_hot(gw.tensor(labels), 6).numpy())
    assert one_hot([], num_classes=3).shape == (0, 3)


def test_one_hot_errors():
    with pytest.raises(DataError, match=r"label 3 is outside \[0, 2\] for num_classes=3"):
        one_hot([0, 3], 3)
    with pytest.raises(DataError, match="label -1 is outside"):
        one_hot([0, -1], 3)
    with pytest.raises(TypeError, match="integer class indices"):
        one_hot(gw.tensor([0.0, 1.0]))
    with pytest.raises(DataError, match="cannot infer num_classes"):
        one_hot([])
    with pytest.raises(DataError, match="num_classes must be a positive int"):
        one_hot([0], 0)


def test_train_test_split_aligned_stratified_reproducible():
    pytest.importorskip("sklearn")
    x = np.arange(100, dtype=np.float32).reshape(50, 2)
    y = np.array([0] * 40 + [1] * 10)
    x_tr, x_te, y_tr, y_te = train_test_split(gw.tensor(x), y, test_size=0.2, stratify=y)
    assert x_tr.shape == (40, 2) and x_te.shape == (10, 2) and x_tr.dtype == np.float32
    assert y_te.dtype == np.int64
    # rows stay aligned: row i of x is [2i, 2i+1] and its label is y[i]
    idx_te = (x_te.numpy()[:, 0] // 2).astype(int)
    np.testing.assert_array_equal(y_te.numpy(), y[idx_te])
    assert np.bincount(y_te.numpy()).tolist() == [8, 2]
    assert sorted(np.concatenate([x_tr.numpy()[:, 0], x_te.numpy()[:, 0]]).tolist()) == list(range(0, 100, 2))
    again = train_test_split(gw.tensor(x), y, test_size=0.2, stratify=y)
    np.testing.assert_array_equal(again[1].numpy(), x_te.numpy())
    other = train_test_split(gw.tensor(x), y, test_size=0.2, stratify=y, seed=1)
    assert not np.array_equal(other[1].numpy(), x_te.numpy())


def test_train_test_split_errors():
    pytest.importorskip("sklearn")
    with pytest.raises(DataError, match=r"same size in dimension 0, got shapes \(5, 2\), \(4,\)"):
        train_test_split(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(DataError, match="train_test_split: cannot split 5 samples with test_size=1.5"):
        train_test_split(np.zeros((5, 2)), test_size=1.5)
    with pytest.raises(DataError, match="needs at least one array"):
        train_test_split()


def test_sklearn_helpers_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"standardize needs scikit-learn: pip install 'gradwise\[data\]'"):
        standardize(np.zeros((3, 2)))
    with pytest.raises(ImportError, match=r"pip install 'gradwise\[data\]'"):
        train_test_split(np.zeros(3))
    assert one_hot([1, 0]).shape == (2, 2)  # NumPy only
