"""The computation graph behind a tensor, as plain data: which ops, in which order, with which shapes.

:func:`trace_graph` walks backwards from a tensor through public attributes only:
``tensor.grad_fn``, each node's ``next_functions`` (the node or leaf tensor that produced
each input, ``None`` where no gradient flows), ``node.name()`` and ``node.meta`` (the
``(shape, dtype)`` of each input whose shape or dtype differs from the node's output;
``None`` when they agree, which is how the shapes are propagated from the root down).
Values and gradients of intermediate results exist only for tensors that called
``retain_grad()`` (reached through ``node.retained``).

The graph is drawn by :func:`gradwise.viz.graph`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.autograd.node import Node
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError


class GraphTraceError(GradwiseError, TypeError):
    """:func:`trace_graph` was given something that is not a tensor."""


@dataclass(frozen=True, eq=False)
class GraphNode:
    """One box of the graph.

    ``kind`` is ``"op"`` (a recorded op application, labelled like PyTorch's ``grad_fn``:
    ``MulBackward0``), ``"leaf"`` (a tensor that requires grad and was created by the user:
    inputs, parameters) or ``"output"`` (the tensor the walk started from).  ``shape`` is the
    op's output shape (or the tensor's), ``value``/``grad`` arrays when known (leaves and
    the output; an op's output when it was retained with ``retain_grad()``).
    """

    id: str
    kind: str
    label: str
    shape: tuple[int, ...] | None
    dtype: str | None
    value: np.ndarray | None = None
    grad: np.ndarray | None = None
    attrs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, eq=False)
class ComputationGraph:
    """``nodes`` (output first, then in reverse creation order) and ``edges`` ``(src, dst)``
    pointing the way the forward pass went: from an input to the op that used it."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[str, str], ...]

    def node(self, node_id: str) -> GraphNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"ComputationGraph.node: no node {node_id!r}")

    @property
    def ops(self) -> list[str]:
        """The op labels, output side first."""
        return [n.label for n in self.nodes if n.kind == "op"]


def _small_attrs(node: Node) -> tuple[tuple[str, str], ...]:
    """Attributes worth printing in a box: numbers, strings, booleans and short tuples of them."""
    out = []
    for k, v in (getattr(node, "attrs", None) or {}).items():
        if isinstance(v, (bool, int, float, str)) or (isinstance(v, tuple) and len(v) <= 4 and
                                                     all(isinstance(e, (bool, int, float, str)) for e in v)):
            out.append((str(k), repr(v)))
    return tuple(out)


def trace_graph(tensor: Tensor, params: Mapping[str, Tensor] | None = None) -> ComputationGraph:
    """The graph that produced ``tensor``, walked iteratively (deep graphs are fine).

    ``params`` (e.g. ``dict(model.named_parameters())``) names the leaves it contains.

    >>> import gradwise as gw
    >>> x = gw.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> g = trace_graph(y, {"x": x})
    >>> g.ops, [(n.label, n.shape) for n in g.nodes if n.kind != "op"]
    (['SumBackward0', 'MulBackward0'], [('output', ()), ('x', (2,))])
    """
    if not isinstance(tensor, Tensor):
        raise GraphTraceError(f"trace_graph: expected a gradwise Tensor, got {type(tensor).__name__}")
    names = {id(t): n for n, t in (params or {}).items()}
    nodes: dict[int, GraphNode] = {}
    order: list[int] = []
    edges: list[tuple[str, str]] = []

    def tensor_node(t: Tensor, kind: str, label: str) -> GraphNode:
        return GraphNode(f"t{id(t)}", kind, label, tuple(t.shape), str(t.dtype), np.array(t._data),
                         None if t.grad is None else np.array(t.grad._data))

    out = tensor_node(tensor, "output", "output")
    nodes[id(tensor)] = out
    order.append(id(tensor))
    root = tensor.grad_fn
    if root is None:
        return ComputationGraph((out,), ())
    out_shapes: dict[int, tuple[tuple[int, ...], Any]] = {id(root): (tuple(tensor.shape), tensor.dtype)}
    edges.append((f"n{id(root)}", out.id))
    stack, seen = [root], {id(root)}
    ops: list[Node] = []
    while stack:
        node = stack.pop()
        ops.append(node)
        shape, dtype = out_shapes[id(node)]
        meta = getattr(node, "meta", None) or (None,) * len(node.next_functions)
        for (e, _), m in zip(node.next_functions, meta):
            if e is None:
                continue
            # meta is None when the input has the output's shape and dtype
            in_shape, in_dtype = (shape, dtype) if m is None else (tuple(m[0]), m[1])
            if isinstance(e, Tensor):
                if id(e) not in nodes:
                    default = "parameter" if type(e).__name__ == "Parameter" else "leaf"
                    nodes[id(e)] = tensor_node(e, "leaf", names.get(id(e), default))
                    order.append(id(e))
                edges.append((f"t{id(e)}", f"n{id(node)}"))
                continue
            edges.append((f"n{id(e)}", f"n{id(node)}"))
            if id(e) not in seen:
                seen.add(id(e))
                out_shapes[id(e)] = (in_shape, in_dtype)
                stack.append(e)
    ops.sort(key=lambda n: -n.seq)         # descending creation order: a topological order, output side first
    op_nodes = []
    for node in ops:
        shape, dtype = out_shapes[id(node)]
        retained = node.retained() if node.retained is not None else None
        value = grad = None
        if isinstance(retained, Tensor):
            value = np.array(retained._data)
            grad = None if retained.grad is None else np.array(retained.grad._data)
        op_nodes.append(GraphNode(f"n{id(node)}", "op", node.name(), shape, str(np.dtype(dtype)), value, grad,
                                  _small_attrs(node)))
    return ComputationGraph((out, *op_nodes, *(nodes[k] for k in order[1:])), tuple(edges))
