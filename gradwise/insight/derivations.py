"""Backpropagation by hand for small sigmoid networks, every matrix dimension checked.

The classic derivations: networks of sigmoid units ``f(u) = 1 / (1 + e^-u)``
without bias, squared error ``E = 1/2 * sum (y - yhat)^2``, in six cases (see
:data:`CASES`).  Rows are examples: ``X`` is ``(m, n_in)``, a weight ``W`` maps
``n_in`` inputs to ``n_out`` outputs and is ``(n_in, n_out)``, so a layer is
``U = X @ W``.  The chain rule then gives, with ``f'(u) = f(u) (1 - f(u))``::

    delta_out = dE/dU_out = (yhat - y) * yhat * (1 - yhat)          (m, n_out)
    dE/dW_out = H^T @ delta_out                                     (n_hidden, n_out)
    dE/dH     = delta_out @ W_out^T                                 (m, n_hidden)
    delta_hid = dE/dH * H * (1 - H)                                 (m, n_hidden)
    dE/dW_hid = X^T @ delta_hid                                     (n_in, n_hidden)

Each gradient comes out with the shape of its weight: that is the dimension
check a derivation by hand should always end with.  :func:`derive` computes
every intermediate from these closed forms, records its formula and shape, and
puts gradwise's autograd gradient beside each closed-form one.

>>> d = derive("two_layer_batch", seed=0)
>>> [s.name for s in d.steps][:4]
['u1', 'h', 'u2', 'yhat']
>>> d.max_difference < 1e-12
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.api.creation import tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.insight.html_repr import derivation_html


class DerivationShapeError(ShapeError):
    """A derivation step whose matrix dimensions do not fit; the message names the step."""


@dataclass(frozen=True)
class Case:
    """A network to derive: input width, hidden widths (none for one layer), output width, batch size."""

    name: str
    description: str
    n_in: int
    hidden: tuple[int, ...]
    n_out: int
    batch: int


CASES: dict[str, Case] = {c.name: c for c in (
    Case("one_layer_scalar", "1 layer, one scalar example: yhat = f(w x)", 1, (), 1, 1),
    Case("one_layer_vector", "1 layer, one vector example: yhat = f(x @ W), x (1, 3), W (3, 2)", 3, (), 2, 1),
    Case("one_layer_batch", "1 layer, a batch of 4 examples: Yhat = f(X @ W)", 3, (), 2, 4),
    Case("two_layer_1hidden", "2 layers with a 1-node hidden layer: yhat = f(f(x @ W1) @ W2)", 3, (1,), 2, 1),
    Case("two_layer_2hidden", "2 layers with a 2-node hidden layer", 3, (2,), 2, 1),
    Case("two_layer_batch", "2 layers (2 hidden nodes) on a batch of 4 examples", 3, (2,), 2, 4),
)}


@dataclass(frozen=True)
class Step:
    """One intermediate: its name, formula, the dimension check and the value."""

    name: str
    formula: str
    shapes: str
    value: np.ndarray = field(repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)


@dataclass(frozen=True)
class GradientComparison:
    """A closed-form gradient beside autograd's, with the largest absolute difference."""

    weight: str
    closed_form: np.ndarray = field(repr=False)
    autograd: np.ndarray = field(repr=False)
    max_abs_difference: float


@dataclass(frozen=True)
class Derivation:
    """The trace of one case: inputs, steps in order, and the gradient comparisons."""

    case: Case
    inputs: dict[str, np.ndarray] = field(repr=False)
    steps: tuple[Step, ...]
    gradients: tuple[GradientComparison, ...]

    @property
    def max_difference(self) -> float:
        return max(g.max_abs_difference for g in self.gradients)

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"no step {name!r}; steps: {[s.name for s in self.steps]}")

    def to_text(self, values: bool = True) -> str:
        """The trace as text: each step with formula and dimension check (and values), then the comparison."""
        lines = [f"{self.case.name}: {self.case.description}", "",
                 "inputs: " + ", ".join(f"{k} {format_shape(v.shape)}" for k, v in self.inputs.items()), ""]
        width = max(len(s.name) for s in self.steps)
        for s in self.steps:
            lines.append(f"{s.name:<{width}} = {s.formula}")
            lines.append(f"{'':<{width}}   shapes: {s.shapes}")
            if values:
                body = np.array2string(s.value, precision=6, suppress_small=True, max_line_width=100)
                lines.extend(f"{'':<{width}}   {row}" for row in body.splitlines())
        lines += ["", "closed form vs autograd:"]
        for g in self.gradients:
            lines.append(f"  dE/d{g.weight} {format_shape(g.closed_form.shape)}: max |difference| = "
                         f"{g.max_abs_difference:.3e}")
        return "\n".join(lines)

    __str__ = to_text

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        """Jupyter's display: each step's formula and dimension check, values folded, then the comparison."""
        return derivation_html(self)


def _sigmoid(u: np.ndarray) -> np.ndarray:
    # the two branches keep exp from overflowing for large |u|
    e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _matmul(step: str, formula: str, a: np.ndarray, a_name: str, b: np.ndarray, b_name: str,
            hint: str = "") -> tuple[np.ndarray, str]:
    if a.shape[1] != b.shape[0]:
        raise DerivationShapeError(
            f"step {step} = {formula}: {a_name} {format_shape(a.shape)} @ {b_name} {format_shape(b.shape)}: the inner "
            f"dimensions {a.shape[1]} and {b.shape[0]} disagree (a matrix product needs the columns of the left "
            f"operand to equal the rows of the right one){hint}")
    out = a @ b
    return out, (f"{a_name} {format_shape(a.shape)} @ {b_name} {format_shape(b.shape)} -> {format_shape(out.shape)}")


def random_inputs(case: str | Case, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs ``x`` in [-1, 1], targets ``y`` in (0, 1) and weights ``N(0, 1)`` for ``case`` (float64)."""
    c = CASES[case] if isinstance(case, str) else case
    rng = np.random.default_rng(seed)
    sizes = (c.n_in, *c.hidden, c.n_out)
    inputs = {"x": rng.uniform(-1, 1, (c.batch, c.n_in)), "y": rng.uniform(0.05, 0.95, (c.batch, c.n_out))}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        inputs[f"W{i}"] = rng.standard_normal((a, b))
    return inputs


def _check_case(name: str) -> Case:
    if name not in CASES:
        raise KeyError(f"derive: unknown case {name!r}; valid: {', '.join(CASES)}")
    return CASES[name]


def derive(case: str, inputs: dict[str, Any] | None = None, *, seed: int = 0) -> Derivation:
    """The closed-form gradients of ``case`` step by step, checked against autograd.

    ``inputs`` holds ``x`` ``(m, n_in)``, ``y`` ``(m, n_out)`` and ``W1`` (and ``W2`` for two
    layers) as arrays; by default they are drawn by :func:`random_inputs` with ``seed``.  A weight
    of the wrong shape (say, transposed) raises :class:`DerivationShapeError` naming the step.
    """
    c = _check_case(case)
    raw = random_inputs(c, seed) if inputs is None else inputs
    vals = {k: np.array(v, dtype=np.float64, ndmin=2) for k, v in raw.items()}
    n_layers = len(c.hidden) + 1
    needed = {"x", "y", *(f"W{i}" for i in range(1, n_layers + 1))}
    if set(vals) != needed:
        raise KeyError(f"derive({case!r}): inputs must be {sorted(needed)}, got {sorted(vals)}")
    steps: list[Step] = []

    def add(name: str, formula: str, shapes: str, value: np.ndarray) -> np.ndarray:
        steps.append(Step(name, formula, shapes, value))
        return value

    def shape(v: np.ndarray) -> str:
        return format_shape(v.shape)

    # forward: u_k = a_{k-1} @ W_k, a_k = f(u_k), with a_0 = x and yhat = a_L
    sizes = (c.n_in, *c.hidden, c.n_out)
    acts, a, a_name = [vals["x"]], vals["x"], "x"
    for k in range(1, n_layers + 1):
        W = vals[f"W{k}"]
        want = (sizes[k - 1], sizes[k])
        hint = f"; W{k} should be {format_shape(want)} (inputs, outputs): is it transposed?" \
            if W.shape == want[::-1] and W.shape != want else ""

        u, sh = _matmul(f"u{k}", f"{a_name} @ W{k}", a, a_name, W, f"W{k}", hint)
        add(f"u{k}", f"{a_name} @ W{k}", sh, u)
        a_name = "yhat" if k == n_layers else "h"
        a = add(a_name, f"f(u{k}) = 1 / (1 + exp(-u{k}))", f"elementwise, {shape(u)}", _sigmoid(u))
        acts.append(a)
    y = vals["y"]
    if y.shape != a.shape:
        raise DerivationShapeError(f"step E = 1/2 sum (y - yhat)^2: y {shape(y)} and yhat {shape(a)} must have the "
                                   "same shape (one target per output unit per example)")
    E = 0.5 * np.sum((y - a) ** 2)
    add("E", "1/2 * sum((y - yhat)^2)", f"{shape(a)} -> () scalar", np.array(E))
    # backward: delta_k = dE/du_k; dE/dW_k = a_{k-1}^T @ delta_k; dE/da_{k-1} = delta_k @ W_k^T
    g = add("dE/dyhat", "yhat - y", f"elementwise, {shape(a)}", a - y)
    grads: dict[str, np.ndarray] = {}
    for k in range(n_layers, 0, -1):
        out, prev = acts[k], acts[k - 1]
        out_name = "yhat" if k == n_layers else "h"
        prev_name = "x" if k == 1 else "h"
        delta = add(f"delta{k}", f"dE/d{out_name} * {out_name} * (1 - {out_name})   [f'(u{k}) = f(u{k})(1 - f(u{k}))]",
                    f"elementwise, {shape(out)}", g * out * (1.0 - out))
        gw_, sh = _matmul(f"dE/dW{k}", f"{prev_name}^T @ delta{k}", prev.T, f"{prev_name}^T", delta, f"delta{k}")
        W = vals[f"W{k}"]
        add(f"dE/dW{k}", f"{prev_name}^T @ delta{k}", f"{sh} == shape of W{k} {shape(W)}", gw_)
        assert gw_.shape == W.shape     # the end-of-derivation dimension check
        grads[f"W{k}"] = gw_
        if k > 1:
            g, sh = _matmul(f"dE/d{prev_name}", f"delta{k} @ W{k}^T", delta, f"delta{k}", W.T, f"W{k}^T")
            add(f"dE/d{prev_name}", f"delta{k} @ W{k}^T", sh, g)
    auto = _autograd(vals, n_layers)
    comparisons = tuple(_compare(name, grads[name], auto[name]) for name in sorted(grads))
    return Derivation(c, vals, tuple(steps), comparisons)


def _autograd(vals: dict[str, np.ndarray], n_layers: int) -> dict[str, np.ndarray]:
    """The same network in gradwise (float64), differentiated by reverse mode."""
    weights = {f"W{k}": tensor(vals[f"W{k}"], requires_grad=True) for k in range(1, n_layers + 1)}
    a = tensor(vals["x"])
    for k in range(1, n_layers + 1):
        a = (a @ weights[f"W{k}"]).sigmoid()
    E = 0.5 * ((tensor(vals["y"]) - a) ** 2).sum()
    E.backward()
    grads: dict[str, np.ndarray] = {}
    for name, w in weights.items():
        assert w.grad is not None   # E depends on every layer's weights
        grads[name] = w.grad.numpy()
    return grads


def _compare(name: str, closed: np.ndarray, auto: np.ndarray) -> GradientComparison:
    return GradientComparison(name, closed, auto, float(np.max(np.abs(closed - auto))))
