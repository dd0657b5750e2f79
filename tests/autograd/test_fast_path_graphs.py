"""The fast recording paths build the same graph as the general :func:`apply`.

``make_unary``/``apply1`` and ``make_binary`` (gradwise/autograd/function.py) unroll by
hand what :func:`apply` does for one- and two-input ops without attributes: the Tensor
methods of plain unary ops and the Python operators go through them.  For every op the
binder routes that way (found from the bound methods, operators and functions
themselves, so a change of the binder's rules is followed), on inputs drawn from the
op's own domain, each test checks that both paths give the same output values, dtype
and shape, the same ``requires_grad``, the same ``grad_fn`` op, the same edges (the
very same parent nodes and leaves), the same saved inputs and output (as the op's
``saves_inputs``/``saves_out`` say), the same version checks and reductions, and the
same gradients after backward.  Operands include Python scalars (which the binary fast
path turns into cached 0-d arrays of the tensor's dtype), NumPy arrays, 0-d tensors,
broadcasting shapes, non-leaf tensors, tensors that do not require grad, float32, and
grad mode off.

The file is not called test_fast_paths.py: tests/ops has one, and test modules here
are imported by basename (no packages), so two of the same name cannot be collected.
"""

from __future__ import annotations

import types
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd.function import apply, apply1, make_binary, make_unary
from gradwise.autograd.tensor import Tensor
from gradwise.ops import all_ops
from gradwise.ops.domain import Sample
from gradwise.ops.registry import REGISTRY, OpDef

all_ops()  # every op family registered

# Every closure made by make_unary (make_binary) shares one code object.
_UNARY_CODE = make_unary(REGISTRY["neg"]).__code__
_BINARY_CODE = make_binary(REGISTRY["mul"]).__code__


def _routed(code: types.CodeType) -> list[OpDef]:
    """The ops whose bound Tensor methods, operators or ``gradwise.<name>`` functions call
    a closure with ``code``: directly, or through a wrapper's closure (the function form
    of a unary op, the reflected operators)."""
    found: dict[str, OpDef] = {}

    def visit(f: Any, depth: int) -> None:
        if not isinstance(f, types.FunctionType):
            return
        if f.__code__ is code:
            op = f.__closure__[f.__code__.co_freevars.index("op")].cell_contents
            found[op.name] = op
        elif depth and f.__closure__:
            for cell in f.__closure__:
                try:
                    visit(cell.cell_contents, depth - 1)
                except ValueError:  # an empty cell
                    pass

    for f in [*vars(Tensor).values(), *vars(gw).values()]:
        visit(f, 2)
    return [found[name] for name in sorted(found)]


UNARY_OPS = _routed(_UNARY_CODE)
BINARY_OPS = _routed(_BINARY_CODE)


def test_the_binder_routes_operators_and_plain_unary_ops_through_the_fast_paths() -> None:
    # Guards the discovery above: an empty list would make the tests below vacuous.
    assert {"add", "sub", "mul", "div", "pow", "matmul", "eq", "lt"} <= {op.name for op in BINARY_OPS}
    assert {"neg", "exp", "log", "tanh", "relu", "sigmoid"} <= {op.name for op in UNARY_OPS}
    for op in UNARY_OPS:  # make_unary records no attributes and no view
        assert op.prepare is None and not op.view and len(op.grads) == 1, op.name


# ----------------------------------------------------------------------------- comparison
def _seed_of(op: OpDef) -> int:
    return zlib.crc32(op.name.encode())  # stable across runs, unlike hash()


def _samples(op: OpDef, rng: np.random.Generator) -> list[Sample]:
    """The op's domain samples that an attribute-free call can take."""
    return [s for s in op.domain.samples(rng) if not s.attrs]


def _expected_edge(op: OpDef, i: int, a: Any) -> Any:
    if isinstance(a, Tensor) and a.requires_grad and op.grads[i] is not None:
        return a.grad_fn if a.grad_fn is not None else a
    return None


def _checks(t: Tensor, args: tuple[Any, ...]) -> list[tuple[str, int, int]]:
    """A node's version checks with each box named by whose counter it is."""
    out = []
    for box, version, index in t.grad_fn.checks or ():
        owner = t._version if index < 0 else args[index]._version
        assert box is owner, f"check {index} watches the wrong version counter"
        out.append(("out" if index < 0 else "input", version, index))
    return out


def _grads(t: Tensor, args: tuple[Any, ...], seed: np.ndarray) -> list[Any]:
    wrt = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    if not wrt:
        return []
    got = gw.autograd.grad(t, wrt, grad_outputs=gw.tensor(seed), retain_graph=True, allow_unused=True)
    return [None if g is None else g.numpy() for g in got]


def _same_graph(op: OpDef, ref: Tensor, fast: Tensor, args: tuple[Any, ...], rng: np.random.Generator,
                where: str) -> None:
    """Assert that ``fast`` (a fast path's result) was recorded as ``ref`` (apply's) was."""
    assert type(fast) is Tensor, where
    assert fast.dtype == ref.dtype and fast.shape == ref.shape, where
    np.testing.assert_array_equal(fast.detach().numpy(), ref.detach().numpy(), err_msg=where)
    assert fast.requires_grad == ref.requires_grad, where
    assert (fast._version is None) == (ref._version is None), where
    if ref.grad_fn is None:
        assert fast.grad_fn is None, where
        return
    rn, fn = ref.grad_fn, fast.grad_fn
    assert fn is not None and fn is not rn and fn.op is rn.op is op, where
    assert len(fn.edges) == len(rn.edges) == len(args), where
    for i, (e, r, a) in enumerate(zip(fn.edges, rn.edges, args)):
        assert e is r is _expected_edge(op, i, a), f"{where}: edge {i}"
    assert fn.meta == rn.meta, where
    assert not fn.attrs and not rn.attrs, where
    assert _checks(fast, args) == _checks(ref, args), where
    # Saved inputs: the operands' own arrays; for a Python scalar, apply saves the scalar and
    # the binary fast path a cached 0-d array of the other operand's float dtype (the value
    # the forward computed with either way: NEP 50 rounds a Python scalar to the array's dtype).
    assert len(fn.saved) == len(rn.saved) == len(args), where
    for i, (s, r, a) in enumerate(zip(fn.saved, rn.saved, args)):
        if not op.saves_inputs:
            assert s is None and r is None, f"{where}: input {i} saved though the op does not save inputs"
        elif isinstance(a, Tensor) and (s is a.detach().numpy() or r is a.detach().numpy()):
            assert s is a.detach().numpy() and r is a.detach().numpy(), f"{where}: saved input {i}"
        elif isinstance(a, Tensor):
            # promoted (float32 with float64): both paths saved the operand cast to the dtype
            # the op computes in, and the node records the input's own dtype for its gradient
            assert s.dtype == r.dtype != a.dtype, f"{where}: saved input {i}"
            np.testing.assert_array_equal(s, a.detach().numpy().astype(s.dtype), err_msg=f"{where}: saved input {i}")
            np.testing.assert_array_equal(r, a.detach().numpy().astype(r.dtype), err_msg=f"{where}: saved input {i}")
        elif isinstance(a, np.ndarray) or s is a:
            assert s is a and r is a, f"{where}: saved input {i}"
        else:
            other = args[1 - i].detach().numpy()
            assert r is a and type(s) is np.ndarray and s.shape == () and s.dtype == other.dtype, \
                f"{where}: saved input {i} is {s!r}"
            assert not s.flags.writeable, f"{where}: the cached constant must be read-only"
            np.testing.assert_array_equal(s, np.asarray(a, dtype=s.dtype), err_msg=f"{where}: saved input {i}")
    if op.saves_out:
        assert fn.out is fast.detach().numpy() and rn.out is ref.detach().numpy(), where
    else:
        assert fn.out is None and rn.out is None, where
    # Gradients after backward, for the same upstream gradient.
    seed = rng.standard_normal(ref.shape).astype(ref.dtype)
    got, want = _grads(fast, args, seed), _grads(ref, args, seed)
    assert len(got) == len(want), where
    for k, (g, w) in enumerate(zip(got, want)):
        assert (g is None) == (w is None), f"{where}: gradient {k}"
        if w is None:
            continue
        assert g.dtype == w.dtype and g.shape == w.shape, f"{where}: gradient {k}"
        if any(type(a) in (float, int) for a in args) and w.dtype.kind == "f":
            # A rule that computes with the constant itself (pow: ``y - 1``) does so in the
            # tensor's dtype on the fast path's saved 0-d array, and in double precision on
            # apply's Python scalar: one rounding apart, a few ulps of the dtype.
            eps = float(np.finfo(w.dtype).eps)
            np.testing.assert_allclose(g, w, rtol=8 * eps, atol=8 * eps * float(np.max(np.abs(w), initial=0.0)),
                                       err_msg=f"{where}: gradient {k}")
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{where}: gradient {k}")


def _compare(op: OpDef, call_fast: Callable[..., Tensor], args: tuple[Any, ...], rng: np.random.Generator,
             where: str, grad_mode: bool = True) -> None:
    """Run ``apply`` and the fast path on the same ``args`` and compare the graphs."""
    with gw.set_grad_enabled(grad_mode):
        try:
            ref = apply(op, *args)
        except Exception as exc:  # an invalid combination (matmul with a scalar): both must refuse
            with pytest.raises(type(exc)):
                call_fast(*args)
            return
        fast = call_fast(*args)
    _same_graph(op, ref, fast, args, rng, where)


def _tensor(a: np.ndarray, grad: bool, dtype: Any = None) -> Tensor:
    arr = a.astype(dtype) if (dtype is not None and a.dtype.kind == "f") else a
    t = gw.tensor(arr)
    if grad and arr.dtype.kind == "f":
        t.requires_grad_(True)
    return t


def _non_leaf(a: np.ndarray) -> Tensor:
    """A tensor with a grad_fn (when ``a`` is float): an edge to a node, not to a leaf."""
    base = _tensor(a, True)
    return apply(REGISTRY["mul"], base, 1.0) if base.requires_grad else base


# ----------------------------------------------------------------------------- unary ops
def _unary_cases(a: np.ndarray, diff: bool) -> Iterator[tuple[str, Tensor, bool]]:
    yield "leaf requiring grad", _tensor(a, diff), True
    yield "non-leaf", _non_leaf(a) if diff else _tensor(a, False), True
    yield "not requiring grad", _tensor(a, False), True
    yield "0-d tensor", _tensor(np.asarray(a.flat[0]), diff), True
    yield "float32", _tensor(a, diff, np.float32), True
    yield "grad mode off", _tensor(a, diff), False


@pytest.mark.parametrize("op", UNARY_OPS, ids=lambda o: o.name)
def test_unary_fast_path_records_what_apply_records(op: OpDef) -> None:
    seed = _seed_of(op)
    rng = np.random.default_rng(seed)
    samples = _samples(op, rng)
    if not samples:
        # Every sample of the op's domain needs an attribute (sum_to's shape, cast's dtype),
        # which the one-argument fast path cannot pass: both paths must refuse alike.
        x = gw.tensor(np.ones(3), requires_grad=True)
        _compare(op, make_unary(op), (x,), rng, f"{op.name} (seed {seed}) without attributes")
        return
    fast_paths = {"make_unary": make_unary(op), "apply1": lambda x: apply1(op, x)}
    for k, sample in enumerate(samples):
        (a,) = sample.args
        for label, x, grad_mode in _unary_cases(np.asarray(a), 0 in sample.diff):
            for path, call_fast in fast_paths.items():
                where = f"{op.name} (seed {seed}) sample {k} shape {np.shape(a)}, {label}, {path}"
                _compare(op, call_fast, (x,), rng, where, grad_mode)


# ----------------------------------------------------------------------------- binary ops
def _scalar(a: np.ndarray) -> Any:
    """A Python scalar (float, int or bool, as the array's kind) from the op's domain."""
    return np.asarray(a).flat[0].item()


def _binary_cases(a: np.ndarray, b: np.ndarray, da: bool, db: bool) -> Iterator[tuple[str, Any, Any, bool]]:
    yield "tensor, tensor", _tensor(a, da), _tensor(b, db), True
    yield "tensor, tensor without grad", _tensor(a, da), _tensor(b, False), True
    yield "tensor without grad, tensor", _tensor(a, False), _tensor(b, db), True
    yield ("non-leaf, non-leaf", _non_leaf(a) if da else _tensor(a, False),
           _non_leaf(b) if db else _tensor(b, False), True)
    yield "tensor, Python scalar", _tensor(a, da), _scalar(b), True
    yield "Python scalar, tensor", _scalar(a), _tensor(b, db), True
    yield "float32 tensor, Python scalar", _tensor(a, da, np.float32), _scalar(b), True
    yield "Python scalar, float32 tensor", _scalar(a), _tensor(b, db, np.float32), True
    yield "tensor, ndarray", _tensor(a, da), b, True
    yield "ndarray, tensor", a, _tensor(b, db), True
    yield "0-d tensor, tensor", _tensor(np.asarray(a.flat[0]), da), _tensor(b, db), True
    yield "tensor, 0-d tensor", _tensor(a, da), _tensor(np.asarray(b.flat[0]), db), True
    yield "float32 tensor, float64 tensor", _tensor(a, da, np.float32), _tensor(b, db), True
    yield "grad mode off", _tensor(a, da), _tensor(b, db), False


@pytest.mark.parametrize("op", BINARY_OPS, ids=lambda o: o.name)
def test_binary_fast_path_records_what_apply_records(op: OpDef) -> None:
    seed = _seed_of(op)
    rng = np.random.default_rng(seed)
    samples = _samples(op, rng)
    assert samples, f"{op.name} (seed {seed}): no attribute-free sample in its domain"
    fast = make_binary(op)
    for k, sample in enumerate(samples):
        a, b = (np.asarray(v) for v in sample.args)
        for label, x, y, grad_mode in _binary_cases(a, b, 0 in sample.diff, 1 in sample.diff):
            where = f"{op.name} (seed {seed}) sample {k} shapes {a.shape} and {b.shape}, {label}"
            _compare(op, fast, (x, y), rng, where, grad_mode)
