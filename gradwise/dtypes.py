"""Dtypes under PyTorch's names (they are NumPy dtypes)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from gradwise.errors import DtypeError

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

_DEFAULT: list[np.dtype] = [float32]


def get_default_dtype() -> np.dtype:
    """The float dtype that Python floats become (float32 unless changed)."""
    return _DEFAULT[0]


def set_default_dtype(dtype: np.dtype | str | type) -> None:
    """Make Python floats become ``dtype`` (float32 or float64)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: only float dtypes are allowed, got {dt.name}")
    _DEFAULT[0] = dt


_NAMES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
          "int": "int32", "short": "int16", "bool": "bool"}


def resolve_dtype(dtype: Any) -> np.dtype:
    """A NumPy dtype from ``gradwise.float64``, ``"float64"``, ``np.float64`` or ``float``."""
    if isinstance(dtype, str):
        dtype = _NAMES.get(dtype, dtype)
    if dtype is builtins.float:   # the Python type (this module's `float` is float32)
        return get_default_dtype()
    try:
        return np.dtype(dtype)
    except TypeError:
        raise DtypeError(f"unknown dtype {dtype!r}; use e.g. gradwise.float32, gradwise.float64, "
                         "gradwise.int64 or gradwise.bool") from None
