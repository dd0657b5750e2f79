"""Custom autograd functions: :class:`Function`, as ``torch.autograd.Function``.

A subclass gives the forward computation and its gradient by hand; ``MyFn.apply(*args)``
runs it and records it in the graph like any op:

>>> import gradwise as gw
>>> class MyExp(gw.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         y = x.exp()
...         ctx.save_for_backward(y)
...         return y
...
...     @staticmethod
...     def backward(ctx, g):
...         (y,) = ctx.saved_tensors
...         return g * y
>>> x = gw.tensor([0.0, 1.0], requires_grad=True)
>>> y = MyExp.apply(x)
>>> y.grad_fn
<MyExpBackward>
>>> y.sum().backward()
>>> x.grad
tensor([1.0000, 2.7183])

How a Function is recorded
--------------------------
The engine walks :class:`~gradwise.autograd.node.Node` objects whose ``op`` carries one
gradient rule per input.  Each ``Function`` subclass gets one :class:`FunctionOp` (an
``OpDef`` kept out of the op table, named after the class, whose nodes are named
``<ClassName>Backward``); its rules (one per input, :class:`VariadicGrads`) read the call's
:class:`FunctionCtx` from the node's attributes and return that input's gradient from the
user's ``backward``.  ``apply``:

1. binds keyword arguments to positions (as torch does), sets ``ctx.needs_input_grad`` and
   runs ``forward`` (then ``setup_context``, in that style) in no-grad mode: the ops inside
   are not recorded;
2. turns the outputs into results: an input returned unchanged becomes a new tensor
   sharing its data (an alias), an input marked with ``mark_dirty`` is itself the output
   (modified in place), non-tensor values pass through;
3. when grad mode is on and an input requires grad, records **one node per differentiable
   output** (float, not marked with ``mark_non_differentiable``), all with the same edges
   (one per input: the producing node, the leaf, or ``None``), the inputs' shapes and
   dtypes as ``meta`` (a gradient of a broadcast shape is summed down by the engine), no
   saved arrays and no ``checks``: what backward needs lives in the ctx;
4. ties those nodes with a :class:`~gradwise.autograd.node.NodeGroup`.  The backward walk
   visits the group once, at the first of its nodes it reaches, with every output's
   gradient (``engine._visit_group``): the first rule called runs the user's ``backward``
   once with all of them (zeros for outputs no gradient reached, or ``None`` after
   ``ctx.set_materialize_grads(False)``), the other rules read that result, the last one
   clears it (like ``JointGrads``), and frees the saved tensors unless ``retain_graph``.

This keeps custom Functions off the per-op hot paths: ``apply``, ``make_unary``,
``make_binary`` and the engine's loop are unchanged; the only engine change is the group
visit, on the rare path that nodes with hooks already take.

Saved tensors are kept as (array, version counter, version, edge), the form every node
uses, and checked when ``backward`` reads ``ctx.saved_tensors`` (as torch checks on
unpacking): a tensor changed in place after ``forward`` raises ``GraphError``.  They come
back as tensors wired to the graph (a saved output's ``grad_fn`` is its own node, a saved
leaf is the leaf itself), so under ``create_graph=True``, where the engine runs rules in
grad mode with gradients that are Tensors, a ``backward`` written with gradwise ops
records a differentiable gradient.  Without ``create_graph`` the gradients are Tensors
with no history and nothing records.  :func:`once_differentiable` runs ``backward``
without recording and makes its results raise when differentiated.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np

from gradwise.autograd.anomaly import (
    _ANOMALY,
    _CHECK,
    _CURRENT,
    Trace,
    _forward_anomaly,
    _parent,
    _user_location,
)
from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.node import Node, NodeGroup
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GraphError, ShapeError, format_shape
from gradwise.ops.registry import OpDef, Rule, VariadicGrads

__all__ = ["Function", "FunctionCtx", "FunctionOp", "once_differentiable"]

F = TypeVar("F", bound=Callable[..., Any])


class FunctionOp(OpDef):
    """The op of a custom :class:`Function` class (or of :func:`once_differentiable`'s
    error node): not in the op table; ``backward_name`` is its nodes' ``name()``."""

    backward_name: str

    def __init__(self, name: str, rules: VariadicGrads, backward_name: str, doc: str = "") -> None:
        super().__init__(name, _not_an_array_op, rules, None, saves_inputs=False, saves_out=False,
                         method=False, function=False, doc=doc)
        object.__setattr__(self, "backward_name", backward_name)  # OpDef is frozen


def _not_an_array_op(*args: Any, **kwargs: Any) -> Any:
    raise GraphError("a custom autograd.Function runs through MyFunction.apply(...), not as an array op")


def _function_rule(i: int) -> Rule:
    def rule(b: Any, g: Any, out: Any, *inputs: Any, ctx: FunctionCtx) -> Any:
        return ctx._gradient(i)

    rule.__name__ = f"custom_function_grad_{i}"
    return rule


_FUNCTION_RULES = VariadicGrads(_function_rule)


def _edge(t: Tensor) -> Any:
    """What a node's edge to ``t`` is: its node, the leaf itself, or ``None``."""
    if t.grad_fn is not None:
        return t.grad_fn
    return t if t.requires_grad else None


def _box(t: Tensor) -> list[int]:
    box = t._version
    if box is None:
        box = t._version = [0]
    return box


class _Saved:
    """One tensor of ``save_for_backward``, kept as every node keeps what it saves."""

    __slots__ = ("data", "box", "version", "edge", "output", "what")

    def __init__(self, t: Tensor, output: int | None, what: str) -> None:
        self.data = t.data
        self.box = _box(t)
        self.version = self.box[0]
        self.edge = None if output is not None else _edge(t)
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
                out[i] = gi if create_graph else gi.data
        return out


_SIGNATURES: dict[type, inspect.Signature] = {}


def _bind(cls: type[Function], ctx_style: bool, args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Keyword arguments bound to positions, as torch does: they become inputs (with their
    defaults in the ``setup_context`` style, whose ``inputs`` list every parameter)."""
    if not kwargs and ctx_style:
        return args, kwargs
    sig = _SIGNATURES.get(cls)
    if sig is None:
        sig = _SIGNATURES[cls] = inspect.signature(cls.forward)
    try:
        bound = sig.bind(None, *args, **kwargs) if ctx_style else sig.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{cls.__name__}.apply: {exc}") from None
    if not ctx_style:
        bound.apply_defaults()
    pos = bound.args[1:] if ctx_style else bound.args
    return tuple(pos), dict(bound.kwargs)


class Function:
    """Base class of custom autograd functions, as ``torch.autograd.Function``.

    Subclass it with ``forward`` and ``backward`` as staticmethods and call
    ``MyFn.apply(*args)``:

    - ``forward(ctx, *args, **kwargs)`` computes the outputs (one tensor, or a tuple of
      tensors and other values) from the inputs; gradwise ops inside it are not recorded.
      Or, torch's other style: ``forward(*args)`` without ``ctx`` plus
      ``setup_context(ctx, inputs, output)``, which fills ``ctx``.
    - ``backward(ctx, *grad_outputs)`` receives one gradient per output of ``forward`` and
      returns one per input (``None`` for inputs that are not tensors or need no gradient;
      ``ctx.needs_input_grad`` says which are needed).  Written with gradwise ops, it can be
      differentiated again (``create_graph=True``); decorate it with
      :func:`once_differentiable` when it cannot.

    See :class:`FunctionCtx` for ``ctx`` and the module docstring for how it is recorded.

    >>> import gradwise as gw
    >>> class MulAdd(gw.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x, w, k):
    ...         ctx.save_for_backward(x, w)
    ...         ctx.k = k
    ...         return x * w + k, x.detach().argmax()
    ...
    ...     @staticmethod
    ...     def backward(ctx, g, _):
    ...         x, w = ctx.saved_tensors
    ...         return g * w, g * x, None
    >>> x = gw.tensor([1.0, 2.0], requires_grad=True)
    >>> w = gw.tensor([3.0, 4.0], requires_grad=True)
    >>> y, i = MulAdd.apply(x, w, 1.0)
    >>> y, i
    (tensor([4., 9.], grad_fn=<MulAddBackward>), tensor(1))
    >>> y.sum().backward()
    >>> x.grad, w.grad
    (tensor([3., 4.]), tensor([1., 2.]))
    """

    _op: ClassVar[FunctionOp]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._op = FunctionOp(cls.__name__, _FUNCTION_RULES, f"{cls.__name__}Backward", cls.__doc__ or "")

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """The outputs from the inputs (override as a staticmethod)."""
        raise NotImplementedError("a custom autograd.Function must define forward as a staticmethod")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple[Any, ...], output: Any) -> None:
        """Fill ``ctx`` from the inputs and the output, for a ``forward`` without ``ctx``."""
        raise NotImplementedError("setup_context is optional: define it with a forward that takes no ctx")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        """The inputs' gradients from the outputs' gradients (override as a staticmethod)."""
        raise NotImplementedError("a custom autograd.Function must define backward as a staticmethod")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and record it so that ``backward`` gives the gradients."""
        if cls is Function:
            raise TypeError("call apply on a subclass of gradwise.autograd.Function")
        ctx_style = getattr(cls, "setup_context") is Function.setup_context  # noqa: B009
        args, kwargs = _bind(cls, ctx_style, args, kwargs)
        recording = _STATE[0]
        needs = tuple(recording and isinstance(a, Tensor) and a.requires_grad for a in args)
        edges = tuple(_edge(a) if need else None for a, need in zip(args, needs))
        ctx = FunctionCtx(cls)
        ctx.needs_input_grad = needs
        _STATE[0] = False  # forward is not recorded (torch runs it in no-grad mode)
        try:
            if ctx_style:
                raw = cls.forward(ctx, *args, **kwargs)
            else:
                raw = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, raw)
        finally:
            _STATE[0] = recording
        return _finish(cls, ctx, args, edges, raw, any(needs))


def _finish(cls: type[Function], ctx: FunctionCtx, args: tuple[Any, ...], edges: tuple[Any, ...],
            raw: Any, record: bool) -> Any:
    """Outputs of ``forward`` turned into results; the nodes recorded when ``record``."""
    name = cls.__name__
    items = list(raw) if isinstance(raw, tuple) else [raw]
    input_index = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
    returned = {id(o) for o in items if isinstance(o, Tensor)}
    dirty = {id(t) for t in ctx._dirty}
    for t in ctx._dirty:
        if id(t) not in input_index:
            raise GraphError(f"{name}: ctx.mark_dirty takes inputs of forward that it modified in place; "
                             "one of the tensors given is not an input")
        if id(t) not in returned:
            raise GraphError(f"{name}: input {input_index[id(t)]} was marked dirty (modified in place) but "
                             "forward did not return it; return every tensor it modifies in place")
    non_diff = {id(t) for t in ctx._non_differentiable}
    outs: list[Any] = []
    seen: set[int] = set()
    for o in items:
        if not isinstance(o, Tensor):
            outs.append(o)
            continue
        if id(o) in dirty:
            i = input_index[id(o)]
            if record and o.requires_grad and o.grad_fn is None:
                raise GraphError(
                    f"{name}: forward modified input {i} in place (ctx.mark_dirty), but it is a leaf tensor "
                    f"that requires grad (shape {format_shape(o.shape)}): its value before the change is "
                    "lost. Pass a copy (x.clone()) or work out of place.")
            t = o
        elif id(o) in input_index or id(o) in seen or o.requires_grad or o.grad_fn is not None:
            t = Tensor._make(o.data)  # an alias: the input keeps its own graph
            t._version = _box(o)
        else:
            t = o
        seen.add(id(o))
        outs.append(t)
    if record:
        _record(cls, ctx, args, edges, items, outs, non_diff)
    else:
        _keep_saved(ctx, args, items, None)
    result = tuple(outs) if isinstance(raw, tuple) else outs[0]
    return result


def _record(cls: type[Function], ctx: FunctionCtx, args: tuple[Any, ...], edges: tuple[Any, ...],
            items: list[Any], outs: list[Any], non_diff: set[int]) -> None:
    op = cls._op
    meta = tuple((a.data.shape, a.data.dtype) if isinstance(a, Tensor) else None for a in args)
    node_meta = tuple(m if e is not None else None for m, e in zip(meta, edges))
    saved = (None,) * len(args)
    attrs = {"ctx": ctx}
    nodes: list[Node] = []
    out_node: list[int | None] = []
    out_meta: list[Any] = []
    anomaly = _ANOMALY[0]
    trace = Trace(_user_location(sys._getframe()), _parent()) if anomaly else None
    for o, t in zip(items, outs):
        if not isinstance(t, Tensor):
            out_node.append(None)
            out_meta.append(None)
            continue
        out_meta.append((t.shape, t.dtype))
        if id(o) in non_diff or id(t) in non_diff or t.data.dtype.kind not in "fc":
            t.requires_grad = False
            t.grad_fn = None
            out_node.append(None)
            continue
        node = Node(op, edges, saved, None, attrs, node_meta, None)
        if trace is not None:
            node.trace = trace
        t.grad_fn = node
        t.requires_grad = True
        out_node.append(len(nodes))
        nodes.append(node)
    ctx._out_meta = tuple(out_meta)
    ctx._out_node = tuple(out_node)
    if nodes:
        ctx._group = NodeGroup(tuple(nodes))
        ctx._edges = edges
        ctx._in_meta = meta
        ctx._last = max(i for i, e in enumerate(edges) if e is not None)
    _keep_saved(ctx, args, items, outs)
    if anomaly and _CHECK[0] and _CURRENT[0] is None:
        for t in outs:
            if isinstance(t, Tensor) and t.data.dtype.kind in "fc" and not np.isfinite(t.data).all():
                _forward_anomaly(op, args, {}, t.data, t.grad_fn)


def _keep_saved(ctx: FunctionCtx, args: tuple[Any, ...], items: list[Any], outs: list[Any] | None) -> None:
    """The tensors of ``save_for_backward`` in the form nodes keep them, with their versions."""
    to_save = ctx._to_save
    ctx._to_save = None
    if outs is None or ctx._group is None:  # nothing recorded: backward will not run
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
            out = outs[j]
            saved.append(_Saved(out, ctx._out_node[j], f"output {j}") if ctx._out_node[j] is not None
                         else _Saved(out, None, f"output {j}"))
        else:
            saved.append(_Saved(t, None, "a tensor computed in forward"))
    ctx._saved = saved


# ---------------------------------------------------------------------- once_differentiable
def _once_rule(i: int) -> Rule:
    def rule(b: Any, g: Any, out: Any, *inputs: Any, fn: str) -> Any:
        raise GraphError(
            f"trying to differentiate twice {fn}.backward, which is marked with @once_differentiable: "
            "its gradient was computed without recording, so it has no derivative. Write backward with "
            "differentiable gradwise ops and drop @once_differentiable to take second derivatives.")

    return rule


_ONCE_OP = FunctionOp("once_differentiable", VariadicGrads(_once_rule), "OnceDifferentiableBackward")


def once_differentiable(fn: F) -> F:
    """Decorate a ``backward`` that can be differentiated only once (as torch's).

    It then runs without recording even under ``create_graph=True``; its gradients still
    flow, but differentiating them again raises ``GraphError`` naming the Function (instead
    of a wrong second derivative).

    >>> import gradwise as gw
    >>> class Exp(gw.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x.exp()
    ...
    ...     @staticmethod
    ...     @gw.autograd.once_differentiable
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return g * x.exp()
    >>> x = gw.tensor([0.0], requires_grad=True)
    >>> (dx,) = gw.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    >>> try:
    ...     gw.autograd.grad(dx.sum(), x)
    ... except gw.GraphError as err:
    ...     print(str(err)[:60])
    trying to differentiate twice Exp.backward, which is marked
    """

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        if not _STATE[0]:  # an ordinary backward: nothing records anyway
            return fn(ctx, *args)
        _STATE[0] = False
        try:
            outputs = fn(ctx, *args)
        finally:
            _STATE[0] = True
        deps = [_edge(a) for a in args if isinstance(a, Tensor) and a.requires_grad]
        if isinstance(ctx, FunctionCtx):
            deps += [e for e in ctx._edges if e is not None]
        if not deps:
            return outputs
        name = ctx._cls.__name__ if isinstance(ctx, FunctionCtx) else getattr(fn, "__qualname__", "backward")
        node = Node(_ONCE_OP, tuple(deps), (None,) * len(deps), None, {"fn": name}, (None,) * len(deps), None)

        def poison(o: Any) -> Any:
            if not isinstance(o, Tensor) or o.data.dtype.kind not in "fc":
                return o
            t = Tensor._make(o.data)
            t.requires_grad = True
            t.grad_fn = node
            return t

        if isinstance(outputs, (tuple, list)):
            return type(outputs)(poison(o) for o in outputs)
        return poison(outputs)

    return wrapper  # type: ignore[return-value]
