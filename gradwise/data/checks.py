"""Argument checks shared by the data layer: each raises a :class:`DataError` (or
:class:`DataTypeError`) naming the function, the option and what would be valid."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from gradwise import dtypes
from gradwise.api.creation import resolve_dtype
from gradwise.data.errors import DataError, DataTypeError


def check_int(value: Any, name: str, where: str, low: int) -> int:
    """``value`` must be an int (not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise DataError(f"{where}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def check_nonneg(value: Any, name: str, where: str) -> float:
    """``value`` must be a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise DataError(f"{where}: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def float_dtype(dtype: Any, where: str) -> np.dtype:
    """A float NumPy dtype from ``dtype`` (``None`` means the default float dtype)."""
    dt = resolve_dtype(dtypes.get_default_dtype() if dtype is None else dtype)
    if dt.kind != "f":
        raise DataError(f"{where}: dtype must be a float dtype (gradwise.float32 or gradwise.float64), got {dt.name}")
    return dt


def check_batch_size(batch_size: Any, where: str) -> int:
    """``batch_size`` must be an int >= 1 (not a bool, float or None)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise DataTypeError(f"{where}: batch_size must be a positive int, got {batch_size!r} "
                            f"({type(batch_size).__name__})")
    if batch_size < 1:
        raise DataError(f"{where}: batch_size must be a positive int (>= 1), got {batch_size}")
    return int(batch_size)
