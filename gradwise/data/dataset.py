"""Map-style datasets: ``Dataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``, ``random_split``.

A dataset maps an integer index in ``[0, len(dataset))`` to one sample, as in
``torch.utils.data``.  ``TensorDataset`` and ``Subset`` of it are also batched
by :class:`~gradwise.data.DataLoader` without per-sample Python work.
"""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradwise.api.creation import as_tensor
from gradwise.api.random import Generator, resolve
from gradwise.autograd.tensor import Tensor
from gradwise.data.errors import DataError, DataTypeError
from gradwise.errors import format_shape


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__(index)`` and ``__len__()``.

    ``a + b`` concatenates two datasets (a :class:`ConcatDataset`).

    >>> from gradwise.data import Dataset
    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return i * i
    >>> [Squares()[i] for i in range(4)], len(Squares() + Squares())
    ([0, 1, 4, 9], 8)
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) to be a Dataset")

    def __len__(self) -> int:
        # TypeError is what len() raises for objects without a length.
        raise TypeError(f"{type(self).__name__} does not define __len__; a map-style Dataset needs one "
                        "for DataLoader, Subset and random_split")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


def _check_index(index: Any, n: int, where: str) -> int:
    """An int in ``[-n, n)`` turned non-negative (PyTorch's negative indexing)."""
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, numbers.Integral):
        raise DataTypeError(f"{where}: index must be an int, got {type(index).__name__}")
    i = int(index)
    if not -n <= i < n:
        raise IndexError(f"{where}: index {i} is out of range for a dataset of length {n}")
    return i + n if i < 0 else i


class TensorDataset(Dataset):
    """Samples are rows of the given tensors: ``dataset[i] == (t0[i], t1[i], ...)``.

    Args:
        *tensors: tensors (or arrays, converted without a copy) that all have the same
            size ``N`` in dimension 0.

    >>> import gradwise as gw
    >>> from gradwise.data import TensorDataset
    >>> ds = TensorDataset(gw.zeros(5, 3), gw.arange(5))
    >>> len(ds), ds[2][0].shape, ds[2][1].item()
    (5, (3,), 2)
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise DataError("TensorDataset: needs at least one tensor, got none")
        converted = []
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                try:
                    t = as_tensor(t)
                except (TypeError, ValueError) as exc:
                    raise DataTypeError(f"TensorDataset: argument {k} is a {type(t).__name__}, which is not a "
                                        f"tensor or array ({exc})") from None
            if t.ndim == 0:
                raise DataError(f"TensorDataset: argument {k} is a 0-d tensor; every tensor needs a first "
                                "dimension that indexes the samples")
            converted.append(t)
        if any(t.shape[0] != converted[0].shape[0] for t in converted):
            shapes = ", ".join(format_shape(t.shape) for t in converted)
            raise DataError(f"TensorDataset: tensors must have the same size in dimension 0 (one row per "
                            f"sample), got shapes {shapes}")
        self.tensors: tuple[Tensor, ...] = tuple(converted)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __repr__(self) -> str:
        shapes = ", ".join(format_shape(t.shape) for t in self.tensors)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``subset[i] == dataset[indices[i]]``.

    ``indices`` is stored as a read-only int64 array; every index must lie in
    ``[-len(dataset), len(dataset))``.

    >>> import gradwise as gw
    >>> from gradwise.data import Subset, TensorDataset
    >>> s = Subset(TensorDataset(gw.arange(10)), [7, 2])
    >>> len(s), s[0][0].item()
    (2, 7)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray | Tensor) -> None:
        n = len(dataset)
        arr = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
        if arr.size == 0:
            arr = arr.astype(np.int64).reshape(0)
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise DataError(f"Subset: indices must be a 1-D sequence of ints, got {arr.ndim}-D values of "
                            f"dtype {arr.dtype}")
        if arr.size and (arr.min() < -n or arr.max() >= n):
            bad = int(arr.min()) if arr.min() < -n else int(arr.max())
            raise IndexError(f"Subset: index {bad} is out of range for a dataset of length {n}")
        arr = np.where(arr < 0, arr + n, arr).astype(np.int64)
        arr.setflags(write=False)
        self.dataset = dataset
        self.indices: np.ndarray = arr

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[_check_index(index, len(self), "Subset")])]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another: indices ``0..len(a)-1`` read ``a``, the next ones ``b``...

    >>> import gradwise as gw
    >>> from gradwise.data import ConcatDataset, TensorDataset
    >>> c = ConcatDataset([TensorDataset(gw.arange(3)), TensorDataset(gw.arange(10, 12))])
    >>> len(c), c[3][0].item(), c[-1][0].item()
    (5, 10, 11)
    """

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise DataError("ConcatDataset: datasets must be a non-empty sequence of datasets, got an empty one")
        sizes = []
        for k, d in enumerate(self.datasets):
            try:
                sizes.append(len(d))
            except TypeError:
                raise DataTypeError(f"ConcatDataset: dataset {k} ({type(d).__name__}) has no length; only "
                                    "map-style datasets with __len__ can be concatenated") from None
        self.cumulative_sizes: list[int] = np.cumsum(sizes).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        i = _check_index(index, len(self), "ConcatDataset")
        k = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][i - start]


def _split_lengths(n: int, lengths: Sequence[float]) -> list[int]:
    """Integer lengths from ints summing to ``n`` or from fractions summing to 1 (PyTorch's rule)."""
    values = list(lengths)
    if not values or any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in values):
        raise DataError(f"random_split: lengths must be a non-empty sequence of ints or fractions, got {lengths!r}")
    if any(v < 0 for v in values):
        raise DataError(f"random_split: lengths must not be negative, got {values}")
    total = sum(values)
    all_ints = all(isinstance(v, numbers.Integral) for v in values)
    if not all_ints and math.isclose(total, 1.0) and total <= 1.0:
        out = [int(math.floor(n * v)) for v in values]
        # The floors leave up to len(values) - 1 samples over; hand them out round-robin.
        for i in range(n - sum(out)):
            out[i % len(out)] += 1
        for i, size in enumerate(out):
            if size == 0:
                warnings.warn(f"random_split: split {i} is empty ({values[i]} of {n} samples)", stacklevel=3)
        return out
    if not all_ints:
        raise DataError(f"random_split: fractional lengths must sum to 1, got {values} (sum {total}); or pass "
                        f"ints summing to the dataset length {n}")
    if total != n:
        raise DataError(f"random_split: lengths {values} sum to {total}, but the dataset has {n} samples; "
                        "pass ints summing to its length or fractions summing to 1")
    return [int(v) for v in values]


def random_split(dataset: Dataset, lengths: Sequence[float], generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s of the given lengths.

    ``lengths`` are ints summing to ``len(dataset)`` or fractions summing to 1
    (each split gets ``floor(frac * N)`` samples and the remainder goes one by one
    to the first splits).  One permutation is drawn from ``generator``.

    >>> import gradwise as gw
    >>> from gradwise.data import TensorDataset, random_split
    >>> train, val = random_split(TensorDataset(gw.arange(10)), [0.8, 0.2], generator=gw.Generator(0))
    >>> len(train), len(val)
    (8, 2)
    """
    n = len(dataset)
    sizes = _split_lengths(n, lengths)
    perm = resolve(generator).permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, perm[bounds[i]:bounds[i + 1]]) for i in range(len(sizes))]
