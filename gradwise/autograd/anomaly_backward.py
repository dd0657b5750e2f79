"""Anomaly mode, backward pass: the watch that checks every gradient the walk produces.

The engine creates a :class:`BackwardWatch` only while anomaly mode is on; see
:mod:`gradwise.autograd.anomaly` for the mode itself and the forward checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.autograd.anomaly import (
    _CHECK,
    _CURRENT,
    _MAX_WALK,
    _add,
    _count,
    _diverged,
    _produced_hints,
    _what,
)
from gradwise.autograd.anomaly_report import (
    AnomalyReport,
    Hint,
    InputReport,
    fallback_hint,
    overflow_hint,
    value_stats,
    where_hint,
    zero_times_inf_hint,
)
from gradwise.autograd.node import Node
from gradwise.autograd.tensor import Tensor
from gradwise.errors import AnomalyError


class BackwardWatch:
    """The engine's companion in a backward walk run in anomaly mode.

    ``begin(node, g)`` before a node's rules run, ``check(...)`` after each
    gradient it produces, ``leaf(...)`` for each leaf's total, ``failed(exc)``
    when the walk raises, ``close()`` at the end.
    """

    def __init__(self, roots: Any, seeds: Any) -> None:
        self.check_nan = _CHECK[0]
        self.senders: dict[Node, list[Node]] = {}
        self.node: Node | None = None
        if self.check_nan:
            for t, g in zip(roots, seeds):
                gd = g._data if isinstance(g, Tensor) else g
                if not _finite(gd):
                    self._raise_incoming(t.grad_fn, gd, "the gradient passed to backward() / grad() "
                                         "(gradient= or grad_outputs=) already contains it")
        self._prev = _CURRENT[0]
        self._err = np.errstate(divide="ignore", over="ignore", invalid="ignore") if self.check_nan else None
        if self._err is not None:
            self._err.__enter__()

    def begin(self, node: Node, g: Any) -> None:
        self.node = node
        _CURRENT[0] = node
        if self.check_nan:
            gd = g._data if isinstance(g, Tensor) else g
            if not _finite(gd):
                if node.hooks:
                    why = "a hook registered on this op's output returned it"
                elif len(self.senders.get(node, ())) > 1:
                    why = "summing the gradients from the several places that use this output overflowed"
                else:
                    why = "it was passed to backward() or arrived from an earlier op"
                self._raise_incoming(node, gd, why)

    def check(self, node: Node, index: int, edge: Any, g: Any, gi: Any) -> None:
        if self.check_nan:
            gd = gi._data if isinstance(gi, Tensor) else gi
            if not _finite(gd):
                self._raise_produced(node, index, g._data if isinstance(g, Tensor) else g, gd)
            if type(edge) is Node:
                self.senders.setdefault(edge, []).append(node)

    def leaf(self, leaf: Tensor, g: Any) -> None:
        if self.check_nan:
            gd = g._data if isinstance(g, Tensor) else g
            if not _finite(gd):
                s = value_stats(gd)
                assert s is not None
                summary = (f"anomaly in the backward pass: the total gradient of a leaf of shape "
                           f"{tuple(leaf.shape)} is {_what(s)} ({s.nonfinite_text()}), although every op's "
                           "gradient was finite: a hook on the leaf returned it, or summing its gradients overflowed")
                report = AnomalyReport("backward", "(leaf)", "incoming", summary, None, (), grad_output=s,
                                       hints=(fallback_hint(),))
                raise AnomalyError(report.format(), report)

    def failed(self, exc: BaseException) -> None:
        """Name the forward line of the node that was running when the walk raised."""
        node = self.node
        if isinstance(exc, AnomalyError) or node is None or not hasattr(exc, "add_note"):
            return
        tr = node.trace
        if tr is not None and tr.location is not None:
            loc = tr.location
            src = f"\n    {loc.source}" if loc.source else ""
            exc.add_note(f"anomaly mode: this happened in the gradient of '{node.op.name}', created at "
                         f"{loc.describe()}{src}")

    def close(self) -> None:
        _CURRENT[0] = self._prev
        if self._err is not None:
            self._err.__exit__(None, None, None)

    # -------------------------------------------------------------- reports
    def _saved(self, node: Node) -> tuple[InputReport, ...]:
        saved = node.saved or (None,) * len(node.edges)
        out = []
        for i, e in enumerate(node.edges):
            a = saved[i] if i < len(saved) else None
            if a is None:
                if isinstance(e, Tensor):
                    a = e._data
                elif isinstance(e, Node) and e.out is not None:
                    a = e.out
            s = value_stats(a)
            if s is None and a is not None and not isinstance(a, np.ndarray):
                continue  # an index key or other non-numeric argument
            origin = _edge_origin(e, a)
            out.append(InputReport(i, f"input {i}", s, origin))
        return tuple(out)

    def _raise_incoming(self, node: Node | None, gd: Any, why: str) -> None:
        s = value_stats(gd)
        assert s is not None
        name = node.op.name if node is not None else "(leaf)"
        summary = (f"anomaly in the backward pass: the gradient arriving at '{name}' already contained "
                   f"{_what(s)} ({_count(s)}): {why}")
        tr = node.trace if node is not None else None
        report = AnomalyReport("backward", name, "incoming", summary, tr.location if tr else None,
                               self._saved(node) if node is not None and node.saved is not None else (),
                               value_stats(node.out) if node is not None else None, grad_output=s,
                               hints=(fallback_hint(),), parent=tr.parent if tr else None)
        raise AnomalyError(report.format(), report)

    def _raise_produced(self, node: Node, index: int, g: Any, gi: Any) -> None:
        gs, gis = value_stats(g), value_stats(gi)
        assert gis is not None
        inputs = self._saved(node)
        out = value_stats(node.out)
        tr = node.trace
        summary = (f"anomaly in the backward pass: the gradient rule of '{node.op.name}' produced {_what(gis)} "
                   f"({_count(gis)}) in the gradient for its input {index}, from a finite incoming gradient")
        hints: list[Hint] = []
        w = self._where(node)
        if w is not None:
            hints.append(w)
        _produced_hints(hints, node.op, "backward", inputs, out)
        if gis.nan and w is None:
            _add(hints, zero_times_inf_hint(gs, inputs, out))
        div = _diverged(list(node.edges), direct=False)
        if div is not None:
            hints.insert(0, div)
        if not hints:
            _add(hints, overflow_hint(gis, inputs))
        if not hints:
            hints.append(fallback_hint())
        report = AnomalyReport("backward", node.op.name, "produced", summary, tr.location if tr else None,
                               inputs, out, gs, gis, index, tuple(hints), tr.parent if tr else None)
        raise AnomalyError(report.format(), report)

    def _where(self, node: Node) -> Hint | None:
        """A where/masked_fill downstream of ``node`` that discarded NaN/Inf (follow who sent the gradient)."""
        seen = {node}
        stack = list(self.senders.get(node, ()))
        while stack and len(seen) < _MAX_WALK:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            tr = s.trace
            if tr is not None and tr.discarded is not None:
                i, stats = tr.discarded
                return where_hint(tr.location, s.op.anomaly.branch_label(i), stats, node.op.name)
            stack.extend(self.senders.get(s, ()))
        return None


def _edge_origin(e: Any, a: Any) -> str:
    if e is None:
        return "a constant or an input that does not require grad" if a is not None else ""
    if isinstance(e, Tensor):
        return "a trainable leaf (requires_grad=True)"
    tr = e.trace
    loc = tr.location if tr is not None else None
    at = f" at {loc.describe()}" if loc is not None else ""
    return f"the output of '{e.op.name}'{at}"


def _finite(a: Any) -> bool:
    if isinstance(a, np.ndarray):
        return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())
    return bool(np.isfinite(a).all()) if a is not None else True
