"""``gradwise.compile``: a training step traced once and replayed as flat NumPy (docs/compile.md).

The package is itself callable, so ``gw.compile(step)`` and ``@gw.compile`` work although
importing ``gradwise.compile`` binds the package as the attribute ``gradwise.compile``:

>>> import gradwise as gw
>>> callable(gw.compile), gw.compile.CompileWarning.__name__
(True, 'CompileWarning')
"""

import sys as _sys
import types as _types
from typing import Any as _Any

from gradwise.compile.compiled import CompiledFunction, CompileError, CompileWarning, compile  # noqa: A004 - torch.compile's name


class _CallableModule(_types.ModuleType):
    """``gradwise.compile(...)`` calls :func:`gradwise.compile.compiled.compile`."""

    def __call__(self, fn: _Any = None, **kwargs: _Any) -> _Any:
        return compile(fn, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule

__all__ = ["CompileError", "CompileWarning", "CompiledFunction", "compile"]
