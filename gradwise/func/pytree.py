"""Nested tuples, lists and dicts of tensors ("pytrees") as arguments and results.

``flatten`` lists the tensor leaves in a fixed order and returns a ``treedef``
that ``unflatten`` uses to rebuild the same structure around new leaves.
Anything that is not a tuple, list, dict or Tensor is kept as a constant.
"""

from __future__ import annotations

from typing import Any

from gradwise.autograd.tensor import Tensor


def flatten(tree: Any) -> tuple[list[Tensor], Any]:
    """``(leaves, treedef)`` for a pytree.

    >>> import gradwise as gw
    >>> leaves, _ = flatten({"w": gw.ones(2), "b": (gw.zeros(1), 3)})
    >>> len(leaves)
    2
    """
    leaves: list[Tensor] = []

    def walk(node: Any) -> Any:
        if isinstance(node, Tensor):
            leaves.append(node)
            return ("leaf",)
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            return ("namedtuple", type(node), tuple(walk(v) for v in node))
        if isinstance(node, (tuple, list)):
            return (type(node).__name__, tuple(walk(v) for v in node))
        if isinstance(node, dict):
            keys = list(node)
            return ("dict", keys, tuple(walk(node[k]) for k in keys))
        return ("const", node)

    return leaves, walk(tree)


def unflatten(treedef: Any, leaves: list[Any]) -> Any:
    """Rebuild the structure ``treedef`` with ``leaves`` in flatten's order."""
    it = iter(leaves)

    def build(d: Any) -> Any:
        kind = d[0]
        if kind == "leaf":
            return next(it)
        if kind == "namedtuple":
            return d[1](*(build(c) for c in d[2]))
        if kind == "tuple":
            return tuple(build(c) for c in d[1])
        if kind == "list":
            return [build(c) for c in d[1]]
        if kind == "dict":
            return {k: build(c) for k, c in zip(d[1], d[2])}
        return d[1]

    return build(treedef)


def tree_map(fn: Any, tree: Any) -> Any:
    """Apply ``fn`` to every tensor leaf."""
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(x) for x in leaves])
