"""The ``ctx`` of a custom :class:`~gradwise.autograd.custom_function.Function`: what
``forward`` hands to ``backward`` (:class:`FunctionCtx`), the tensors it saves, and the
check of the gradients ``backward`` returns.

Saved tensors are kept as (array, version counter, version, edge), the form every node
uses, and checked when ``backward`` reads ``ctx.saved_tensors`` (as torch checks on
unpacking): a tensor changed in place after ``forward`` raises ``GraphError``.  They come
back as tensors wired to the graph (a saved output's ``grad_fn`` is its own node, a saved
leaf is the leaf itself), so under ``create_graph=True`` a ``backward`` written with
gradwise ops records a differentiable gradient (without ``create_graph`` the gradients are
Tensors with no history and nothing records).

At backward, the first rule of the call's nodes runs the user's ``backward`` once with
every output's gradient (gathered by the engine's group visit); :meth:`FunctionCtx._gradient`
hands each rule its input's gradient and frees the saved tensors after the last one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.node import NodeGroup
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GraphError, ShapeError, format_shape

if TYPE_CHECKING:
    from gradwise.autograd.custom_function import Function

__all__ = ["FunctionCtx", "edge_of", "keep_saved", "version_box"]


def edge_of(t: Tensor) -> Any:
    """What a node's edge to ``t`` is: its node, the leaf itself, or ``None``."""
    if t.grad_fn is not None:
        return t.grad_fn
    return t if t.requires_grad else None


def version_box(t: Tensor) -> list[int]:
    """``t``'s version counter (a one-item list, shared with its aliases), created on first use."""
    box = t._version
    if box is None:
        box = t._version = [0]
    return box


class _Saved:
    """One tensor of ``save_for_backward``, kept as every node keeps what it saves."""

    __slots__ = ("data", "box", "version", "edge", "output", "what")

    def __init__(self, t: Tensor, output: int | None, what: str) -> None:
        self.data = t._data
        self.box = version_box(t)
        self.version = self.box[0]
        self.edge = None if output is not None else edge_of(t)
        self.output = output  # index of the node in the group when this is a differentiable output
        self.what = what

    def unpack(self, ctx: FunctionCtx, index: int) -> Tensor:
        if self.box[0] != self.version:
            name = ctx._cls.__name__
            raise GraphError(
                f"one of the tensors saved by {name}.forward with ctx.save_for_backward (saved tensor "
                f"{index}, {self.what}, shape {format_shape(self.data.shape)}) was modified by an in-place "
                f"operation: it is at version {self.box[0]}, {name}.backward needs version {self.version}. "
                "Hint: replace the in-place op (x += ..., x.mul_(...), x[i] = ...) by its out-of-place "
                "form (x = x + ...), or call .clone() before modifying.")
        e = self.edge
        if isinstance(e, Tensor):
            return e  # the leaf itself: second-order gradients reach it
        t = Tensor._make(self.data)
        t._version = self.box
        if self.output is not None and ctx._group is not None:
            e = ctx._group.nodes[self.output]()
        if e is not None:
            t.grad_fn = e
            t.requires_grad = True
        return t


class FunctionCtx:
    """The ``ctx`` of a custom :class:`Function`: what ``forward`` hands to ``backward``.

    ``forward`` (or ``setup_context``) calls :meth:`save_for_backward`,
    :meth:`mark_dirty`, :meth:`mark_non_differentiable` and :meth:`set_materialize_grads`,
    and may set any attribute (``ctx.k = 3``); ``backward`` reads :attr:`saved_tensors`,
    :attr:`needs_input_grad` and those attributes.
    """

    needs_input_grad: tuple[bool, ...]
    """One flag per input of ``forward``: the input is a tensor whose gradient is needed."""
    materialize_grads: bool
    """Pass zeros to ``backward`` for outputs that received no gradient (default); see
    :meth:`set_materialize_grads`."""

    def __init__(self, cls: type[Function]) -> None:
        self._cls = cls
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._to_save: tuple[Any, ...] | None = None
        self._saved: list[_Saved | None] | None = None
        self._freed = False
        self._dirty: tuple[Tensor, ...] = ()
        self._non_differentiable: tuple[Tensor, ...] = ()
        # Filled by apply when the call is recorded:
        self._group: NodeGroup | None = None
        self._edges: tuple[Any, ...] = ()
        self._in_meta: tuple[Any, ...] = ()     # (shape, dtype) of each input that is a tensor
        self._out_meta: tuple[Any, ...] = ()    # (shape, dtype) of each tensor output, else None
        self._out_node: tuple[int | None, ...] = ()  # each output's node in the group, or None
        self._last = -1                          # the last input with an edge (the last rule called)
        self._result: list[Any] | None = None

    # ------------------------------------------------------------------ forward side
    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep ``tensors`` (inputs, outputs or intermediates; ``None`` allowed) for ``backward``.

        They are checked against in-place changes when ``backward`` reads them."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{self._cls.__name__}: save_for_backward takes tensors or None; argument {i} "
                                f"is a {type(t).__name__} (keep other values as ctx attributes: ctx.k = k)")
        self._to_save = tensors

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Declare inputs that ``forward`` modified in place; ``forward`` must return them."""
        self._dirty = tensors

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """Declare outputs that have no gradient (``requires_grad`` stays ``False``; ``backward``
        receives zeros for them, or ``None`` without materialized gradients)."""
        self._non_differentiable = outputs

    def set_materialize_grads(self, value: bool) -> None:
        """With ``False``, ``backward`` receives ``None`` instead of zeros for an output that
        no gradient reached (or that is not differentiable)."""
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The tensors given to :meth:`save_for_backward`, checked for in-place changes."""
        if self._freed:
            raise GraphError(
                f"trying to backward through {self._cls.__name__}Backward a second time (or to read "
                "ctx.saved_tensors after they were freed): the first backward freed them. Pass "
                "retain_graph=True to the first .backward() (or autograd.grad) if you need to backward "
                "through the graph again.")
        if self._saved is None:  # inside forward / setup_context: as given
            return tuple(self._to_save or ())
        return tuple(None if s is None else s.unpack(self, i) for i, s in enumerate(self._saved))

    # ------------------------------------------------------------------ backward side
    def _gradient(self, i: int) -> Any:
        """Input ``i``'s gradient (the rule of input ``i`` of this call's nodes)."""
        result = self._result
        if result is None:
            result = self._result = self._run_backward()
        gi = result[i]
        if i == self._last:  # the engine calls the rules in input order: this is the last one
            self._result = None
            group = self._group
            if group is not None and group.release:
                self._saved = None
                self._freed = True
        return gi

    def _run_backward(self) -> list[Any]:
        """The user's ``backward`` run once with every output's gradient (from the group the
        engine filled): one checked gradient per input."""
        group = self._group
        assert group is not None and group.grads is not None  # set by the engine's group visit
        grads = group.grads
        group.grads = None
        create_graph = _STATE[0]  # the engine runs rules in grad mode exactly under create_graph
        grad_outputs: list[Any] = []
        for meta, k in zip(self._out_meta, self._out_node):
            g = grads[k] if k is not None else None
            if g is None:
                if meta is not None and self.materialize_grads:
                    g = Tensor._make(np.zeros(meta[0], dtype=meta[1]))
            elif not create_graph:
                g = Tensor._make(g)
            grad_outputs.append(g)
        return self._check_gradients(self._cls.backward(self, *grad_outputs), create_graph)

    def _check_gradients(self, result: Any, create_graph: bool) -> list[Any]:
        """One gradient per input, checked: arrays (Tensors under create_graph) where an edge is."""
        cls = self._cls
        name = f"{cls.__name__}Backward"
        grads = result if isinstance(result, tuple) else (result,)
        n = len(self._edges)
        if len(grads) > n and all(g is None for g in grads[n:]):
            grads = grads[:n]  # extra Nones are allowed, as in torch
        if len(grads) != n:
            raise GraphError(
                f"function {name} returned an incorrect number of gradients (expected {n}, got "
                f"{len(grads)}): {cls.__name__}.backward must return one gradient per input of "
                f"{cls.__name__}.forward, None for an input that is not a tensor or needs no gradient")
        out: list[Any] = [None] * n
        for i, (gi, e, meta) in enumerate(zip(grads, self._edges, self._in_meta)):
            if gi is None:
                if e is not None:  # no gradient for an input that requires grad: zeros
                    z = np.zeros(meta[0], dtype=meta[1])
                    out[i] = Tensor._make(z) if create_graph else z
                continue
            if meta is None:
                raise GraphError(
                    f"function {name} returned a gradient different than None at index {i}, but input {i} "
                    f"of {cls.__name__}.forward is not a tensor; return None for it")
            if not isinstance(gi, Tensor):
                raise TypeError(f"function {name} returned a {type(gi).__name__} as the gradient of input {i}; "
                                "expected a Tensor or None")
            shape = meta[0]
            gshape = gi.shape
            lead = len(gshape) - len(shape)
            if lead < 0 or any(s != 1 and s != d for s, d in zip(shape, gshape[lead:])):
                raise ShapeError(
                    f"function {name} returned an invalid gradient at index {i}: got shape "
                    f"{format_shape(gshape)} but expected a shape compatible with {format_shape(shape)}, "
                    f"the shape of input {i} of {cls.__name__}.forward")
            if e is not None:
                out[i] = gi if create_graph else gi._data
        return out


def keep_saved(ctx: FunctionCtx, args: tuple[Any, ...], items: list[Any], outs: list[Any]) -> None:
    """The tensors of ``save_for_backward`` in the form nodes keep them, with their versions.

    ``items`` are what ``forward`` returned, ``outs`` the results made of them."""
    to_save = ctx._to_save
    ctx._to_save = None
    if ctx._group is None:  # nothing recorded: backward will not run
        ctx._saved = []
        return
    input_index = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
    dirty = {id(t) for t in ctx._dirty}
    output_index = {id(o): j for j, o in enumerate(items) if isinstance(o, Tensor)}
    saved: list[_Saved | None] = []
    for t in to_save or ():
        if t is None:
            saved.append(None)
        elif id(t) in input_index and id(t) not in dirty:
            saved.append(_Saved(t, None, f"input {input_index[id(t)]}"))
        elif id(t) in output_index:
            j = output_index[id(t)]
            saved.append(_Saved(outs[j], ctx._out_node[j], f"output {j}"))
        else:
            saved.append(_Saved(t, None, "a tensor computed in forward"))
    ctx._saved = saved

