"""The graph node (``grad_fn``): one recorded application of one op.

A node keeps what its gradient rules need and nothing more: the edges to the
nodes (or leaf tensors) that produced its inputs, the input arrays and the
output array when the op's rules read them, the attributes, and the version
of every saved array so that an in-place change made after recording is caught
at backward instead of silently giving a wrong gradient.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from gradwise.errors import GraphError, format_shape
from gradwise.ops.registry import OpDef

if TYPE_CHECKING:
    from gradwise.autograd.tensor import Tensor


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class Node:
    """A recorded op application; a tensor's ``grad_fn``.

    ``edges[i]`` is the node that produced input ``i``, the leaf tensor itself
    when input ``i`` is a leaf that requires grad, or ``None`` (no gradient
    flows there).  ``meta[i]`` is input ``i``'s ``(shape, dtype)``: gradients
    are reduced and cast to it, so a gradient always has the shape and dtype of
    what it is the gradient of.
    """

    __slots__ = ("op", "edges", "saved", "out", "attrs", "meta", "checks",
                 "hooks", "retained", "freed", "trace", "__weakref__")

    def __init__(self, op: OpDef, edges: tuple[Any, ...], saved: tuple[Any, ...] | None,
                 out: Any, attrs: dict[str, Any], meta: tuple[Any, ...],
                 checks: tuple[tuple[list[int], int, int], ...]) -> None:
        self.op = op
        self.edges = edges
        self.saved = saved
        self.out = out
        self.attrs = attrs
        self.meta = meta
        self.checks = checks
        self.hooks: list[Any] | None = None
        self.retained: weakref.ref[Tensor] | None = None
        self.freed = False
        self.trace: Any = None

    def name(self) -> str:
        """PyTorch-style node name, e.g. ``MulBackward0``."""
        return f"{_camel(self.op.name)}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """The edges as PyTorch shows them: ``((node_or_leaf_or_None, 0), ...)``."""
        return tuple((e, 0) for e in self.edges)

    def check_versions(self) -> None:
        """Raise if a saved array was modified in place after this node recorded it."""
        for box, version, index in self.checks:
            if box[0] != version:
                what = "its output" if index < 0 else f"input {index}"
                shape = self.out.shape if index < 0 else self.meta_shape(index)
                raise GraphError(
                    f"one of the arrays needed to compute the gradient of {self.op.name!r} "
                    f"({what}, shape {format_shape(shape)}) was modified by an in-place "
                    f"operation: it is at version {box[0]}, the backward needs version {version}. "
                    "Hint: replace the in-place op (x += ..., x.mul_(...), x[i] = ...) by its "
                    "out-of-place form (x = x + ...), or call .clone() before modifying."
                )

    def meta_shape(self, index: int) -> tuple[int, ...]:
        m = self.meta[index]
        return m[0] if m is not None else ()

    def release(self) -> None:
        """Drop the saved arrays (after a backward without ``retain_graph``)."""
        self.saved = None
        self.out = None
        self.freed = True

    def freed_error(self) -> GraphError:
        return GraphError(
            f"trying to backward through {self.name()} a second time, but its saved arrays "
            "were freed by the first backward. Pass retain_graph=True to the first "
            ".backward() (or autograd.grad) if you need to backward through the graph "
            "again, or recompute the forward pass."
        )
