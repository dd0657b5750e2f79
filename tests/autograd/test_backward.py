"""The backward walk: accumulation, retain/free, create_graph, autograd.grad, hooks."""

from __future__ import annotations

import pytest

import gradwise as gw


def test_gradient_has_shape_and_dtype_of_its_tensor_and_sums_over_broadcasting():
    w = gw.ones(3, requires_grad=True)
    b = gw.ones(1, requires_grad=True)
    x = gw.ones(4, 3)
    ((x * w + b) ** 2).sum().backward()
    assert w.grad.shape == (3,) and b.grad.shape == (1,)
    assert w.grad.tolist() == [16.0, 16.0, 16.0] and b.grad.tolist() == [48.0]


def test_diamond_graph_sums_both_paths():
    x = gw.tensor(3.0, requires_grad=True)
    y = x * x + x.exp() * 0 + x     # x reaches y along three edges
    y.backward()
    assert x.grad.item() == pytest.approx(7.0)


def test_two_backward_calls_accumulate_with_retain_graph():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_freed_graph_raises_and_saved_arrays_are_released():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = h.sum()
    node = h.grad_fn
    assert node.saved is not None
    y.backward()
    assert node.freed and node.saved is None
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_non_scalar_backward_needs_gradient():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        y.backward()
    y.backward(gw.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]


def test_backward_on_tensor_without_grad_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gw.tensor([1.0]).sum().backward()


def test_second_derivative_with_create_graph():
    x = gw.tensor(2.0, requires_grad=True)
    y = x ** 3
    (dx,) = gw.autograd.grad(y, x, create_graph=True)
    assert dx.item() == 12.0 and dx.requires_grad
    (d2x,) = gw.autograd.grad(dx, x)
    assert d2x.item() == 12.0
    x.grad = None
    z = x ** 3
    z.backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0


def test_autograd_grad_leaves_dot_grad_untouched_and_allow_unused():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    u = gw.tensor([5.0], requires_grad=True)
    (g,) = gw.autograd.grad((x * 3).sum(), x)
    assert g.tolist() == [3.0, 3.0] and x.grad is None
    with pytest.raises(RuntimeError, match="allow_unused"):
        gw.autograd.grad((x * 3).sum(), [x, u])
    gx, gu = gw.autograd.grad((x * 3).sum(), [x, u], allow_unused=True)
    assert gu is None and gx.tolist() == [3.0, 3.0]


def test_grad_with_respect_to_intermediate_and_grad_outputs():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h ** 2
    (gh,) = gw.autograd.grad(y, h, grad_outputs=gw.ones(2))
    assert gh.tolist() == [4.0, 8.0]


def test_backward_inputs_only_fills_those():
    a = gw.tensor(1.0, requires_grad=True)
    b = gw.tensor(2.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_retain_grad_and_hooks():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    calls = []
    handle = h.register_hook(lambda g: calls.append(g.tolist()))
    x.register_hook(lambda g: g * 10)          # a leaf hook that replaces the gradient
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]
    assert calls == [[6.0, 12.0]]                # called once, with the total gradient
    assert x.grad.tolist() == [180.0, 360.0]
    handle.remove()
    x.grad = None
    h2 = x * 3
    (h2 * h2).sum().backward()
    assert calls == [[6.0, 12.0]]


def test_non_leaf_hook_can_replace_gradient():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    h.register_hook(lambda g: g * 0)
    (h * 5).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_detach_cuts_the_graph_and_shares_data():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    y = x * 2
    assert y.detach().detach().numpy() is y.detach().numpy()


def test_grad_fn_and_next_functions():
    x = gw.tensor([1.0], requires_grad=True)
    y = x.exp() * 2
    assert y.grad_fn.name() == "MulBackward0"
    (prev, _), (const, _) = y.grad_fn.next_functions
    assert prev.name() == "ExpBackward0" and const is None
    assert prev.next_functions[0][0] is x


def test_ops_with_many_inputs_record_and_backpropagate():
    xs = [gw.tensor([float(i)], requires_grad=True) for i in range(40)]
    gw.stack(xs).sum().backward()
    gw.cat(xs).sum().backward()
    assert all(x.grad.tolist() == [2.0] for x in xs)
