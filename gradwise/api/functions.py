"""The public functions bound from the op table and the composites (``gradwise.sigmoid``,
``gradwise.matmul``, ``gradwise.conv2d``, ``gradwise.max``...).

:func:`gradwise.api.bind.bind_all` makes them; importing this module binds them once.
Their names and signatures are declared in ``functions.pyi`` beside this file, generated
from the same table (``python -m gradwise.api.stubs``).

>>> import gradwise as gw
>>> gw.sigmoid(gw.zeros(2)).tolist()
[0.5, 0.5]
"""

from __future__ import annotations

from typing import Any

from gradwise.api.bind import bind_all

FUNCTIONS: dict[str, Any] = bind_all()
globals().update(FUNCTIONS)
__all__ = sorted(FUNCTIONS)
