"""Bundled scikit-learn datasets: shapes, dtypes, classes, stratified reproducible splits, standardize."""

from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn import datasets as skd  # noqa: E402

import gradwise as gw  # noqa: E402
from gradwise.data import Bundle, DataError, TensorDataset, breast_cancer, diabetes, digits, iris, wine  # noqa: E402

CASES = {
    # name: (loader, sklearn loader, n_samples, n_features, num_classes)
    "digits": (digits, skd.load_digits, 1797, 64, 10),
    "iris": (iris, skd.load_iris, 150, 4, 3),
    "wine": (wine, skd.load_wine, 178, 13, 3),
    "breast_cancer": (breast_cancer, skd.load_breast_cancer, 569, 30, 2),
    "diabetes": (diabetes, skd.load_diabetes, 442, 10, None),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    fn, sk, n, f, k = CASES[request.param]
    return request.param, fn, sk(), n, f, k, fn()


def rows(x, y):
    """Rows [x | y] sorted lexicographically: compares datasets as multisets of samples."""
    m = np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64).reshape(len(x), -1)])
    return m[np.lexsort(m.T[::-1])]


def test_shapes_dtypes_and_metadata(case):
    name, _, raw, n, f, k, b = case
    n_test = math.ceil(0.2 * n)  # the documented 80/20 split
    assert b.x_train.shape == (n - n_test, f) and b.x_test.shape == (n_test, f)
    assert b.x_train.dtype == np.float32 and b.x_test.dtype == np.float32
    assert b.name == name and b.num_classes == k
    assert len(b.feature_names) == f and all(isinstance(s, str) for s in b.feature_names)
    if k is None:
        assert b.task == "regression"
        assert b.y_train.shape == (n - n_test, 1) and b.y_test.shape == (n_test, 1)
        assert b.y_train.dtype == np.float32 and len(b.target_names) == 1
    else:
        assert b.task == "classification"
        assert b.y_train.shape == (n - n_test,) and b.y_test.shape == (n_test,)
        assert b.y_train.dtype == np.int64 and b.y_test.dtype == np.int64
        assert b.target_names == tuple(str(t) for t in raw.target_names) and len(b.target_names) == k
        assert set(np.unique(b.y_train.numpy())) == set(range(k))
    assert not b.x_train.requires_grad


def test_split_is_a_partition_of_the_original_data(case):
    _, _, raw, _, _, _, b = case
    ours = rows(np.concatenate([b.x_train.numpy(), b.x_test.numpy()]),
                np.concatenate([b.y_train.numpy(), b.y_test.numpy()]))
    np.testing.assert_allclose(ours, rows(raw.data.astype(np.float32), raw.target.astype(np.float32)), rtol=1e-6)


@pytest.mark.parametrize("name", ["digits", "iris", "wine", "breast_cancer"])
def test_stratified(name):
    fn, sk, n, _, k = CASES[name]
    raw, b = sk(), fn()
    share = np.bincount(raw.target, minlength=k) / n
    test_counts = np.bincount(b.y_test.numpy(), minlength=k)
    # Stratification keeps each class's test count within one of its proportional share.
    assert np.all(np.abs(test_counts - share * len(b.y_test)) <= 1)


def test_reproducible_and_seed_dependent():
    a, b, c = wine(), wine(seed=0), wine(seed=1)
    for t, u in zip(a, b):
        np.testing.assert_array_equal(t.numpy(), u.numpy())
    assert not np.array_equal(a.y_test.numpy(), c.y_test.numpy()) or \
        not np.array_equal(a.x_test.numpy(), c.x_test.numpy())


def test_test_size_and_dtype_options():
    b = iris(test_size=30, dtype=gw.float64)
    assert b.x_test.shape == (30, 4) and b.x_train.shape == (120, 4)
    assert b.x_train.dtype == np.float64 and b.y_train.dtype == np.int64
    assert diabetes(test_size=0.5, dtype=gw.float64).y_test.dtype == np.float64
    with pytest.raises(DataError, match="iris: dtype must be a float dtype"):
        iris(dtype=gw.int64)
    with pytest.raises(DataError, match="iris: cannot split 150 samples with test_size=1.5"):
        iris(test_size=1.5)
    with pytest.raises(DataError, match="iris: seed must be a non-negative int"):
        iris(seed=-1)


@pytest.mark.parametrize("fn", [digits, wine, diabetes])
def test_standardize_uses_train_statistics_only(fn):
    raw, std = fn(), fn(standardize=True)
    xtr, xte = raw.x_train.numpy().astype(np.float64), raw.x_test.numpy().astype(np.float64)
    mean, sd = xtr.mean(axis=0), xtr.std(axis=0)
    sd_used = np.where(sd < 1e-6, 1.0, sd)  # constant features are divided by 1
    np.testing.assert_allclose(std.x_train.numpy(), (xtr - mean) / sd_used, atol=1e-4)
    np.testing.assert_allclose(std.x_test.numpy(), (xte - mean) / sd_used, atol=1e-4)
    np.testing.assert_allclose(std.x_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std.x_std.numpy(), sd_used, rtol=1e-5)
    assert std.x_train.dtype == np.float32 and np.isfinite(std.x_test.numpy()).all()
    moving = sd >= 1e-6
    np.testing.assert_allclose(std.x_train.numpy()[:, moving].std(axis=0), 1.0, atol=1e-4)
    np.testing.assert_array_equal(std.y_train.numpy(), raw.y_train.numpy())
    assert raw.x_mean is None and raw.x_std is None


def test_digits_constant_pixels_become_zero_not_nan():
    b = digits(standardize=True)
    const = b.x_std.numpy() == 1.0
    assert const.any()  # e.g. the top-left pixel is always 0 in the train split
    assert np.all(b.x_train.numpy()[:, const] == 0.0)


def test_bundle_unpacks_and_makes_datasets():
    b = iris()
    x_tr, y_tr, x_te, y_te = b
    assert x_tr is b.x_train and y_te is b.y_test
    ds = b.train_dataset()
    assert isinstance(ds, TensorDataset) and len(ds) == 120 and ds.tensors[1] is b.y_train
    assert len(b.test_dataset()) == 30
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.name = "other"
    assert isinstance(b, Bundle)
    assert repr(b).startswith("Bundle(name='iris', task='classification', num_classes=3, x_train=(120, 4) float32")


def test_missing_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'gradwise\[data\]'"):
        iris()
