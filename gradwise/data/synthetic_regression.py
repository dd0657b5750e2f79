"""Synthetic regression sets with known ground truth: ``linear_regression``, ``polynomial_regression``.

NumPy only; every draw comes from ``generator``.  Each returns a named tuple
holding the data and the true parameters, so a fit can be checked against
them: ``x, y, weight, bias = linear_regression()``.  Targets have shape
``(N, 1)`` to match the output of ``Linear(in_features, 1)`` under ``MSELoss``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gradwise import dtypes
from gradwise.api.random import Generator, resolve
from gradwise.autograd.tensor import Tensor
from gradwise.data.checks import check_int, check_nonneg, float_dtype
from gradwise.data.errors import DataError


class LinearData(NamedTuple):
    """``y = x @ weight.T + bias + noise``.

    Attributes:
        x: ``(N, n_features)``.
        y: ``(N, 1)``.
        weight: ``(1, n_features)``, laid out like ``nn.Linear(n_features, 1).weight``.
        bias: ``(1,)``, like ``nn.Linear(n_features, 1).bias``.
    """

    x: Tensor
    y: Tensor
    weight: Tensor
    bias: Tensor


class PolynomialData(NamedTuple):
    """``y = sum_k coefficients[k] * x**k + noise``.

    Attributes:
        x: ``(N, 1)``, uniform in ``[-1, 1]``.
        y: ``(N, 1)``.
        coefficients: ``(degree + 1,)``, constant term first.
    """

    x: Tensor
    y: Tensor
    coefficients: Tensor


def _vector(value: Any, size: int, name: str, where: str) -> np.ndarray:
    arr = np.asarray(value._data if isinstance(value, Tensor) else value, dtype=np.float64)
    if arr.size != size or not np.all(np.isfinite(arr)):
        raise DataError(f"{where}: {name} must hold {size} finite numbers, got shape {arr.shape}")
    return arr.reshape(-1)


def linear_regression(n_samples: int = 100, n_features: int = 1, noise: float = 0.1, weight: Any = None,
                      bias: float | None = None, generator: Generator | None = None,
                      dtype: Any = dtypes.float32) -> LinearData:
    """Points ``x ~ N(0, I)`` with ``y = x @ weight.T + bias + noise * N(0, 1)``.

    ``weight`` (``n_features`` numbers) and ``bias`` default to draws from
    ``N(0, 1)``; the values used are returned with the data.

    >>> import gradwise as gw
    >>> from gradwise.data import linear_regression
    >>> x, y, w, b = linear_regression(50, n_features=3, weight=[1.0, -2.0, 0.5], bias=3.0, noise=0.0)
    >>> x.shape, y.shape, w.tolist(), b.tolist()
    ((50, 3), (50, 1), [[1.0, -2.0, 0.5]], [3.0])
    >>> bool(((x @ w.T + b - y).abs() < 1e-5).all())
    True
    """
    n = check_int(n_samples, "n_samples", "linear_regression", 1)
    d = check_int(n_features, "n_features", "linear_regression", 1)
    sd = check_nonneg(noise, "noise", "linear_regression")
    dt = float_dtype(dtype, "linear_regression")
    rng = resolve(generator)
    w = rng.standard_normal(d) if weight is None else _vector(weight, d, "weight", "linear_regression")
    b = rng.standard_normal(1) if bias is None else _vector(bias, 1, "bias", "linear_regression")
    x = rng.standard_normal((n, d))
    y = x @ w[:, None] + b + sd * rng.standard_normal((n, 1))
    return LinearData(*(Tensor._make(np.ascontiguousarray(a, dtype=dt)) for a in (x, y, w[None, :], b)))


def polynomial_regression(n_samples: int = 100, degree: int = 3, noise: float = 0.1, coefficients: Any = None,
                          generator: Generator | None = None, dtype: Any = dtypes.float32) -> PolynomialData:
    """Points ``x ~ U(-1, 1)`` with ``y = c_0 + c_1 x + ... + c_degree x^degree + noise * N(0, 1)``.

    ``coefficients`` (``degree + 1`` numbers, constant term first) default to
    draws from ``N(0, 1)``; when given, their count must be ``degree + 1``.

    >>> from gradwise.data import polynomial_regression
    >>> x, y, c = polynomial_regression(20, degree=2, coefficients=[1.0, 0.0, 2.0], noise=0.0)
    >>> bool(((1 + 2 * x ** 2 - y).abs() < 1e-5).all()), c.tolist()
    (True, [1.0, 0.0, 2.0])
    """
    n = check_int(n_samples, "n_samples", "polynomial_regression", 1)
    deg = check_int(degree, "degree", "polynomial_regression", 0)
    sd = check_nonneg(noise, "noise", "polynomial_regression")
    dt = float_dtype(dtype, "polynomial_regression")
    if coefficients is not None and np.size(coefficients) != deg + 1:
        raise DataError(f"polynomial_regression: {np.size(coefficients)} coefficients given but degree={deg} "
                        f"needs {deg + 1}; pass degree={np.size(coefficients) - 1}")
    rng = resolve(generator)
    c = rng.standard_normal(deg + 1) if coefficients is None else _vector(
        coefficients, deg + 1, "coefficients", "polynomial_regression")
    x = rng.uniform(-1.0, 1.0, size=(n, 1))
    y = np.polynomial.polynomial.polyval(x, c) + sd * rng.standard_normal((n, 1))
    return PolynomialData(*(Tensor._make(np.ascontiguousarray(a, dtype=dt)) for a in (x, y, c)))
