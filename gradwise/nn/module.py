"""``Module``: the base class of layers and models (PyTorch's API).

Parameters, buffers and sub-modules assigned as attributes are registered in
order, so ``parameters()``, ``state_dict()`` and ``repr`` walk the model the
way it was built.  They are also kept as plain instance attributes, so reading
``self.weight`` in a forward costs a normal attribute lookup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from gradwise.autograd.grad_mode import no_grad
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError, format_shape
from gradwise.nn.module_casting import ModuleCasting
from gradwise.nn.module_hooks import RemovableHandle, _BackwardHookCall, _hook_ids
from gradwise.nn.parameter import Parameter


class StateDictError(GradwiseError, RuntimeError):
    """load_state_dict found missing, unexpected or mis-shaped entries."""


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module(ModuleCasting):
    """Base class for all layers and models.

    Subclasses set parameters and sub-modules in ``__init__`` and define ``forward``.
    The device and dtype methods (``to``, ``float``...) come from :class:`ModuleCasting`.

    >>> import gradwise as gw
    >>> class Net(gw.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = gw.nn.Linear(3, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> [name for name, _ in Net().named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    # Set in __init__ through self.__dict__ (bypassing __setattr__); declared here for type
    # checkers only -- no class-level values, so instances own every one of them.
    training: bool
    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent: set[str]
    _modules: OrderedDict[str, Module | None]
    _forward_hooks: dict[int, Callable[..., Any]]
    _forward_pre_hooks: dict[int, Callable[..., Any]]
    _backward_hooks: dict[int, Callable[..., Any]]

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = {}
        d["_forward_pre_hooks"] = {}
        d["_backward_hooks"] = {}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        if self._backward_hooks:
            args = _BackwardHookCall(self).wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            r = hook(self, args, out)
            if r is not None:
                out = r
        if self._backward_hooks:
            out = args.__dict__["_call"].wrap_outputs(out) if hasattr(args, "__dict__") else out
        return out

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(module, args)`` before forward; may return replacement args."""
        key = next(_hook_ids)
        self._forward_pre_hooks[key] = hook
        return RemovableHandle(self._forward_pre_hooks, key)

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(module, args, output)`` after forward; may return a replacement output."""
        key = next(_hook_ids)
        self._forward_hooks[key] = hook
        return RemovableHandle(self._forward_hooks, key)

    def register_full_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` once the gradients with respect to the
        module's tensor inputs are computed; may return a replacement ``grad_input`` tuple."""
        key = next(_hook_ids)
        self._backward_hooks[key] = hook
        return RemovableHandle(self._backward_hooks, key)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        # PyTorch's rules: a Parameter or a Module registers (leaving any other store); a name
        # already registered as a parameter or sub-module takes only its kind or None; a
        # registered buffer takes a Tensor or None; anything else is a plain attribute.
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError("call super().__init__() before assigning attributes in a Module")
        if isinstance(value, Parameter):
            if name not in d["_parameters"] and hasattr(type(self), name):
                raise KeyError(f"attribute '{name}' already exists")
            _register(d, "_parameters", name, value)
        elif isinstance(value, Module) and name not in d["_parameters"]:
            _register(d, "_modules", name, value)
        else:
            for store, kind, expected in _STORES:
                if name in d[store]:
                    if value is not None and not (store == "_buffers" and isinstance(value, Tensor)):
                        raise TypeError(f"cannot assign '{type(value).__name__}' as {kind} '{name}' "
                                        f"({expected} or None expected)")
                    d[store][name] = value
                    break
        d[name] = value

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        self._non_persistent.discard(name)
        object.__delattr__(self, name)

    def _check_new_name(self, kind: str, name: Any, store: dict[str, Any]) -> None:
        # PyTorch's checks, except that an attribute already set to None may become a parameter,
        # buffer or module of that name (``self.bias = None`` then ``register_parameter("bias", None)``).
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\", got: {name}")
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if name not in store and getattr(self, name, None) is not None:
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is not learned (running statistics): in ``state_dict`` unless
        ``persistent=False``, moved along with the module, never returned by ``parameters()``.

        >>> import gradwise as gw
        >>> m = gw.nn.Module()
        >>> m.register_buffer("mean", gw.zeros(3))
        >>> m.register_buffer("cache", gw.zeros(3), persistent=False)
        >>> list(m.state_dict()), [name for name, _ in m.named_buffers()]
        (['mean'], ['mean', 'cache'])
        """
        self._check_new_name("buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(gradwise.Tensor or None required)")
        _register(self.__dict__, "_buffers", name, tensor)
        if not persistent:
            self._non_persistent.add(name)
        self.__dict__[name] = tensor

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a ``Parameter``, or None for an absent one such as ``bias=False``)."""
        self._check_new_name("parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(gradwise.nn.Parameter or None required)")
        _register(self.__dict__, "_parameters", name, param)
        self.__dict__[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the child ``name`` (``self.name = module`` does the same)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name("module", name, self._modules)
        _register(self.__dict__, "_modules", name, module)
        self.__dict__[name] = module

    register_module = add_module

    # ---------------------------------------------------------------- walking
    def named_modules(self, memo: set[Module] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for self (name ``prefix``) and every sub-module, depth first;
        a module reachable twice is listed once unless ``remove_duplicate=False``.

        >>> import gradwise as gw
        >>> net = gw.nn.Sequential(gw.nn.Linear(2, 3), gw.nn.Sequential(gw.nn.ReLU()))
        >>> [name for name, _ in net.named_modules()]
        ['', '0', '1', '1.0']
        """
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        memo: set[Module] = set()
        for name, m in self._modules.items():
            if m is not None and m not in memo:
                memo.add(m)
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def get_submodule(self, target: str) -> Module:
        """The sub-module at dotted path ``target`` (``""`` is self)."""
        mod = self
        for item in target.split(".") if target else ():
            child = mod._modules.get(item)
            if child is None:
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target`` (``"0.weight"``)."""
        return self._get_registered(target, "_parameters", "parameter")  # type: ignore[return-value]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target`` (``"bn.running_mean"``)."""
        return self._get_registered(target, "_buffers", "buffer")

    def _get_registered(self, target: str, store: str, kind: str) -> Tensor:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        t = getattr(mod, store).get(name)
        if t is None:
            raise AttributeError(f"{mod._get_name()} has no {kind} `{name}`")
        return t

    def _named(self, attr: str, prefix: str, recurse: bool,
               remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        mods = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                else [(prefix, self)])
        for mp, m in mods:
            for name, t in getattr(m, attr).items():
                if t is None or id(t) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(t))
                yield mp + ("." if mp else "") + name, t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        yield from self._named("_parameters", prefix, recurse, remove_duplicate)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every learnable parameter, each once, in registration order."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics).  Like PyTorch, it
        sets ``training`` here and calls ``train(mode)`` on each child, so a sub-class may
        override ``train`` (to keep a frozen part in eval mode, say)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.__dict__["training"] = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad`` (to None by default, like PyTorch)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data = np.zeros_like(p.grad._data)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------- state dict
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (detached unless ``keep_vars``)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        # a sub-module reachable under two names is saved under both, as PyTorch does
        for mp, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            base = mp + ("." if mp else "")
            for name, p in m._parameters.items():
                if p is not None:
                    out[base + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[base + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into this module's parameters and buffers (in place).

        With ``strict`` (the default) any missing key, unexpected key or shape mismatch
        raises, listing all of them; nothing is modified in that case.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, t in own.items():
            if k in state_dict:
                shape = tuple(np.shape(state_dict[k]._data if isinstance(state_dict[k], Tensor)
                                       else state_dict[k]))
                if shape != t.shape:
                    mismatched.append(f"{k}: checkpoint {format_shape(shape)}, model {format_shape(t.shape)}")
        if mismatched or (strict and (missing or unexpected)):
            lines = [f"load_state_dict for {type(self).__name__} failed:"]
            if missing:
                lines.append("  missing keys: " + ", ".join(missing))
            if unexpected:
                lines.append("  unexpected keys: " + ", ".join(unexpected))
            if mismatched:
                lines.append("  shape mismatches: " + "; ".join(mismatched))
            raise StateDictError("\n".join(lines))
        with no_grad():
            for k, t in own.items():
                if k in state_dict:
                    v = state_dict[k]
                    t.copy_(v._data if isinstance(v, Tensor) else np.asarray(v))
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's ``repr`` (override in a layer;
        several lines are laid out one per line, like children)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        """PyTorch's layout: ``Name(extra)`` on one line, or one indented line per extra line
        and per child ``(name): repr(child)``.

        >>> import gradwise as gw
        >>> print(gw.nn.Sequential(gw.nn.Linear(2, 3), gw.nn.Sequential(gw.nn.ReLU())))
        Sequential(
          (0): Linear(in_features=2, out_features=3, bias=True)
          (1): Sequential(
            (0): ReLU()
          )
        )
        """
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __getstate__(self) -> Any:
        raise TypeError("gradwise does not pickle modules; save module.state_dict() with gradwise.save")


# The three stores of a Module: attribute, what the error calls an entry, what it accepts.
_STORES = (("_parameters", "parameter", "gradwise.nn.Parameter"), ("_modules", "child module", "gradwise.nn.Module"),
           ("_buffers", "buffer", "gradwise.Tensor"))


def _register(d: dict[str, Any], store: str, name: str, value: Any) -> None:
    """Put ``value`` under ``name`` in the store ``d[store]``, leaving the other two (and the
    non-persistent set); the caller sets the attribute."""
    for other, _, _ in _STORES:
        if other != store:
            d[other].pop(name, None)
    d["_non_persistent"].discard(name)
    d[store][name] = value


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first of ``text`` (blank lines stay empty), as PyTorch's repr does."""
    first, *rest = text.split("\n")
    if not rest:
        return text
    return "\n".join([first] + [(" " * spaces + line) if line.strip() else "" for line in rest])
