"""A leaf's ``.grad`` never shares memory with anything else after backward.

The engine adopts a freshly computed gradient array as ``.grad`` without a copy when
nothing else references it; every test here builds a case where something else does
(another leaf, a hook, ``retain_grad``, the caller's ``grad_output``, an earlier
``.grad``) and checks that writing into one array leaves the other unchanged.
"""

from __future__ import annotations

import numpy as np

import gradwise as gw


def _leaf(values: list[float]) -> gw.Tensor:
    return gw.tensor(values, dtype=gw.float64, requires_grad=True)


def _independent(a: np.ndarray, b: np.ndarray) -> bool:
    return not np.shares_memory(a, b)


def test_one_rule_result_for_two_leaves_gives_two_arrays() -> None:
    # add's rule hands the same incoming gradient to both inputs
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    ((x + y) * 3.0).sum().backward()
    assert _independent(x.grad.data, y.grad.data)
    x.grad.data[...] = -1.0
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])


def test_same_leaf_used_twice_accumulates_fresh_sum() -> None:
    x = _leaf([1.0, 2.0])
    (x * 2.0 + x * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])


def test_hook_that_keeps_the_gradient_does_not_alias_grad() -> None:
    x = _leaf([1.0, 2.0])
    seen: list[gw.Tensor] = []
    x.register_hook(lambda g: seen.append(g))
    (x * 4.0).sum().backward()
    assert _independent(x.grad.data, seen[0].data)
    x.grad.data[...] = 0.0
    np.testing.assert_array_equal(seen[0].numpy(), [4.0, 4.0])


def test_hook_returning_a_kept_tensor_does_not_alias_grad() -> None:
    x = _leaf([1.0, 2.0])
    replacement = gw.tensor([9.0, 9.0], dtype=gw.float64)
    x.register_hook(lambda g: replacement)
    (x * 4.0).sum().backward()
    assert _independent(x.grad.data, replacement.data)
    x.grad.data[...] = 0.0
    np.testing.assert_array_equal(replacement.numpy(), [9.0, 9.0])


def test_retain_grad_of_an_intermediate_and_leaf_grad_are_separate() -> None:
    x = _leaf([1.0, 2.0])
    h = x + 0.0          # identity gradient: the leaf receives h's gradient array itself
    h.retain_grad()
    (h * 3.0).sum().backward()
    assert _independent(x.grad.data, h.grad.data)
    h.grad.data[...] = 0.0
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_grad_does_not_alias_grad_output_array() -> None:
    x = _leaf([1.0, 2.0])
    seed = np.array([5.0, 6.0])
    (x + 1.0).backward(seed)
    assert _independent(x.grad.data, seed)
    x.grad.data[...] = 0.0
    np.testing.assert_array_equal(seed, [5.0, 6.0])


def test_grad_does_not_alias_grad_output_tensor() -> None:
    x = _leaf([1.0, 2.0])
    seed = gw.tensor([5.0, 6.0], dtype=gw.float64)
    x.clone().backward(seed)
    assert _independent(x.grad.data, seed.data)
    # a leaf root receives the seed directly
    x.backward(seed)
    assert _independent(x.grad.data, seed.data)
    np.testing.assert_array_equal(seed.numpy(), [5.0, 6.0])
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 12.0])


def test_grad_does_not_alias_saved_arrays_or_inputs() -> None:
    # The gradient of x in x * y is g * y; with g = 1 a careless rule could hand back y itself.
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    (x * y).sum().backward()
    assert _independent(x.grad.data, y.data)
    assert _independent(y.grad.data, x.data)
    assert _independent(x.grad.data, x.data)


def test_accumulation_across_two_backward_calls() -> None:
    x = _leaf([1.0, 2.0])
    (x * 2.0).sum().backward()
    first = x.grad
    other = _leaf([0.0, 0.0])
    (x * 3.0 + other).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])
    assert first is x.grad          # accumulated into the same tensor, as in PyTorch
    assert _independent(x.grad.data, other.grad.data)
    np.testing.assert_array_equal(other.grad.numpy(), [1.0, 1.0])


def test_retain_graph_second_backward_does_not_share_with_first() -> None:
    x = _leaf([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    kept = x.grad.data.copy()
    grad_before = x.grad
    x.grad = None
    loss.backward()
    assert _independent(x.grad.data, grad_before.data)
    np.testing.assert_array_equal(grad_before.numpy(), kept)


def test_view_rule_result_is_copied() -> None:
    # reshape's gradient is a view of the incoming gradient, which another leaf also receives
    x, y = _leaf([1.0, 2.0, 3.0, 4.0]), _leaf([0.0, 0.0, 0.0, 0.0])
    z = x.reshape(2, 2) + y.reshape(2, 2)
    (z * 2.0).sum().backward()
    assert _independent(x.grad.data, y.grad.data)
    assert x.grad.shape == (4,) and x.grad.data.flags.writeable and y.grad.data.flags.writeable


def test_mlp_parameter_grads_are_independent_and_match_closed_form() -> None:
    gen = gw.Generator().manual_seed(0)
    net = gw.nn.Sequential(gw.nn.Linear(3, 4, generator=gen), gw.nn.ReLU(), gw.nn.Linear(4, 2, generator=gen))
    x = gw.randn(5, 3, generator=gen)
    net(x).sum().backward()
    grads = [p.grad.data for p in net.parameters()]
    for i, a in enumerate(grads):
        for b in grads[i + 1:]:
            assert _independent(a, b)
    # last bias: d(sum of outputs)/db = number of rows
    np.testing.assert_allclose(net[2].bias.grad.numpy(), [5.0, 5.0])
