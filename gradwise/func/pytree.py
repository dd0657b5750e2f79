"""Nested tuples, lists and dicts of tensors ("pytrees") as arguments and results.

``flatten`` lists the tensor leaves depth-first (dicts in insertion order) and
returns a ``treedef`` that ``unflatten`` uses to rebuild the same structure
around new leaves.  Anything that is not a tuple, list, dict or Tensor is kept
as a constant: it is not a leaf and comes back unchanged.  Namedtuples,
``OrderedDict`` and other dict subclasses that can be built from their items
keep their type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradwise.autograd.tensor import Tensor


def _tensor_leaf(node: Any) -> bool:
    return isinstance(node, Tensor)


def flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list[Any], Any]:
    """``(leaves, treedef)`` for a pytree.

    ``is_leaf`` (default: "is a Tensor") decides which nodes are leaves; it is
    asked before the node is looked into.

    >>> import gradwise as gw
    >>> leaves, treedef = flatten({"w": gw.ones(2), "b": (gw.zeros(1), 3)})
    >>> len(leaves), unflatten(treedef, [1, 2])
    (2, {'w': 1, 'b': (2, 3)})
    """
    leaf = _tensor_leaf if is_leaf is None else is_leaf
    leaves: list[Any] = []

    def walk(node: Any) -> Any:
        if leaf(node):
            leaves.append(node)
            return ("leaf",)
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            return ("namedtuple", type(node), tuple(walk(v) for v in node))
        if isinstance(node, (tuple, list)):
            return ("tuple" if isinstance(node, tuple) else "list", tuple(walk(v) for v in node))
        if isinstance(node, dict):
            keys = list(node)
            return ("dict", type(node), keys, tuple(walk(node[k]) for k in keys))
        return ("const", node)

    return leaves, walk(tree)


def unflatten(treedef: Any, leaves: list[Any]) -> Any:
    """Rebuild the structure ``treedef`` with ``leaves`` in :func:`flatten`'s order.

    >>> import gradwise as gw
    >>> _, treedef = flatten([gw.ones(1), {"a": gw.ones(1)}])
    >>> unflatten(treedef, ["x", "y"])
    ['x', {'a': 'y'}]
    """
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
            items = [(k, build(c)) for k, c in zip(d[2], d[3])]
            try:
                return d[1](items)
            except TypeError:  # a dict subclass with another constructor (defaultdict...)
                return dict(items)
        return d[1]

    return build(treedef)


def tree_map(fn: Callable[[Tensor], Any], tree: Any) -> Any:
    """Apply ``fn`` to every tensor leaf; constants are kept.

    >>> import gradwise as gw
    >>> tree_map(lambda t: t * 2, {"w": gw.ones(2), "n": 3})
    {'w': tensor([2., 2.]), 'n': 3}
    """
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(x) for x in leaves])
