"""PyTorch's legacy typed constructors: ``FloatTensor``, ``DoubleTensor``, ``LongTensor``,
``IntTensor``, ``BoolTensor``.

As in PyTorch they are not subclasses of :class:`~gradwise.Tensor`: calling one makes a
plain ``Tensor`` of its dtype, and ``isinstance(x, gw.FloatTensor)`` asks whether ``x`` is
a float32 tensor.  The calls they take:

* ``FloatTensor()``: an empty tensor (0 elements);
* ``FloatTensor(2, 3)`` or ``FloatTensor(gw.Size([2, 3]))``: a tensor of that size (PyTorch
  leaves it uninitialised; gradwise fills it with zeros);
* ``FloatTensor(data)``: a copy of a (nested) list, tuple or array, cast to the dtype
  (a tuple of ints is data, as in PyTorch: ``FloatTensor((2, 3))`` holds 2 and 3);
* ``FloatTensor(tensor)``: the tensor itself when it has the dtype, else TypeError.

``device=`` takes the CPU only.

>>> import gradwise as gw
>>> gw.FloatTensor([1, 2])
tensor([1., 2.])
>>> gw.LongTensor(2, 3).shape, isinstance(gw.ones(2), gw.FloatTensor), isinstance(gw.ones(2), gw.LongTensor)
((2, 3), True, False)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor, as_array
from gradwise.devices import resolve_device
from gradwise.size import Size


class LegacyTensorType(type):
    """The metaclass of the typed constructors: calling one builds a Tensor of its dtype;
    ``isinstance`` checks the dtype."""

    dtype: np.dtype

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        resolve_device(device, f"{cls.__name__}(device=...)")
        dt = cls.dtype
        if not args:
            return Tensor._make(np.zeros((0,), dt))
        if len(args) == 1 and isinstance(args[0], Tensor):
            t = args[0]
            if t._data.dtype != dt:
                raise TypeError(f"{cls.__name__}(tensor): the tensor is {t._data.dtype.name}, not "
                                f"{dt.name}; convert it with .to(gradwise.{dt.name})")
            return t
        if len(args) == 1 and isinstance(args[0], Size):
            return Tensor._make(np.zeros(tuple(args[0]), dt))
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) for a in args):
            shape = tuple(int(a) for a in args)
            if any(s < 0 for s in shape):
                raise ValueError(f"{cls.__name__}(): negative dimension in size {shape}")
            return Tensor._make(np.zeros(shape, dt))
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}() takes sizes as ints, or one sequence of data, got "
                            f"{tuple(type(a).__name__ for a in args)}")
        return Tensor._make(as_array(args[0], dt, copy=True))

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'gradwise.{cls.__name__}'>"


class FloatTensor(metaclass=LegacyTensorType):
    """float32 tensors (see the module docstring)."""

    dtype = np.dtype(np.float32)


class DoubleTensor(metaclass=LegacyTensorType):
    """float64 tensors (see the module docstring)."""

    dtype = np.dtype(np.float64)


class LongTensor(metaclass=LegacyTensorType):
    """int64 tensors (see the module docstring)."""

    dtype = np.dtype(np.int64)


class IntTensor(metaclass=LegacyTensorType):
    """int32 tensors (see the module docstring)."""

    dtype = np.dtype(np.int32)


class BoolTensor(metaclass=LegacyTensorType):
    """bool tensors (see the module docstring)."""

    dtype = np.dtype(np.bool_)
