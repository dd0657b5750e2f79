"""The two backends a gradient rule runs on (see :mod:`gradwise.ops.registry`).

``array_backend()``: ``b.<op>`` is the op's raw NumPy forward, for the ordinary
first-order backward.  ``tensor_backend()``: ``b.<op>`` applies the recorded op
to Tensors, for ``create_graph=True``.  Both are built once, from the table,
so a rule can call any op by name with its canonical attributes.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from gradwise.ops.registry import REGISTRY

_CACHE: dict[str, Any] = {}


def array_backend() -> Any:
    """Namespace mapping every op name to its NumPy forward."""
    b = _CACHE.get("array")
    if b is None or len(vars(b)) != len(REGISTRY):
        b = SimpleNamespace(**{name: op.forward for name, op in REGISTRY.items()})
        _CACHE["array"] = b
    return b


def tensor_backend() -> Any:
    """Namespace mapping every op name to the recorded op on Tensors."""
    b = _CACHE.get("tensor")
    if b is None or len(vars(b)) != len(REGISTRY):
        from gradwise.autograd.function import apply

        b = SimpleNamespace(**{name: functools.partial(apply, op) for name, op in REGISTRY.items()})
        _CACHE["tensor"] = b
    return b
