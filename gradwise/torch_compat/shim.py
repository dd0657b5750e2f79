"""``import torch`` resolved to gradwise: a meta-path finder, installed only for one run.

Each torch module in :data:`~gradwise.torch_compat.catalog.SHIM_MODULES` becomes a thin
:class:`TorchShimModule` that forwards attribute reads to its gradwise module.  A name
gradwise lacks raises :class:`UnsupportedTorchAttributeError` (an ``AttributeError``, so
``hasattr(torch, "compile")`` is simply False) naming the torch API and the section of
``docs/pytorch_compatibility.md`` about it; importing a torch module outside the table raises
:class:`UnsupportedTorchModuleError` (an ``ImportError``).  :func:`torch_shim` installs the finder
and, on leaving, removes it and puts ``sys.modules`` back as it was.

>>> import sys
>>> with torch_shim():
...     import torch
...     import torch.nn.functional as F
...     y = F.relu(torch.tensor([-1.0, 2.0]))
...     supported = hasattr(torch.nn, "TransformerDecoderLayer")
>>> y.tolist(), supported, isinstance(sys.modules.get("torch"), TorchShimModule)
([0.0, 2.0], False, False)
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gradwise.errors import GradwiseError
from gradwise.torch_compat.catalog import ALIASES, SHIM_MODULES, SISTER_PACKAGES, doc_link, reason_for


class UnsupportedTorchError(GradwiseError):
    """A torch name or module that gradwise does not provide; ``torch_name`` names it."""

    def __init__(self, torch_name: str, detail: str | None = None) -> None:
        self.torch_name = torch_name
        why = detail or reason_for(torch_name)
        super().__init__(f"{torch_name} is not supported in gradwise" + (f" ({why})" if why else "")
                         + f"; see {doc_link(torch_name)}")


class UnsupportedTorchAttributeError(UnsupportedTorchError, AttributeError):
    """``torch.<name>`` that gradwise lacks (an AttributeError: ``hasattr`` gives False)."""


class UnsupportedTorchModuleError(UnsupportedTorchError, ImportError):
    """``import torch.<module>`` for a module gradwise does not stand in for.

    Deliberately not a ``ModuleNotFoundError``: ``from torch.nn import Missing`` must end
    with this message, not with the import system's generic "cannot import name" (which is also
    why ``from torch.nn import Missing`` arrives here, and links to the section of torch.nn)."""


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


class TorchShimModule(types.ModuleType):
    """A torch module that forwards attribute reads to a gradwise module (``target``).

    Submodules in the shim table come back as shims too, so ``torch.nn.functional`` read as an
    attribute is checked like ``import torch.nn.functional``.  Assigning a name the gradwise
    module already has (``torch.backends.cudnn.benchmark = True``) sets it there; the finder
    undoes such assignments when the run ends.
    """

    def __init__(self, name: str, target: types.ModuleType | None, finder: TorchFinder) -> None:
        super().__init__(name)
        self.__dict__["_gw_target"] = target
        self.__dict__["_gw_finder"] = finder
        self.__dict__["__path__"] = []      # a package: `import torch.nn` goes through the finder

    def __getattr__(self, name: str) -> Any:
        if _is_dunder(name):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        child = f"{self.__name__}.{name}"
        if child in SHIM_MODULES:
            return importlib.import_module(child)
        if child in ALIASES:
            module, _, attr = ALIASES[child].partition(":")
            return getattr(importlib.import_module(module), attr)
        target = self.__dict__["_gw_target"]
        if target is not None:
            try:
                value = getattr(target, name)
            except AttributeError:
                pass
            else:
                # a gradwise module outside the table (gradwise.distributed, gradwise.data...) is
                # not the torch module of that name
                if not isinstance(value, types.ModuleType):
                    return value
        raise UnsupportedTorchAttributeError(child)

    def __setattr__(self, name: str, value: Any) -> None:
        target = self.__dict__.get("_gw_target")
        if (target is not None and not _is_dunder(name) and not isinstance(value, types.ModuleType)
                and hasattr(target, name)):
            self.__dict__["_gw_finder"].remember(target, name)
            setattr(target, name, value)
            return
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        target = self.__dict__["_gw_target"]
        own = set(self.__dict__) | ({n for n in dir(target) if not n.startswith("_")} if target else set())
        prefix = self.__name__ + "."
        own |= {m[len(prefix):] for m in SHIM_MODULES if m.startswith(prefix) and "." not in m[len(prefix):]}
        return sorted(own)

    def __repr__(self) -> str:
        target = self.__dict__["_gw_target"]
        return f"<module {self.__name__!r} (gradwise: {target.__name__ if target else 'namespace'})>"


def _handled(fullname: str) -> bool:
    top = fullname.partition(".")[0]
    return top == "torch" or top in SISTER_PACKAGES


class TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads the ``torch`` shim modules; ``overrides`` replace names of a shim
    (``{"torch": {"save": ..., "load": ...}}``)."""

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self.overrides = overrides or {}
        self._assigned: list[tuple[types.ModuleType, str, Any]] = []

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not _handled(fullname):
            return None
        top = fullname.partition(".")[0]
        if top in SISTER_PACKAGES:
            raise UnsupportedTorchModuleError(fullname, f"gradwise stands in for torch only; {SISTER_PACKAGES[top]}")
        if fullname not in SHIM_MODULES:
            raise UnsupportedTorchModuleError(fullname)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        target_name = SHIM_MODULES[spec.name]
        target = None
        if target_name is not None:
            try:
                target = importlib.import_module(target_name)
            except ImportError:     # a table entry whose gradwise module this version lacks
                raise UnsupportedTorchModuleError(spec.name) from None
        module = TorchShimModule(spec.name, target, self)
        module.__dict__.update(self.overrides.get(spec.name, {}))
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: a shim only forwards."""

    def remember(self, target: types.ModuleType, name: str) -> None:
        """Note the value ``target.name`` had before a script assigned it (undone by :meth:`undo`)."""
        self._assigned.append((target, name, getattr(target, name)))

    def undo(self) -> None:
        """Put back every gradwise module attribute a script assigned through a shim."""
        for target, name, old in reversed(self._assigned):
            setattr(target, name, old)
        self._assigned.clear()


def _torch_entries() -> dict[str, types.ModuleType]:
    return {k: v for k, v in sys.modules.items() if _handled(k)}


@contextmanager
def torch_shim(overrides: dict[str, dict[str, Any]] | None = None) -> Iterator[TorchFinder]:
    """Within the block, ``import torch`` (and its submodules in the shim table) gives gradwise.

    Any real torch modules already imported are set aside and restored afterwards; the shim
    modules are dropped from ``sys.modules``.
    """
    finder = TorchFinder(overrides)
    saved = _torch_entries()
    for name in saved:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)
    try:
        yield finder
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for name in _torch_entries():
            del sys.modules[name]
        sys.modules.update(saved)
        finder.undo()


def patched(owner: Any, name: str, make: Callable[[Any], Any]) -> Callable[[], None]:
    """Replace ``owner.name`` by ``make(original)``; returns the function that restores it."""
    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, make(original))

    def restore() -> None:
        setattr(owner, name, original)
    return restore
