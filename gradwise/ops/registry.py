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
from collections.abc import Callable
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
    Iterating yields one representative rule (so ``differentiable`` is true).
    """

    def __init__(self, factory: Callable[[int], Rule]) -> None:
        self._factory = factory
        self._cache: dict[int, Rule] = {}

    def __getitem__(self, i: int) -> Rule:
        rule = self._cache.get(i)
        if rule is None:
            rule = self._cache[i] = self._factory(i)
        return rule

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self[0]

    def __len__(self) -> int:
        return 0


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
    extra: dict[str, Any] = field(default_factory=dict)
    differentiable: bool = field(init=False, default=False)
    """True when at least one input has a gradient rule."""

    def __post_init__(self) -> None:
        # Precomputed once: the hot path reads a plain attribute.
        object.__setattr__(self, "differentiable", any(r is not None for r in self.grads))

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
    grads: tuple[Rule | None, ...],
    domain: Domain | None,
    **kwargs: Any,
) -> OpDef:
    """Declare and register an op in one call (see :class:`OpDef` for the fields)."""
    if not isinstance(grads, VariadicGrads):
        grads = tuple(grads)
    return register(OpDef(name, forward, grads, domain, **kwargs))


def all_ops() -> list[OpDef]:
    """Every registered op, in declaration order (imports every op family first)."""
    import gradwise.ops  # noqa: F401  (registers the families)

    return list(REGISTRY.values())
