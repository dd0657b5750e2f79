"""The backward walk, traced: :func:`gradwise.autograd.engine.run_backward`'s plain case,
step for step, with one plan line per rule call, reduction, cast and gradient sum.

It visits the nodes in the engine's order (a max-heap on creation number, with the
engine's chain shortcut) and sums gradients in the engine's order, so the replay adds the
same numbers in the same order: its results equal eager's bit for bit.  The cases the plan
does not cover (``create_graph``, ``autograd.grad``, ``inputs=``, tensor hooks,
``retain_grad``, custom ``autograd.Function`` nodes, non-default seeds computed outside the
step) fail the trace before anything runs, so the engine itself can run them.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from gradwise.autograd.backends import array_backend
from gradwise.autograd.grad_adoption import owned
from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.node import Node
from gradwise.autograd.tensor import Tensor
from gradwise.compile.plan import is_local
from gradwise.compile.tracer import Tracer


def check_traceable(tr: Tracer, roots: Sequence[Tensor], create_graph: bool, capture: Any,
                    accumulate: bool) -> bool:
    """Whether the plan can repeat this backward; if not, fail the trace before anything runs."""
    if create_graph:
        tr.fail("backward(create_graph=True) (higher-order gradients are not compiled yet)")
    if capture is not None or not accumulate:
        tr.fail("autograd.grad or backward(inputs=...) (only a plain backward is compiled)")
    seen: set[int] = set()
    stack: list[Any] = [t.grad_fn if t.grad_fn is not None else t for t in roots]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if type(n) is Node:
            if n.extra is not None:
                tr.fail("a tensor hook, retain_grad() or a custom autograd.Function in the graph")
            stack.extend(e for e in n.edges if e is not None)
        elif isinstance(n, Tensor) and n._hooks:
            tr.fail("a hook on a leaf tensor")
    return tr.failure is None


def traced_backward(tr: Tracer, roots: Sequence[Tensor], seeds: Sequence[Any],
                    retain_graph: bool) -> None:
    """Run and record the backward from ``roots`` (the engine's plain walk)."""
    plan = tr.plan
    b = array_backend()
    bname = plan.const(b, "b")
    pending: dict[Node, Any] = {}
    names: dict[int, str] = {}   # id(node or leaf) -> plan name of its summed gradient
    heap: list[tuple[int, Node]] = []
    leaf_grads: dict[int, list[Any]] = {}
    for t, g in zip(roots, seeds):
        gname = _seed_name(tr, t, g)
        node = t.grad_fn
        if node is not None:
            if node.saved is None:
                raise node.freed_error()
            if node in pending:
                pending[node], names[id(node)] = _sum(tr, pending[node], names[id(node)], g, gname)
            else:
                pending[node], names[id(node)] = g, gname
                heappush(heap, (-node.seq, node))
        else:
            _to_leaf(tr, leaf_grads, names, t, g, gname)
    prev_mode = _STATE[0]
    _STATE[0] = False
    try:
        _walk(tr, pending, names, heap, leaf_grads, b, bname, retain_graph)
    finally:
        _STATE[0] = prev_mode
    for leaf, g in leaf_grads.values():
        _finish_leaf_traced(tr, leaf, g, names[id(leaf)], b, bname)


def _walk(tr: Tracer, pending: dict[Node, Any], names: dict[int, str], heap: list[tuple[int, Node]],
          leaf_grads: dict[int, list[Any]], b: Any, bname: str, retain_graph: bool) -> None:
    plan = tr.plan
    node = heappop(heap)[1] if heap else None
    while node is not None:
        g = pending.pop(node)
        gname = names.pop(id(node))
        if node.saved is None:
            raise node.freed_error()
        if node.checks is not None:
            for box, version, _ in node.checks:
                if box[0] != version:
                    node.check_versions()
        grads: Any = node.op.grads
        inputs, out = node.saved, node.out
        in_names = [tr.ref(a) for a in inputs]
        out_name = tr.ref(out)
        attrs = node.attrs
        kw_names = {k: tr.attr(node.op.name, k, v) for k, v in attrs.items()}
        kw = "".join(f", {k}={n}" for k, n in kw_names.items())
        kw_locals = [n for n in kw_names.values() if is_local(n)]
        fresh = None
        for i, e in enumerate(node.edges):
            if e is None:
                continue
            gi = grads[i](b, g, out, *inputs, **attrs)
            template = "{} = @R(" + bname + ", {}, {}" + ", {}" * len(inputs) + kw + ")"
            gi_name = plan.emit(template, [gname, out_name, *in_names], ("@R", grads[i]))
            plan.lines[-1][2].extend(kw_locals)
            tr.bind(gi, gi_name)
            m = node.meta[i]
            if m is not None:
                if gi.shape != m[0]:
                    gi_name = _sum_to_line(tr, gi, gi_name, m[0], bname)
                    gi = b.sum_to(gi, shape=m[0])
                    tr.bind(gi, gi_name)
                if gi.dtype != m[1]:
                    gi = b.cast(gi, dtype=m[1])
                    gi_name = plan.emit("{} = " + bname + ".cast({}, dtype=" + plan.const(m[1], "k") + ")",
                                        [gi_name])
                    tr.bind(gi, gi_name)
            if type(e) is Node:
                if e in pending:
                    pending[e], names[id(e)] = _sum(tr, pending[e], names[id(e)], gi, gi_name)
                else:
                    if e.saved is None:
                        raise e.freed_error()
                    pending[e], names[id(e)] = gi, gi_name
                    if fresh is None:
                        fresh = e
                    else:
                        heappush(heap, (-e.seq, e))
            else:
                _to_leaf(tr, leaf_grads, names, e, gi, gi_name)
        if not retain_graph:
            node.saved = None
            node.out = None
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


def _sum_to_line(tr: Tracer, gi: Any, gi_name: str, shape: tuple[int, ...], bname: str) -> str:
    """The line reducing a gradient to its input's shape.  When broadcasting only prepended
    dimensions (a bias over a batch), ``sum_to`` is one ``np.add.reduce`` over them: the plan
    makes that call itself, without ``sum_to``'s dispatch (the same call, the same result)."""
    lead = gi.ndim - len(shape)
    if lead > 0 and type(gi) is np.ndarray and gi.shape[lead:] == tuple(shape):
        axes = tuple(range(lead))
        return tr.plan.emit("{} = @A({}, axis=" + repr(axes) + ")", [gi_name], ("@A", np.add.reduce))
    return tr.plan.emit("{} = " + bname + ".sum_to({}, shape=" + tr.plan.const(shape, "k") + ")", [gi_name])


def _sum(tr: Tracer, a: Any, aname: str, c: Any, cname: str) -> tuple[Any, str]:
    """``a + c`` (the engine's accumulation order: the earlier sum on the left)."""
    s = a + c
    name = tr.plan.emit("{} = {} + {}", [aname, cname])
    tr.bind(s, name)
    return s, name


def _to_leaf(tr: Tracer, leaf_grads: dict[int, list[Any]], names: dict[int, str], leaf: Tensor,
             g: Any, gname: str) -> None:
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g]
        names[id(leaf)] = gname
    else:
        entry[1], names[id(leaf)] = _sum(tr, entry[1], names[id(leaf)], g, gname)


def _seed_name(tr: Tracer, t: Tensor, g: Any) -> str:
    """The plan name of a root's seed: a plan value, or ``ones_like`` of the root."""
    name = tr.names.get(id(g))
    if name is not None:
        return name
    if g.shape == t._data.shape and g.dtype == t._data.dtype and bool(np.all(g == 1)):
        root = tr.ref(t._data)
        name = tr.plan.emit("{} = @O({})", [root], ("@O", np.ones_like))
        tr.bind(g, name)
        return name
    tr.fail("backward(gradient=...) with a gradient computed outside gradwise ops")
    return "None"


def _finish_leaf_traced(tr: Tracer, leaf: Tensor, g: Any, gname: str, b: Any, bname: str) -> None:
    """Store a leaf's gradient as the engine does, and record :func:`finish_leaf` for replays."""
    if not leaf.requires_grad:
        return
    if g.dtype != leaf._data.dtype:
        g = b.cast(g, dtype=leaf._data.dtype)
        gname = tr.plan.emit("{} = " + bname + ".cast({}, dtype=" + tr.plan.const(leaf._data.dtype, "k") + ")",
                             [gname])
        tr.bind(g, gname)
    # the plan adopts a gradient it made itself (as the engine adopts an unshared one);
    # anything else (an input, a parameter, another leaf's gradient) is copied
    adopt = gname[0] == "v" and type(g) is np.ndarray and g.flags.owndata and g.flags.writeable \
        and not any(t._data is g for t in tr.grad_tensors.values())
    holder = tr.grad_tensors.get(id(leaf))
    if holder is None:
        holder = leaf.grad if leaf.grad is not None else Tensor._make(np.empty(0, dtype=g.dtype))
        tr.grad_tensors[id(leaf)] = holder
    if not adopt:
        g = np.array(g, copy=True)
        gname = tr.plan.emit("{} = @C({}, copy=True)", [gname], ("@C", np.array))
        tr.bind(g, gname)
    tr.unrecorded(finish_leaf, (leaf, holder, g), {})    # its .grad store is the plan line below
    # finish_leaf, inlined for the usual case (zero_grad() left no gradient): one plan line
    p, h = tr.plan.const(leaf, "p"), tr.plan.const(holder, "g")
    tr.plan.emit(f"if {p}.grad is None: {h}._data = {{}}; {h}._version = None; {p}.grad = {h}\n"
                 f"    else: @S({p}, {h}, {{}})", [gname, gname], ("@S", finish_leaf), n_out=0)


def finish_leaf(leaf: Tensor, holder: Tensor, g: np.ndarray) -> None:
    """``leaf.grad`` after a backward: ``holder`` (the same Tensor at every replay) holding
    ``g`` when the leaf had no gradient, else the engine's accumulation ``prev + g``."""
    prev = leaf.grad
    if prev is None:
        holder._data = g
        holder._version = None
        leaf.grad = holder
    else:
        leaf.grad = owned(g, False, prev, accumulate=True)
