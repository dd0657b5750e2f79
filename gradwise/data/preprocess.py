"""Preprocessing helpers: ``standardize``, ``one_hot``, ``train_test_split``.

``standardize`` and ``train_test_split`` run scikit-learn's ``StandardScaler``
and ``train_test_split`` (``pip install 'gradwise[data]'``); ``one_hot`` needs
only NumPy.
"""

from __future__ import annotations

import numbers
from types import ModuleType
from typing import Any

import numpy as np

from gradwise import dtypes
from gradwise.api.creation import as_array, resolve_dtype
from gradwise.api.random import resolve
from gradwise.autograd.tensor import Tensor
from gradwise.data.errors import DataError, DataTypeError
from gradwise.errors import format_shape


def require_sklearn(what: str) -> ModuleType:
    """Import scikit-learn or say which extra installs it."""
    try:
        import sklearn
    except ImportError:
        raise ImportError(f"{what} needs scikit-learn: pip install 'gradwise[data]' "
                          "(or pip install 'scikit-learn>=1.4')") from None
    return sklearn


def _array(x: Any, name: str) -> np.ndarray:
    try:
        return as_array(x)
    except (TypeError, ValueError) as exc:
        raise DataTypeError(f"{name}: expected a tensor or array, got {type(x).__name__} ({exc})") from None


def standardize(x_train: Any, *others: Any) -> tuple[Any, ...]:
    """Scale each feature to zero mean and unit variance using statistics of ``x_train`` only.

    ``mean`` and ``std`` (population std, ``ddof=0``) are computed per feature over
    dimension 0 of ``x_train`` (shape ``(N, *features)``) and applied to
    ``x_train`` and to every array in ``others`` (shape ``(M, *features)``):
    ``(x - mean) / std``.  A constant feature has ``std`` replaced by 1, so it
    becomes 0 rather than NaN.  Float inputs keep their dtype; others become
    the default float dtype.

    Returns:
        ``(x_train_std, *others_std, (mean, std))``, all tensors; ``mean`` and
        ``std`` have shape ``features`` (``std`` is the divisor used).

    >>> import gradwise as gw
    >>> from gradwise.data import standardize
    >>> tr, te, (mean, std) = standardize(gw.tensor([[0.0, 5.0], [2.0, 5.0]]), gw.tensor([[4.0, 6.0]]))
    >>> tr.tolist(), te.tolist(), mean.tolist(), std.tolist()
    ([[-1.0, 0.0], [1.0, 0.0]], [[3.0, 1.0]], [1.0, 5.0], [1.0, 1.0])
    """
    require_sklearn("standardize")
    from sklearn.preprocessing import StandardScaler

    xtr = _array(x_train, "standardize")
    if xtr.ndim == 0 or xtr.shape[0] == 0:
        raise DataError(f"standardize: x_train must have at least one sample along dimension 0, got shape "
                        f"{format_shape(xtr.shape)}")
    features = xtr.shape[1:]
    arrays = [xtr] + [_array(o, "standardize") for o in others]
    for k, a in enumerate(arrays[1:], start=1):
        if a.ndim == 0 or a.shape[1:] != features:
            raise DataError(f"standardize: argument {k} has shape {format_shape(a.shape)}, but x_train has "
                            f"{format_shape(xtr.shape)}; the feature dimensions (after dimension 0) must match")
    out_dtype = xtr.dtype if xtr.dtype.kind == "f" else dtypes.get_default_dtype()
    scaler = StandardScaler().fit(xtr.reshape(len(xtr), -1).astype(out_dtype, copy=False))
    scaled = []
    for a in arrays:
        flat = a.reshape(len(a), -1).astype(out_dtype, copy=False)
        res = scaler.transform(flat) if len(a) else flat.copy()
        scaled.append(Tensor._make(np.asarray(res, dtype=out_dtype).reshape(a.shape)))
    mean = Tensor._make(scaler.mean_.astype(out_dtype).reshape(features))
    std = Tensor._make(scaler.scale_.astype(out_dtype).reshape(features))
    return (*scaled, (mean, std))


def one_hot(labels: Any, num_classes: int | None = None, dtype: Any = None) -> Tensor:
    """One-hot rows for integer class ``labels``: shape ``(*labels.shape, num_classes)``.

    ``num_classes`` defaults to ``max(labels) + 1``.  The result is float32 (the
    default float dtype) unless ``dtype`` is given, ready as a target for
    ``MSELoss`` or soft-label cross-entropy; ``gradwise.nn.functional.one_hot`` is
    PyTorch's int64 version.

    >>> import gradwise as gw
    >>> from gradwise.data import one_hot
    >>> one_hot(gw.tensor([0, 2, 1]), 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    idx = _array(labels, "one_hot")
    if idx.size and idx.dtype.kind not in "iu":
        raise DataTypeError(f"one_hot: labels must be integer class indices, got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False)
    if num_classes is None:
        if idx.size == 0:
            raise DataError("one_hot: cannot infer num_classes from empty labels; pass num_classes=")
        num_classes = int(idx.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise DataError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise DataError(f"one_hot: label {bad} is outside [0, {num_classes - 1}] for num_classes={num_classes}")
    dt = dtypes.get_default_dtype() if dtype is None else resolve_dtype(dtype)
    out = np.zeros((*idx.shape, int(num_classes)), dtype=dt)
    # Row r of the flattened labels gets its 1 in column labels[r].
    flat = out.reshape(-1, int(num_classes))
    flat[np.arange(idx.size), idx.reshape(-1)] = 1
    return Tensor._make(out)


def resolve_seed(seed: int | None, where: str) -> int:
    """An int seed for scikit-learn; ``None`` draws one from gradwise's default generator."""
    if seed is None:
        return int(resolve(None).integers(2**31 - 1))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DataError(f"{where}: seed must be a non-negative int (or None), got {seed!r}")
    return int(seed)


def train_test_split(*arrays: Any, test_size: float | int = 0.2, seed: int | None = 0,
                     stratify: Any = None) -> tuple[Tensor, ...]:
    """Split arrays with the same first dimension into random train and test parts.

    Runs scikit-learn's ``train_test_split``: ``test_size`` is a fraction in
    ``(0, 1)`` or an int count; ``stratify`` (class labels of shape ``(N,)``) keeps
    each class's share equal in both parts; ``seed`` makes the split
    reproducible (``None`` draws a seed from gradwise's default generator).

    Returns:
        ``(a_train, a_test, b_train, b_test, ...)`` as tensors (dtypes kept).

    >>> import gradwise as gw
    >>> from gradwise.data import train_test_split
    >>> x_tr, x_te, y_tr, y_te = train_test_split(gw.randn(10, 2), gw.arange(10), test_size=0.3)
    >>> x_tr.shape, y_te.shape
    ((7, 2), (3,))
    """
    require_sklearn("train_test_split")
    from sklearn import model_selection

    if not arrays:
        raise DataError("train_test_split: needs at least one array to split")
    arrs = [_array(a, "train_test_split") for a in arrays]
    if any(a.ndim == 0 for a in arrs) or len({a.shape[0] for a in arrs}) != 1:
        shapes = ", ".join(format_shape(a.shape) for a in arrs)
        raise DataError(f"train_test_split: arrays must have the same size in dimension 0, got shapes {shapes}")
    strat = None if stratify is None else _array(stratify, "train_test_split")
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise DataError(f"train_test_split: test_size must be a fraction in (0, 1) or a positive int, "
                        f"got {test_size!r}")
    try:
        parts = model_selection.train_test_split(*arrs, test_size=test_size,
                                                 random_state=resolve_seed(seed, "train_test_split"), stratify=strat)
    except ValueError as exc:
        raise DataError(f"train_test_split: cannot split {len(arrs[0])} samples with test_size={test_size!r}: "
                        f"{exc}") from None
    return tuple(Tensor._make(np.ascontiguousarray(p)) for p in parts)
