"""Tensor methods that record ops or run the backward walk.

:mod:`gradwise.autograd.tensor` holds the data and the graph bookkeeping and imports
nothing that records ops; the methods here need :func:`~gradwise.autograd.function.apply`
and the engine, which themselves build Tensors.  :func:`install` attaches them to
:class:`~gradwise.autograd.tensor.Tensor` once, when :mod:`gradwise.autograd` is imported,
so imports between the files only go one way (tensor <- function <- engine <- here).
Static analysis sees them through :mod:`gradwise.autograd.tensor_ops` (generated stubs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.autograd.engine import backward as _backward
from gradwise.autograd.function import apply
from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import resolve_dtype
from gradwise.errors import GraphError, ShapeError, format_shape
from gradwise.ops.broadcast import CAST, CLONE, COPY
from gradwise.ops.registry import REGISTRY


def backward(self: Tensor, gradient: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``gradient`` is required when ``self`` is not a scalar (it is the vector
    in the vector-Jacobian product).  See :func:`gradwise.autograd.backward`.
    """
    _backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


def to(self: Tensor, dtype: Any) -> Tensor:
    """Cast to ``dtype`` (differentiable between float dtypes)."""
    dt = resolve_dtype(dtype)
    if dt == self.data.dtype:
        return self
    return apply(CAST, self, dtype=dt)


def to_float(self: Tensor) -> Tensor:
    return self.to(np.float32)


def to_double(self: Tensor) -> Tensor:
    return self.to(np.float64)


def to_half(self: Tensor) -> Tensor:
    return self.to(np.float16)


def to_long(self: Tensor) -> Tensor:
    return self.to(np.int64)


def to_int(self: Tensor) -> Tensor:
    return self.to(np.int32)


def to_bool(self: Tensor) -> Tensor:
    return self.to(np.bool_)


def clone(self: Tensor) -> Tensor:
    """A copy that stays in the graph (gradient flows back to ``self``)."""
    return apply(CLONE, self)


def inplace(self: Tensor, op: Any, *others: Any, **attrs: Any) -> Tensor:
    """Apply ``op(self, *others)`` and store the result in ``self``.

    Outside recording the array is overwritten in place and the version
    counter moves, so a backward that saved the old values raises instead
    of using the new ones.  When recording (grad mode on and some operand
    requires grad) ``self`` is rebound to the new graph node, as PyTorch
    does for in-place ops on non-leaf tensors; in-place on a leaf that
    requires grad is refused because its old value would be lost.
    """
    recording = _STATE[0] and (self.requires_grad or any(
        isinstance(o, Tensor) and o.requires_grad for o in others))
    if recording:
        if self.requires_grad and self.grad_fn is None:
            raise GraphError(
                f"{op.name}_: a leaf tensor that requires grad (shape "
                f"{format_shape(self.shape)}) is being modified in place. Wrap parameter "
                "updates in `with gradwise.no_grad():`, or work on a copy (x = x.clone()).")
        res = apply(op, self, *others, **attrs)
        if res.shape != self.shape:
            raise ShapeError(
                f"{op.name}_: the result has shape {format_shape(res.shape)} but an in-place "
                f"op cannot change the shape {format_shape(self.shape)}")
        if res.dtype != self.dtype:
            res = res.to(self.dtype)
        self.data = res.data
        self.grad_fn = res.grad_fn
        self.requires_grad = res.requires_grad
        # self takes over the result's fresh version counter: the old array is
        # left untouched (nodes that saved it stay valid), so nothing to bump.
        self._version = res._version
        return self
    datas = [o.data if isinstance(o, Tensor) else o for o in others]
    result = op.forward(self.data, *datas, **attrs)
    if np.shape(result) != self.data.shape:
        raise ShapeError(
            f"{op.name}_: the result has shape {format_shape(np.shape(result))} but an "
            f"in-place op cannot change the shape {format_shape(self.shape)}")
    self._write(result)
    return self


def zero_(self: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return self.fill_(0)


def fill_(self: Tensor, value: Any) -> Tensor:
    """Fill with ``value`` in place.  The result no longer depends on the graph."""
    if _STATE[0] and self.requires_grad:
        if self.grad_fn is None:
            raise GraphError("fill_/zero_: a leaf tensor that requires grad is being "
                             "modified in place; wrap it in `with gradwise.no_grad():`")
        self.data = np.full_like(self.data, value)
        self.grad_fn = None
        self.requires_grad = False
        self._version = None
        return self
    self._write(value.data if isinstance(value, Tensor) else value)
    return self


def copy_(self: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to ``self``'s shape, cast to its dtype) into ``self``."""
    return self._inplace(COPY, src if isinstance(src, Tensor) else np.asarray(src))


def setitem(self: Tensor, key: Any, value: Any) -> None:
    op = REGISTRY["index_put"]
    assert op.prepare is not None  # index_put is declared with a prepare (ops/indexing.py)
    inputs, attrs = op.prepare(self, value, key)
    self._inplace(op, *inputs[1:], **attrs)


# Tensor attribute name -> function; install() puts each on the class.
METHODS = {
    "backward": backward, "to": to, "astype": to,
    "float": to_float, "double": to_double, "half": to_half, "long": to_long, "int": to_int, "bool": to_bool,
    "clone": clone, "_inplace": inplace, "zero_": zero_, "fill_": fill_, "copy_": copy_, "__setitem__": setitem,
}


def install() -> None:
    """Attach :data:`METHODS` to Tensor (idempotent)."""
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
