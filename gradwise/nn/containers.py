"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, cast

from gradwise.errors import ShapeError, format_shape
from gradwise.nn.module import Module


def _children(modules: OrderedDict[str, Module | None]) -> OrderedDict[str, Module]:
    # Module._modules allows None (add_module(name, None)); the containers fill it only through
    # their constructors, append and __setitem__, which take modules, so every entry is a Module.
    return cast("OrderedDict[str, Module]", modules)


class Sequential(Module):
    """Modules applied in order; indexable and sliceable.

    >>> import gradwise as gw
    >>> net = gw.nn.Sequential(gw.nn.Linear(4, 8), gw.nn.ReLU(), gw.nn.Linear(8, 2))
    >>> net(gw.ones(3, 4)).shape, len(net), type(net[1:]).__name__
    ((3, 2), 3, 'Sequential')
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for name, m in _children(self._modules).items():
            try:
                x = m(x)
            except ShapeError as exc:
                # say where in the stack it happened; the audit shows every layer's shapes
                if not getattr(exc, "_gradwise_located", False) and hasattr(exc, "add_note"):
                    shape = format_shape(x.shape) if hasattr(x, "shape") else type(x).__name__
                    exc.add_note(f"in Sequential layer ({name}) {type(m).__name__}, which got input of shape {shape}; "
                                 "gradwise.insight.shapes(model, example_input) lists every layer's shapes")
                    exc._gradwise_located = True  # marker on this instance
                raise
        return x

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        return mods[idx][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(_children(self._modules).values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters the parent registers."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(_children(self._modules).values())
        return ModuleList(mods[idx]) if isinstance(idx, slice) else mods[idx]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(_children(self._modules).values())


class ModuleDict(Module):
    """A dict of modules whose parameters the parent registers."""

    def __init__(self, modules: dict[str, Module] | None = None) -> None:
        super().__init__()
        for k, m in (modules or {}).items():
            self.add_module(k, m)

    def __getitem__(self, key: str) -> Module:
        return _children(self._modules)[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self) -> Any:
        return self._modules.keys()

    def values(self) -> Any:
        return self._modules.values()

    def items(self) -> Any:
        return self._modules.items()
