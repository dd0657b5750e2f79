"""Recording one eager run of a step function into a :class:`~gradwise.compile.plan.PlanBuilder`.

The tracer runs the step for real (the trace call's results are eager results) and, next
to each array computation, writes the line that repeats it.  Arrays are told apart by
identity: every array the run makes is kept alive until the trace ends, so an ``id`` names
one value.  An array that no recorded line made and that is not an input is a *constant*
of the plan, read by reference at each replay: a parameter's array (updated in place by the
optimizer, so the replay sees its current values), a cached scalar.

What is recorded where (:mod:`gradwise.compile.hooks` installs the diversions):

- op forwards: :meth:`Tracer.forward` repeats :func:`gradwise.autograd.function.apply`
  (promotion, forward, node) and records ``op.forward`` on the promoted arrays;
- the backward walk: :mod:`gradwise.compile.backward`;
- optimizer ``step``/``zero_grad``, schedulers' ``step``, ``clip_grad_norm_``: *opaque
  calls*, recorded as one call each and repeated as they are (they read ``lr`` and the
  other hyper-parameters at every call, and update the arrays the user holds in place);
- helpers that turn input data into op attributes (the class-index coefficients of
  ``cross_entropy``): *lifted calls*, repeated with the current input.

Anything else that reaches data (``.item()``, ``.numpy()``, random numbers, an in-place
write outside recording) makes the trace fail with a reason; the step then runs eagerly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradwise.autograd.function import _forward_failed, _record, _share_version, _wrap
from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.promotion import PROMOTERS
from gradwise.autograd.tensor import Tensor
from gradwise.compile.plan import PlanBuilder, is_local
from gradwise.ops.registry import OpDef


class Tracer:
    """The state of one trace: the plan being written and what the replay must guard."""

    def __init__(self) -> None:
        self.plan = PlanBuilder()
        self.names: dict[int, str] = {}     # id(array) -> plan name (local or global)
        self.keep: list[Any] = []           # every array seen: ids stay unique while tracing
        self.guards: list[tuple[Tensor, np.ndarray]] = []   # tensors whose array the plan reads
        self.modules: dict[int, Any] = {}   # modules called: their .training is guarded
        self.suspended = 0                  # > 0 inside an opaque call: nothing is recorded
        self.failure: str | None = None
        self.grad_tensors: dict[int, Tensor] = {}  # id(leaf) -> the .grad Tensor replays refill
        self.on_fail: Callable[[], None] = lambda: None
        # (group, getter, values): what shapes a group's plan lines (a change retraces)
        self.structure: list[tuple[dict[str, Any], Callable[[dict[str, Any]], Any], Any]] = []

    # ------------------------------------------------------------------ values
    def bind(self, value: Any, name: str) -> None:
        self.names[id(value)] = name
        self.keep.append(value)

    def ref(self, value: Any, owner: Any = None) -> str:
        """The plan name of a value read by a recorded line."""
        if isinstance(value, np.ndarray):
            name = self.names.get(id(value))
            if name is not None:
                return name
            base = value.base
            while isinstance(base, np.ndarray):
                if id(base) in self.names and self.names[id(base)][0] in "av":
                    self.fail("a NumPy view of a traced value was made outside gradwise ops")
                base = base.base
            name = self.plan.const(value, "c")
            self.bind(value, name)
            if isinstance(owner, Tensor):
                self.guards.append((owner, value))
            return name
        return self.plan.const(value, "k")

    def attr(self, op_name: str, key: str, value: Any) -> str:
        """An op attribute: arrays must come from the plan (else they were computed from data)."""
        if isinstance(value, np.ndarray):
            name = self.names.get(id(value))
            if name is None:
                self.fail(f"{op_name}: its attribute {key!r} is an array computed outside gradwise ops")
                return "None"
            return name
        if isinstance(value, (tuple, list)) and any(isinstance(v, np.ndarray) for v in value):
            self.fail(f"{op_name}: its attribute {key!r} holds arrays computed outside gradwise ops")
        return self.plan.const(value, "k")

    def fail(self, reason: str) -> None:
        """Give up on the plan: the diversions are removed and the step goes on eagerly."""
        if self.failure is None:
            self.failure = reason
            self.on_fail()

    # ----------------------------------------------------------------- forward
    def forward(self, op: OpDef, args: tuple[Any, ...], attrs: dict[str, Any]) -> Tensor:
        """:func:`gradwise.autograd.function.apply`, step by step, recording the forward."""
        need = False
        datas: list[Any] = []
        for a in args:
            if isinstance(a, Tensor):
                datas.append(a._data)
                if a.requires_grad:
                    need = True
            else:
                datas.append(a)
        names = [self.ref(d, a) for d, a in zip(datas, args)]
        promote = PROMOTERS[op]
        computed = datas
        if promote is not None:
            computed = promote(list(datas))
            if any(c is not d for c, d in zip(computed, datas)):
                # the promoter cast some operand: repeat the same promoter call
                lst = self.plan.emit("{} = @P([" + ", ".join("{}" for _ in names) + "])", names,
                                     ("@P", promote))
                for i, (c, d) in enumerate(zip(computed, datas)):
                    if c is not d:
                        names[i] = self.plan.emit("{} = {}[" + str(i) + "]", [lst])
                        self.bind(c, names[i])
        try:
            out = op.forward(*computed, **attrs)
        except ValueError as exc:
            raise _forward_failed(op, computed, exc) from None
        t = _wrap(out)
        if op.view:
            _share_version(args[0], t)
        if need and _STATE[0] and op.differentiable and t._data.dtype.kind in "fc":
            _record(op, args, computed, t, attrs)
        kw = {k: self.attr(op.name, k, v) for k, v in attrs.items()}
        if self.failure is not None:
            return t
        call = "@F(" + ", ".join(["{}"] * len(names) + [f"{k}={n}" for k, n in kw.items()]) + ")"
        if type(out) is not np.ndarray:
            call = self.plan.const(np.asarray, "f") + "(" + call + ")"
        name = self.plan.emit("{} = " + call, names, ("@F", op.forward))
        # attributes that are plan values (lifted coefficients) are read by this line too
        self.plan.lines[-1][2].extend(n for n in kw.values() if is_local(n))
        self.bind(t._data, name)
        return t

    # ------------------------------------------------------------ opaque calls
    def opaque(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run ``fn(*args, **kwargs)`` unrecorded and record one call that repeats it."""
        for a in (*args, *kwargs.values()):
            if isinstance(a, Tensor) and self.names.get(id(a._data), "c")[0] in "av":
                self.fail(f"{_label(fn)} was called with a tensor computed in the step (its value "
                          "would be frozen at trace time)")
                return fn(*args, **kwargs)
        self.check_grads()
        result = self.unrecorded(fn, args, kwargs)
        call = self.plan.const(_Call(fn, args, kwargs), "op")
        if isinstance(result, Tensor):
            r = self.plan.emit("{} = " + call + "()._data", [])
            self.bind(result._data, r)
        else:
            self.plan.emit(call + "()", [], n_out=0)
        # the call may have given a .grad a new array (clip_grad_norm_ does): name it
        for holder in self.grad_tensors.values():
            if id(holder._data) not in self.names:
                self.bind(holder._data, self.plan.emit("{} = " + self.plan.const(holder, "g") + "._data", []))
        return result

    def set_grad(self, t: Tensor, value: Any) -> None:
        """The step assigns ``t.grad`` itself: ``None`` is repeated at each replay.

        Only leaves that require grad count: constructors set ``grad = None`` on every new
        tensor, which is not a step's assignment (and must not keep the tensor alive)."""
        if getattr(t, "requires_grad", False) is not True or getattr(t, "grad_fn", None) is not None:
            return
        if value is not None:
            self.fail("a tensor is assigned to .grad in the step (assign None, or call zero_grad())")
            return
        self.plan.emit(self.plan.const(t, "p") + ".grad = None", [], n_out=0)

    def unrecorded(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``fn(*args, **kwargs)`` with recording suspended (its ops are not plan lines)."""
        self.suspended += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self.suspended -= 1

    def check_grads(self) -> None:
        """Every ``.grad`` the backward filled must still hold an array the plan knows: one
        changed by code the trace did not see (NumPy on ``.grad``, a ``clip_grad_norm_``
        imported by name into the caller's module before gradwise.compile ran) fails the trace."""
        for holder in self.grad_tensors.values():
            if id(holder._data) not in self.names:
                self.fail("a .grad was changed outside gradwise (NumPy on .grad, or a clip_grad_norm_ "
                          "the trace could not see: call it as gw.nn.utils.clip_grad_norm_)")

    def lifted(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A pure helper that turns arrays into an array (repeated on the current arrays)."""
        names = [self.ref(a) for a in args]
        kw = [f"{k}={self.ref(v)}" for k, v in kwargs.items()]
        result = fn(*args, **kwargs)
        call = "@L(" + ", ".join(["{}"] * len(names) + kw) + ")"
        r = self.plan.emit("{} = " + call, names, ("@L", fn))
        self.bind(result, r)
        return result


class _Call:
    """A call with its arguments bound (``functools.partial`` without keyword merging)."""

    __slots__ = ("fn", "args", "kwargs")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


def _label(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))
