"""What every creation and sampling function does with its result and its size arguments.

>>> leaf(np.zeros(2), requires_grad=True).requires_grad, size_arg(((2, 3),), "zeros")
(True, (2, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.ops.dims import shape_arg


def size_arg(size: tuple[Any, ...], name: str) -> tuple[int, ...]:
    """``(2, 3)`` from ``f(2, 3)`` or ``f((2, 3))``; the error names ``name``."""
    try:
        out = shape_arg(size)
    except TypeError:
        raise TypeError(f"{name}(): size must be ints or one tuple of ints, got {size!r}") from None
    if any(s < 0 for s in out):
        raise ValueError(f"{name}(): negative dimension in size {out}")
    return out


def leaf(arr: np.ndarray, requires_grad: bool) -> Tensor:
    """A new leaf tensor holding ``arr`` (no copy), requiring grad if asked."""
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t

