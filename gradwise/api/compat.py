"""PyTorch's everyday names that are one or two ops away: ``mm``/``bmm``/``t``, the ``*_as``
shape methods, ``new_*``, ``repeat_interleave``, ``meshgrid`` and the comparisons
``allclose``/``isclose``/``equal``, plus ``is_tensor``/``is_floating_point``.

The differentiable ones are built from ops of the table (``matmul``, ``permute``,
``reshape``, ``expand``, ``index_select``), so they need no rule of their own.  The
``new_*`` methods make new leaves with this tensor's dtype; ``device=`` takes the CPU only
(:func:`gradwise.devices.resolve_device`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.api.leaves import leaf, size_arg
from gradwise.autograd.function import call
from gradwise.autograd.tensor import Tensor, as_array
from gradwise.devices import resolve_device
from gradwise.dtypes import require_same_dtype, resolve_dtype
from gradwise.errors import DtypeError, ShapeError, format_shape
from gradwise.ops.dims import normalize_dim
from gradwise.ops.registry import REGISTRY


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# ------------------------------------------------------------------ matrix products
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors (``matmul`` without broadcasting).

    >>> import gradwise as gw
    >>> gw.mm(gw.ones(2, 3), gw.ones(3, 4)).shape
    (2, 4)
    """
    a, b = _as_tensor(input), _as_tensor(mat2)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: both operands must be matrices (2-D), got shapes {format_shape(a.shape)} "
                         f"and {format_shape(b.shape)}; use matmul or bmm for batches")
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                         f"{b.shape[0]}x{b.shape[1]})")
    require_same_dtype("mm", ("self", "mat2"), a, b)
    return call(REGISTRY["matmul"], a, b)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product: ``(b, n, m) @ (b, m, p) -> (b, n, p)``, no broadcasting.

    >>> import gradwise as gw
    >>> gw.bmm(gw.ones(5, 2, 3), gw.ones(5, 3, 4)).shape
    (5, 2, 4)
    """
    a, b = _as_tensor(input), _as_tensor(mat2)
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: both operands must be 3-D batches of matrices, got shapes "
                         f"{format_shape(a.shape)} and {format_shape(b.shape)}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ShapeError(f"bmm: expected mat2 of shape ({a.shape[0]}, {a.shape[2]}, p) for input "
                         f"{format_shape(a.shape)}, got {format_shape(b.shape)}")
    require_same_dtype("bmm", ("self", "mat2"), a, b)
    return call(REGISTRY["matmul"], a, b)


def t(input: Tensor) -> Tensor:
    """Transpose a matrix; a 0-d or 1-D tensor comes back as it is (a view), as in PyTorch.

    >>> import gradwise as gw
    >>> gw.ones(2, 3).t().shape
    (3, 2)
    """
    x = _as_tensor(input)
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with at most 2 dimensions, got shape {format_shape(x.shape)}; "
                         "use transpose(dim0, dim1) or mT")
    return call(REGISTRY["permute"], x, tuple(range(x.ndim))[::-1])


# -------------------------------------------------------------- shapes of another tensor
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.shape)``."""
    return call(REGISTRY["reshape"], input, tuple(_as_tensor(other).shape))


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.reshape(other.shape)``."""
    return call(REGISTRY["reshape"], input, tuple(_as_tensor(other).shape))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.shape)``: a broadcast view.

    >>> import gradwise as gw
    >>> gw.ones(3, 1).expand_as(gw.ones(2, 3, 4)).shape
    (2, 3, 4)
    """
    return call(REGISTRY["expand"], input, tuple(_as_tensor(other).shape))


# ---------------------------------------------------------------------------- new_*
def _new_dtype(self: Tensor, dtype: Any, device: Any, name: str) -> np.dtype:
    resolve_device(device, f"{name}(device=...)")
    return self._data.dtype if dtype is None else resolve_dtype(dtype)


def new_zeros(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """Zeros of ``size`` with this tensor's dtype (unless ``dtype``).

    >>> import gradwise as gw
    >>> gw.arange(3).new_zeros(2, 2).tolist()
    [[0, 0], [0, 0]]
    """
    dt = _new_dtype(self, dtype, device, "new_zeros")
    return leaf(np.zeros(size_arg(size, "new_zeros"), dt), requires_grad)


def new_ones(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """Ones of ``size`` with this tensor's dtype (unless ``dtype``)."""
    dt = _new_dtype(self, dtype, device, "new_ones")
    return leaf(np.ones(size_arg(size, "new_ones"), dt), requires_grad)


def new_empty(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` with this tensor's dtype (unless ``dtype``)."""
    dt = _new_dtype(self, dtype, device, "new_empty")
    return leaf(np.empty(size_arg(size, "new_empty"), dt), requires_grad)


def new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere in ``size``, with this tensor's dtype (unless ``dtype``; the
    value is cast to it, as in PyTorch: ``arange(3).new_full((2,), 7.5)`` holds 7s)."""
    dt = _new_dtype(self, dtype, device, "new_full")
    value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    return leaf(np.full(size_arg((size,), "new_full"), value).astype(dt, copy=False), requires_grad)


def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    """A new leaf holding a copy of ``data``, with this tensor's dtype (unless ``dtype``).

    >>> import gradwise as gw
    >>> gw.ones(2).new_tensor([1, 2])
    tensor([1., 2.])
    """
    dt = _new_dtype(self, dtype, device, "new_tensor")
    return leaf(as_array(data, dt, copy=True), requires_grad)


# ----------------------------------------------------------------- repeat_interleave
def repeat_interleave(input: Any, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element along ``dim``);
    without ``dim`` the flattened input.  ``repeat_interleave(counts)`` alone gives
    ``0, 1, ...`` each repeated ``counts[i]`` times.  Differentiable (an ``index_select``).

    >>> import gradwise as gw
    >>> gw.tensor([1, 2]).repeat_interleave(2).tolist()
    [1, 1, 2, 2]
    >>> gw.tensor([[1, 2], [3, 4]]).repeat_interleave(gw.tensor([1, 2]), dim=0).tolist()
    [[1, 2], [3, 4], [3, 4]]
    """
    if repeats is None:   # repeat_interleave(repeats): the indices, each repeated
        counts = _counts(input, None, "repeat_interleave")
        out = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
        _check_output_size(out.shape[0], output_size)
        return Tensor._make(out)
    x = _as_tensor(input)
    if dim is None:
        x = call(REGISTRY["reshape"], x, (-1,))
        d = 0
    else:
        d = normalize_dim(dim, x.ndim, "repeat_interleave")
        if x.ndim == 0:
            x = call(REGISTRY["reshape"], x, (1,))
    n = x.shape[d]
    counts = _counts(repeats, n, "repeat_interleave")
    index = np.repeat(np.arange(n, dtype=np.int64), counts)
    _check_output_size(index.shape[0], output_size)
    return call(REGISTRY["index_select"], x, d, index)


def _counts(repeats: Any, n: int | None, op: str) -> np.ndarray:
    r = np.asarray(repeats._data if isinstance(repeats, Tensor) else repeats)
    if r.dtype.kind not in "iu":
        raise DtypeError(f"{op}: repeats must be integers, got {r.dtype.name}")
    if r.ndim > 1:
        raise ShapeError(f"{op}: repeats must be an int or a 1-D tensor, got shape {format_shape(r.shape)}")
    if (r < 0).any():
        raise ValueError(f"{op}: repeats must be non-negative, got {r.tolist()}")
    if n is None:
        return r.reshape(-1)
    if r.size == 1:
        return np.full(n, int(r.reshape(())), dtype=np.int64)
    if r.shape[0] != n:
        raise ShapeError(f"{op}: repeats must have one count per element along dim ({n}), got {r.shape[0]}")
    return r


def _check_output_size(size: int, output_size: int | None) -> None:
    if output_size is not None and int(output_size) != size:
        raise ValueError(f"repeat_interleave: output_size={output_size} but the repeats add up to {size}")


# --------------------------------------------------------------------------- meshgrid
def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors: ``indexing="ij"`` (the default, matrix indexing:
    output shape ``(len(t0), len(t1), ...)``) or ``"xy"`` (Cartesian: the first two swapped).
    Each output is a broadcast view of its input (differentiable).

    >>> import gradwise as gw
    >>> x, y = gw.meshgrid(gw.tensor([1, 2]), gw.tensor([3, 4, 5]), indexing="ij")
    >>> x.shape, y.tolist()
    ((2, 3), [[3, 4, 5], [3, 4, 5]])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f'meshgrid: indexing must be one of "xy" or "ij", got {indexing!r}')
    ts = [_as_tensor(x) for x in tensors]
    if not ts:
        raise ValueError("meshgrid: expects at least one tensor")
    for i, x in enumerate(ts):
        if x.ndim > 1:
            raise ShapeError(f"meshgrid: expects 0-D or 1-D tensors, tensor {i} has shape {format_shape(x.shape)}")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(x.numel() for x in ts)
    out = []
    for i, x in enumerate(ts):
        view = tuple(-1 if j == i else 1 for j in range(len(ts)))
        grid = call(REGISTRY["expand"], call(REGISTRY["reshape"], x, view), shape)
        out.append(grid)
    if swap:   # "xy": the grids of (t1, t0, ...) with the first two handed back in order
        out[0], out[1] = out[1], out[0]
    return tuple(out)


# ---------------------------------------------------------------------- comparisons
def _arrays(input: Any, other: Any) -> tuple[np.ndarray, np.ndarray]:
    a = input._data if isinstance(input, Tensor) else np.asarray(input)
    b = other._data if isinstance(other, Tensor) else np.asarray(other)
    return a, b


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (broadcasting), a bool tensor.

    >>> import gradwise as gw
    >>> gw.isclose(gw.tensor([1.0, 2.0]), gw.tensor([1.0, 2.1])).tolist()
    [True, False]
    """
    a, b = _arrays(input, other)
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        return Tensor._make(np.asarray(a == b))
    return Tensor._make(np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when :func:`isclose` holds everywhere (the shapes must broadcast).

    >>> import gradwise as gw
    >>> gw.allclose(gw.tensor([1.0, 2.0]), gw.tensor([1.0, 2.000001]))
    True
    """
    a, b = _arrays(input, other)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"allclose: shapes {format_shape(a.shape)} and {format_shape(b.shape)} "
                         "do not broadcast") from None
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Any, other: Any) -> bool:
    """True when both have the same shape and the same values (NaN is never equal; dtypes
    may differ: ``equal(tensor([1, 2]), tensor([1.0, 2.0]))`` is True, as in PyTorch).

    >>> import gradwise as gw
    >>> gw.equal(gw.tensor([1, 2]), gw.tensor([1, 2])), gw.equal(gw.ones(2, 1), gw.ones(2))
    (True, False)
    """
    a, b = _arrays(input, other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def is_tensor(obj: Any) -> bool:
    """True for a gradwise Tensor (Parameters included)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """True for a float16/32/64 tensor (PyTorch's ``torch.is_floating_point``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_floating_point(): argument 'input' must be a Tensor, not {type(input).__name__}")
    return input.is_floating_point()


# public functions of this module; METHODS: those also bound as Tensor methods (by gradwise.api.bind)
FUNCTIONS = {
    "mm": mm, "bmm": bmm, "t": t, "view_as": view_as, "reshape_as": reshape_as, "expand_as": expand_as,
    "new_zeros": new_zeros, "new_ones": new_ones, "new_empty": new_empty, "new_full": new_full,
    "new_tensor": new_tensor, "repeat_interleave": repeat_interleave, "meshgrid": meshgrid,
    "isclose": isclose, "allclose": allclose, "equal": equal, "is_tensor": is_tensor,
    "is_floating_point": is_floating_point,
}
METHODS = ("mm", "bmm", "t", "view_as", "reshape_as", "expand_as", "new_zeros", "new_ones", "new_empty",
           "new_full", "new_tensor", "repeat_interleave", "isclose", "allclose", "equal")
