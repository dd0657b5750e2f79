"""Finishing each leaf as soon as its last consumer has run (only while a post-accumulate hook exists).

The plain backward walk sums every leaf's gradient as the nodes are visited and hands
the totals to the leaves at the end (``engine._finish_leaves``).  A post-accumulate-grad
hook (:mod:`gradwise.autograd.post_accumulate_hooks`) must run as soon as a leaf's
``.grad`` is final, so that, say, a gradient allreduce can start while the walk goes
on.  When such a hook exists anywhere (one test per backward), the engine:

1. counts, before the walk, the edges that reach each leaf from the nodes the walk will
   visit (:func:`count_leaf_edges`; a custom Function's node group is visited once, so
   its shared edges count once);
2. after each gradient a node passes to a leaf, lowers that leaf's count
   (:meth:`EarlyLeaves.arrived`); at zero every contribution has been summed, in the
   order of the plain walk, so the leaf is finished then, by the same code
   (``_finish_leaves`` on that one leaf: hooks from ``register_hook``, the cast, adoption
   without a copy or accumulation into an existing ``.grad``), and its post-accumulate
   hooks run;
3. finishes what is left at the end (a leaf that was itself a root and no node used).

The sums are formed exactly as in the plain walk, so ``.grad`` is bit-identical either
way; only the moment a leaf is finished (and the order of the leaves' own hooks) differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradwise.autograd.node import Node
from gradwise.autograd.post_accumulate_hooks import run_post_accumulate_hooks


def count_leaf_edges(pending: dict[Node, Any]) -> dict[int, int]:
    """``id(leaf) -> number of edges reaching it`` from the nodes reachable from ``pending`` (the roots' nodes).

    Every node reachable from a root is visited by the walk and passes a gradient along each
    of its edges, so this is how many gradients each leaf will receive from nodes."""
    counts: dict[int, int] = {}
    seen = set(pending)
    stack = list(pending)
    groups: set[int] = set()
    while stack:
        node = stack.pop()
        extra = node.extra
        if extra is not None and extra.group is not None:
            if id(extra.group) in groups:       # the members share their edges; one visit applies them
                continue
            groups.add(id(extra.group))
        for e in node.edges:
            if e is None:
                continue
            if type(e) is Node:
                if e not in seen:
                    seen.add(e)
                    stack.append(e)
            else:
                counts[id(e)] = counts.get(id(e), 0) + 1
    return counts


class EarlyLeaves:
    """The walk's countdown of the gradients each leaf still waits for (see the module docstring).

    ``finish(leaf_grads)`` is the engine's ``_finish_leaves`` with the walk's other arguments bound."""

    __slots__ = ("counts", "finish")

    def __init__(self, counts: dict[int, int], finish: Callable[[dict[int, list[Any]]], None]) -> None:
        self.counts = counts
        self.finish = finish

    def arrived(self, leaf: Any, leaf_grads: dict[int, list[Any]]) -> None:
        """A node has just added its gradient for ``leaf`` into ``leaf_grads``; finish the leaf if it was the last.

        The caller must have dropped its own reference to that gradient (so it can be adopted as ``.grad``)."""
        key = id(leaf)
        left = self.counts[key] - 1
        self.counts[key] = left
        if left == 0:
            self.finish({key: leaf_grads.pop(key)})
            if leaf.requires_grad:
                run_post_accumulate_hooks(leaf)

    def finish_rest(self, leaf_grads: dict[int, list[Any]]) -> None:
        """Finish the leaves no node reached last (roots that are leaves), then run their hooks."""
        leaves = [entry[0] for entry in leaf_grads.values()]
        self.finish(leaf_grads)
        for leaf in leaves:
            if leaf.requires_grad:
                run_post_accumulate_hooks(leaf)
