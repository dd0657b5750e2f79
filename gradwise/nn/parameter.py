"""``Parameter``: a tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.api.creation import as_array
from gradwise.autograd.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` that ``Module`` collects in ``parameters()``.

    Wraps ``data`` without copying when it is already an array or tensor of a float dtype.

    >>> import gradwise as gw
    >>> p = gw.nn.Parameter(gw.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        arr = np.zeros(0, np.float32) if data is None else as_array(data, copy=False)
        self._data = arr
        self.grad = None
        self.grad_fn = None
        self._version = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("gradwise does not pickle tensors; use gradwise.save / state_dict()")
