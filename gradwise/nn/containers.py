"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``
(PyTorch's, with its keys, so ``state_dict`` names match)."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, cast

from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.nn.module import Module, _addindent
from gradwise.nn.parameter import Parameter


def _children(modules: OrderedDict[str, Module | None]) -> OrderedDict[str, Module]:
    # Module._modules allows None (add_module(name, None)); the containers fill it only through
    # their constructors, append and __setitem__, which take modules, so every entry is a Module.
    return cast("OrderedDict[str, Module]", modules)


class _ModuleSequence(Module):
    """What ``Sequential`` and ``ModuleList`` share: children keyed ``"0"``, ``"1"``..., renumbered
    after a deletion, as in PyTorch."""

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        for key in keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(keys))]]:
            delattr(self, key)
        _renumber(self)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(_children(self._modules).values())

    def pop(self, key: int | slice) -> Any:
        v = self[key]                           # type: ignore[index]
        del self[key]
        return v


class Sequential(_ModuleSequence):
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
            return type(self)(OrderedDict(mods[idx]))
        return mods[_index(idx, len(mods))][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, list(self._modules)[_index(idx, len(self))], module)

    def __add__(self, other: Sequential) -> Sequential:
        return Sequential(*self, *_only_sequential(other))

    def __iadd__(self, other: Sequential) -> Sequential:
        return self.extend(list(_only_sequential(other)))

    def __mul__(self, times: int) -> Sequential:
        if not isinstance(times, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(times)}")
        if times <= 0:
            raise ValueError(f"Non-positive multiplication factor {times} for {type(self)}")
        return Sequential(*(list(self) * times))

    __rmul__ = __mul__

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        _insert(self, index, module)
        return self


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters the parent registers (keys ``"0"``, ``"1"``...).

    >>> import gradwise as gw
    >>> layers = gw.nn.ModuleList([gw.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters())), [n for n, _ in layers.named_parameters()][:2]
    (3, 6, ['0.weight', '0.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        _insert(self, index, module)

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(_children(self._modules).values())
        return type(self)(mods[idx]) if isinstance(idx, slice) else mods[_index(idx, len(mods))]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, str(_index(idx, len(self))), module)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def __repr__(self) -> str:
        # PyTorch's: runs of equal entries print once, as "(0-2): 3 x Linear(...)"
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks: list[list[Any]] = []
        for i, r in enumerate(reprs):
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = [_addindent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2) for a, b, r in blocks]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class _DictEdits:
    """``clear`` and ``pop`` of the dict containers, through their ``__iter__``/``__getitem__``/``__delitem__``."""

    def clear(self) -> None:
        for key in list(self):                  # type: ignore[call-overload]
            del self[key]                       # type: ignore[attr-defined]

    def pop(self, key: str) -> Any:
        v = self[key]                           # type: ignore[index]
        del self[key]                           # type: ignore[attr-defined]
        return v


class ModuleDict(_DictEdits, Module):
    """An ordered dict of modules whose parameters the parent registers.

    >>> import gradwise as gw
    >>> heads = gw.nn.ModuleDict({"cls": gw.nn.Linear(4, 3), "reg": gw.nn.Linear(4, 1)})
    >>> list(heads), heads["reg"](gw.ones(2, 4)).shape, list(heads.state_dict())[:2]
    (['cls', 'reg'], (2, 1), ['cls.weight', 'cls.bias'])
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return _children(self._modules)[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> KeysView[str]:
        return self._modules.keys()

    def values(self) -> ValuesView[Module]:
        return _children(self._modules).values()

    def items(self) -> ItemsView[str, Module]:
        return _children(self._modules).items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace entries from a mapping (its order kept) or from ``(key, module)`` pairs."""
        for key, m in _pairs("ModuleDict", modules, sort=False):
            self[key] = m


def _tensor_line(key: Any, value: Any) -> str:
    # one line of ParameterList / ParameterDict extra_repr, as PyTorch writes it
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(n) for n in value.shape)
        return f"  ({key}): {kind} containing: [gradwise.{value.dtype} of size {size}]"
    return f"  ({key}): Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of parameters that the parent registers (keys ``"0"``, ``"1"``...); tensors
    put in it become ``Parameter``s, other objects are kept as they are.

    >>> import gradwise as gw
    >>> class Mix(gw.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scales = gw.nn.ParameterList([gw.ones(3), gw.zeros(3)])
    >>> m = Mix()
    >>> [n for n, _ in m.named_parameters()], list(m.state_dict())
    (['scales.0', 'scales.1'], ['scales.0', 'scales.1'])
    >>> print(m.scales)
    ParameterList(
        (0): Parameter containing: [gradwise.float32 of size 3]
        (1): Parameter containing: [gradwise.float32 of size 3]
    )
    """

    _size: int

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)([self[i] for i in range(len(self))[idx]])
        return getattr(self, str(_index(idx, len(self))))

    def __setitem__(self, idx: int, param: Any) -> None:
        if isinstance(param, Tensor) and not isinstance(param, Parameter):
            param = Parameter(param)
        setattr(self, str(_index(idx, len(self))), param)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return iter([self[i] for i in range(len(self))])

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_tensor_line(k, p) for k, p in enumerate(self))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(_DictEdits, Module):
    """An ordered dict of parameters that the parent registers under their keys; tensors put
    in it become ``Parameter``s.  Like PyTorch, a plain ``dict`` argument is added in sorted
    key order (an ``OrderedDict``, another ``ParameterDict`` or a list of pairs keeps its order).

    >>> import gradwise as gw
    >>> pd = gw.nn.ParameterDict({"b": gw.zeros(2), "a": gw.ones(2)})
    >>> list(pd), [n for n, _ in pd.named_parameters()], pd["a"].requires_grad
    (['a', 'b'], ['a', 'b'], True)
    """

    _keys: dict[str, None]

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _attr(key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError("Index given to ParameterDict cannot be used as a key as it is not a string "
                            f"(type is '{type(key).__name__}')")
        return key

    def __getitem__(self, key: str) -> Any:
        return getattr(self, self._attr(key))

    def __setitem__(self, key: str, value: Any) -> None:
        attr = self._attr(key)
        self._keys[key] = None
        if isinstance(value, Tensor) and not isinstance(value, Parameter):
            value = Parameter(value)
        setattr(self, attr, value)

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, self._attr(key))

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def copy(self) -> ParameterDict:
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple[str, Any]:
        k = next(reversed(list(self._keys)))
        return k, self.pop(k)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def fromkeys(self, keys: Iterable[str], default: Any = None) -> ParameterDict:
        return ParameterDict([(k, default) for k in keys])

    def keys(self) -> KeysView[str]:
        return self._keys.keys()

    def items(self) -> Iterator[tuple[str, Any]]:
        return ((k, self[k]) for k in self._keys)

    def values(self) -> Iterator[Any]:
        return (self[k] for k in self._keys)

    def update(self, parameters: Any) -> None:
        """Add or replace entries: from a mapping (a plain ``dict`` in sorted key order, as
        PyTorch does) or from ``(key, value)`` pairs."""
        for key, value in _pairs("ParameterDict", parameters, sort=True):
            self[key] = value

    def __or__(self, other: ParameterDict) -> ParameterDict:
        out = self.copy()
        out.update(other)
        return out

    def __ior__(self, other: ParameterDict) -> ParameterDict:
        self.update(other)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_tensor_line(k, p) for k, p in self.items())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterDict should not be called.")


def _index(idx: Any, size: int) -> int:
    """A list index in ``[-size, size)`` as a non-negative int (PyTorch's message otherwise)."""
    i = operator.index(idx)
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of range")
    return i + size if i < 0 else i


def _only_sequential(other: Any) -> Sequential:
    """``other``, checked to be a ``Sequential`` (what ``+`` and ``+=`` accept, as in PyTorch)."""
    if not isinstance(other, Sequential):
        raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
    return other


def _renumber(container: Module, items: list[Module | None] | None = None) -> None:
    """Key a list container's children ``"0"``, ``"1"``... in the order of ``items`` (by
    default its present children, re-keyed after a deletion)."""
    if items is None:
        items = list(container._modules.values())
    for key in list(container._modules):
        container.__dict__.pop(key, None)
    container._modules.clear()
    for i, m in enumerate(items):
        container._modules[str(i)] = m
        container.__dict__[str(i)] = m


def _insert(container: Module, index: int, module: Module) -> None:
    """Put ``module`` before position ``index`` (``list.insert``'s meaning) and re-key."""
    n = len(container._modules)
    if not -n <= index <= n:
        raise IndexError(f"Index out of range: {index}")
    items = list(container._modules.values())
    items.insert(index + n if index < 0 else index, module)
    _renumber(container, items)


def _pairs(kind: str, values: Any, sort: bool) -> list[tuple[Any, Any]]:
    """The ``(key, value)`` entries of a ``update`` argument, in the order PyTorch adds them."""
    if not isinstance(values, Iterable):
        raise TypeError(f"{kind}.update should be called with an iterable of key/value pairs, "
                        f"but got {type(values).__name__}")
    if isinstance(values, (OrderedDict, ModuleDict, ParameterDict)):
        return list(values.items())
    if isinstance(values, Mapping):
        return sorted(values.items()) if sort else list(values.items())
    pairs = []
    for j, item in enumerate(values):
        if not isinstance(item, Iterable):
            raise TypeError(f"{kind} update sequence element #{j} should be Iterable; is {type(item).__name__}")
        item = list(item)
        if len(item) != 2:
            raise ValueError(f"{kind} update sequence element #{j} has length {len(item)}; 2 is required")
        pairs.append((item[0], item[1]))
    return pairs
