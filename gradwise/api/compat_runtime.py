"""PyTorch's runtime names: NaN/Inf tests, ``numel``, one-sided clamps, thread counts,
``finfo``/``iinfo`` and the ``dtype`` type.

The tests (``isnan``, ``isinf``, ``isfinite``, ``isposinf``, ``isneginf``, ``isreal``) return
bool tensors without history (they have no gradient, as in PyTorch).  ``clamp_min``/
``clamp_max`` are ``clamp`` with one bound, so their gradient is clamp's (1 inside, 0 where
clipped).  ``set_num_threads``/``get_num_threads`` act on the BLAS and OpenMP thread pools
NumPy uses, through ``threadpoolctl`` (a dependency of scikit-learn); without it they warn
that the thread count cannot be changed.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import get_default_dtype, resolve_dtype
from gradwise.errors import DtypeError

# torch.dtype: gradwise's dtypes are NumPy dtypes (gw.float32 is np.dtype("float32"))
dtype = np.dtype


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _mask(x: Any, values: np.ndarray) -> Tensor:
    return Tensor._make(np.asarray(values, dtype=bool))


def isnan(input: Tensor) -> Tensor:
    """Elementwise ``x != x`` (a bool tensor of the same shape).

    >>> import gradwise as gw
    >>> gw.isnan(gw.tensor([1.0, float("nan")])).tolist()
    [False, True]
    """
    return _mask(input, np.isnan(_as_tensor(input)._data))


def isinf(input: Tensor) -> Tensor:
    """Elementwise: is ``+inf`` or ``-inf``.

    >>> import gradwise as gw
    >>> gw.isinf(gw.tensor([1.0, float("inf"), -float("inf")])).tolist()
    [False, True, True]
    """
    return _mask(input, np.isinf(_as_tensor(input)._data))


def isfinite(input: Tensor) -> Tensor:
    """Elementwise: neither NaN nor infinite.

    >>> import gradwise as gw
    >>> gw.isfinite(gw.tensor([1.0, float("nan"), float("inf")])).tolist()
    [True, False, False]
    """
    return _mask(input, np.isfinite(_as_tensor(input)._data))


def _real_only(name: str, x: Tensor) -> np.ndarray:
    if x._data.dtype.kind == "c":
        raise DtypeError(f"{name}: complex inputs are not supported (got {x._data.dtype}), as in PyTorch; "
                         "test the real and imaginary parts")
    return x._data


def isposinf(input: Tensor) -> Tensor:
    """Elementwise: is ``+inf`` (real tensors only).

    >>> import gradwise as gw
    >>> gw.isposinf(gw.tensor([1.0, float("inf"), -float("inf")])).tolist()
    [False, True, False]
    """
    return _mask(input, np.isposinf(_real_only("isposinf", _as_tensor(input))))


def isneginf(input: Tensor) -> Tensor:
    """Elementwise: is ``-inf`` (real tensors only).

    >>> import gradwise as gw
    >>> gw.isneginf(gw.tensor([1.0, float("inf"), -float("inf")])).tolist()
    [False, False, True]
    """
    return _mask(input, np.isneginf(_real_only("isneginf", _as_tensor(input))))


def isreal(input: Tensor) -> Tensor:
    """Elementwise: the imaginary part is 0 (always True for a real tensor).

    >>> import gradwise as gw
    >>> gw.isreal(gw.tensor([1.0, 2.0])).tolist()
    [True, True]
    """
    return _mask(input, np.isreal(_as_tensor(input)._data))


def numel(input: Tensor) -> int:
    """The number of elements (the product of the shape).

    >>> import gradwise as gw
    >>> gw.numel(gw.zeros(2, 3))
    6
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): input must be a Tensor, got {type(input).__name__}")
    return int(input._data.size)


def clamp_min(input: Tensor, min: Any) -> Tensor:
    """``clamp(input, min=min)``: values below ``min`` become ``min`` (gradient 0 there).

    >>> import gradwise as gw
    >>> gw.clamp_min(gw.tensor([-1.0, 2.0]), 0.0).tolist()
    [0.0, 2.0]
    """
    return _as_tensor(input).clamp(min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    """``clamp(input, max=max)``: values above ``max`` become ``max`` (gradient 0 there).

    >>> import gradwise as gw
    >>> gw.clamp_max(gw.tensor([-1.0, 2.0]), 1.0).tolist()
    [-1.0, 1.0]
    """
    return _as_tensor(input).clamp(max=max)


def clamp_min_(input: Tensor, min: Any) -> Tensor:
    """In-place :func:`clamp_min`."""
    return input.clamp_(min=min)


def clamp_max_(input: Tensor, max: Any) -> Tensor:
    """In-place :func:`clamp_max`."""
    return input.clamp_(max=max)


def set_num_threads(num: int) -> None:
    """Limit the BLAS/OpenMP thread pools NumPy computes with to ``num`` threads (process-wide).

    Uses ``threadpoolctl`` (installed with scikit-learn); without it a ``RuntimeWarning``
    says that the count is left unchanged.

    >>> import gradwise as gw
    >>> before = gw.get_num_threads()
    >>> gw.set_num_threads(1)
    >>> gw.set_num_threads(before)
    """
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"set_num_threads: the number of threads must be an int >= 1, got {num!r}")
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:
        warnings.warn("set_num_threads: threadpoolctl is not installed, so NumPy's BLAS thread count is left "
                      "unchanged; pip install threadpoolctl (or set OMP_NUM_THREADS before starting Python)",
                      RuntimeWarning, stacklevel=2)
        return
    threadpool_limits(limits=num)


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses (the largest pool; ``os.cpu_count()`` when unknown).

    >>> import gradwise as gw
    >>> gw.get_num_threads() >= 1
    True
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    counts = [int(p["num_threads"]) for p in threadpool_info()]
    return max(counts) if counts else 1


class finfo:  # noqa: N801  (PyTorch's name)
    """Machine limits of a floating dtype: ``eps``, ``max``, ``min``, ``tiny``, ``bits``, ``resolution``.

    ``finfo()`` describes the default dtype.

    >>> import gradwise as gw
    >>> gw.finfo(gw.float32).eps == 2.0 ** -23, gw.finfo(gw.float64).bits
    (True, 64)
    """

    def __init__(self, type: Any = None) -> None:
        dt = get_default_dtype() if type is None else resolve_dtype(type)
        if dt.kind not in "fc":
            raise DtypeError(f"finfo: {dt} is not a floating dtype; use gradwise.iinfo for integers")
        info = np.finfo(dt)
        self.dtype = dt
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = float(info.resolution)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, "
                f"smallest_normal={self.tiny}, tiny={self.tiny}, dtype={self.dtype})")


class iinfo:  # noqa: N801  (PyTorch's name)
    """Limits of an integer (or bool) dtype: ``bits``, ``max``, ``min``.

    >>> import gradwise as gw
    >>> gw.iinfo(gw.int8).max, gw.iinfo(gw.int8).min, gw.iinfo(gw.int64).bits
    (127, -128, 64)
    """

    def __init__(self, type: Any) -> None:
        dt = resolve_dtype(type)
        if dt.kind == "b":
            self.dtype, self.bits, self.min, self.max = dt, 8, 0, 1
            return
        if dt.kind not in "iu":
            raise DtypeError(f"iinfo: {dt} is not an integer dtype; use gradwise.finfo for floating dtypes")
        info = np.iinfo(dt)
        self.dtype, self.bits, self.min, self.max = dt, int(info.bits), int(info.min), int(info.max)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


# public functions of this module; METHODS: those also bound as Tensor methods (by gradwise.api.bind)
FUNCTIONS = {"isnan": isnan, "isinf": isinf, "isfinite": isfinite, "isposinf": isposinf, "isneginf": isneginf,
             "isreal": isreal, "numel": numel, "clamp_min": clamp_min, "clamp_max": clamp_max,
             "clamp_min_": clamp_min_, "clamp_max_": clamp_max_, "set_num_threads": set_num_threads,
             "get_num_threads": get_num_threads}
METHODS = ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal", "clamp_min", "clamp_max",
           "clamp_min_", "clamp_max_")
