"""``sort``, ``topk`` and ``unique``, with PyTorch's signatures.

``sort`` and ``topk`` return ``(values, indices)``: an ``argsort`` (no gradient, in
:mod:`gradwise.ops.sorting`) plus a ``take_along_dim`` of the values, so the gradient
reaches exactly the selected elements, as in PyTorch.  Both are stable: ties keep their
order (PyTorch's ``topk`` leaves the order of ties unspecified).  ``unique`` has no
gradient (PyTorch's has none either).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.api.multi import ValuesIndices
from gradwise.autograd.function import apply, call
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.ops.dims import normalize_dim
from gradwise.ops.registry import REGISTRY


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _sorted(x: Tensor, dim: int, descending: bool, k: int | None) -> ValuesIndices:
    """The first ``k`` (all when None) of ``x`` sorted along ``dim``: values and indices."""
    if x.ndim == 0:
        r = _sorted(call(REGISTRY["reshape"], x, (1,)), 0, descending, k)
        return ValuesIndices(call(REGISTRY["reshape"], r.values, r.values.shape[1:]),
                             Tensor._make(r.indices._data.reshape(r.indices.shape[1:])))
    idx = apply(REGISTRY["argsort"], x, dim=dim, descending=descending)
    if k is not None and k < x.shape[dim]:
        idx = Tensor._make(np.ascontiguousarray(idx._data[(slice(None),) * dim + (slice(0, k),)]))
    values = call(REGISTRY["take_along_dim"], x, idx, dim)
    return ValuesIndices(values, idx)


def sort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """``(values, indices)`` of ``input`` sorted along ``dim``; the gradient of ``values``
    flows back to the elements it came from.  Always stable (``stable`` is accepted: ties
    keep their order, descending too); NaN sorts as the largest value.

    >>> import gradwise as gw
    >>> v, i = gw.sort(gw.tensor([3.0, 1.0, 2.0]), descending=True)
    >>> v.tolist(), i.tolist()
    ([3.0, 2.0, 1.0], [0, 2, 1])
    """
    x = _as_tensor(input)
    d = normalize_dim(dim, x.ndim, "sort")
    return _sorted(x, d, bool(descending), None)


def topk(input: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim``:
    ``(values, indices)``, in order (also for ``sorted=False``, where PyTorch promises no
    order).  Among ties the lower index comes first.

    >>> import gradwise as gw
    >>> v, i = gw.tensor([1.0, 5.0, 3.0, 4.0]).topk(2)
    >>> v.tolist(), i.tolist()
    ([5.0, 4.0], [1, 3])
    """
    x = _as_tensor(input)
    d = normalize_dim(dim, x.ndim, "topk")
    n = x.shape[d] if x.ndim else 1
    k = int(k)
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k={k} is out of range for dim {dim} of size {n} (input shape "
                         f"{format_shape(x.shape)}); valid: 0 to {n}")
    return _sorted(x, d, bool(largest), k)


def unique(input: Any, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct values of ``input`` (flattened; with ``dim``: the distinct slices along
    ``dim``), in ascending order, optionally with the inverse indices (where each element went)
    and the counts.  Returns a tensor, or a tuple when ``return_inverse``/``return_counts``.
    Always sorted (PyTorch's ``sorted=False`` leaves the order open); no gradient.

    >>> import gradwise as gw
    >>> vals, inverse, counts = gw.tensor([3, 1, 3, 2]).unique(return_inverse=True, return_counts=True)
    >>> vals.tolist(), inverse.tolist(), counts.tolist()
    ([1, 2, 3], [2, 0, 2, 1], [1, 1, 2])
    """
    a = _as_tensor(input)._data
    if dim is None:
        # each NaN is its own value, as in PyTorch (NumPy merges them by default)
        vals, inv, counts = np.unique(a, return_inverse=True, return_counts=True, equal_nan=False)
        inv = inv.reshape(a.shape)
    else:
        d = normalize_dim(dim, a.ndim, "unique")
        if a.ndim == 0:
            raise ShapeError("unique: dim is given but the input is 0-d")
        vals, inv, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    out = Tensor._make(np.ascontiguousarray(vals))
    if not (return_inverse or return_counts):
        return out
    extra = []
    if return_inverse:
        extra.append(Tensor._make(inv.astype(np.int64, copy=False)))
    if return_counts:
        extra.append(Tensor._make(counts.astype(np.int64, copy=False)))
    return (out, *extra)


# public functions of this module; METHODS: those also bound as Tensor methods (by gradwise.api.bind)
FUNCTIONS = {"sort": sort, "topk": topk, "unique": unique}
METHODS = tuple(FUNCTIONS)
