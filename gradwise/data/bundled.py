"""Small real datasets from scikit-learn's bundled copies (no network): digits, iris, wine,
breast cancer, diabetes.

Each loader returns a :class:`Bundle` with a reproducible train/test split:
by default 80 % train / 20 % test drawn with ``seed=0``, stratified by class for
classification (each class keeps its share in both parts).  Features are
``dtype`` (float32 by default), shape ``(N, n_features)``; classification
targets are int64 class indices of shape ``(N,)``; the regression target
(diabetes) has shape ``(N, 1)`` and dtype ``dtype``, to match the ``(N, 1)``
output of ``Linear(n_features, 1)`` under ``MSELoss``.

``standardize=True`` fits each feature's mean and std on the train split only
and applies them to both splits (a constant feature is divided by 1); the
statistics are kept in ``Bundle.x_mean`` / ``Bundle.x_std``.

Needs scikit-learn: ``pip install 'gradwise[data]'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise import dtypes
from gradwise.autograd.tensor import Tensor
from gradwise.data.checks import float_dtype
from gradwise.data.dataset import TensorDataset
from gradwise.data.errors import DataError
from gradwise.data.preprocess import require_sklearn, resolve_seed
from gradwise.data.preprocess import standardize as _standardize
from gradwise.errors import format_shape


@dataclass(frozen=True, repr=False, eq=False)
class Bundle:
    """A dataset split into train and test tensors, with its metadata.

    Unpacks as ``x_train, y_train, x_test, y_test``.

    Attributes:
        x_train, x_test: features, ``(N_train, F)`` and ``(N_test, F)``.
        y_train, y_test: int64 class indices ``(N,)`` (classification) or float
            targets ``(N, 1)`` (regression).
        num_classes: number of classes, or ``None`` for regression.
        task: ``"classification"`` or ``"regression"``.
        feature_names: one name per feature column.
        target_names: class names (classification) or the target's name (regression).
        name: the dataset's name, e.g. ``"iris"``.
        x_mean, x_std: the train-split statistics used when ``standardize=True``
            (shape ``(F,)``), else ``None``.
    """

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int | None
    task: str
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]
    name: str
    x_mean: Tensor | None = None
    x_std: Tensor | None = None

    def __iter__(self) -> Iterator[Tensor]:
        return iter((self.x_train, self.y_train, self.x_test, self.y_test))

    def train_dataset(self) -> TensorDataset:
        """The train split as a ``TensorDataset(x_train, y_train)``."""
        return TensorDataset(self.x_train, self.y_train)

    def test_dataset(self) -> TensorDataset:
        """The test split as a ``TensorDataset(x_test, y_test)``."""
        return TensorDataset(self.x_test, self.y_test)

    def __repr__(self) -> str:
        def desc(t: Tensor) -> str:
            return f"{format_shape(t.shape)} {t.dtype.name}"

        classes = f", num_classes={self.num_classes}" if self.num_classes is not None else ""
        return (f"Bundle(name={self.name!r}, task={self.task!r}{classes}, x_train={desc(self.x_train)}, "
                f"y_train={desc(self.y_train)}, x_test={desc(self.x_test)}, y_test={desc(self.y_test)}, "
                f"standardized={self.x_mean is not None})")


def _build(name: str, loader: str, task: str, test_size: float | int, seed: int | None,
           standardize: bool, dtype: Any, target_names: tuple[str, ...] | None = None) -> Bundle:
    require_sklearn(f"gradwise.data.{name}()")
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    dt = float_dtype(dtype, name)
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
        raise DataError(f"{name}: test_size must be a fraction in (0, 1) or a positive int, got {test_size!r}")
    raw = getattr(datasets, loader)()  # scikit-learn's bundled copy, read from disk
    x = np.asarray(raw.data, dtype=dt)
    if task == "classification":
        y = np.asarray(raw.target, dtype=np.int64)
        names = tuple(str(t) for t in raw.target_names)
        num_classes: int | None = len(names)
    else:
        y = np.asarray(raw.target, dtype=dt).reshape(-1, 1)
        names = target_names or ("target",)
        num_classes = None
    try:
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, random_state=resolve_seed(seed, name),
                                                  stratify=y if task == "classification" else None)
    except ValueError as exc:
        raise DataError(f"{name}: cannot split {len(x)} samples with test_size={test_size!r}: {exc}") from None
    x_mean = x_std = None
    if standardize:
        x_tr, x_te, (x_mean, x_std) = _standardize(x_tr, x_te)
    return Bundle(
        x_train=Tensor._make(np.ascontiguousarray(x_tr)), y_train=Tensor._make(np.ascontiguousarray(y_tr)),
        x_test=Tensor._make(np.ascontiguousarray(x_te)), y_test=Tensor._make(np.ascontiguousarray(y_te)),
        num_classes=num_classes, task=task, feature_names=tuple(str(f) for f in raw.feature_names),
        target_names=names, name=name, x_mean=x_mean, x_std=x_std)


def digits(test_size: float | int = 0.2, seed: int | None = 0, standardize: bool = False,
           dtype: Any = dtypes.float32) -> Bundle:
    """Handwritten digits, 8x8 pixels: 1797 samples, 64 features with values 0..16, 10 classes.

    >>> from gradwise.data import digits
    >>> x_tr, y_tr, x_te, y_te = digits()
    >>> x_tr.shape, y_te.shape, x_tr.dtype.name, y_tr.dtype.name
    ((1437, 64), (360,), 'float32', 'int64')
    """
    return _build("digits", "load_digits", "classification", test_size, seed, standardize, dtype)


def iris(test_size: float | int = 0.2, seed: int | None = 0, standardize: bool = False,
         dtype: Any = dtypes.float32) -> Bundle:
    """Fisher's iris flowers: 150 samples, 4 features (cm), 3 classes of 50.

    >>> from gradwise.data import iris
    >>> b = iris(standardize=True)
    >>> b.x_train.shape, b.num_classes, b.target_names
    ((120, 4), 3, ('setosa', 'versicolor', 'virginica'))
    """
    return _build("iris", "load_iris", "classification", test_size, seed, standardize, dtype)


def wine(test_size: float | int = 0.2, seed: int | None = 0, standardize: bool = False,
         dtype: Any = dtypes.float32) -> Bundle:
    """Wine recognition: 178 samples, 13 chemical features, 3 cultivars (59/71/48).

    >>> from gradwise.data import wine
    >>> wine().x_test.shape
    (36, 13)
    """
    return _build("wine", "load_wine", "classification", test_size, seed, standardize, dtype)


def breast_cancer(test_size: float | int = 0.2, seed: int | None = 0, standardize: bool = False,
                  dtype: Any = dtypes.float32) -> Bundle:
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, 2 classes
    (0 = malignant, 1 = benign).

    >>> from gradwise.data import breast_cancer
    >>> breast_cancer().target_names
    ('malignant', 'benign')
    """
    return _build("breast_cancer", "load_breast_cancer", "classification", test_size, seed, standardize, dtype)


def diabetes(test_size: float | int = 0.2, seed: int | None = 0, standardize: bool = False,
             dtype: Any = dtypes.float32) -> Bundle:
    """Diabetes progression (regression): 442 samples, 10 features (as scikit-learn ships
    them: mean-centred and scaled), target a disease-progression score (25..346), shape ``(N, 1)``.

    >>> from gradwise.data import diabetes
    >>> b = diabetes()
    >>> b.task, b.num_classes, b.y_train.shape
    ('regression', None, (353, 1))
    """
    return _build("diabetes", "load_diabetes", "regression", test_size, seed, standardize, dtype,
                  target_names=("disease_progression",))
