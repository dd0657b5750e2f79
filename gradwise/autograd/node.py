"""The graph node (``grad_fn``): one recorded application of one op.

A node keeps what its gradient rules need and nothing more: the edges to the
nodes (or leaf tensors) that produced its inputs, the input arrays and the
output array when the op's rules read them, the attributes, and the version
of every saved array so that an in-place change made after recording is caught
at backward instead of silently giving a wrong gradient.

A call with several outputs whose gradients come out of one computation (a custom
:class:`gradwise.autograd.Function`) records one node per output, tied together by a
:class:`NodeGroup` in each node's ``extra``: the backward walk visits the group once.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING, Any

from gradwise.errors import GraphError, format_shape
from gradwise.ops.registry import OpDef

if TYPE_CHECKING:
    from gradwise.autograd.tensor import Tensor


_next_seq = itertools.count().__next__


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

    __slots__ = ("op", "edges", "saved", "out", "attrs", "meta", "checks", "extra", "seq",
                 "__weakref__")

    # ``meta[i]`` is ``None`` when input i already has the output's shape and
    # dtype (no reduction or cast needed at backward: the common case).
    # ``checks`` is ``None`` when nothing saved can be modified in place.
    # ``saved`` becomes ``None`` when the node is freed after a backward.
    # ``seq`` numbers nodes in creation order: a node's inputs always have
    # smaller numbers, so descending ``seq`` is a topological order.
    # Hooks, retain_grad and an anomaly-mode trace are rare: they live in ``extra``
    # (a :class:`NodeExtra`, created on first use) so that recording stays cheap.
    def __init__(self, op: OpDef, edges: tuple[Any, ...], saved: tuple[Any, ...],
                 out: Any, attrs: dict[str, Any], meta: tuple[Any, ...],
                 checks: tuple[tuple[list[int], int, int], ...] | None) -> None:
        self.op = op
        self.edges = edges
        self.saved: tuple[Any, ...] | None = saved
        self.out = out
        self.attrs = attrs
        self.meta = meta
        self.checks = checks
        self.extra: NodeExtra | None = None
        self.seq = _next_seq()

    def _extra(self) -> NodeExtra:
        if self.extra is None:
            self.extra = NodeExtra()
        return self.extra

    @property
    def freed(self) -> bool:
        """True once a backward without ``retain_graph`` released the saved arrays."""
        return self.saved is None

    @property
    def hooks(self) -> list[Any] | None:
        return self.extra.hooks if self.extra is not None else None

    @hooks.setter
    def hooks(self, value: list[Any] | None) -> None:
        self._extra().hooks = value

    @property
    def retained(self) -> weakref.ref[Tensor] | None:
        return self.extra.retained if self.extra is not None else None

    @retained.setter
    def retained(self, value: weakref.ref[Tensor] | None) -> None:
        self._extra().retained = value

    @property
    def trace(self) -> Any:
        return self.extra.trace if self.extra is not None else None

    @trace.setter
    def trace(self, value: Any) -> None:
        self._extra().trace = value

    def name(self) -> str:
        """PyTorch-style node name, e.g. ``MulBackward0`` (``MyFnBackward`` for a custom Function)."""
        custom = getattr(self.op, "backward_name", None)  # a custom Function's op names its node
        if custom:
            return str(custom)
        return f"{_camel(self.op.name)}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """The edges as PyTorch shows them: ``((node_or_leaf_or_None, 0), ...)``."""
        return tuple((e, 0) for e in self.edges)

    def check_versions(self) -> None:
        """Raise if a saved array was modified in place after this node recorded it."""
        if self.checks is None:  # nothing saved can be modified in place
            return
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
        if m is not None:
            return m[0]
        a = self.saved[index] if self.saved else None
        return tuple(getattr(a, "shape", ()))

    def freed_error(self) -> GraphError:
        return GraphError(
            f"trying to backward through {self.name()} a second time, but its saved arrays "
            "were freed by the first backward. Pass retain_graph=True to the first "
            ".backward() (or autograd.grad) if you need to backward through the graph "
            "again, or recompute the forward pass."
        )


class NodeExtra:
    """The rarely used parts of a node: tensor hooks, retain_grad, anomaly trace, node group."""

    __slots__ = ("hooks", "retained", "trace", "group")

    def __init__(self) -> None:
        self.hooks: list[Any] | None = None
        self.retained: Any = None
        self.trace: Any = None
        self.group: NodeGroup | None = None


class NodeGroup:
    """The nodes recorded by one call with several outputs whose input gradients come out
    of one computation: a custom ``autograd.Function`` records one node per output, each
    with the same edges, and its ``backward`` takes every output's gradient at once.

    The backward walk (``engine._visit_group``) visits a group once, at the first of its
    nodes it reaches: every consumer of every output was recorded after all of them, so by
    then each member's gradient is final.  It takes the other members' gradients out of the
    walk (running their hooks, ``retain_grad`` and captures), stores them all in
    :attr:`grads`, one per member (``None`` for a member no gradient reached), and sets
    :attr:`release` when the walk frees saved values (no ``retain_graph``); then the first
    node's rules run and read them.  ``nodes`` holds weak references (the outputs own
    their nodes), so a group never keeps a graph alive.
    """

    __slots__ = ("nodes", "grads", "release")

    def __init__(self, nodes: tuple[Node, ...]) -> None:
        self.nodes: tuple[weakref.ref[Node], ...] = tuple(weakref.ref(n) for n in nodes)
        self.grads: tuple[Any, ...] | None = None
        self.release = False
        for n in nodes:
            n._extra().group = self
