"""What anomaly mode reports: value statistics, the known NaN/Inf patterns, the message.

:mod:`gradwise.autograd.anomaly` finds the first op whose result is not finite and
collects the facts (the op, the pass, the user's line, the arrays involved);
this module turns them into an :class:`AnomalyReport` whose ``format()`` is the
multi-line message of :class:`gradwise.errors.AnomalyError`.  The hints match the
numerics behind the usual suspects:

- ``log(0) = -inf``, ``x / 0 = inf``, ``0 / 0 = nan``, ``0 ** -p = inf``;
- ``sqrt`` is finite at 0 but its gradient ``1 / (2 sqrt(x))`` is not;
- ``exp(x)`` overflows float32 past ``log(3.4e38) ~ 88.7`` (float64: ~709.8);
- ``where`` sends a zero gradient into the branch it did not select, and
  ``0 * inf = nan`` in that branch's rule;
- parameters that are huge or non-finite mean the optimizer already diverged.

Which op has which of these patterns (a pole at zero, an exp-like overflow, a
restricted domain, branches) is declared with the op, in its
:class:`~gradwise.ops.registry.AnomalyHints` (``OpDef.anomaly``): the hint
functions below read those facts and never an op's name.
"""

from __future__ import annotations

import linecache
import math
import os
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.errors import format_shape
from gradwise.ops.registry import OpDef

_WIDTH = 100
HUGE = 1e15
"""|values| above this in a trainable leaf: the previous optimizer steps diverged."""


@dataclass(frozen=True)
class ValueStats:
    """Summary of one array (an op's input or output, or a gradient).

    ``min``/``max`` ignore NaN (they are ``None`` when every value is NaN or the
    array is empty); ``max_abs`` is the largest finite magnitude.

    >>> import numpy as np
    >>> s = value_stats(np.array([0.0, -np.inf, np.nan, 2.0], dtype=np.float32))
    >>> s.nan, s.neginf, s.zeros, s.max
    (1, 1, 1, 2.0)
    >>> s.describe()
    'shape (4,) float32, min -inf, max 2, 1 NaN, 1 -Inf, 1 zero'
    """

    shape: tuple[int, ...]
    dtype: str
    size: int
    min: float | None
    max: float | None
    max_abs: float | None
    nan: int
    posinf: int
    neginf: int
    zeros: int
    negative: int

    @property
    def inf(self) -> int:
        """How many values are +inf or -inf."""
        return self.posinf + self.neginf

    @property
    def finite(self) -> bool:
        """True when no value is NaN or infinite."""
        return self.nan == 0 and self.inf == 0

    def nonfinite_text(self) -> str:
        """``'2 NaN, 1 +Inf'``: the non-finite counts that are not zero."""
        parts = [f"{n} {name}" for n, name in ((self.nan, "NaN"), (self.posinf, "+Inf"),
                                               (self.neginf, "-Inf")) if n]
        return ", ".join(parts) if parts else "no NaN/Inf"

    def describe(self) -> str:
        """One line: shape, dtype, min/max and the NaN/Inf counts."""
        head = f"shape {format_shape(self.shape)} {self.dtype}"
        if self.dtype == "bool":
            return f"{head}, {self.size - self.zeros} True of {self.size}"
        if self.size == 0:
            return f"{head}, empty"
        rng = (f"min {_num(self.min)}, max {_num(self.max)}" if self.min is not None
               else "min/max n/a (all NaN)")
        text = f"{head}, {rng}, {self.nonfinite_text() if not self.finite else '0 NaN, 0 Inf'}"
        if self.zeros:
            text += f", {self.zeros} zero{'s' if self.zeros > 1 else ''}"
        return text


def _of(n: int, total: int, noun: str) -> str:
    """'1 of the 3 input values is' / '2 of the 3 input values are'."""
    return f"{n} of the {total} {noun}s {'is' if n == 1 else 'are'}"


def _num(v: float | None) -> str:
    if v is None:
        return "n/a"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.4g}"


def value_stats(a: Any) -> ValueStats | None:
    """Statistics of an array or a number; ``None`` for anything else (``None``, index keys...)."""
    if isinstance(a, (bool, int, float, complex, np.generic)):
        a = np.asarray(a)
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biufc":
        return None
    kind = a.dtype.kind
    nan = posinf = neginf = negative = 0
    if kind == "b":
        zeros = int(a.size - np.count_nonzero(a))
        return ValueStats(a.shape, "bool", a.size, None, None, None, 0, 0, 0, zeros, 0)
    vals = np.abs(a) if kind == "c" else a
    if kind in "fc":
        nan_mask = np.isnan(a)
        nan = int(nan_mask.sum())
        if kind == "f":
            posinf = int(np.isposinf(a).sum())
            neginf = int(np.isneginf(a).sum())
        else:
            posinf = int(np.isinf(a).sum())
        vals = vals[~nan_mask] if nan else vals
    finite = vals[np.isfinite(vals)] if kind in "fc" else vals
    lo = float(vals.min()) if vals.size else None
    hi = float(vals.max()) if vals.size else None
    max_abs = float(np.abs(finite).max()) if finite.size else None
    zeros = int(np.count_nonzero(a == 0))
    if kind != "c":
        negative = int(np.count_nonzero(a < 0))
    return ValueStats(tuple(a.shape), a.dtype.name, int(a.size), lo, hi, max_abs, nan, posinf,
                      neginf, zeros, negative)


@dataclass(frozen=True)
class Location:
    """Where the user's code created an op: the first frame outside the gradwise package.

    ``via`` names the gradwise function (outside the autograd core) that ran the op
    for the user, e.g. ``gradwise.nn.functional.mse_loss``; ``None`` when the user
    called the op directly.
    """

    filename: str
    lineno: int
    function: str
    via: str | None = None

    @property
    def source(self) -> str:
        """The text of that line ('' when the source is not available, e.g. in a REPL)."""
        return linecache.getline(self.filename, self.lineno).strip()

    def describe(self) -> str:
        name = self.filename
        try:
            rel = os.path.relpath(name)
            if not rel.startswith(".."):
                name = rel
        except ValueError:  # another drive on Windows
            pass
        text = f"{name}:{self.lineno}, in {self.function}"
        if self.via:
            text += f" (inside {self.via})"
        return text


@dataclass(frozen=True)
class InputReport:
    """One input of the op: its statistics and where its values came from."""

    index: int
    name: str
    stats: ValueStats | None
    origin: str


@dataclass(frozen=True)
class Hint:
    """A known cause: ``kind`` is a stable key (``"exp_overflow"``...), ``text`` the advice."""

    kind: str
    title: str
    text: str


@dataclass(frozen=True)
class AnomalyReport:
    """Everything anomaly mode knows about the first non-finite value.

    Attributes:
        phase: ``"forward"`` or ``"backward"``.
        op: the op's name (``"log"``, ``"mul"``...).
        kind: ``"produced"`` (the op turned finite values into NaN/Inf),
            ``"input"`` (an input already contained NaN/Inf: data or a diverged
            parameter) or ``"incoming"`` (the gradient reaching the op was
            already non-finite: from ``backward(gradient=...)``, a hook, or a sum).
        summary: the first line of the message.
        location: the user's line that created the op (``None`` if the op was
            recorded while anomaly mode was off).
        inputs: the op's inputs (in the backward pass: the values saved by the forward).
        output: the op's forward output (when known).
        grad_output: backward only: the gradient arriving at the op.
        grad_input: backward only: the non-finite gradient the op produced.
        grad_index: backward only: which input that gradient is for.
        hints: the matching known causes, most specific first.
        parent: double backward: ``(op, location)`` of the op whose gradient
            computation recorded this op.
    """

    phase: str
    op: str
    kind: str
    summary: str
    location: Location | None
    inputs: tuple[InputReport, ...]
    output: ValueStats | None = None
    grad_output: ValueStats | None = None
    grad_input: ValueStats | None = None
    grad_index: int | None = None
    hints: tuple[Hint, ...] = ()
    parent: tuple[str, Location | None] | None = None

    @property
    def hint_kinds(self) -> tuple[str, ...]:
        return tuple(h.kind for h in self.hints)

    def format(self) -> str:
        """The multi-line message, written for someone meeting NaN for the first time."""
        lines = [self.summary, ""]
        lines.append(f"  op:        '{self.op}' (in the {self.phase} pass)")
        if self.location is not None:
            lines.append(f"  created:   {self.location.describe()}")
            src = self.location.source
            if src:
                lines.append(f"             {src}")
        else:
            lines.append("  created:   unknown: this op was recorded while anomaly mode was off; turn it on "
                         "before the forward pass to see the line")
        if self.parent is not None:
            pop, ploc = self.parent
            where = f" created at {ploc.describe()}" if ploc is not None else ""
            lines.append(f"             while computing the gradient of '{pop}'{where} (create_graph=True)")
        if self.phase == "backward":
            lines.append("  forward values saved for the gradient:")
        else:
            lines.append("  inputs:")
        for inp in self.inputs:
            desc = inp.stats.describe() if inp.stats is not None else "not kept by the graph"
            lines.append(f"    {inp.name:<9} {desc}")
            if inp.origin:
                lines.append(textwrap.fill(f"({inp.origin})", width=_WIDTH, initial_indent=" " * 14,
                                           subsequent_indent=" " * 15, break_on_hyphens=False))
        if self.output is not None:
            lines.append(f"    {'output':<9} {self.output.describe()}")
        if self.grad_output is not None:
            lines.append(f"  incoming gradient:  {self.grad_output.describe()}")
        if self.grad_input is not None:
            lines.append(f"  gradient for input {self.grad_index}:  {self.grad_input.describe()}")
        for h in self.hints:
            lines.append("")
            lines.append(textwrap.fill(f"Hint ({h.title}): {h.text}", width=_WIDTH, subsequent_indent="  ",
                                       break_on_hyphens=False))
        return "\n".join(lines)


# ---------------------------------------------------------------------- hints
def _finfo(dtype: str) -> Any:
    try:
        return np.finfo(np.dtype(dtype))
    except (TypeError, ValueError):
        return np.finfo(np.float32)


def _input(inputs: tuple[InputReport, ...], index: int) -> ValueStats | None:
    for inp in inputs:
        if inp.index == index:
            return inp.stats
    return None


def zero_pole_hint(op: OpDef, phase: str, inputs: tuple[InputReport, ...]) -> Hint | None:
    """log / division / negative power at 0: zeros in the input ``op.anomaly.pole``."""
    facts = op.anomaly
    idx = facts.pole
    if idx is None:
        return None
    s = _input(inputs, idx)
    if s is None or s.zeros == 0:
        return None
    name = op.name
    if facts.power:  # 0 ** p = 1 / 0 ** -p: a pole only for a negative exponent (input 1)
        e = _input(inputs, 1)
        if e is None or e.min is None or e.min >= 0:
            return None
        return Hint("log_or_div_zero", "negative power of zero",
                    f"0 ** p is inf for p < 0, and {s.zeros} of the base values are 0 (the exponent goes "
                    f"down to {_num(e.min)}). Keep the base away from 0, e.g. (x + 1e-12) ** p or "
                    "x.clamp(min=1e-12) ** p.")
    if facts.log:  # log x -> -inf as x -> 0+, and d log x / dx = 1/x -> inf
        grad = " and its gradient 1/x is infinite there" if phase == "backward" else \
            " (and its gradient 1/x is infinite there)"
        return Hint("log_or_div_zero", "log at zero",
                    f"{name}(0) is -inf{grad}; {_of(s.zeros, s.size, 'input value')} exactly 0. Keep "
                    f"the argument away from 0: gw.{name}(x.clamp(min=1e-12)) or gw.{name}(x + 1e-12). For "
                    "log-probabilities use gw.log_softmax(logits, dim) or gw.nn.functional.cross_entropy "
                    "on the logits instead of log(softmax(...)). A later gw.where that discards these "
                    "values does not help the gradient (0 * inf = NaN): make the input itself safe.")
    which = "divisor" if idx == 1 else "input"
    extra = ""
    if facts.numerator is not None:  # true division: 0 / 0 is NaN, x / 0 is inf
        num = _input(inputs, facts.numerator)
        if num is not None and num.zeros:
            extra = " 0 / 0 is NaN (and x / 0 is inf for x != 0)."
    elif facts.pole_note:
        extra = " " + facts.pole_note
    return Hint("log_or_div_zero", "division by zero",
                f"in '{name}', {_of(s.zeros, s.size, which + ' value')} 0.{extra or ' x / 0 is inf, 0 / 0 is NaN.'}"
                " Keep the divisor away from 0: x / (d + 1e-12) or x / d.clamp(min=1e-12); for a mean over "
                "a possibly empty set divide by max(count, 1).")


def sqrt_grad_hint(op: OpDef, inputs: tuple[InputReport, ...], output: ValueStats | None) -> Hint | None:
    """sqrt (and x ** p with 0 < p < 1, and norms) at 0: finite value, infinite gradient."""
    facts = op.anomaly
    zeros = 0
    what = facts.sqrt_like
    if facts.power:  # d x^p / dx = p x^(p-1): infinite at x = 0 when p - 1 < 0 < p
        what = "x ** p with 0 < p < 1"
        base, e = _input(inputs, 0), _input(inputs, 1)
        if base is not None and e is not None and e.max is not None and 0 < e.max < 1:
            zeros = base.zeros
    elif what and output is not None:  # a root: its output is 0 exactly where the slope is infinite
        zeros = output.zeros
    if not zeros:
        return None
    return Hint("sqrt_grad_zero", "sqrt's gradient at 0",
                f"{what} is finite at 0 (sqrt(0) = 0) but its gradient 1 / (2 sqrt(x)) is infinite there; "
                f"{_of(zeros, output.size if output is not None else zeros, 'value')} 0. This is typical of the "
                "length or distance of identical points (sqrt(sum(d ** 2)) with d = 0). Add an epsilon inside: "
                "gw.sqrt(x + 1e-12), or gw.sqrt(x.clamp(min=1e-12)).")


def exp_hint(op: OpDef, inputs: tuple[InputReport, ...], output: ValueStats | None) -> Hint | None:
    """exp-like ops whose input is past the overflow threshold of the dtype."""
    facts = op.anomaly
    if not facts.exp_overflow or output is None or not output.inf:
        return None
    x = _input(inputs, 0)
    if x is None or x.max is None:
        return None
    fi = _finfo(output.dtype)
    limit = math.log(float(fi.max))  # exp(x) > max  <=>  x > log(max)
    if facts.power:
        e = _input(inputs, 1)
        if e is None or e.max is None or x.max_abs is None or x.max_abs <= 1:
            return None
        return Hint("exp_overflow", "power overflow",
                    f"x ** p exceeds the largest {output.dtype} ({float(fi.max):.3g}) for |x| up to "
                    f"{_num(x.max_abs)} and p up to {_num(e.max)}. Scale the values down (normalise the data), "
                    "compute in float64 (x.double()), or work in log space (p * log(x)).")
    if facts.exp_overflow_abs:  # exp(|x|) / 2 > max  <=>  |x| > log(max) + log 2
        limit += math.log(2.0)
        big = max(abs(x.max), abs(x.min or 0.0))
    else:
        big = x.max
    if big <= limit:
        return None
    return Hint("exp_overflow", "exp overflow",
                f"{op.name}(x) overflows {output.dtype} for x > {limit:.1f} (the largest {output.dtype} is "
                f"{float(fi.max):.3g}); the largest input here is {_num(big)}. Compute in log space instead: "
                "gw.logsumexp, gw.log_softmax, gw.nn.functional.softplus, or subtract the maximum before exp "
                "(as softmax does); or clamp the input, e.g. x.clamp(max=80).")


def domain_hint(op: OpDef, inputs: tuple[InputReport, ...]) -> Hint | None:
    """NaN from finite inputs outside the op's domain."""
    x = _input(inputs, 0)
    if x is None:
        return None
    facts = op.anomaly
    name = op.name
    if facts.nonnegative and x.negative:
        return Hint("domain", f"{name} of a negative number",
                    f"{name} of a negative number is NaN; {x.negative} of the input values are negative "
                    f"(min {_num(x.min)}). Clamp the input (x.clamp(min=0)) or check what makes it negative.")
    lo = facts.log_pole_at
    if lo is not None and x.min is not None and x.min <= lo:
        return Hint("domain", f"{name} at or below {_num(lo)}", f"{name}(x) is -inf at x = {_num(lo)} and NaN "
                    f"below; the input goes down to {_num(x.min)}.")
    bound = facts.abs_bound
    if bound is not None and x.max_abs is not None and x.max_abs > bound:
        r = _num(bound)
        return Hint("domain", f"{name} outside [-{r}, {r}]",
                    f"{name} is NaN outside [-{r}, {r}]; the input reaches {_num(x.max_abs)} in magnitude. Clamp "
                    f"it to [-{r} + 1e-7, {r} - 1e-7] (rounding can push a cosine similarity just past 1).")
    if facts.power and x.negative:  # x ** p = exp(p log x): no real value for x < 0 unless p is an integer
        return Hint("domain", "negative base with a fractional power",
                    f"x ** p is NaN for x < 0 and non-integer p; {x.negative} of the base values are negative.")
    return None


def overflow_hint(output: ValueStats | None, inputs: tuple[InputReport, ...]) -> Hint | None:
    """A result past the dtype's largest value."""
    if output is None or not output.inf:
        return None
    fi = _finfo(output.dtype)
    big = max((i.stats.max_abs for i in inputs if i.stats is not None and i.stats.max_abs is not None),
              default=None)
    grown = f" (input magnitudes up to {_num(big)})" if big is not None else ""
    return Hint("overflow", "overflow",
                f"a result exceeded the largest {output.dtype} value ({float(fi.max):.3g}){grown}. Scale the "
                "inputs down (normalise the data), compute in float64 (x.double()), or look for a value that "
                "grows from step to step.")


def inf_arithmetic_hint(inputs: tuple[InputReport, ...]) -> Hint | None:
    """NaN made from Inf: inf - inf, 0 * inf, inf / inf."""
    for inp in inputs:
        if inp.stats is not None and inp.stats.inf:
            return Hint("inf_arithmetic", "arithmetic with Inf",
                        f"inf - inf, 0 * inf and inf / inf are NaN; {inp.name} contains {inp.stats.inf} infinite "
                        f"values ({inp.origin or 'see above'}). Make that value finite where it is computed.")
    return None


def zero_times_inf_hint(grad_output: ValueStats | None, inputs: tuple[InputReport, ...],
                        output: ValueStats | None) -> Hint | None:
    """Backward: a zero gradient meeting a saved Inf."""
    saved = [i.stats for i in inputs if i.stats is not None] + ([output] if output is not None else [])
    if grad_output is None or not grad_output.zeros or not any(s.inf for s in saved):
        return None
    return Hint("zero_times_inf", "0 * inf in the gradient",
                f"the incoming gradient has {grad_output.zeros} zeros and this op's forward values contain Inf: "
                "its gradient rule multiplies them, and 0 * inf = NaN. A zero gradient on a non-finite value "
                "usually means a mask or gw.where discarded it in the forward pass; make the value finite "
                "where it is computed.")


def where_hint(where_loc: Location | None, branch: str, stats: ValueStats, op: str) -> Hint:
    """Backward: the NaN comes from a where whose unselected branch was not finite."""
    at = f" at {where_loc.describe()}" if where_loc is not None else ""
    src = f" (`{where_loc.source}`)" if where_loc is not None and where_loc.source else ""
    return Hint("where_branch", "where with a non-finite branch",
                f"gw.where{at}{src} discarded {stats.nonfinite_text()} in its {branch} branch. The "
                "forward value is fine, but the gradient still flows into that branch: it is 0 where the other "
                f"branch was chosen, and 0 * inf = NaN in the gradient rule of '{op}'. Make the discarded branch "
                "finite before it is computed (the double-where trick): safe = gw.where(mask, x, 1.0); "
                "y = gw.where(mask, f(safe), 0.0).")


def diverged_hint(shape: tuple[int, ...], stats: ValueStats, direct: bool) -> Hint:
    """A trainable leaf (a parameter) that is huge or non-finite: the optimizer diverged."""
    if stats.finite:
        state = f"has values as large as {_num(stats.max_abs)} (> {HUGE:.0e})"
    else:
        state = f"contains {stats.nonfinite_text()}"
    lead = "This input is" if direct else "The computation uses"
    return Hint("lr_diverged", "learning rate diverged",
                f"{lead} a trainable leaf (a parameter) of shape {format_shape(shape)} that {state}. Parameters "
                "are changed by the optimizer, not by an op, so the previous optimizer steps diverged: the "
                "learning rate is too high. Lower the learning rate (e.g. by 10x), clip the gradients with "
                "gw.nn.utils.clip_grad_norm_(model.parameters(), 1.0) before optimizer.step(), and normalise the "
                "inputs.")


def input_hint(inp: InputReport, op: str) -> Hint:
    """Forward: an input already contained NaN/Inf that no checked op produced."""
    assert inp.stats is not None
    return Hint("input_nan", "the input already contained NaN" if inp.stats.nan else "the input was not finite",
                f"{inp.name} of '{op}' contained {inp.stats.nonfinite_text()} before '{op}' ran; no op checked by "
                f"anomaly mode produced them ({inp.origin}). Check the data where it is loaded or built "
                "(np.isnan(t.numpy()).any(), np.isinf(t.numpy()).any()): missing values in a file, a division in "
                "NumPy code or an uninitialised gw.empty(...) are the usual sources. To replace NaN on purpose, "
                "use gw.where(t != t, 0.0, t) (NaN is the only value not equal to itself).")


def fallback_hint() -> Hint:
    return Hint("none", "no known pattern",
                "look at the statistics above: which input is zero, negative, huge or already non-finite?")
