"""Anomaly mode: find the op that first produced a NaN or an Inf, in the forward or the backward pass.

>>> import gradwise as gw
>>> x = gw.tensor([0.0, 1.0])
>>> try:
...     with gw.detect_anomaly():
...         y = gw.log(x)
... except gw.AnomalyError as err:
...     print(str(err).splitlines()[0])
...     print(err.report.op, err.report.phase, err.report.hint_kinds)
anomaly in the forward pass: 'log' produced -Inf (1 -Inf of 2 values) from finite inputs
log forward ('log_or_div_zero',)

While the mode is on:

- every op checks its output; the first non-finite one raises
  :class:`~gradwise.errors.AnomalyError` naming the op, the pass, the line of
  the user's code that created it, its inputs' statistics and a hint;
- every recorded node keeps that line (the first frame outside gradwise), so a
  non-finite gradient in the backward pass points at the forward line too;
- an input that already holds NaN (data passed in, a diverged parameter) is
  reported when it first flows into an op.  Inf in data that does not require
  grad may flow (it is a legitimate mask or bound), but NaN made from it, or
  Inf in a trainable leaf, is reported.

NumPy's divide/overflow/invalid warnings are silenced inside checked ops and the
checked backward: the check reports the same event with its context.  With
``check_nan=False`` or with the mode off, ops warn as NumPy does and produce
NaN/Inf without an error.

Cost: off, each op reads one flag (``_ANOMALY[0]``) and the backward walk tests
one local per node and edge; on, each op also captures a frame and scans its
output, so only turn it on to debug.  The mode is global, like grad mode.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from gradwise.autograd.anomaly_report import (
    HUGE,
    AnomalyReport,
    Hint,
    InputReport,
    Location,
    ValueStats,
    diverged_hint,
    domain_hint,
    exp_hint,
    fallback_hint,
    inf_arithmetic_hint,
    input_hint,
    overflow_hint,
    sqrt_grad_hint,
    value_stats,
    zero_pole_hint,
)
from gradwise.autograd.node import Node
from gradwise.autograd.tensor import Tensor
from gradwise.errors import AnomalyError, GradwiseError
from gradwise.ops.registry import OpDef

F = TypeVar("F", bound=Callable[..., Any])

# _ANOMALY[0]: the mode is on (read by every op: function.apply and the fast paths).
_ANOMALY: list[bool] = [False]
# _CHECK[0]: check values for NaN/Inf (detect_anomaly(check_nan=False) only records lines).
_CHECK: list[bool] = [True]
# _CURRENT[0]: the node whose gradient rules are running in a checked backward, else None.
_CURRENT: list[Any] = [None]

_MAX_WALK = 20000  # graph nodes visited when looking for a diverged parameter


class AnomalyModeError(GradwiseError, TypeError):
    """A bad argument to ``detect_anomaly`` / ``set_detect_anomaly``."""


def _flag(value: Any, fn: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        hint = " (use @detect_anomaly() with parentheses as a decorator)" if callable(value) else ""
        raise AnomalyModeError(f"{fn}: {name} must be True or False, got {value!r}{hint}")
    return bool(value)


def is_anomaly_enabled() -> bool:
    """True while anomaly mode is on.

    >>> import gradwise as gw
    >>> with gw.detect_anomaly():
    ...     gw.is_anomaly_enabled()
    True
    >>> gw.is_anomaly_enabled()
    False
    """
    return _ANOMALY[0]


def is_anomaly_check_nan_enabled() -> bool:
    """True while anomaly mode also checks values (``check_nan=True``, the default)."""
    return _ANOMALY[0] and _CHECK[0]


class detect_anomaly:  # noqa: N801  (PyTorch's name)
    """Context manager / decorator: turn anomaly mode on, restore the previous mode on exit.

    Args:
        check_nan: check every op's result, forward and backward, for NaN/Inf
            (default).  With ``False`` only the user's line of each recorded
            op is kept, and errors raised in the backward pass name it.

    >>> import gradwise as gw
    >>> @gw.detect_anomaly()
    ... def step(x):
    ...     return (x * 2).sum()
    >>> step(gw.ones(3)).item()
    6.0
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = _flag(check_nan, "detect_anomaly", "check_nan")
        self._prev: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self._prev.append((_ANOMALY[0], _CHECK[0]))
        _ANOMALY[0], _CHECK[0] = True, self.check_nan

    def __exit__(self, *exc: object) -> None:
        _ANOMALY[0], _CHECK[0] = self._prev.pop()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_detect_anomaly:  # noqa: N801
    """Turn anomaly mode on or off: at once as a call, and restored on exit as a context manager.

    >>> import gradwise as gw
    >>> _ = gw.set_detect_anomaly(True)
    >>> gw.is_anomaly_enabled()
    True
    >>> _ = gw.set_detect_anomaly(False)
    >>> with gw.set_detect_anomaly(True):
    ...     gw.is_anomaly_enabled()
    True
    >>> gw.is_anomaly_enabled()
    False
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        mode = _flag(mode, "set_detect_anomaly", "mode")
        check_nan = _flag(check_nan, "set_detect_anomaly", "check_nan")
        self._prev = (_ANOMALY[0], _CHECK[0])
        _ANOMALY[0], _CHECK[0] = mode, check_nan

    def __enter__(self) -> None:  # already set in __init__
        pass

    def __exit__(self, *exc: object) -> None:
        _ANOMALY[0], _CHECK[0] = self._prev


# ------------------------------------------------------------ user's line
class Trace:
    """What a node remembers in anomaly mode (kept in ``node.trace``)."""

    __slots__ = ("location", "parent", "discarded")

    def __init__(self, location: Location | None, parent: tuple[str, Location | None] | None) -> None:
        self.location = location
        self.parent = parent
        # masking ops: (input index, stats) of a branch that held NaN/Inf
        self.discarded: tuple[int, ValueStats] | None = None


def _user_location(start: Any) -> Location | None:
    """The first frame outside the gradwise package, and the gradwise function it went through."""
    f = start
    via = None
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if (mod != "gradwise" and not mod.startswith("gradwise.")) or f.f_code.co_filename.startswith("<doctest"):
            return Location(f.f_code.co_filename, f.f_lineno, f.f_code.co_name, via)
        if via is None and not mod.startswith(("gradwise.autograd", "gradwise.ops")):
            via = f"{mod}.{getattr(f.f_code, 'co_qualname', f.f_code.co_name)}"
        f = f.f_back
    return None


def _parent() -> tuple[str, Location | None] | None:
    node = _CURRENT[0]
    if node is None:
        return None
    tr = node.trace
    return (node.op.name, tr.location if tr is not None else None)


# ------------------------------------------------------------ forward
def checked_apply(apply: Callable[..., Tensor], op: Any, args: tuple[Any, ...], attrs: dict[str, Any]) -> Tensor:
    """Run ``apply(op, *args, **attrs)`` with anomaly checks (``apply`` is function.apply).

    The flag is lowered while the op itself runs so that ``apply`` takes its
    ordinary path; an op's forward is NumPy only, so nothing else runs meanwhile.
    """
    check = _CHECK[0]
    _ANOMALY[0] = False
    try:
        if check:  # the check below reports what NumPy would warn about, with its context
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                t = apply(op, *args, **attrs)
        else:
            t = apply(op, *args, **attrs)
    finally:
        _ANOMALY[0] = True
    node = t.grad_fn
    if node is not None:
        node.trace = Trace(_user_location(sys._getframe(1)), _parent())
    if not check or _CURRENT[0] is not None:
        # inside a create_graph backward the engine checks each finished gradient
        return t
    out = t._data
    if out.dtype.kind in "fc" and not np.isfinite(out).all():
        _forward_anomaly(op, args, attrs, out, node)
    elif node is not None and op.anomaly.branches:
        _note_discarded(op, args, node)
    return t


def _note_discarded(op: OpDef, args: tuple[Any, ...], node: Node) -> None:
    """Ops that select among their inputs (``op.anomaly.branches``): remember a branch that
    holds NaN/Inf on the node, so that the backward can name the where when 0 * inf appears."""
    for i, _ in op.anomaly.branches:
        a = args[i] if i < len(args) else None
        if isinstance(a, Tensor) and a.requires_grad and a._data.dtype.kind in "fc" and not np.isfinite(a._data).all():
            s = value_stats(a._data)
            assert s is not None
            node.trace.discarded = (i, s)
            return


def _origin(a: Any) -> str:
    if not isinstance(a, Tensor):
        return "a constant passed to the op"
    if a.grad_fn is None:
        if a.requires_grad:
            return "a trainable leaf (requires_grad=True): a parameter, changed only by you or the optimizer"
        return "a tensor with no recorded history: data you created or passed in, or a result computed under no_grad"
    tr = a.grad_fn.trace
    loc = tr.location if tr is not None else None
    if loc is None:
        return f"the output of '{a.grad_fn.op.name}', recorded while anomaly mode was off"
    return f"the output of '{a.grad_fn.op.name}' at {loc.describe()}"


def _is_trainable_leaf(a: Any) -> bool:
    return isinstance(a, Tensor) and a.grad_fn is None and a.requires_grad


def _is_parameter(a: Any) -> bool:
    """A trainable leaf that is being trained: an nn.Parameter, or one that has a gradient or was
    updated in place (optimizers write through ``_write``, which moves the version counter)."""
    if not _is_trainable_leaf(a):
        return False
    if a.grad is not None or (a._version is not None and a._version[0] > 0):
        return True
    return any(c.__name__ == "Parameter" for c in type(a).__mro__)  # nn sits above autograd: no import


# An input of the op in forward anomaly mode: its report, its statistics (the report's, never
# None here) and its value.
_Input = tuple[InputReport, ValueStats, Any]


def _inputs(op: Any, args: tuple[Any, ...], attrs: dict[str, Any]) -> list[_Input]:
    out: list[_Input] = []
    for i, a in enumerate(args):
        s = value_stats(a._data if isinstance(a, Tensor) else a)
        if s is not None:
            out.append((InputReport(i, f"input {i}", s, _origin(a)), s, a))
    for k, v in attrs.items():
        if isinstance(v, (float, np.floating)):  # scalar attributes (masked_fill's value, clamp's bounds)
            s = value_stats(v)
            if s is not None:
                out.append((InputReport(-1, k, s, "a constant passed to the op"), s, v))  # -1: an attribute
    return out


def _forward_anomaly(op: Any, args: tuple[Any, ...], attrs: dict[str, Any], out: np.ndarray,
                     node: Node | None) -> None:
    """Raise for a non-finite output, unless it is Inf carried over from data that may hold it."""
    ins = _inputs(op, args, attrs)
    reports = tuple(r for r, _, _ in ins)
    out_stats = value_stats(out)
    assert out_stats is not None
    bad = [(r, s, a) for r, s, a in ins if not s.finite]
    nan_in = [(r, s, a) for r, s, a in bad if s.nan]
    culprit: _Input | None
    if not bad or (out_stats.nan and not nan_in):
        kind, culprit = "produced", None
    elif nan_in:
        kind, culprit = "input", nan_in[0]
    else:
        leaves = [(r, s, a) for r, s, a in bad if _is_trainable_leaf(a)]  # Inf in a parameter is never intended
        if not leaves:
            return  # Inf carried over from data or a constant (a mask, a bound): legitimate
        kind, culprit = "input", leaves[0]
    loc = node.trace.location if node is not None else _user_location(sys._getframe())
    hints: list[Hint] = []
    tensors = [a for _, _, a in ins if isinstance(a, Tensor)]
    if culprit is None:  # kind == "produced"
        summary = (f"anomaly in the forward pass: '{op.name}' produced {_what(out_stats)} "
                   f"({_count(out_stats)}) from {'finite inputs' if not bad else 'inputs without NaN'}")
        _produced_hints(hints, op, "forward", reports, out_stats)
        if bad and out_stats.nan:
            _add(hints, inf_arithmetic_hint(reports))
    else:
        r, r_stats, a = culprit
        summary = (f"anomaly in the forward pass: {r.name} of '{op.name}' already contained "
                   f"{_what(r_stats)} ({_count(r_stats)}) when it flowed into '{op.name}'")
        if not _is_parameter(a):
            hints.append(input_hint(r, op.name))
    div = _diverged(tensors, direct=kind == "input")
    if div is not None:
        hints.insert(0, div)
    if not hints:
        hints.append(fallback_hint())
    report = AnomalyReport("forward", op.name, kind, summary, loc, reports, out_stats, hints=tuple(hints),
                           parent=node.trace.parent if node is not None else None)
    raise AnomalyError(report.format(), report)


def _what(s: ValueStats) -> str:
    kinds = [name for n, name in ((s.nan, "NaN"), (s.posinf, "+Inf"), (s.neginf, "-Inf")) if n]
    return " and ".join(kinds) if kinds else "non-finite values"


def _count(s: ValueStats) -> str:
    return f"{s.nonfinite_text()} of {s.size} value{'s' if s.size != 1 else ''}"


def _add(hints: list[Hint], h: Hint | None) -> None:
    if h is not None and all(h.kind != k.kind for k in hints):
        hints.append(h)


def _produced_hints(hints: list[Hint], op: OpDef, phase: str, inputs: tuple[InputReport, ...],
                    output: ValueStats | None) -> None:
    """The hints for an op that made NaN/Inf itself: they read the op's ``anomaly`` facts."""
    if phase == "backward":
        _add(hints, sqrt_grad_hint(op, inputs, output))
    _add(hints, zero_pole_hint(op, phase, inputs))
    if phase == "forward":
        _add(hints, exp_hint(op, inputs, output))
        _add(hints, domain_hint(op, inputs))
        if not hints:
            _add(hints, overflow_hint(output, inputs))


def _diverged(starts: list[Any], direct: bool) -> Hint | None:
    """A trainable leaf reachable from ``starts`` that is huge or non-finite: the LR diverged."""
    seen: set[int] = set()
    stack = list(starts)
    while stack and len(seen) < _MAX_WALK:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, Tensor):
            if e.grad_fn is not None:
                stack.append(e.grad_fn)
            elif _is_parameter(e) and e._data.dtype.kind in "fc":
                s = value_stats(e._data)
                if s is not None and (not s.finite or (s.max_abs or 0.0) > HUGE):
                    return diverged_hint(e.shape, s, direct and any(e is t for t in starts))
        elif isinstance(e, Node):
            stack.extend(e.edges)
    return None
