"""``torch.version`` under the shim: a module object with ``__version__`` (``torch.__version__``),
``cuda = None`` and ``hip = None`` (no GPU build), ``debug = False`` and ``git_version``.

>>> VERSION.cuda is None, VERSION.__version__.startswith("2.0.0+gradwise.")
(True, True)
"""

from __future__ import annotations

import types

from gradwise.torch_compat.catalog import TORCH_API_VERSION
from gradwise.version import __version__


def _make() -> types.ModuleType:
    module = types.ModuleType("torch.version", "torch.version under gradwise run: gradwise's build, no CUDA")
    # as torch.__version__ under the shim
    module.__version__ = f"{TORCH_API_VERSION}+gradwise.{__version__}"  # type: ignore[attr-defined]
    module.cuda = None       # type: ignore[attr-defined]
    module.hip = None        # type: ignore[attr-defined]
    module.debug = False     # type: ignore[attr-defined]
    module.git_version = f"gradwise-{__version__}"  # type: ignore[attr-defined]
    return module


VERSION = _make()
