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
from gradwise.nn.parameter import Parameter


class StateDictError(GradwiseError, RuntimeError):
    """load_state_dict found missing, unexpected or mis-shaped entries."""


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``.remove()`` unregisters the hook."""

    def __init__(self, store: dict[int, Any], key: int) -> None:
        self._store, self._key = store, key

    def remove(self) -> None:
        self._store.pop(self._key, None)


_hook_ids = iter(range(1 << 62))


class Module:
    """Base class for all layers and models.

    Subclasses set parameters and sub-modules in ``__init__`` and define ``forward``.

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
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError("call super().__init__() before assigning attributes in a Module")
        for store in (d["_parameters"], d["_modules"], d["_buffers"]):
            if name in store and not (store is d["_buffers"] and isinstance(value, Tensor)):
                del store[name]
        if isinstance(value, Parameter):
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            d["_modules"][name] = value
        elif name in d["_buffers"] or (isinstance(value, Tensor) and name in d["_buffers"]):
            d["_buffers"][name] = value
        d[name] = value

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is not learned (running statistics): in ``state_dict`` unless
        ``persistent=False``, moved along with the module, never returned by ``parameters()``."""
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        self.__dict__[name] = tensor

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters[name] = None
            self.__dict__[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        self._modules[name] = module
        self.__dict__[name] = module

    register_module = add_module

    # ---------------------------------------------------------------- walking
    def named_modules(self, memo: set[int] | None = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named(self, attr: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, t in getattr(m, attr).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield mp + ("." if mp else "") + name, t

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        yield from self._named("_parameters", prefix, recurse)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every learnable parameter, each once, in registration order."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics)."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
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
                p.grad.data = np.zeros_like(p.grad.data)

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
        for mp, m in self.named_modules(prefix=prefix.rstrip(".")):
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
                shape = tuple(np.shape(state_dict[k].data if isinstance(state_dict[k], Tensor)
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
                    t.copy_(v.data if isinstance(v, Tensor) else np.asarray(v))
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"

    def __getstate__(self) -> Any:
        raise TypeError("gradwise does not pickle modules; save module.state_dict() with gradwise.save")


class _BackwardHookCall:
    """Routes one call's gradients to the module's full backward hooks.

    Inputs and outputs pass through identity ops (``clone``) whose tensor hooks
    collect ``grad_output`` first, then ``grad_input``; when every input that
    requires grad has its gradient, the module hooks run (and may replace it).
    """

    def __init__(self, module: Module) -> None:
        self.module = module
        self.grad_output: tuple[Any, ...] | None = None
        self.grad_input: list[Any] = []
        self.waiting = 0

    def wrap_inputs(self, args: tuple[Any, ...]) -> Any:
        wrapped = []
        self.grad_input = [None] * len(args)
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                a = a.clone()
                self.waiting += 1
                a.register_hook(self._input_hook(i))
            wrapped.append(a)
        return _Args(wrapped, self)

    def _input_hook(self, i: int) -> Callable[[Tensor], Any]:
        def hook(g: Tensor) -> Any:
            self.grad_input[i] = g
            self.waiting -= 1
            if self.waiting == 0:
                return self._fire(i)
            return None
        return hook

    def _fire(self, i: int) -> Any:
        result = None
        for hook in list(self.module._backward_hooks.values()):
            r = hook(self.module, tuple(self.grad_input), self.grad_output or ())
            if r is not None:
                self.grad_input = list(r)
                result = self.grad_input[i]
        return result

    def wrap_outputs(self, out: Any) -> Any:
        outs = out if isinstance(out, tuple) else (out,)
        grads: list[Any] = [None] * len(outs)
        wrapped = []
        for k, o in enumerate(outs):
            if isinstance(o, Tensor) and o.requires_grad:
                o = o.clone()

                def hook(g: Tensor, k: int = k) -> None:
                    grads[k] = g
                    self.grad_output = tuple(grads)
                    if self.waiting == 0:   # no input needs a gradient: fire on the output side
                        self._fire_without_inputs()
                o.register_hook(hook)
            wrapped.append(o)
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]

    def _fire_without_inputs(self) -> None:
        for hook in list(self.module._backward_hooks.values()):
            hook(self.module, tuple(self.grad_input), self.grad_output or ())


class _Args(tuple):
    """The wrapped positional arguments, carrying the call that wrapped them."""

    def __new__(cls, items: list[Any], call: _BackwardHookCall) -> _Args:
        obj = super().__new__(cls, items)
        obj.__dict__["_call"] = call
        return obj
