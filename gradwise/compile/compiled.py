"""``gradwise.compile``: trace a training step once, then replay it as flat NumPy.

The first call with a new *signature* (each tensor argument's shape, dtype and
``requires_grad``, the other arguments' values, grad mode) runs the step eagerly while
recording it (:mod:`gradwise.compile.tracer`) into a plan; later calls with that signature
check the plan's guards (the parameters still hold the arrays the plan reads, every module
called is in the same ``training`` mode) and run the plan: the op forwards, the gradient
rules and the optimizer's update on arrays, with no Tensor or Node made along the way.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gradwise.autograd.anomaly import _ANOMALY
from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.tensor import Tensor
from gradwise.compile.hooks import ACTIVE, Installed
from gradwise.compile.tracer import Tracer
from gradwise.errors import GradwiseError


class CompileWarning(UserWarning):
    """A compiled step runs eagerly (it could not be traced) or retraced too often."""


class CompileError(GradwiseError, TypeError):
    """A compiled step cannot be used as asked (it returns something that is not tensors)."""


DEFAULT_RETRACE_LIMIT = 8  # torch._dynamo's cache_size_limit


class Plan:
    """One traced signature: the generated function and what it must check first."""

    __slots__ = ("run", "guards", "modules", "structure", "tree", "source")

    def __init__(self, run: Callable[..., tuple[Any, ...]], guards: list[tuple[Tensor, np.ndarray]],
                 modules: list[tuple[Any, bool]], structure: list[tuple[Any, Any, Any]], tree: Any,
                 source: str) -> None:
        self.run, self.guards, self.modules, self.tree, self.source = run, guards, modules, tree, source
        self.structure = structure   # (group, getter of its structural hyper-parameters, their values)

    def valid(self) -> bool:
        for t, arr in self.guards:
            if t._data is not arr:
                return False
        for m, training in self.modules:
            if m.training is not training:
                return False
        for group, get, values in self.structure:
            if get(group) != values:
                return False
        return True


class CompiledFunction:
    """What :func:`compile` returns: call it like the step function."""

    def __init__(self, fn: Callable[..., Any], retrace_limit: int = DEFAULT_RETRACE_LIMIT) -> None:
        if not callable(fn):
            raise CompileError(f"compile: expected a function, got {type(fn).__name__}")
        if not isinstance(retrace_limit, int) or retrace_limit < 0:
            raise CompileError(f"compile: retrace_limit must be an int >= 0, got {retrace_limit!r}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.retrace_limit = retrace_limit
        self.plans: dict[Any, Plan | str] = {}   # signature -> plan, or why it runs eagerly
        self.traces = 0
        self.retraces = 0
        self._warned: set[str] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _ANOMALY[0] or ACTIVE[0] is not None:
            return self.fn(*args, **kwargs)   # anomaly mode, or nested in another trace: eager
        key, arrays = _signature(args, kwargs)
        plan = self.plans.get(key)
        if plan.__class__ is Plan:
            assert isinstance(plan, Plan)
            if plan.valid():
                return _rebuild(plan.tree, plan.run(*arrays))
            self._count_retrace("a guard failed (a parameter's array was replaced, a module's "
                                "training mode, or whether an optimizer uses momentum, weight decay, "
                                "amsgrad... changed)")
        elif plan is not None:
            return self.fn(*args, **kwargs)   # a signature that runs eagerly
        elif self.plans:
            self._count_retrace("a new signature (input shapes, dtypes, requires_grad, other "
                                "arguments or grad mode changed)")
        if key is None:
            self._note("compile: the function takes no tensors; it runs eagerly")
            return self.fn(*args, **kwargs)
        if self.retraces > self.retrace_limit:
            self._note(f"compile: {self.retraces} retraces (more than retrace_limit="
                       f"{self.retrace_limit}); new signatures run eagerly")
            return self.fn(*args, **kwargs)
        return self._trace(key, args, kwargs)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """``@gw.compile`` on a method: the instance becomes the first argument (part of the
        signature, by identity), and the plans stay in this one cache."""
        if obj is None:
            return self
        return functools.partial(self, obj)

    def _trace(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        tr = Tracer()
        self.traces += 1
        inputs = [t for t in _tensors(args, kwargs)]
        for t in inputs:
            tr.bind(t._data, tr.plan.new_input())
        with Installed(tr):
            result = self.fn(*args, **kwargs)
        try:
            tree, outs = _flatten(result)
        except CompileError:
            raise
        if tr.failure is None:
            tr.check_grads()
        if tr.failure is None:
            for o in outs:
                if id(o._data) not in tr.names:
                    tr.ref(o._data, o)
            tr.plan.outputs([tr.names[id(o._data)] for o in outs])
        if tr.failure is not None:
            self.plans[key] = tr.failure
            self._note(f"compile: {getattr(self.fn, '__qualname__', 'the function')} runs eagerly: "
                       f"{tr.failure}")
            return result
        guards = list({id(t): (t, a) for t, a in tr.guards}.values())
        modules = [(m, m.training) for m in tr.modules.values()]
        name = "plan_" + "".join(c if c.isalnum() else "_" for c in getattr(self.fn, "__name__", "step"))
        run = tr.plan.build(name)
        self.plans[key] = Plan(run, guards, modules, list(tr.structure), tree, tr.plan.source(name))
        return _rebuild(tree, tuple(o._data for o in outs))

    def _count_retrace(self, why: str) -> None:
        self.retraces += 1
        if self.retraces == self.retrace_limit + 1:
            self._note(f"compile: retraced {self.retraces} times (limit {self.retrace_limit}); the last "
                       f"because {why}. Later new signatures run eagerly.")

    def _note(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, CompileWarning, stacklevel=3)

    def plan_source(self) -> list[str]:
        """The generated code of every plan (for reading, and for tests)."""
        return [p.source for p in self.plans.values() if isinstance(p, Plan)]


def compile(fn: Callable[..., Any] | None = None, *, retrace_limit: int = DEFAULT_RETRACE_LIMIT) -> Any:  # noqa: A001
    """Trace a training step once and replay it as flat NumPy (``torch.compile``'s name).

    Usable as ``@gw.compile``, ``@gw.compile(retrace_limit=4)`` or ``gw.compile(step)``.
    The step's Python side effects (prints, appends to a list) run once, when it is
    traced, as in ``torch.compile`` and ``jax.jit``.  See docs/compile.md.

    >>> import gradwise as gw
    >>> model = gw.nn.Linear(3, 1)
    >>> opt = gw.optim.SGD(model.parameters(), lr=0.1)
    >>> @gw.compile
    ... def step(x, y):
    ...     opt.zero_grad()
    ...     loss = gw.nn.functional.mse_loss(model(x), y)
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> x, y = gw.ones(4, 3), gw.zeros(4, 1)
    >>> losses = [step(x, y).item() for _ in range(3)]   # traced once, then replayed
    >>> losses[0] > losses[1] > losses[2], step.traces
    (True, 1)
    """
    if fn is None:
        return lambda f: CompiledFunction(f, retrace_limit)
    return CompiledFunction(fn, retrace_limit)


def _tensors(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Tensor]:
    return [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]


def _signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, list[np.ndarray]]:
    """``(key, arrays)``: what selects a plan, and the tensor arguments' arrays in order.

    The key is ``None`` when no argument is a tensor.  It is a flat tuple (no tuple per
    argument): this runs on every call."""
    parts: list[Any] = [_STATE[0]]
    arrays: list[np.ndarray] = []
    for a in (*args, *kwargs.values()) if kwargs else args:
        if isinstance(a, Tensor):
            d = a._data
            arrays.append(d)
            parts += (d.shape, d.dtype, a.requires_grad)
        else:
            try:
                hash(a)
                parts += (type(a), a)
            except TypeError:
                parts += (type(a), id(a))
    if not arrays:
        return None, arrays
    if kwargs:
        parts.append(tuple(kwargs))
    if len(arrays) > 1:
        ids = [id(d) for d in arrays]
        if len(set(ids)) != len(ids):   # one array passed twice: the plan reads it once
            parts.append(tuple(ids.index(i) for i in ids))
    return tuple(parts), arrays


def _flatten(result: Any) -> tuple[Any, list[Tensor]]:
    """``(tree, tensors)``: the result's structure with each Tensor replaced by its index."""
    outs: list[Tensor] = []

    def walk(x: Any) -> Any:
        if isinstance(x, Tensor):
            outs.append(x)
            return len(outs) - 1
        if isinstance(x, (tuple, list)):
            return (type(x), [walk(v) for v in x])
        if isinstance(x, dict):
            return (dict, {k: walk(v) for k, v in x.items()})
        raise CompileError(
            f"compile: the step returned a {type(x).__name__}; a compiled function must return a "
            "Tensor, None, or a tuple/list/dict of Tensors (return the loss tensor and call "
            ".item() outside the step)")

    if result is None:
        return None, outs
    return walk(result), outs


def _rebuild(tree: Any, arrays: tuple[Any, ...]) -> Any:
    """The result: each output as a new Tensor without history (``loss.detach()``)."""
    if tree is None:
        return None
    if isinstance(tree, int):
        return Tensor._make(arrays[tree])
    kind, items = tree
    if kind is dict:
        return {k: _rebuild(v, arrays) for k, v in items.items()}
    return kind(_rebuild(v, arrays) for v in items)
