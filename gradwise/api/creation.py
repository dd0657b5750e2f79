"""Tensor creation: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``rand``...

Python floats become float32 (the default dtype), Python ints int64, bools
bool; NumPy arrays keep their dtype, as ``torch.tensor`` does.  Sizes may be
given as ``zeros(2, 3)`` or ``zeros((2, 3))``.  Every function takes PyTorch's
``device=`` keyword: None, ``"cpu"`` or a cpu :class:`~gradwise.devices.device`; an
accelerator (``"cuda"``, ``"mps"``) raises :class:`~gradwise.devices.DeviceError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise import dtypes
from gradwise.api.leaves import leaf, size_arg
from gradwise.api.random import Generator, resolve
from gradwise.autograd.tensor import Tensor, as_array
from gradwise.devices import resolve_device
from gradwise.dtypes import resolve_dtype


def _device(device: Any, name: str) -> None:
    """Accept None or the CPU (a string or a device); DeviceError for an accelerator."""
    if device is not None:
        resolve_device(device, f"{name}(device=...)")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    >>> import gradwise as gw
    >>> gw.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device="cpu").shape
    (2, 2)
    """
    _device(device, "tensor")
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like :func:`tensor` but shares memory with a NumPy array when no cast is needed."""
    _device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or resolve_dtype(dtype) == data.dtype):
        return data
    return Tensor._make(as_array(data, dtype, copy=False))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (its dtype is kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor._make(array)


def _float_dtype(dtype: Any) -> np.dtype:
    return dtypes.get_default_dtype() if dtype is None else resolve_dtype(dtype)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros. ``gw.zeros(2, 3)`` or ``gw.zeros((2, 3))``."""
    _device(device, "zeros")
    return leaf(np.zeros(size_arg(size, "zeros"), _float_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones. ``gw.ones(3)``."""
    _device(device, "ones")
    return leaf(np.ones(size_arg(size, "ones"), _float_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (NumPy ``empty``)."""
    _device(device, "empty")
    return leaf(np.empty(size_arg(size, "empty"), _float_dtype(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False, *,
         device: Any = None) -> Tensor:
    """A tensor filled with ``fill_value``; dtype follows the value when not given."""
    _device(device, "full")
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, bool) else (
            np.int64 if isinstance(fill_value, int) else dtypes.get_default_dtype())
    return leaf(np.full(size_arg((size,), "full"), fill_value, resolve_dtype(dtype)), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """Values in ``[start, end)`` spaced by ``step``; int64 for int arguments, else float32.

    >>> import gradwise as gw
    >>> gw.arange(4).tolist()
    [0, 1, 2, 3]
    """
    _device(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else dtypes.get_default_dtype()
    return leaf(np.arange(start, end, step, dtype=resolve_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    _device(device, "linspace")
    return leaf(np.linspace(start, end, int(steps), dtype=_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False, *,
        device: Any = None) -> Tensor:
    """The ``n x m`` identity matrix."""
    _device(device, "eye")
    return leaf(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def rand(*size: Any, generator: Generator | None = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples on ``[0, 1)``."""
    _device(device, "rand")
    dt = _float_dtype(dtype)
    arr = resolve(generator).random(size_arg(size, "rand"), dtype=np.float64).astype(dt, copy=False)
    return leaf(arr, requires_grad)


def randn(*size: Any, generator: Generator | None = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    _device(device, "randn")
    dt = _float_dtype(dtype)
    arr = resolve(generator).standard_normal(size_arg(size, "randn")).astype(dt, copy=False)
    return leaf(arr, requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), generator: Generator | None = None,
            dtype: Any = None, *, device: Any = None) -> Tensor:
    """Integers in ``[low, high)`` (``randint(high, size=...)`` means ``low=0``)."""
    _device(device, "randint")
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint(): need low < high, got low={low}, high={high}")
    dt = np.dtype(np.int64) if dtype is None else resolve_dtype(dtype)
    # NumPy draws integers only into integer dtypes; a float dtype gets float copies of them, as in PyTorch
    draw_dt = dt if dt.kind in "iu" else np.dtype(np.int64)
    values = resolve(generator).integers(low, high, size_arg((size,), "randint"), dtype=draw_dt)
    return Tensor._make(values if draw_dt is dt else values.astype(dt))


def randperm(n: int, generator: Generator | None = None, *, device: Any = None) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    _device(device, "randperm")
    return Tensor._make(resolve(generator).permutation(int(n)).astype(np.int64))


def _like(t: Any, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    shape = tuple(np.shape(t))
    return shape, (resolve_dtype(dtype) if dtype is not None else np.asarray(t).dtype)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    _device(device, "zeros_like")
    shape, dt = _like(t, dtype)
    return leaf(np.zeros(shape, dt), requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    _device(device, "ones_like")
    shape, dt = _like(t, dtype)
    return leaf(np.ones(shape, dt), requires_grad)


def empty_like(t: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    _device(device, "empty_like")
    shape, dt = _like(t, dtype)
    return leaf(np.empty(shape, dt), requires_grad)


def full_like(t: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False, *,
              device: Any = None) -> Tensor:
    _device(device, "full_like")
    shape, dt = _like(t, dtype)
    return leaf(np.full(shape, fill_value, dt), requires_grad)


def rand_like(t: Any, generator: Generator | None = None, dtype: Any = None,
              requires_grad: bool = False, *, device: Any = None) -> Tensor:
    _device(device, "rand_like")
    shape, dt = _like(t, dtype)
    return rand(shape, generator=generator, dtype=dt, requires_grad=requires_grad)


def randn_like(t: Any, generator: Generator | None = None, dtype: Any = None,
               requires_grad: bool = False, *, device: Any = None) -> Tensor:
    _device(device, "randn_like")
    shape, dt = _like(t, dtype)
    return randn(shape, generator=generator, dtype=dt, requires_grad=requires_grad)


def randint_like(t: Any, low: int, high: int | None = None,
                 generator: Generator | None = None, dtype: Any = None, *, device: Any = None) -> Tensor:
    _device(device, "randint_like")
    shape, dt = _like(t, dtype if dtype is not None else np.int64)
    return randint(low, high, shape, generator=generator, dtype=dt)
