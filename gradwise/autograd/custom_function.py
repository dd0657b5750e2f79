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

The ctx, its saved tensors (checked for in-place changes when ``backward`` reads them) and
the check of the gradients ``backward`` returns live in :mod:`.function_ctx`.
:func:`once_differentiable` runs ``backward`` without recording and makes its results
raise when differentiated.
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
from gradwise.autograd.function_ctx import FunctionCtx, edge_of, keep_saved, version_box
from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.node import Node, NodeGroup
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GraphError, format_shape
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
        ctx_style = cls.setup_context is Function.setup_context  # forward takes ctx: no setup_context
        args, kwargs = _bind(cls, ctx_style, args, kwargs)
        recording = _STATE[0]
        needs = tuple(recording and isinstance(a, Tensor) and a.requires_grad for a in args)
        edges = tuple(edge_of(a) if need else None for a, need in zip(args, needs))
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
            t = Tensor._make(o._data)  # an alias: the input keeps its own graph
            t._version = version_box(o)
        else:
            t = o
        seen.add(id(o))
        outs.append(t)
    if record:
        _record(cls, ctx, args, edges, items, outs, non_diff)
    else:
        keep_saved(ctx, args, items, outs)  # no node recorded: keeps nothing
    return tuple(outs) if isinstance(raw, tuple) else outs[0]


def _record(cls: type[Function], ctx: FunctionCtx, args: tuple[Any, ...], edges: tuple[Any, ...],
            items: list[Any], outs: list[Any], non_diff: set[int]) -> None:
    op = cls._op
    meta = tuple((a._data.shape, a._data.dtype) if isinstance(a, Tensor) else None for a in args)
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
        if id(o) in non_diff or id(t) in non_diff or t._data.dtype.kind not in "fc":
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
    keep_saved(ctx, args, items, outs)
    if anomaly and _CHECK[0] and _CURRENT[0] is None:
        for t in outs:
            if isinstance(t, Tensor) and t._data.dtype.kind in "fc" and not np.isfinite(t._data).all():
                _forward_anomaly(op, args, {}, t._data, t.grad_fn)


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
        deps = [edge_of(a) for a in args if isinstance(a, Tensor) and a.requires_grad]
        if isinstance(ctx, FunctionCtx):
            deps += [e for e in ctx._edges if e is not None]
        if not deps:
            return outputs
        name = ctx._cls.__name__ if isinstance(ctx, FunctionCtx) else getattr(fn, "__qualname__", "backward")
        node = Node(_ONCE_OP, tuple(deps), (None,) * len(deps), None, {"fn": name}, (None,) * len(deps), None)

        def poison(o: Any) -> Any:
            if not isinstance(o, Tensor) or o._data.dtype.kind not in "fc":
                return o
            t = Tensor._make(o._data)
            t.requires_grad = True
            t.grad_fn = node
            return t

        if isinstance(outputs, (tuple, list)):
            return type(outputs)(poison(o) for o in outputs)
        return poison(outputs)

    return wrapper  # type: ignore[return-value]
