"""The op table: one declaration per op, the ONLY home of gradient rules.

An :class:`OpDef` carries the op's name, its forward on NumPy arrays, one
gradient rule per input (``None`` where an input has no gradient), how public
arguments become array inputs plus attributes (``prepare``), and the input
domain its tests draw from.

Gradient rules are written once and run in two modes.  Each rule is called as
``rule(b, g, out, *inputs, **attrs)`` where ``b`` is a *backend*: for an
ordinary first-order backward ``b`` maps every op name to that op's raw NumPy
forward and ``g``, ``out``, ``inputs`` are arrays (as fast as hand-written
NumPy); under ``create_graph=True`` ``b`` maps op names to the recorded ops and
the values are Tensors, so the gradient is itself differentiable.  Rules
therefore use only arithmetic operators, comparisons and ``b.<op>(...)`` calls
with canonical attributes.

Broadcasting is undone once, by the autograd node after a rule returns (with
``b.sum_to``), never inside a rule: a rule returns the gradient in the
broadcast shape of the op and the node reduces it to the input's shape.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gradwise.ops.domain import Domain

Rule = Callable[..., Any]
Prepared = tuple[tuple[Any, ...], dict[str, Any]]
"""What a ``prepare`` function returns: the positional inputs and the attributes."""
Prepare = Callable[..., Prepared]


class VariadicGrads:
    """Rules for an op with any number of inputs (``cat``, ``stack``).

    ``rules[i]`` is ``factory(i)``: a rule that knows which input it differentiates.
    Iterating yields one representative rule (so ``differentiable`` is true).  It has no
    length: the number of inputs is the call's; :attr:`OpDef.variadic` marks such ops.
    """

    def __init__(self, factory: Callable[[int], Rule]) -> None:
        self._factory = factory
        self._cache: dict[int, Rule] = {}

    def __getitem__(self, i: int) -> Rule:
        rule = self._cache.get(i)
        if rule is None:
            rule = self._cache[i] = self._factory(i)
        return rule

    def __iter__(self) -> Iterator[Rule]:
        yield self[0]


class Later:
    """A gradient that :class:`JointGrads` computes only when its input asks for it."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn


class JointGrads:
    """Rules of an op whose input gradients come out of one shared computation.

    A fused recurrence is the case: its backward through time yields the gradient of the
    gate pre-activations of every step, from which the gradients of the input, the
    weights, the biases and the initial state all follow.  ``compute(b, g, out, *inputs,
    **attrs)`` returns one entry per input: the gradient, or a :class:`Later` whose
    function computes it from the shared part (so an input that needs no gradient, such
    as a network's data, costs nothing).  ``rules[i]`` returns entry ``i``.

    The engine calls one rule per input that needs a gradient, each with the same ``b``,
    ``g``, ``out`` and inputs: the first call computes, the others read the result.  It
    is remembered only while that ``g`` is alive (a weak reference), so nothing outlives
    the node's step of the backward walk.
    """

    def __init__(self, compute: Callable[..., tuple[Any, ...]], n_inputs: int) -> None:
        self._compute = compute
        self._key: tuple[Any, ...] | None = None
        self._value: list[Any] = []
        self.rules: tuple[Rule, ...] = tuple(self._rule(i) for i in range(n_inputs))

    def _rule(self, i: int) -> Rule:
        def rule(b: Any, g: Any, out: Any, *inputs: Any, **attrs: Any) -> Any:
            value = self._get(b, g, out, inputs, attrs)
            v = value[i]
            if type(v) is Later:
                v = value[i] = v.fn()
            return v

        rule.__name__ = f"{getattr(self._compute, '__name__', 'joint')}_{i}"
        return rule

    def _get(self, b: Any, g: Any, out: Any, inputs: tuple[Any, ...], attrs: dict[str, Any]) -> list[Any]:
        key = self._key
        if (key is not None and key[0]() is g and key[1] is b and key[2] is out
                and len(key[3]) == len(inputs) and all(x is y for x, y in zip(key[3], inputs))):
            return self._value
        value = list(self._compute(b, g, out, *inputs, **attrs))
        try:
            ref = weakref.ref(g, self._forget)
        except TypeError:  # not weakly referenceable: recompute for each input instead
            return value
        self._key = (ref, b, out, inputs)
        self._value = value
        return value

    def _forget(self, ref: weakref.ref[Any]) -> None:
        if self._key is not None and self._key[0] is ref:
            self._key = None
            self._value = []


@dataclass(frozen=True)
class AnomalyHints:
    """Where an op's maths turns finite inputs into Inf or NaN: the facts anomaly mode reads.

    :mod:`gradwise.autograd.anomaly_report` turns them into the hints of an
    :class:`~gradwise.errors.AnomalyError`; an op declares them once, here, and a new op
    with a pole or an overflow gets the matching hint with no other change.  The
    default (every field empty) is an op with no known trouble spot.

    Attributes:
        pole: index of the input whose zeros make the result infinite: the log's
            argument (``log(0) = -inf``), the divisor (``x / 0 = inf``, ``0 / 0 = nan``),
            the argument of ``1 / x`` and ``1 / sqrt(x)``, the base of ``x ** p``
            (infinite only for ``p < 0``, see ``power``).
        pole_note: a sentence added to the division-by-zero hint that says why this op
            has the pole (``rsqrt``: ``1 / sqrt(0)``); empty: the generic ``x / 0`` one.
        numerator: true division: the input divided by ``pole``; where both are 0 the
            result is ``0 / 0 = nan`` rather than inf, and the hint says so.
        log: a logarithm of input ``pole``: ``-inf`` at 0 and a gradient ``1 / x`` that
            is infinite there (the "log at zero" hint).
        log_pole_at: a shifted logarithm, ``log(x - log_pole_at)`` (``log1p``: -1): it is
            ``-inf`` at that input value and NaN below it.
        nonnegative: input 0 must be >= 0: the result is NaN for a negative input
            (``sqrt``, ``rsqrt`` and the logs have no real value there).
        abs_bound: input 0 must lie in ``[-abs_bound, abs_bound]``: the result is NaN
            outside (``arcsin``, ``arccos``: 1, the range of sine and cosine).
        exp_overflow: the result grows like ``exp(x)`` in input 0, so it overflows once
            ``x > log(largest float)``: ~88.7 in float32, ~709.8 in float64.
        exp_overflow_abs: with ``exp_overflow``: the result grows like ``exp(|x|) / 2``
            (``sinh``, ``cosh``), so the threshold is ``log(largest float) + log 2`` and a
            large negative input overflows as well.
        power: ``x ** p`` with the base at input 0 and the exponent at input 1: the pole
            at 0 needs ``p < 0``, the overflow is ``|x| ** p``, the gradient
            ``p x ** (p - 1)`` is infinite at 0 for ``0 < p < 1``, and a negative base is
            NaN for a fractional ``p``.
        sqrt_like: the op is a square root at heart (``sqrt``; the norm, a root of a sum):
            finite at 0, where its output is 0, but with the infinite slope
            ``1 / (2 sqrt(x))`` there.  The text names the op in that hint (``"sqrt"``,
            ``"a norm"``); empty for every other op.
        branches: ops that select elementwise among inputs (``where``, ``masked_fill``):
            ``(input index, label)`` of each input that is a branch.  A discarded branch
            still receives a zero gradient, and ``0 * inf = nan`` in its rule, so anomaly
            mode remembers a non-finite branch to name it in the backward pass.
    """

    pole: int | None = None
    pole_note: str = ""
    numerator: int | None = None
    log: bool = False
    log_pole_at: float | None = None
    nonnegative: bool = False
    abs_bound: float | None = None
    exp_overflow: bool = False
    exp_overflow_abs: bool = False
    power: bool = False
    sqrt_like: str = ""
    branches: tuple[tuple[int, str], ...] = ()

    def branch_label(self, index: int) -> str:
        """The label of the branch at input ``index`` (``KeyError`` if that input is not a branch)."""
        for i, label in self.branches:
            if i == index:
                return label
        raise KeyError(index)


NO_HINTS = AnomalyHints()
"""The hints of an op with no known trouble spot (the :attr:`OpDef.anomaly` default)."""


@dataclass(frozen=True, eq=False)
class OpDef:
    """One row of the op table.

    Attributes:
        name: public name, also the ``gradwise.<name>`` function and, when
            ``method`` is true, the ``Tensor.<name>`` method.
        forward: ``forward(*arrays, **attrs) -> ndarray``.
        grads: one rule per positional input, ``rule(b, g, out, *inputs, **attrs)``
            returning the gradient for that input (any broadcast shape of it), or
            ``None`` for an input that is not differentiable.
        domain: how tests draw inputs (required: the table test fails without it).
        prepare: turns the public call's arguments into ``(inputs, attrs)``;
            ``None`` means all arguments are positional inputs, no attributes.
        saves_inputs / saves_out: whether the rules read the inputs / the
            output.  Ops whose rules read neither (``add``) keep no arrays alive.
        method: also bind as a Tensor method.
        inplace: also bind ``Tensor.<name>_`` as the in-place variant.
        view: the output may share memory with input 0 (reshape, transpose,
            basic indexing); it then shares input 0's version counter.
        aliases: extra public names (NumPy spellings such as ``concatenate``).
        doc: docstring of the public function.
        fast_forward: a plain ufunc equal to ``forward`` for inputs without
            attributes, called by the recording fast path of the binary operators
            instead of ``forward`` (``np.add`` for ``add``, whose forward also takes
            ``alpha``); ``None``: that path calls ``forward``.
        anomaly: where the op's maths produces Inf or NaN (poles, overflow, domain,
            branches), for the hints of anomaly mode; see :class:`AnomalyHints`.
        differentiable: computed: at least one input has a gradient rule.
        variadic: computed: ``grads`` is a :class:`VariadicGrads` (any number of
            inputs, ``cat``, ``stack``, ``einsum``), so it has no per-input tuple.
    """

    name: str
    forward: Callable[..., Any]
    grads: tuple[Rule | None, ...] | VariadicGrads
    domain: Domain | None
    prepare: Prepare | None = None
    saves_inputs: bool = True
    saves_out: bool = True
    method: bool = True
    function: bool = True
    inplace: bool = False
    view: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""
    fast_forward: Callable[..., Any] | None = None
    anomaly: AnomalyHints = NO_HINTS
    differentiable: bool = field(init=False, default=False)
    """True when at least one input has a gradient rule."""
    variadic: bool = field(init=False, default=False)
    """True when ``grads`` is a :class:`VariadicGrads` (the op takes any number of inputs)."""

    def __post_init__(self) -> None:
        # Precomputed once: the hot path reads a plain attribute.
        object.__setattr__(self, "differentiable", any(r is not None for r in self.grads))
        object.__setattr__(self, "variadic", isinstance(self.grads, VariadicGrads))

    def __repr__(self) -> str:
        return f"OpDef({self.name!r})"


REGISTRY: dict[str, OpDef] = {}


def register(op: OpDef) -> OpDef:
    """Add ``op`` to the table; a second op with the same name is an error."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is declared twice in the op table")
    REGISTRY[op.name] = op
    return op


def defop(
    name: str,
    forward: Callable[..., Any],
    grads: tuple[Rule | None, ...] | VariadicGrads,
    domain: Domain | None,
    **kwargs: Any,
) -> OpDef:
    """Declare and register an op in one call (see :class:`OpDef` for the fields)."""
    if not isinstance(grads, VariadicGrads):
        grads = tuple(grads)
    return register(OpDef(name, forward, grads, domain, **kwargs))
