"""The backward walk: reverse-mode accumulation over the recorded graph.

The walk is iterative (no recursion, so a chain of 100,000 ops is fine):

1. Every node carries a sequence number from its creation; a node's inputs
   were created before it, so popping nodes from a max-heap on that number
   visits each node after all of its consumers (a topological order, with no
   dependency-counting pass over the graph).
2. For each node, run its rules, reduce each result to its input's shape and
   dtype, and add it to the input node's pending gradient or to the leaf's.
3. Without ``retain_graph`` each node drops its saved arrays once used.
4. Each leaf's total gradient goes through its hooks into its ``.grad``, adopted
   without a copy when nothing else references it (:mod:`.grad_adoption`).

In :func:`run_backward` these are :func:`_start` (the seeds), :func:`_walk` (steps 1-3,
the hot loop, kept in one function so that a node costs no extra Python call) and
:func:`_finish_leaves` (step 4); the rare per-node work lives in helpers called only
when needed (:func:`_node_extras` for hooks and ``retain_grad``, :func:`_visit_group` for
the outputs of a custom ``autograd.Function``, :func:`_unpack` for ``create_graph``).

Gradients are NumPy arrays in the ordinary walk and Tensors under
``create_graph=True``, where every rule is recorded so the result can be
differentiated again.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heapify, heappop, heappush
from typing import Any

import numpy as np

from gradwise.autograd.anomaly import _ANOMALY
from gradwise.autograd.anomaly_backward import BackwardWatch
from gradwise.autograd.backends import array_backend, tensor_backend
from gradwise.autograd.early_leaves import EarlyLeaves, count_leaf_edges
from gradwise.autograd.grad_adoption import owned, unshared
from gradwise.autograd.grad_mode import _MODE, _set_enabled
from gradwise.autograd.node import Node
from gradwise.autograd.post_accumulate_hooks import POST_HOOKS, run_post_accumulate_hooks
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GraphError, ShapeError, format_shape


def _as_list(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _seed(t: Tensor, g: Any, create_graph: bool, where: str) -> Any:
    """The starting gradient for root ``t``: ones for a scalar, else ``g`` checked."""
    if g is None:
        if t._data.size != 1:
            raise GraphError(
                f"{where}: grad can be implicitly created only for scalar outputs, this output "
                f"has shape {format_shape(t.shape)}. Reduce it first (e.g. loss.sum() or "
                "loss.mean()) or pass gradient= with a tensor of that shape (the vector in "
                "the vector-Jacobian product).")
        arr = np.ones_like(t._data)
        return Tensor._make(arr) if create_graph else arr
    if isinstance(g, Tensor):
        if g.shape != t.shape:
            raise ShapeError(f"{where}: gradient has shape {format_shape(g.shape)} but the output "
                             f"has shape {format_shape(t.shape)}; they must match")
        return g if create_graph else g._data.astype(t.dtype, copy=False)
    arr = np.asarray(g, dtype=t.dtype)
    if arr.shape != t.shape:
        raise ShapeError(f"{where}: gradient has shape {format_shape(arr.shape)} but the output "
                         f"has shape {format_shape(t.shape)}; they must match")
    return Tensor._make(arr) if create_graph else arr


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a + b


def run_backward(roots: Sequence[Tensor], seeds: Sequence[Any], *, retain_graph: bool,
                 create_graph: bool, capture: dict[Any, Any] | None,
                 accumulate: bool) -> None:
    """Propagate ``seeds`` from ``roots`` through the graph.

    ``capture`` maps a :class:`Node` (for a non-leaf tensor) or a leaf
    ``Tensor`` to ``None``; the walk fills in their total gradients.  With
    ``accumulate`` the leaves' ``.grad`` receive their gradients (``backward``);
    without it only ``capture`` is filled (``autograd.grad``).

    The steps: :func:`_start` places the seeds, :func:`_walk` visits every node
    reached (computing and passing on the gradients of its inputs), and
    :func:`_finish_leaves` hands each leaf its total gradient.
    """
    # The rules read the backend ``b``: raw NumPy ops on arrays, or the recorded ops on
    # Tensors under create_graph, so that the gradients are themselves differentiable.
    b = tensor_backend() if create_graph else array_backend()
    pending, heap, leaf_grads = _start(roots, seeds)
    # Anomaly mode: a watch checks every gradient (None otherwise: one local test per node and edge).
    watch = BackwardWatch(roots, seeds) if _ANOMALY[0] else None
    prev_mode = _MODE.enabled
    _set_enabled(create_graph)  # grad mode inside the rules: record them only for create_graph
    try:
        early = None
        if POST_HOOKS and accumulate:   # some tensor has a post-accumulate hook: finish leaves early
            early = EarlyLeaves(count_leaf_edges(pending), lambda lg: _finish_leaves(
                lg, b, create_graph, capture, accumulate, watch))
        _walk(pending, heap, leaf_grads, b, retain_graph, create_graph, capture, watch, early)
        # _walk has returned, so its variables no longer reference any rule output: a leaf
        # gradient nothing else holds can be adopted as ``.grad`` without a copy.
        if early is None:
            _finish_leaves(leaf_grads, b, create_graph, capture, accumulate, watch)
        else:
            early.finish_rest(leaf_grads)
    except Exception as exc:
        if watch is not None:
            watch.failed(exc)  # names the forward line of the op whose gradient failed
        raise
    finally:
        _set_enabled(prev_mode)
        if watch is not None:
            watch.close()


# Where gradients wait during the walk.  ``pending`` holds the summed gradient of each
# node reached but not yet visited; ``heap`` orders those nodes by descending ``seq``;
# ``leaf_grads`` maps ``id(leaf)`` to ``[leaf, summed gradient]``.
_Pending = dict[Node, Any]
_Heap = list[tuple[int, Node]]
_LeafGrads = dict[int, list[Any]]


def _start(roots: Sequence[Tensor], seeds: Sequence[Any]) -> tuple[_Pending, _Heap, _LeafGrads]:
    """Place each root's seed: on the root's node (summed when two roots share it), or
    on the root itself when it is a leaf.  Raises if a root's node was already freed."""
    # Nodes are processed in descending creation order (``seq``): every consumer
    # of a node was created after it, so by the time a node is popped all
    # gradient contributions to it have arrived.  ``pending`` sums them.
    pending: _Pending = {}
    heap: _Heap = []
    leaf_grads: _LeafGrads = {}
    for t, g in zip(roots, seeds):
        node = t.grad_fn
        if node is not None:
            if node.saved is None:
                raise node.freed_error()
            if node in pending:
                pending[node] = pending[node] + g
            else:
                pending[node] = g
                heappush(heap, (-node.seq, node))
        else:
            entry = leaf_grads.setdefault(id(t), [t, None])
            entry[1] = _add(entry[1], g)
    return pending, heap, leaf_grads


def _walk(pending: _Pending, heap: _Heap, leaf_grads: _LeafGrads, b: Any, retain_graph: bool,
          create_graph: bool, capture: dict[Any, Any] | None, watch: BackwardWatch | None,
          early: EarlyLeaves | None = None) -> None:
    """Visit every node reached from the roots, newest first, exactly once.

    For each node: take its total gradient ``g``, run its rare extras (hooks,
    ``retain_grad``), check its saved arrays, apply one rule per input that needs a
    gradient, reduce each result to that input's shape and dtype, add it to the
    input's pending gradient (a node) or to ``leaf_grads`` (a leaf), and free the
    node's saved arrays unless ``retain_graph``.

    This loop is the hot path of every backward: the common case runs inline, with
    no Python call per node other than the rules themselves; the rare cases (hooks,
    anomaly mode, create_graph, an in-place change) are one local test each and a
    helper call only when they apply.  ``early`` (only while a post-accumulate hook
    exists) finishes each leaf once its last gradient has arrived (:mod:`.early_leaves`).
    """
    node = heappop(heap)[1] if heap else None
    while node is not None:
        # The node's total gradient: every consumer was visited before it.
        g = pending.pop(node)
        if node.extra is not None:  # hooks on a non-leaf, retain_grad, a node group (rare)
            g = _node_extras(node, g, create_graph)
            if node.extra.group is not None:  # a custom Function's outputs: visited together
                _visit_group(node, g, pending, heap, capture, watch, create_graph, retain_graph)
        if watch is not None:
            watch.begin(node, g)
        if capture is not None and node in capture:
            capture[node] = g
        # The saved arrays must still be there, and unmodified since the forward.
        if node.saved is None:
            raise node.freed_error()
        checks = node.checks
        if checks is not None:
            for box, version, _ in checks:
                if box[0] != version:
                    node.check_versions()  # raises with the full message
        grads: Any = node.op.grads  # grads[i] is a rule wherever edges[i] is not None
        if create_graph:
            inputs, out = _unpack(node)  # Tensors wired to the graph: the rules are recorded
        else:
            inputs, out = node.saved, node.out
        attrs = node.attrs
        meta = node.meta
        # ``fresh``: the first node this one reaches for the first time (chain shortcut below).
        fresh = None
        i = -1
        for e in node.edges:
            i += 1
            if e is None:  # no gradient flows to input i
                continue
            # The rule gives input i's gradient in the op's broadcast output shape ...
            if attrs:
                gi = grads[i](b, g, out, *inputs, **attrs)
            else:
                gi = grads[i](b, g, out, *inputs)
            # ... which is summed over the broadcast dimensions and cast back to the input's
            # (shape, dtype) when they differ (meta[i] is None when they are the output's).
            m = meta[i]
            if m is not None:
                if gi.shape != m[0]:
                    gi = b.sum_to(gi, shape=m[0])
                if gi.dtype != m[1]:
                    gi = b.cast(gi, dtype=m[1])
            if watch is not None:
                watch.check(node, i, e, g, gi)
            # Accumulate: into the producing node's pending gradient, or the leaf's.
            if type(e) is Node:
                if e in pending:
                    pending[e] = pending[e] + gi
                else:
                    if e.saved is None:
                        raise e.freed_error()
                    pending[e] = gi
                    if fresh is None:
                        fresh = e
                    else:
                        heappush(heap, (-e.seq, e))
            else:
                entry = leaf_grads.get(id(e))
                if entry is None:
                    leaf_grads[id(e)] = [e, gi]
                else:
                    entry[1] = entry[1] + gi
                if early is not None:  # rare: a post-accumulate hook exists
                    gi = None          # so that the leaf's gradient can be adopted without a copy
                    early.arrived(e, leaf_grads)
        if not retain_graph:  # free the saved arrays (Node.release, inlined)
            node.saved = None
            node.out = None
        # Next node.  Chain shortcut: a newly reached node that is newer than everything
        # waiting in the heap is next in order anyway; skip the heap.
        if fresh is not None:
            if heap and heap[0][0] < -fresh.seq:
                heappush(heap, (-fresh.seq, fresh))
                node = heappop(heap)[1]
            else:
                node = fresh
        elif heap:
            node = heappop(heap)[1]
        else:
            node = None


def _finish_leaves(leaf_grads: _LeafGrads, b: Any, create_graph: bool, capture: dict[Any, Any] | None,
                   accumulate: bool, watch: BackwardWatch | None) -> None:
    """Each leaf's total gradient: through its hooks, into ``capture``, and (with
    ``accumulate``) into its ``.grad`` in the leaf's dtype.

    A fresh gradient array that nothing else references becomes ``.grad`` as it is;
    anything else is copied or added (:mod:`gradwise.autograd.grad_adoption`).
    """
    for entry in leaf_grads.values():
        leaf, g = entry
        entry[1] = None  # g is now this frame's only reference (see unshared)
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, create_graph)
        if watch is not None:
            watch.leaf(leaf, g)
        if capture is not None and leaf in capture:
            capture[leaf] = g
        if accumulate and leaf.requires_grad:
            if g.dtype != leaf._data.dtype:  # a gradient has the dtype of its tensor
                g = b.cast(g, dtype=leaf._data.dtype)
            prev = leaf.grad
            if create_graph or prev is not None or not unshared(g):
                leaf.grad = owned(g, create_graph, prev, accumulate=True)
            else:
                leaf.grad = Tensor._make(g)


def _node_extras(node: Node, g: Any, create_graph: bool) -> Any:
    """Tensor hooks registered on a non-leaf, and ``retain_grad``."""
    if node.hooks:
        g = _run_hooks(node.hooks, g, create_graph)
    if node.retained is not None:
        owner = node.retained()
        if owner is not None:
            owner.grad = owned(g, create_graph, owner.grad, accumulate=False)
    return g


def _visit_group(node: Node, g: Any, pending: _Pending, heap: _Heap, capture: dict[Any, Any] | None,
                 watch: BackwardWatch | None, create_graph: bool, retain_graph: bool) -> None:
    """Visit a :class:`~gradwise.autograd.node.NodeGroup` (one node per output of a custom
    Function) once, at ``node``, the first member reached.

    Every consumer of every member was recorded after all members, so the other members'
    gradients in ``pending`` are final: take them out of the walk (and the heap, so they
    are not visited again), run their hooks, ``retain_grad`` and captures as their own
    visit would, and store every member's gradient in ``group.grads`` (``None`` where none
    arrived) for ``node``'s rules, which compute all input gradients from them at once.
    Without ``retain_graph`` the other members are freed with ``node``.
    """
    assert node.extra is not None and node.extra.group is not None
    group = node.extra.group
    grads = []
    removed = False
    for ref in group.nodes:
        member = ref()
        if member is node:
            grads.append(g)
            continue
        gm = pending.pop(member, None) if member is not None else None
        if gm is not None:
            assert member is not None
            heap.remove((-member.seq, member))  # every pending node but the current one is in the heap
            removed = True
            gm = _node_extras(member, gm, create_graph)
            if watch is not None:
                watch.begin(member, gm)
            if capture is not None and member in capture:
                capture[member] = gm
        if member is not None and not retain_graph:
            member.saved = None
            member.out = None
        grads.append(gm)
    if removed:
        heapify(heap)
    group.grads = tuple(grads)
    group.release = not retain_graph


def _unpack(node: Node) -> tuple[tuple[Any, ...], Any]:
    """Saved arrays as Tensors wired to the graph, so the rules are recorded."""
    saved = node.saved
    assert saved is not None  # the walk has raised freed_error for a freed node
    inputs = []
    for e, a in zip(node.edges, saved):
        if type(e) is Node:
            t = Tensor._make(a)
            t.grad_fn = e
            t.requires_grad = True
        elif e is not None:
            t = e  # the leaf itself: second-order gradients reach it
        elif isinstance(a, np.ndarray):
            t = Tensor._make(a)
        else:
            t = a
        inputs.append(t)
    out = None
    if node.out is not None:
        out = Tensor._make(node.out)
        out.grad_fn = node
        out.requires_grad = True
    return tuple(inputs), out


def _run_hooks(hooks: list[Any], g: Any, create_graph: bool) -> Any:
    gt = g if create_graph else Tensor._make(g)
    for hook in list(hooks):
        r = hook(gt)
        if r is not None:
            if not isinstance(r, Tensor):
                r = Tensor._make(np.asarray(r))
            if r.shape != gt.shape:
                raise ShapeError(f"hook returned a gradient of shape {format_shape(r.shape)}; "
                                 f"expected {format_shape(gt.shape)}")
            gt = r
    return gt if create_graph else gt._data


def _roots_and_seeds(where: str, tensors: Any, gradients: Any, create_graph: bool,
                     names: tuple[str, str]) -> tuple[list[Tensor], list[Any]]:
    """The roots of a backward walk and their seed gradients, checked; ``names`` are what the
    caller calls its two arguments (``backward``: tensors/gradients, ``grad``: outputs/grad_outputs)."""
    roots = _as_list(tensors)
    grads = _as_list(gradients) if gradients is not None else [None] * len(roots)
    if len(grads) != len(roots):
        raise ValueError(f"{where}: got {len(roots)} {names[0]} but {len(grads)} {names[1]}")
    for i, t in enumerate(roots):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise GraphError(
                f"{where}: element {i} of {names[0]} does not require grad and has no grad_fn. "
                "Did you create the inputs with requires_grad=True, and run the forward "
                "outside `no_grad`?")
    return roots, [_seed(t, g, create_graph, where) for t, g in zip(roots, grads)]


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves.

    Args:
        tensors: a tensor or a sequence of tensors (the roots).
        grad_tensors: the gradient with respect to each root (``None`` for a scalar root).
        retain_graph: keep saved arrays for another backward (default: ``create_graph``).
        create_graph: record the backward so that ``.grad`` can be differentiated.
        inputs: if given, only these tensors receive ``.grad``.

    >>> import gradwise as gw
    >>> x = gw.tensor([1.0, 2.0], requires_grad=True)
    >>> gw.autograd.backward((x ** 2).sum())
    >>> x.grad
    tensor([2., 4.])
    """
    roots, seeds = _roots_and_seeds("backward", tensors, grad_tensors, create_graph, ("tensors", "gradients"))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward(roots, seeds, retain_graph=retain_graph, create_graph=create_graph,
                     capture=None, accumulate=True)
        return
    targets = _as_list(inputs)
    capture = {_key(t): None for t in targets}
    run_backward(roots, seeds, retain_graph=retain_graph, create_graph=create_graph,
                 capture=capture, accumulate=False)
    for t in targets:
        g = capture[_key(t)]
        if g is not None:
            t.grad = owned(g, create_graph, t.grad, accumulate=True)
            if POST_HOOKS and t.grad_fn is None:
                run_post_accumulate_hooks(t)


def _key(t: Tensor) -> Any:
    if not isinstance(t, Tensor) or not t.requires_grad:
        raise GraphError("autograd.grad: every input must be a tensor that requires grad")
    return t.grad_fn if t.grad_fn is not None else t


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching any ``.grad``.

    Returns a tuple with one gradient per input.  An input that ``outputs``
    does not depend on raises, unless ``allow_unused=True`` (then ``None``).

    >>> import gradwise as gw
    >>> x = gw.tensor(3.0, requires_grad=True)
    >>> (dx,) = gw.autograd.grad(x ** 3, x, create_graph=True)
    >>> dx, gw.autograd.grad(dx, x)[0]
    (tensor(27., grad_fn=<MulBackward0>), tensor(18.))
    """
    ins = _as_list(inputs)
    outs, seeds = _roots_and_seeds("grad", outputs, grad_outputs, create_graph, ("outputs", "grad_outputs"))
    capture = {_key(t): None for t in ins}
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(outs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                 capture=capture, accumulate=False)
    result: list[Tensor | None] = []
    for i, t in enumerate(ins):
        g = capture[_key(t)]
        if g is None:
            if not allow_unused:
                raise GraphError(
                    f"grad: input {i} (shape {format_shape(t.shape)}) was not used to compute "
                    "the outputs; pass allow_unused=True to get None for it")
            result.append(None)
        elif create_graph:
            result.append(g)
        else:
            result.append(Tensor._make(g))
    return tuple(result)
