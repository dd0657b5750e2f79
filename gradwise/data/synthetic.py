"""Synthetic 2-D classification sets: ``spirals``, ``moons``, ``circles``, ``xor``, and ``blobs``.

NumPy only.  Every random draw comes from ``generator`` (gradwise's default
generator when ``None``), so a seeded :class:`gradwise.Generator` reproduces the
same points.  Each returns ``(x, y)``: ``x`` of shape ``(N, 2)`` (``(N,
n_features)`` for blobs) and dtype ``dtype`` (float32 by default), ``y`` int64
class indices of shape ``(N,)``.  Classes get ``N // K`` points each and the
first ``N % K`` classes one more; rows are shuffled unless ``shuffle=False``
(then they are grouped by class).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradwise import dtypes
from gradwise.api.random import Generator, resolve
from gradwise.autograd.tensor import Tensor
from gradwise.data.checks import check_int, check_nonneg, float_dtype
from gradwise.data.errors import DataError


def _class_sizes(n: int, k: int) -> list[int]:
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _finish(parts: list[np.ndarray], rng: np.random.Generator, shuffle: bool, dtype: np.dtype) -> tuple[Tensor, Tensor]:
    x = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), c, dtype=np.int64) for c, p in enumerate(parts)])
    if shuffle:
        perm = rng.permutation(len(x))
        x, y = x[perm], y[perm]
    return Tensor._make(np.ascontiguousarray(x, dtype=dtype)), Tensor._make(y)


def spirals(n_samples: int = 300, n_classes: int = 2, noise: float = 0.2, turns: float = 1.0,
            generator: Generator | None = None, dtype: Any = dtypes.float32,
            shuffle: bool = True) -> tuple[Tensor, Tensor]:
    """Interleaved spiral arms, one per class.

    Arm ``k``'s points have radius ``r`` evenly spaced in ``(0, 1)`` and angle
    ``theta = 2 pi turns r + 2 pi k / n_classes + noise * N(0, 1)``: ``noise`` is
    the standard deviation of the angle jitter in radians, so points stay on
    their arm's side of the neighbours however far out they are.

    >>> import gradwise as gw
    >>> from gradwise.data import spirals
    >>> import numpy as np
    >>> x, y = spirals(300, n_classes=3, generator=gw.Generator(0))
    >>> x.shape, np.bincount(y.numpy()).tolist()
    ((300, 2), [100, 100, 100])
    """
    n = check_int(n_samples, "n_samples", "spirals", 1)
    k = check_int(n_classes, "n_classes", "spirals", 1)
    if n < k:
        raise DataError(f"spirals: n_samples={n} is fewer than n_classes={k}; every class needs a point")
    sd = check_nonneg(noise, "noise", "spirals")
    if check_nonneg(turns, "turns", "spirals") == 0:
        raise DataError("spirals: turns must be > 0, got 0")
    dt = float_dtype(dtype, "spirals")
    rng = resolve(generator)
    parts = []
    for c, m in enumerate(_class_sizes(n, k)):
        r = (np.arange(m) + 0.5) / m
        theta = 2 * np.pi * turns * r + 2 * np.pi * c / k + sd * rng.standard_normal(m)
        parts.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
    return _finish(parts, rng, shuffle, dt)


def moons(n_samples: int = 200, noise: float = 0.1, generator: Generator | None = None,
          dtype: Any = dtypes.float32, shuffle: bool = True) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles: class 0 on ``(cos t, sin t)``, class 1 on
    ``(1 - cos t, 0.5 - sin t)`` for ``t`` in ``[0, pi]``, plus Gaussian noise of std ``noise``.

    >>> import gradwise as gw
    >>> from gradwise.data import moons
    >>> x, y = moons(100, generator=gw.Generator(0))
    >>> x.shape, y.dtype.name
    ((100, 2), 'int64')
    """
    n = check_int(n_samples, "n_samples", "moons", 2)
    sd = check_nonneg(noise, "noise", "moons")
    dt = float_dtype(dtype, "moons")
    rng = resolve(generator)
    n_out, n_in = _class_sizes(n, 2)
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    parts = [np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
             np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1)]
    parts = [p + sd * rng.standard_normal(p.shape) for p in parts]
    return _finish(parts, rng, shuffle, dt)


def circles(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, generator: Generator | None = None,
            dtype: Any = dtypes.float32, shuffle: bool = True) -> tuple[Tensor, Tensor]:
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (in (0, 1)),
    points evenly spaced in angle, plus Gaussian noise of std ``noise``.

    >>> import gradwise as gw
    >>> from gradwise.data import circles
    >>> x, y = circles(100, noise=0.0, generator=gw.Generator(0))
    >>> float(x[y == 1].norm(dim=1).max())
    0.5
    """
    n = check_int(n_samples, "n_samples", "circles", 2)
    sd = check_nonneg(noise, "noise", "circles")
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0 < factor < 1:
        raise DataError(f"circles: factor (inner radius / outer radius) must be in (0, 1), got {factor!r}")
    dt = float_dtype(dtype, "circles")
    rng = resolve(generator)
    parts = []
    for radius, m in zip((1.0, float(factor)), _class_sizes(n, 2)):
        t = np.linspace(0, 2 * np.pi, m, endpoint=False)
        ring = radius * np.stack([np.cos(t), np.sin(t)], axis=1)
        parts.append(ring + sd * rng.standard_normal(ring.shape))
    return _finish(parts, rng, shuffle, dt)


def xor(n_samples: int = 200, noise: float = 0.05, generator: Generator | None = None,
        dtype: Any = dtypes.float32) -> tuple[Tensor, Tensor]:
    """The XOR problem: points uniform in ``[-1, 1]^2``, label 1 where the signs of the two
    coordinates differ (``(x0 > 0) xor (x1 > 0)``), then Gaussian noise of std ``noise``
    added to the points (labels are from the clean points).  Rows are in random order.

    >>> import gradwise as gw
    >>> from gradwise.data import xor
    >>> x, y = xor(8, noise=0.0, generator=gw.Generator(0))
    >>> bool(((x[:, 0] * x[:, 1] < 0).long() == y).all())
    True
    """
    n = check_int(n_samples, "n_samples", "xor", 1)
    sd = check_nonneg(noise, "noise", "xor")
    dt = float_dtype(dtype, "xor")
    rng = resolve(generator)
    clean = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((clean[:, 0] > 0) != (clean[:, 1] > 0)).astype(np.int64)
    x = clean + sd * rng.standard_normal((n, 2))
    return Tensor._make(x.astype(dt)), Tensor._make(y)


def blobs(n_samples: int = 300, centers: int | Sequence[Sequence[float]] | np.ndarray = 3, n_features: int = 2,
          cluster_std: float | Sequence[float] = 1.0, center_box: tuple[float, float] = (-10.0, 10.0),
          generator: Generator | None = None, dtype: Any = dtypes.float32,
          shuffle: bool = True) -> tuple[Tensor, Tensor]:
    """Isotropic Gaussian clusters, one class per center.

    ``centers`` is a count (centers drawn uniformly in ``center_box`` per
    coordinate) or an array of shape ``(K, n_features)`` (then ``n_features`` is
    taken from it); ``cluster_std`` is one std or one per center.  ``x`` has shape
    ``(N, n_features)``.

    >>> import gradwise as gw
    >>> from gradwise.data import blobs
    >>> x, y = blobs(90, centers=[[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]], cluster_std=0.1, generator=gw.Generator(0))
    >>> x[y == 1].mean(dim=0).round().tolist()
    [5.0, 5.0]
    """
    n = check_int(n_samples, "n_samples", "blobs", 1)
    dt = float_dtype(dtype, "blobs")
    rng = resolve(generator)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = check_int(centers, "centers", "blobs", 1)
        d = check_int(n_features, "n_features", "blobs", 1)
        lo, hi = (float(v) for v in center_box)
        if not lo < hi:
            raise DataError(f"blobs: center_box must be (low, high) with low < high, got {center_box!r}")
        mu = rng.uniform(lo, hi, size=(k, d))
    else:
        mu = np.asarray(centers._data if isinstance(centers, Tensor) else centers, dtype=np.float64)
        if mu.ndim != 2 or mu.shape[0] == 0:
            raise DataError(f"blobs: centers must be an int or an array of shape (K, n_features), got shape "
                            f"{mu.shape}")
        k = mu.shape[0]
    std = np.broadcast_to(np.asarray(cluster_std, dtype=np.float64), (k,)) if np.ndim(cluster_std) == 0 else \
        np.asarray(cluster_std, dtype=np.float64)
    if std.shape != (k,) or not np.all(np.isfinite(std)) or np.any(std < 0):
        raise DataError(f"blobs: cluster_std must be a number >= 0 or {k} of them (one per center), "
                        f"got {cluster_std!r}")
    if n < k:
        raise DataError(f"blobs: n_samples={n} is fewer than the {k} centers; every center needs a point")
    parts = [mu[c] + std[c] * rng.standard_normal((m, mu.shape[1])) for c, m in enumerate(_class_sizes(n, k))]
    return _finish(parts, rng, shuffle, dt)
