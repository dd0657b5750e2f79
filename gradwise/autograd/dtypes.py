"""Dtypes under PyTorch's names (they are NumPy dtypes)."""

from __future__ import annotations

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # noqa: A001  (PyTorch's name)
float64 = double = np.dtype(np.float64)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # noqa: A001
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)  # noqa: A001

_DEFAULT = [float32]


def get_default_dtype() -> np.dtype:
    """The float dtype that Python floats become (float32 unless changed)."""
    return _DEFAULT[0]


def set_default_dtype(dtype: np.dtype | str | type) -> None:
    """Make Python floats become ``dtype`` (float32 or float64)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: only float dtypes are allowed, got {dt.name}")
    _DEFAULT[0] = dt
