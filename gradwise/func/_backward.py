"""The backward passes the function transforms share, and how their results are handed
back: detached unless something outside may differentiate them, regrouped per argument."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradwise.autograd.engine import grad as autograd_grad
from gradwise.autograd.tensor import Tensor
from gradwise.func._args import Groups
from gradwise.func.pytree import flatten, unflatten


def _zeros(x: Tensor) -> Tensor:
    return Tensor._make(np.zeros(x.shape, dtype=x.dtype))


def _pullback(outs: list[Tensor], cots: list[Any], inputs: list[Tensor], create: bool) -> list[Tensor]:
    """``sum_i cot_i^T d out_i / d input`` for every input; zeros where unused (as in JAX)."""
    keep = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
    gs: Sequence[Tensor | None] = [None] * len(inputs)
    if keep and inputs:
        # retain_graph: the walk may reach graphs the caller built (closed-over tensors)
        # and must not free them; this transform's own graph goes with its tensors.
        gs = autograd_grad([o for o, _ in keep], inputs, grad_outputs=[c for _, c in keep],
                           retain_graph=True, create_graph=create, allow_unused=True)
    return [g if g is not None else _zeros(x) for g, x in zip(gs, inputs)]


def _linearize(outs: list[Tensor], inputs: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
    """Dummy cotangents ``us`` (one per output) and the recorded pullbacks
    ``gs[j] = sum_i J_ij^T u_i``, linear in ``us``: ``d<gs, v>/du_i = J_i v``."""
    us = [Tensor._make(np.zeros(o.shape, dtype=o.dtype)).requires_grad_(True) for o in outs]
    return us, _pullback(outs, us, inputs, create=True)


def _finish(t: Any, record: bool) -> Any:
    if record or not isinstance(t, Tensor) or (t.grad_fn is None and not t.requires_grad):
        return t
    return t.detach()


def _release(tree: Any, record: bool) -> Any:
    """``tree`` with its tensors detached unless the result must stay in the graph."""
    if record:
        return tree
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [_finish(t, False) for t in leaves])


def _regroup(groups: Groups, flat: list[Tensor], record: bool) -> list[Any]:
    """Per-argument pytrees from the flat list of per-leaf results."""
    res, k = [], 0
    for leaves, treedef in groups:
        res.append(unflatten(treedef, [_finish(t, record) for t in flat[k:k + len(leaves)]]))
        k += len(leaves)
    return res
