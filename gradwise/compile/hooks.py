"""The diversions a trace installs, and removes when it ends: eager mode pays nothing.

No file below ``compile`` has a tracing hook.  While a trace runs:

- ``_ANOMALY[0]`` is raised and ``gradwise.autograd.function.checked_apply`` is swapped:
  every op call (``apply`` and its unrolled twins already test that flag first, for
  anomaly mode) reaches :meth:`Tracer.forward` instead;
- ``gradwise.autograd.engine.run_backward`` is swapped for the traced walk;
- optimizers' ``_update(group)`` (the array update ``Optimizer.step`` runs per group),
  ``zero_grad``, ``Module.zero_grad``, scheduler ``step`` and the
  ``clip_grad_*_`` functions become opaque calls; ``cross_entropy_coefficients`` a lifted one;
- the ways out to raw data (``item``, ``numpy``, ``tolist``, ``float()``, ``bool()``,
  ``__array__``...), ``Tensor._write`` (an in-place write outside recording) and the
  random-number source fail the trace;
- ``Module.__call__`` notes each module called, so its ``training`` flag is guarded;
- ``Tensor.grad`` becomes a property, so that ``x.grad = None`` in the step is a plan line.

A trace is global state, like anomaly mode: trace on one thread at a time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

from gradwise.autograd import engine as _engine
from gradwise.autograd import function as _function
from gradwise.autograd.anomaly import _ANOMALY
from gradwise.autograd.tensor import Tensor
from gradwise.compile.backward import check_traceable, traced_backward
from gradwise.compile.optim_lines import emit_update, update_lines
from gradwise.compile.tracer import Tracer
from gradwise.nn.module import Module
from gradwise.optim.adaptive import Adam
from gradwise.optim.lr_scheduler.base import LRScheduler
from gradwise.optim.optimizer import Optimizer
from gradwise.optim.sgd import SGD

# the updates the plan writes as array lines (gradwise.compile.optim_lines); AdamW inherits Adam's
_LINE_UPDATES = (SGD.__dict__["_update"], Adam.__dict__["_update"])

ACTIVE: list[Tracer | None] = [None]

_ESCAPES = ("item", "numpy", "tolist", "__float__", "__int__", "__bool__", "__index__", "__array__")


class Installed:
    """The patches of one trace (``with Installed(tracer):``); :meth:`remove` is idempotent."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self._saved: list[tuple[Any, str, Any]] = []
        self._anomaly = _ANOMALY[0]

    def __enter__(self) -> Installed:
        try:
            self._install()
        except BaseException:
            self.remove()      # a half-installed trace must not outlive this call
            raise
        return self

    def _install(self) -> None:
        tr = self.tracer
        tr.on_fail = self.remove
        ACTIVE[0] = tr
        self._set(_function, "checked_apply", _trace_apply)
        self._set(_engine, "run_backward", _make_backward(_engine.run_backward))
        for cls in _classes(Optimizer):
            # ``_update(group)``, not ``step``: a scheduler wraps each optimizer's ``step`` at
            # construction (so a patched ``step`` would be bypassed); ``Optimizer.step`` itself
            # only loops over the groups.  An optimizer with its own ``step`` is opaque whole.
            for name in ("_update", "zero_grad") + (("step",) if cls is not Optimizer else ()):
                if name in cls.__dict__:
                    self._set(cls, name, _opaque(cls.__dict__[name]))
        for cls in _classes(LRScheduler):
            if "step" in cls.__dict__:
                self._set(cls, "step", _opaque(cls.__dict__["step"]))
        self._set(Module, "zero_grad", _opaque(Module.__dict__["zero_grad"]))
        self._set(Module, "__call__", _noting_call(Module.__dict__["__call__"]))
        for name in _ESCAPES:
            if name in Tensor.__dict__:
                self._set(Tensor, name, _escape(Tensor.__dict__[name], name))
        self._set(Tensor, "_write", _escape(Tensor.__dict__["_write"], "_write"))
        self._set(Tensor, "grad", _grad_property(Tensor.__dict__["grad"]))
        from gradwise.api import random as _random
        from gradwise.nn.utils import clip_grad as _clip
        from gradwise.ops import network as _network

        self._set_everywhere(_clip.clip_grad_norm_, _opaque(_clip.clip_grad_norm_))
        self._set_everywhere(_clip.clip_grad_value_, _opaque(_clip.clip_grad_value_))
        self._set_everywhere(_network.cross_entropy_coefficients, _lifted(_network.cross_entropy_coefficients))
        self._set_everywhere(_random.resolve, _escape(_random.resolve, "random"))
        _ANOMALY[0] = True

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        while self._saved:
            obj, name, old = self._saved.pop()
            setattr(obj, name, old)
        if ACTIVE[0] is self.tracer:
            ACTIVE[0] = None
            _ANOMALY[0] = self._anomaly

    def _set(self, obj: Any, name: str, value: Any) -> None:
        self._saved.append((obj, name, obj.__dict__[name] if isinstance(obj, type) else getattr(obj, name)))
        setattr(obj, name, value)

    def _set_everywhere(self, fn: Callable[..., Any], value: Any) -> None:
        """Swap ``fn`` in every loaded gradwise module that binds it by name."""
        for modname, mod in list(sys.modules.items()):
            if mod is None or not (modname == "gradwise" or modname.startswith("gradwise.")):
                continue
            d = getattr(mod, "__dict__", {})
            for key, val in list(d.items()):
                if val is fn:
                    self._set(mod, key, value)


def _classes(base: type) -> Iterator[type]:
    todo = [base]
    seen: set[type] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        todo.extend(cls.__subclasses__())


def _recording() -> Tracer | None:
    tr = ACTIVE[0]
    return tr if tr is not None and not tr.suspended and tr.failure is None else None


def _trace_apply(apply: Callable[..., Tensor], op: Any, args: tuple[Any, ...], attrs: dict[str, Any]) -> Tensor:
    tr = _recording()
    if tr is None:  # inside an opaque call, or after a failure: the plain path
        prev = _ANOMALY[0]
        _ANOMALY[0] = False
        try:
            return apply(op, *args, **attrs)
        finally:
            _ANOMALY[0] = prev
    return tr.forward(op, args, attrs)


def _make_backward(original: Callable[..., None]) -> Callable[..., None]:
    def run_backward(roots: Any, seeds: Any, *, retain_graph: bool, create_graph: bool,
                     capture: Any, accumulate: bool) -> None:
        tr = _recording()
        if tr is not None and check_traceable(tr, roots, create_graph, capture, accumulate):
            traced_backward(tr, roots, seeds, retain_graph)
            return
        original(roots, seeds, retain_graph=retain_graph, create_graph=create_graph,
                 capture=capture, accumulate=accumulate)
    return run_backward


def _materialise(a: Any) -> Any:
    """A one-shot iterator argument (``model.parameters()``) as a list, so replays see it all."""
    return list(a) if isinstance(a, Iterator) else a


def _opaque(fn: Callable[..., Any]) -> Callable[..., Any]:
    def opaque(*args: Any, **kwargs: Any) -> Any:
        tr = _recording()
        if tr is None:
            return fn(*args, **kwargs)
        args = tuple(_materialise(a) for a in args)
        kwargs = {k: _materialise(v) for k, v in kwargs.items()}
        if fn in _LINE_UPDATES and len(args) == 2 and not kwargs:
            params = update_lines(tr, args[0], args[1])
            if params is not None:       # SGD, Adam, AdamW: array lines in the plan
                tr.check_grads()
                result = tr.unrecorded(fn, args, kwargs)
                emit_update(tr, args[0], args[1], params, fn)
                return result
        if kwargs.get("closure") is not None or any(callable(a) and not isinstance(a, (Module, Tensor))
                                                    for a in args[1:]):
            tr.fail(f"{getattr(fn, '__qualname__', fn)} with a closure")
            return fn(*args, **kwargs)
        return tr.opaque(fn, args, kwargs)
    opaque.__wrapped__ = fn  # type: ignore[attr-defined]
    return opaque


def _lifted(fn: Callable[..., Any]) -> Callable[..., Any]:
    def lifted(*args: Any, **kwargs: Any) -> Any:
        tr = _recording()
        if tr is None:
            return fn(*args, **kwargs)
        return tr.lifted(fn, args, kwargs)
    return lifted


def _escape(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    what = {"random": "random numbers are drawn in the step (dropout in training mode, gw.rand...)",
            "_write": "a tensor is written in place outside recording (an in-place op under no_grad)"}
    reason = what.get(name, f"Tensor.{name.strip('_')}() reads a tensor's data in the step (the result "
                            "could steer Python control flow)")

    def escape(*args: Any, **kwargs: Any) -> Any:
        tr = _recording()
        if tr is not None:
            tr.fail(reason)  # the eager run goes on; compile() reports the reason
        return fn(*args, **kwargs)
    return escape


def _grad_property(slot: Any) -> property:
    """``Tensor.grad`` as a property over its slot: an assignment the step makes itself
    (``x.grad = None`` instead of ``zero_grad()``) becomes a plan line."""
    def get(self: Tensor) -> Any:
        return slot.__get__(self, Tensor)

    def set_(self: Tensor, value: Any) -> None:
        tr = _recording()
        if tr is not None:
            tr.set_grad(self, value)
        slot.__set__(self, value)
    return property(get, set_)


def _noting_call(call: Callable[..., Any]) -> Callable[..., Any]:
    def noting(self: Module, *args: Any, **kwargs: Any) -> Any:
        tr = ACTIVE[0]
        if tr is not None:
            tr.modules[id(self)] = self
        return call(self, *args, **kwargs)
    return noting


__all__ = ["ACTIVE", "Installed"]
