"""Reductions that return several tensors: ``median``/``kthvalue`` along a dim, ``var_mean``, ``std_mean``.

Each graph node has one output, so ``median(x, dim)`` is a ``kth_index`` (no
gradient) plus a ``take_along_dim`` of the values: the gradient reaches exactly
the selected element, as in PyTorch.  ``median(x)`` without a dim is one op
whose gradient is shared among ties (PyTorch's ``evenly_distribute_backward``).
``max``/``min`` are in :mod:`gradwise.api.multi`.
"""

from __future__ import annotations

from typing import Any

from gradwise.api.multi import ValuesIndices
from gradwise.autograd.function import apply, call
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.ops.dims import normalize_dim
from gradwise.ops.registry import REGISTRY


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _select(input: Any, k: int, dim: int, keepdim: bool, nan: bool, op: str) -> ValuesIndices:
    x = _as_tensor(input)
    if x.ndim == 0:     # a 0-d tensor is its own median / 1st value, at index 0
        r = _select(x.reshape(1), k, 0, True, nan, op)
        return ValuesIndices(r.values.reshape(()), r.indices.reshape(()))
    d = normalize_dim(dim, x.ndim, op)
    n = x.shape[d]
    if not 0 <= k < n:
        if op == "kthvalue":
            raise ShapeError(f"kthvalue: k={k + 1} is out of range for dim {dim} of size {n} "
                             f"(input shape {format_shape(x.shape)}); valid: 1 to {n}")
        raise ShapeError(f"{op}: dim {dim} of the input shape {format_shape(x.shape)} is empty")
    idx = apply(REGISTRY["kth_index"], x, k=k, dim=d, nan=nan)
    values = call(REGISTRY["take_along_dim"], x, idx, d)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return ValuesIndices(values, idx)


def median(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """``median(input)``: the median of all elements (the lower of the two middle values
    for an even count; NaN if there is one), gradient shared among ties.
    ``median(input, dim, keepdim=False)``: ``(values, indices)`` along ``dim``; the
    gradient goes to the selected index.

    >>> import gradwise as gw
    >>> from gradwise.api.reductions import median
    >>> x = gw.tensor([[1.0, 4.0, 2.0, 3.0], [9.0, 7.0, 8.0, 6.0]])
    >>> median(x).item()
    4.0
    >>> median(x, dim=1).values.tolist(), median(x, dim=1).indices.tolist()
    ([2.0, 7.0], [2, 1])
    """
    if dim is None:
        return call(REGISTRY["median"], input)
    x = _as_tensor(input)
    n = x.shape[normalize_dim(dim, x.ndim, "median")] if x.ndim else 1
    return _select(x, (n - 1) // 2, dim, keepdim, True, "median")


def kthvalue(input: Any, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The ``k``-th smallest value (``k`` counts from 1) along ``dim``: ``(values, indices)``.

    >>> import gradwise as gw
    >>> from gradwise.api.reductions import kthvalue
    >>> kthvalue(gw.tensor([5.0, 1.0, 4.0]), 2).values.item()
    4.0
    """
    x = _as_tensor(input)
    return _select(x, int(k) - 1, dim, keepdim, False, "kthvalue")


def _with_mean(name: str, input: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Tensor, Tensor]:
    """``(<name>(input, ...), mean(input, ...))``: the op ``name`` (var or std) and the mean over
    the same dims, both recorded (each has its own gradient)."""
    op = REGISTRY[name]
    assert op.prepare is not None   # var/std take dim/unbiased/keepdim: registered with a prepare
    inputs, attrs = op.prepare(input, *args, **kwargs)
    mean = apply(REGISTRY["mean"], *inputs, dim=attrs["dim"], keepdim=attrs["keepdim"])
    return apply(op, *inputs, **attrs), mean


def var_mean(input: Any, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """``(var(input, ...), mean(input, ...))`` with :func:`gradwise.var`'s arguments.

    >>> import gradwise as gw
    >>> from gradwise.api.reductions import var_mean
    >>> v, m = var_mean(gw.tensor([1.0, 2.0, 3.0]))
    >>> v.item(), m.item()
    (1.0, 2.0)
    """
    return _with_mean("var", input, args, kwargs)


def std_mean(input: Any, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """``(std(input, ...), mean(input, ...))`` with :func:`gradwise.std`'s arguments.

    >>> import gradwise as gw
    >>> from gradwise.api.reductions import std_mean
    >>> s, m = std_mean(gw.tensor([1.0, 3.0]), unbiased=False)
    >>> s.item(), m.item()
    (1.0, 2.0)
    """
    return _with_mean("std", input, args, kwargs)


# public functions of this module; METHODS: those also bound as Tensor methods (by gradwise.api.bind)
FUNCTIONS = {"median": median, "kthvalue": kthvalue, "var_mean": var_mean, "std_mean": std_mean}
METHODS = ("median", "kthvalue")
