"""A leaf's ``.grad`` never shares memory with anything else after backward
(:mod:`gradwise.autograd.grad_adoption`).

The engine adopts a freshly computed gradient array as ``.grad`` without a copy when
nothing else references it (a ``sys.getrefcount`` check), and copies it otherwise.  Every
aliasing test here builds a case where something else does reference it (another leaf, a
hook, ``retain_grad``, the caller's ``grad_output``, an earlier ``.grad``) and checks that
writing into one array leaves the other unchanged; each runs twice, on the ordinary path
and with the refcount check made unavailable (as on an interpreter without
``sys.getrefcount``), where every gradient is copied.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd import engine, grad_adoption
from gradwise.autograd.grad_adoption import unshared
from gradwise.autograd.node import Node

# Whether adoption can happen in this process: reference counts exist, and no trace
# function (a debugger, coverage) holds frames' locals, which would add references.
ADOPTS = grad_adoption._SOLE_COUNT is not None and sys.gettrace() is None


@pytest.fixture(params=["adopt", "copy"])
def adoption_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test on the ordinary path and with the refcount check unavailable."""
    if request.param == "copy":
        monkeypatch.setattr(grad_adoption, "_SOLE_COUNT", None)
    yield request.param


both_paths = pytest.mark.usefixtures("adoption_path")


def _leaf(values: list[float]) -> gw.Tensor:
    return gw.tensor(values, dtype=gw.float64, requires_grad=True)


def _independent(a: np.ndarray, b: np.ndarray) -> bool:
    return not np.shares_memory(a, b)


@both_paths
def test_one_rule_result_for_two_leaves_gives_two_arrays() -> None:
    # add's rule hands the same incoming gradient to both inputs
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    ((x + y) * 3.0).sum().backward()
    assert _independent(x.grad.numpy(), y.grad.numpy())
    x.grad.data[...] = -1.0
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])


@both_paths
def test_same_leaf_used_twice_accumulates_fresh_sum() -> None:
    x = _leaf([1.0, 2.0])
    (x * 2.0 + x * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])


@both_paths
def test_hook_that_keeps_the_gradient_does_not_alias_grad() -> None:
    x = _leaf([1.0, 2.0])
    seen: list[gw.Tensor] = []
    x.register_hook(lambda g: seen.append(g))
    (x * 4.0).sum().backward()
    assert _independent(x.grad.numpy(), seen[0].detach().numpy())
    x.grad.data[...] = 0.0
    np.testing.assert_array_equal(seen[0].numpy(), [4.0, 4.0])


@both_paths
def test_hook_returning_a_kept_tensor_does_not_alias_grad() -> None:
    x = _leaf([1.0, 2.0])
    replacement = gw.tensor([9.0, 9.0], dtype=gw.float64)
    x.register_hook(lambda g: replacement)
    (x * 4.0).sum().backward()
    assert _independent(x.grad.numpy(), replacement.detach().numpy())
    x.grad.data[...] = 0.0
    np.testing.assert_array_equal(replacement.numpy(), [9.0, 9.0])


@both_paths
def test_retain_grad_of_an_intermediate_and_leaf_grad_are_separate() -> None:
    x = _leaf([1.0, 2.0])
    h = x + 0.0          # identity gradient: the leaf receives h's gradient array itself
    h.retain_grad()
    (h * 3.0).sum().backward()
    assert _independent(x.grad.numpy(), h.grad.numpy())
    h.grad.data[...] = 0.0
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


@both_paths
def test_grad_does_not_alias_grad_output_array() -> None:
    x = _leaf([1.0, 2.0])
    seed = np.array([5.0, 6.0])
    (x + 1.0).backward(seed)
    assert _independent(x.grad.numpy(), seed)
    x.grad.data[...] = 0.0
    np.testing.assert_array_equal(seed, [5.0, 6.0])


@both_paths
def test_grad_does_not_alias_grad_output_tensor() -> None:
    x = _leaf([1.0, 2.0])
    seed = gw.tensor([5.0, 6.0], dtype=gw.float64)
    x.clone().backward(seed)
    assert _independent(x.grad.numpy(), seed.detach().numpy())
    # a leaf root receives the seed directly
    x.backward(seed)
    assert _independent(x.grad.numpy(), seed.detach().numpy())
    np.testing.assert_array_equal(seed.numpy(), [5.0, 6.0])
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 12.0])


@both_paths
def test_grad_does_not_alias_saved_arrays_or_inputs() -> None:
    # The gradient of x in x * y is g * y; with g = 1 a careless rule could hand back y itself.
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    (x * y).sum().backward()
    assert _independent(x.grad.numpy(), y.detach().numpy())
    assert _independent(y.grad.numpy(), x.detach().numpy())
    assert _independent(x.grad.numpy(), x.detach().numpy())


@both_paths
def test_accumulation_across_two_backward_calls() -> None:
    x = _leaf([1.0, 2.0])
    (x * 2.0).sum().backward()
    first = x.grad
    other = _leaf([0.0, 0.0])
    (x * 3.0 + other).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])
    assert first is x.grad          # accumulated into the same tensor, as in PyTorch
    assert _independent(x.grad.numpy(), other.grad.numpy())
    np.testing.assert_array_equal(other.grad.numpy(), [1.0, 1.0])


@both_paths
def test_retain_graph_second_backward_does_not_share_with_first() -> None:
    x = _leaf([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    kept = x.grad.numpy().copy()
    grad_before = x.grad
    x.grad = None
    loss.backward()
    assert _independent(x.grad.numpy(), grad_before.detach().numpy())
    np.testing.assert_array_equal(grad_before.numpy(), kept)


@both_paths
def test_view_rule_result_is_copied() -> None:
    # reshape's gradient is a view of the incoming gradient, which another leaf also receives
    x, y = _leaf([1.0, 2.0, 3.0, 4.0]), _leaf([0.0, 0.0, 0.0, 0.0])
    z = x.reshape(2, 2) + y.reshape(2, 2)
    (z * 2.0).sum().backward()
    assert _independent(x.grad.numpy(), y.grad.numpy())
    assert x.grad.shape == (4,) and x.grad.numpy().flags.writeable and y.grad.numpy().flags.writeable


@both_paths
def test_mlp_parameter_grads_are_independent_and_match_closed_form() -> None:
    gen = gw.Generator().manual_seed(0)
    net = gw.nn.Sequential(gw.nn.Linear(3, 4, generator=gen), gw.nn.ReLU(), gw.nn.Linear(4, 2, generator=gen))
    x = gw.randn(5, 3, generator=gen)
    net(x).sum().backward()
    grads = [p.grad.numpy() for p in net.parameters()]
    for i, a in enumerate(grads):
        for b in grads[i + 1:]:
            assert _independent(a, b)
    # last bias: d(sum of outputs)/db = number of rows
    np.testing.assert_allclose(net[2].bias.grad.numpy(), [5.0, 5.0])


# ----------------------------------------------------------------------------- the check itself
@pytest.mark.skipif(not ADOPTS, reason="no reference counts here, or a trace function holds frames")
def test_unshared_accepts_only_a_sole_fresh_owned_writeable_array() -> None:
    # Each call passes a local variable directly, as the engine does (the calibrated shape).
    # The results are stored before asserting so that no rewritten assert adds a reference.
    fresh = np.ones(3)
    ok = unshared(fresh)
    assert ok
    other = fresh                     # a second reference
    ok = unshared(fresh)
    assert not ok
    del other
    view = fresh[1:]                  # a view references its base
    ok_base, ok_view = unshared(fresh), unshared(view)
    assert not ok_base and not ok_view   # (the view does not own its memory)
    del view
    ok = unshared(fresh)
    assert ok
    fresh.flags.writeable = False     # a read-only array (a cached constant) is never adopted
    ok = unshared(fresh)
    assert not ok

    class Sub(np.ndarray):
        pass

    sub = np.ones(3).view(Sub)
    ok = unshared(sub)
    assert not ok
    number = 1.5
    ok = unshared(number)
    assert not ok


@pytest.mark.skipif(not ADOPTS, reason="no reference counts here, or a trace function holds frames")
def test_a_fresh_gradient_is_adopted_and_the_fallback_copies_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The point of the module: a rule's fresh result becomes .grad with no copy.  The refcount
    # calibration depends on the shape of the engine's call, so a refactor that breaks it
    # silently turns adoption off; this catches that.
    copies: list[Any] = []
    real_owned = engine.owned

    def counting_owned(*args: Any, **kwargs: Any) -> gw.Tensor:
        copies.append(args[0])
        return real_owned(*args, **kwargs)

    monkeypatch.setattr(engine, "owned", counting_owned)
    x = _leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    assert copies == []
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])

    monkeypatch.setattr(grad_adoption, "_SOLE_COUNT", None)
    y = _leaf([1.0, 2.0])
    (y * 3.0).sum().backward()
    assert len(copies) == 1
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])


def test_without_getrefcount_every_gradient_is_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    # An interpreter without sys.getrefcount (PyPy): the calibration gives None and the
    # engine never asks for a count (sys.getrefcount stays absent while backward runs).
    monkeypatch.delattr(sys, "getrefcount")
    assert grad_adoption._sole_count() is None
    monkeypatch.setattr(grad_adoption, "_SOLE_COUNT", grad_adoption._sole_count())
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    ((x + y) * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 8.0])   # d/dx (x + y) x = 2x + y
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 2.0])
    assert _independent(x.grad.numpy(), y.grad.numpy())


def _graph_arrays(root: gw.Tensor) -> list[np.ndarray]:
    """Every array the recorded graph of ``root`` still holds (saved inputs and outputs)."""
    found: list[np.ndarray] = []
    seen: set[int] = set()
    todo = [root.grad_fn]
    while todo:
        node = todo.pop()
        if type(node) is not Node or id(node) in seen:
            continue
        seen.add(id(node))
        found += [a for a in (*node.saved, node.out) if isinstance(a, np.ndarray)]
        todo += list(node.edges)
    return found


def test_forced_copy_gives_the_same_gradients_and_grad_aliases_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def run() -> tuple[list[gw.Tensor], list[np.ndarray]]:
        gen = gw.Generator().manual_seed(0)
        net = gw.nn.Sequential(gw.nn.Linear(3, 4, generator=gen), gw.nn.Tanh(),
                               gw.nn.Linear(4, 4, generator=gen), gw.nn.ReLU(), gw.nn.Linear(4, 2, generator=gen))
        x = gw.randn(5, 3, generator=gen)
        seed = np.linspace(-1.0, 1.0, 10).reshape(5, 2).astype(np.float32)   # the user's grad_output
        out = net(x)
        out.backward(seed, retain_graph=True)      # the graph keeps its saved arrays
        params = list(net.parameters())
        held = [p.detach().numpy() for p in params] + [x.detach().numpy(), seed, out.detach().numpy()]
        held += _graph_arrays(out)
        return params, held

    adopted, _ = run()
    monkeypatch.setattr(grad_adoption, "_SOLE_COUNT", None)
    params, held = run()
    grads = [p.grad.numpy() for p in params]
    for p, q in zip(adopted, params):
        np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())   # same values either way
        assert q.grad.dtype == q.dtype and q.grad.shape == q.shape
    for i, g in enumerate(grads):
        assert g.flags.writeable and g.flags.owndata
        for h in held + grads[:i] + grads[i + 1:]:
            assert _independent(g, h)
