"""``functional_call``: call a module with other tensors in place of its parameters and buffers.

``torch.func.functional_call``'s interface.  The tensors are swapped in by dotted
name (``"0.weight"``, ``"bn.running_mean"``) for the length of one call and the
originals are put back afterwards, also when the call raises; so a loss written with
it is a plain function of the parameters, which ``grad``/``vmap`` can transform
(torch's per-sample gradient recipe works as written).

``func`` sits below ``nn`` in the layers, so this module does not import
``gradwise.nn``: it works with any object that has ``named_parameters`` and
``named_buffers`` (``remove_duplicate=``), ``get_submodule``, and keeps its tensors
in the ``_parameters``/``_buffers`` dicts and in its ``__dict__`` (as
``gradwise.nn.Module`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradwise.autograd.tensor import Tensor

_MISSING = object()


def _merge(dicts: Any) -> dict[str, Any]:
    if isinstance(dicts, dict):
        return dicts
    if isinstance(dicts, Sequence) and not isinstance(dicts, str):
        if not all(isinstance(d, dict) for d in dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        seen: dict[str, int] = {}
        for d in dicts:
            for k in d:
                seen[k] = seen.get(k, 0) + 1
        repeated = [k for k, n in seen.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call "
                             "is ambiguous")
        return {k: v for d in dicts for k, v in d.items()}
    raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                     f"{type(dicts)}")


def _named_tensors(module: Any) -> dict[str, Any]:
    named: dict[str, Any] = {}
    named.update(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untie(module: Any, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` plus every name tied (the same tensor) to a given name, with its value."""
    names_of: dict[int, set[str]] = {}
    for name, t in _named_tensors(module).items():
        names_of.setdefault(id(t), set()).add(name)
    tied = {n: names for names in names_of.values() if len(names) > 1 for n in names}
    out = dict(given)
    for name in [n for n in given if n in tied]:
        group = tied[name]
        values = {id(given[n]) for n in group if n in given}
        if len(values) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(group)}, which are tied. "
                             "Consider using tie_weights=False")
        for n in group:
            out[n] = given[name]
    return out


def _module_name(module: Any) -> str:
    get = getattr(module, "_get_name", None)
    return str(get()) if callable(get) else type(module).__name__


class _Swap:
    """One swapped tensor: where it went and what was there."""

    __slots__ = ("key", "module", "attr", "store", "old_store", "old_attr", "new")

    def __init__(self, key: str, module: Any, attr: str, value: Any) -> None:
        if not isinstance(value, Tensor) and value is not None:
            raise TypeError(f"functional_call: the value for '{key}' is a {type(value).__name__}, not a "
                            "gradwise.Tensor")
        if attr == "":
            raise KeyError("tensor name can't be empty string \"\"")
        self.key, self.module, self.attr, self.new = key, module, attr, value
        d = module.__dict__
        self.store: dict[str, Any] | None = None
        for store in ("_parameters", "_buffers"):
            if attr in d.get(store, {}):
                self.store = d[store]
                break
        self.old_attr = d.get(attr, _MISSING)
        if self.store is not None:
            self.old_store = self.store[attr]
            self.store[attr] = value
        else:
            self.old_store = _MISSING
            old = getattr(module, attr, _MISSING)
            if old is not _MISSING and old is not None and not isinstance(old, Tensor):
                raise TypeError(f"functional_call: attribute `{key}` of {_module_name(module)} is a "
                                f"{type(old).__name__}, not a tensor")
        d[attr] = value

    def restore(self) -> Any:
        """Put the original back; returns the value the module held at the end of the call."""
        d = self.module.__dict__
        now = self.store[self.attr] if self.store is not None else d.get(self.attr, _MISSING)
        if self.store is not None:
            self.store[self.attr] = self.old_store
        if self.old_attr is _MISSING:
            d.pop(self.attr, None)
        else:
            d[self.attr] = self.old_attr
        return now


def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None,
                    kwargs: dict[str, Any] | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with the given tensors in place of its parameters and buffers.

    ``parameter_and_buffer_dicts``: a dict ``{dotted name: tensor}`` or a tuple of such
    dicts (no name in two of them), e.g. ``(params, buffers)``.  Names not given keep the
    module's own tensors (``strict=True``: every parameter and buffer must be given and no
    other name).  ``tie_weights``: a tensor registered under several names (tied weights)
    is replaced under all of them when one is given.  ``args``: a tuple, or one argument.
    The module is unchanged afterwards, even when the call raises; a tensor the module
    assigned during the call (``self.n = self.n + 1``) goes back into the given dict.

    >>> import gradwise as gw
    >>> lin = gw.nn.Linear(2, 1)
    >>> params = {"weight": gw.ones(1, 2), "bias": gw.zeros(1)}
    >>> gw.func.functional_call(lin, params, (gw.tensor([[1.0, 2.0]]),)).tolist()
    [[3.0]]
    >>> g = gw.func.grad(lambda p: gw.func.functional_call(lin, p, gw.ones(1, 2)).sum())(params)
    >>> g["weight"].tolist(), g["bias"].tolist()
    ([[1.0, 1.0]], [1.0])
    """
    given = _merge(parameter_and_buffer_dicts)
    values = _untie(module, given) if tie_weights else dict(given)
    if strict:
        valid = set(_named_tensors(module))
        unexpected, missing = sorted(set(values) - valid), sorted(valid - set(values))
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError(f"Error(s) in reparametrizing for {_module_name(module)}:\n\t" + "\n\t".join(msgs))
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    swaps: list[_Swap] = []
    try:
        for key, value in values.items():
            prefix, _, attr = key.rpartition(".")
            swaps.append(_Swap(key, module.get_submodule(prefix), attr, value))
        return module(*args, **kwargs)
    finally:
        ends = {s.key: s.restore() for s in reversed(swaps)}
        for key in given:
            end = ends.get(key, _MISSING)
            if end is not _MISSING and end is not given[key]:
                given[key] = end
