"""Post-accumulate-grad hooks: ``hook(param)`` once a leaf's ``.grad`` is final for a backward.

PyTorch's ``Tensor.register_post_accumulate_grad_hook``.  The hooks of every leaf live in
one module-level table keyed by ``id(leaf)`` (with a weak reference, so a leaf that dies
takes its entry with it) rather than on the Tensor, so that creating a tensor costs nothing
more.  The engine tests ``bool(POST_HOOKS)`` once per backward: while no tensor has such a
hook, the walk finishes every leaf at the end as it always did; once one exists, the walk
counts the edges reaching each leaf and finishes a leaf as soon as its last consumer has
run (:mod:`gradwise.autograd.early_leaves`), calling its hooks then.  This is what lets
data-parallel training start a gradient bucket's allreduce while the backward goes on.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from gradwise.autograd.tensor import Tensor
from gradwise.errors import GraphError

# id(leaf) -> (weak reference to the leaf, its hooks in registration order)
POST_HOOKS: dict[int, tuple[weakref.ref[Tensor], list[Callable[[Tensor], None]]]] = {}


class PostAccumulateHookHandle:
    """Removes its hook with ``.remove()`` (idempotent), like PyTorch's ``RemovableHandle``."""

    def __init__(self, key: int, hook: Callable[[Tensor], None]) -> None:
        self._key = key
        self._hook = hook

    def remove(self) -> None:
        entry = POST_HOOKS.get(self._key)
        if entry is None or self._hook not in entry[1]:
            return
        entry[1].remove(self._hook)
        if not entry[1]:
            del POST_HOOKS[self._key]      # no hook left: backward takes the plain path again


def register_post_accumulate_grad_hook(self: Tensor, hook: Callable[[Tensor], None]) -> PostAccumulateHookHandle:
    """Call ``hook(self)`` each time a backward has finished accumulating into ``self.grad``.

    For a leaf tensor that requires grad.  The hook sees the tensor itself (not the
    gradient) and must return None; it runs as soon as every op that used the leaf in
    this backward has passed its gradient on, before the rest of the walk, so it can
    start work on ``.grad`` (an optimizer step, a gradient allreduce) while the backward
    goes on.  ``autograd.grad`` does not call it (no ``.grad`` is accumulated).

    >>> import gradwise as gw
    >>> w = gw.ones(2, requires_grad=True)
    >>> handle = w.register_post_accumulate_grad_hook(lambda p: print(p.grad))
    >>> (3 * w).sum().backward()
    tensor([3., 3.])
    >>> handle.remove()
    """
    if not self.requires_grad:
        raise GraphError("register_post_accumulate_grad_hook: cannot register a hook on a tensor that does "
                         "not require grad")
    if self.grad_fn is not None:
        raise GraphError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered "
                         f"on a non-leaf tensor (this one comes from {self.grad_fn.name()}); register it on a "
                         "leaf (a parameter), or use register_hook")
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got {type(hook).__name__}")
    key = id(self)
    entry = POST_HOOKS.get(key)
    if entry is None or entry[0]() is not self:
        entry = (weakref.ref(self, _forget(key)), [])
        POST_HOOKS[key] = entry
    entry[1].append(hook)
    return PostAccumulateHookHandle(key, hook)


def _forget(key: int) -> Callable[[Any], None]:
    def drop(ref: Any) -> None:
        entry = POST_HOOKS.get(key)
        if entry is not None and entry[0] is ref:
            del POST_HOOKS[key]
    return drop


def run_post_accumulate_hooks(leaf: Tensor) -> None:
    """Call ``leaf``'s post-accumulate hooks, in registration order (none: nothing happens)."""
    entry = POST_HOOKS.get(id(leaf))
    if entry is None or entry[0]() is not leaf:
        return
    for hook in list(entry[1]):
        if hook(leaf) is not None:
            raise GraphError("post accumulate grad hook: a hook must return None (it sees the tensor and may "
                             "change .grad in place), but it returned a value")
