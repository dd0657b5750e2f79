"""The hook machinery of :class:`gradwise.nn.Module`.

``RemovableHandle`` (what the ``register_*_hook`` methods return), the ids that key the
hooks, and ``_BackwardHookCall``, which routes one call's gradients to the module's full
backward hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gradwise.autograd.tensor import Tensor

if TYPE_CHECKING:
    from gradwise.nn.module import Module


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``.remove()`` unregisters the hook."""

    def __init__(self, store: dict[int, Any], key: int) -> None:
        self._store, self._key = store, key

    def remove(self) -> None:
        self._store.pop(self._key, None)


_hook_ids = iter(range(1 << 62))


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
