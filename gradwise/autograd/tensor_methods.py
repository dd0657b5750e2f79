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
from gradwise.autograd.grad_mode import _MODE, _OFF
from gradwise.autograd.post_accumulate_hooks import register_post_accumulate_grad_hook
from gradwise.autograd.promotion import check_inplace
from gradwise.autograd.tensor import Tensor
from gradwise.devices import ADVICE, CPU, DeviceError, is_device_like, resolve_device
from gradwise.dtypes import resolve_dtype
from gradwise.errors import DtypeError, GraphError, ShapeError, format_shape
from gradwise.ops.broadcast import CAST, CLONE, COPY
from gradwise.ops.registry import REGISTRY


def backward(self: Tensor, gradient: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``gradient`` is required when ``self`` is not a scalar (it is the vector
    in the vector-Jacobian product).  See :func:`gradwise.autograd.backward`.
    """
    _backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


def _cast(self: Tensor, dt: np.dtype) -> Tensor:
    if dt == self._data.dtype:
        return self
    return apply(CAST, self, dtype=dt)


def astype(self: Tensor, dtype: Any) -> Tensor:
    """Cast to ``dtype`` (NumPy's spelling of ``to(dtype)``; differentiable between float dtypes)."""
    return _cast(self, resolve_dtype(dtype))


def parse_to(what: str, args: tuple[Any, ...], dtype: Any = None, device: Any = None,
             non_blocking: bool = False, copy: bool = False) -> tuple[np.dtype | None, bool]:
    """The dtype (None: keep) and ``copy`` that PyTorch's ``to`` overloads ask for.

    ``to(dtype, non_blocking, copy)``, ``to(device, dtype, non_blocking, copy)``,
    ``to(tensor, non_blocking, copy)`` or keywords.  A device other than the CPU raises
    :class:`~gradwise.devices.DeviceError`.  ``Module.to`` reads its arguments here too.
    """
    rest: tuple[Any, ...] = ()
    if args:
        first, rest = args[0], args[1:]
        if isinstance(first, Tensor):
            if dtype is not None or device is not None:
                raise TypeError(f"{what}(tensor, ...): take the dtype and device from the tensor, "
                                "not also from keywords")
            dtype, device = first._data.dtype, CPU
        elif is_device_like(first):
            if device is not None:
                raise TypeError(f"{what}(): the device is given twice (positionally and as device=)")
            device = first
            if rest and not isinstance(rest[0], (bool, np.bool_)):   # to(device, dtype, ...)
                if dtype is not None:
                    raise TypeError(f"{what}(): the dtype is given twice (positionally and as dtype=)")
                dtype, rest = rest[0], rest[1:]
        else:
            if dtype is not None:
                raise TypeError(f"{what}(): the dtype is given twice (positionally and as dtype=)")
            if isinstance(first, str):
                try:
                    resolve_dtype(first)
                except DtypeError:
                    raise DtypeError(f"{what}({first!r}): neither a device ('cpu', 'cuda:0'...) nor a dtype "
                                     "(gradwise.float64, 'float64'...)") from None
            dtype = first
        if len(rest) > 2 or not all(isinstance(v, (bool, np.bool_)) for v in rest):
            raise TypeError(f"{what}() takes (dtype | device[, dtype] | tensor[, non_blocking[, copy]]) "
                            f"positionally, got {', '.join(type(a).__name__ for a in args)}")
        if len(rest) == 2:
            copy = rest[1]
    if resolve_device(device, what).index is not None:
        copy = True   # torch copies for "cpu:0": it is not the tensor's device, `cpu` without an index
    return (None if dtype is None else resolve_dtype(dtype)), bool(copy)


def to(self: Tensor, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False,
       copy: bool = False) -> Tensor:
    """Cast (and "move") the tensor, with PyTorch's overloads.

    ``x.to(dtype)``, ``x.to(device)``, ``x.to(device, dtype)``, ``x.to(other_tensor)``,
    ``x.to(device=..., dtype=...)``.  Returns ``self`` when nothing changes (the device is
    always the CPU), a copy when ``copy=True`` (or for ``"cpu:0"``, as PyTorch does); a cast and a
    copy are differentiable between float dtypes.
    ``non_blocking`` is accepted and means nothing on the CPU.  An accelerator
    (``"cuda"``, ``"mps"``) raises :class:`~gradwise.devices.DeviceError`.

    >>> import gradwise as gw
    >>> x = gw.ones(2)
    >>> x.to("cpu") is x, x.to("cpu", gw.float64).dtype, x.to(gw.zeros(1, dtype=gw.int64)).dtype
    (True, dtype('float64'), dtype('int64'))
    """
    dt, copy = parse_to("Tensor.to", args, dtype, device, non_blocking, copy)
    if dt is not None and dt != self._data.dtype:
        return apply(CAST, self, dtype=dt)
    return apply(CLONE, self) if copy else self


def cpu(self: Tensor) -> Tensor:
    """``self``: every gradwise tensor is on the CPU."""
    return self


def cuda(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """Raises :class:`~gradwise.devices.DeviceError`: gradwise has no CUDA device."""
    name = "cuda" if device is None else device if isinstance(device, str) else f"cuda:{device}"
    raise DeviceError(f"Tensor.cuda(): device {name!r} is not available; {ADVICE}")


def get_device(self: Tensor) -> int:
    """-1, PyTorch's answer for a CPU tensor."""
    return -1


# dtype <-> PyTorch's legacy tensor type names ('torch.FloatTensor'); gradwise spells them 'gradwise.FloatTensor'
TYPE_NAMES = {np.dtype(k): v for k, v in (
    (np.float32, "Float"), (np.float64, "Double"), (np.float16, "Half"), (np.int8, "Char"), (np.uint8, "Byte"),
    (np.int16, "Short"), (np.int32, "Int"), (np.int64, "Long"), (np.bool_, "Bool"),
    (np.complex64, "ComplexFloat"), (np.complex128, "ComplexDouble"))}
_BY_TYPE_NAME = {v + "Tensor": k for k, v in TYPE_NAMES.items()}


def type_name(dtype: np.dtype) -> str:
    """``'gradwise.FloatTensor'`` for float32: PyTorch's ``Tensor.type()`` naming under gradwise's name."""
    name = TYPE_NAMES.get(dtype)
    return f"gradwise.{name}Tensor" if name else f"gradwise.{dtype.name.capitalize()}Tensor"


def resolve_type(what: str, dtype: Any) -> np.dtype:
    """The dtype of a ``type(...)`` argument: a dtype, or a type name (``'torch.DoubleTensor'``,
    ``'gradwise.DoubleTensor'``, ``'DoubleTensor'``); a CUDA type name raises DeviceError."""
    if not isinstance(dtype, str):
        return resolve_dtype(dtype)
    name = dtype
    for prefix in ("torch.", "gradwise."):
        name = name.removeprefix(prefix)
    if name.startswith("cuda."):
        raise DeviceError(f"{what}({dtype!r}): a CUDA tensor type is not available; {ADVICE}")
    if name in _BY_TYPE_NAME:
        return _BY_TYPE_NAME[name]
    try:
        return resolve_dtype(name)
    except DtypeError:
        raise DtypeError(f"{what}({dtype!r}): unknown tensor type; use e.g. 'torch.FloatTensor', "
                         "'torch.DoubleTensor' or a dtype (gradwise.float64)") from None


def type_(self: Tensor, dtype: Any = None, non_blocking: bool = False) -> Any:
    """The type name (``'gradwise.FloatTensor'``) without an argument; else cast to ``dtype``.

    ``dtype`` may be a dtype or a type name in PyTorch's spelling (``'torch.DoubleTensor'``) or
    gradwise's (``'gradwise.DoubleTensor'``).  Returns ``self`` when the dtype already matches.

    >>> import gradwise as gw
    >>> gw.ones(2).type(), gw.ones(2).type("torch.DoubleTensor").dtype
    ('gradwise.FloatTensor', dtype('float64'))
    """
    if dtype is None:
        return type_name(self._data.dtype)
    return _cast(self, resolve_type("Tensor.type", dtype))


def to_float(self: Tensor) -> Tensor:
    return _cast(self, np.dtype(np.float32))


def to_double(self: Tensor) -> Tensor:
    return _cast(self, np.dtype(np.float64))


def to_half(self: Tensor) -> Tensor:
    return _cast(self, np.dtype(np.float16))


def to_long(self: Tensor) -> Tensor:
    return _cast(self, np.dtype(np.int64))


def to_int(self: Tensor) -> Tensor:
    return _cast(self, np.dtype(np.int32))


def to_bool(self: Tensor) -> Tensor:
    return _cast(self, np.dtype(np.bool_))


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
    requires grad is refused because its old value would be lost.  A result whose dtype
    ``self`` cannot hold (``int_tensor += 1.5``) is refused, as PyTorch does.
    """
    check_inplace(op, self, others)
    recording = (not _OFF or _MODE.enabled) and (self.requires_grad or any(
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
            res = _cast(res, self._data.dtype)
        self._data = res._data
        self.grad_fn = res.grad_fn
        self.requires_grad = res.requires_grad
        # self takes over the result's fresh version counter: the old array is
        # left untouched (nodes that saved it stay valid), so nothing to bump.
        self._version = res._version
        return self
    datas = [o._data if isinstance(o, Tensor) else o for o in others]
    result = op.forward(self._data, *datas, **attrs)
    if np.shape(result) != self._data.shape:
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
    if (not _OFF or _MODE.enabled) and self.requires_grad:
        if self.grad_fn is None:
            raise GraphError("fill_/zero_: a leaf tensor that requires grad is being "
                             "modified in place; wrap it in `with gradwise.no_grad():`")
        self._data = np.full_like(self._data, value)
        self.grad_fn = None
        self.requires_grad = False
        self._version = None
        return self
    self._write(value._data if isinstance(value, Tensor) else value)
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
    "backward": backward, "to": to, "astype": astype, "cpu": cpu, "cuda": cuda, "type": type_, "get_device": get_device,
    "float": to_float, "double": to_double, "half": to_half, "long": to_long, "int": to_int, "bool": to_bool,
    "clone": clone, "_inplace": inplace, "zero_": zero_, "fill_": fill_, "copy_": copy_, "__setitem__": setitem,
    "register_post_accumulate_grad_hook": register_post_accumulate_grad_hook,
}


# Tensor attribute name -> constant (class attributes: reading one costs an attribute lookup).
ATTRIBUTES = {"device": CPU, "is_cuda": False, "is_cpu": True}


def install() -> None:
    """Attach :data:`METHODS` and :data:`ATTRIBUTES` to Tensor (idempotent)."""
    for name, value in (METHODS | ATTRIBUTES).items():
        setattr(Tensor, name, value)
