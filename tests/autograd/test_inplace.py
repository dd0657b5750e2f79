"""In-place ops and version counters."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw


def test_inplace_under_no_grad_keeps_identity_and_array():
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    arr = w.detach().numpy()
    with gw.no_grad():
        w -= 0.1 * w.grad            # the optimizer pattern
    assert w.detach().numpy() is arr and w.is_leaf and w.requires_grad
    assert np.allclose(w.detach().numpy(), [0.8, 1.6])


@pytest.mark.parametrize("name,arg,expected", [
    ("add_", 1.0, [2.0, 3.0]), ("sub_", 1.0, [0.0, 1.0]), ("mul_", 2.0, [2.0, 4.0]),
    ("div_", 2.0, [0.5, 1.0]), ("clamp_", (1.5, None), [1.5, 2.0]), ("fill_", 7.0, [7.0, 7.0]),
])
def test_inplace_methods_modify_memory(name, arg, expected):
    t = gw.tensor([1.0, 2.0])
    view = t.numpy()
    out = getattr(t, name)(*arg) if isinstance(arg, tuple) else getattr(t, name)(arg)
    assert out is t and view.tolist() == expected


def test_zero_copy_and_item_assignment():
    t = gw.tensor([1.0, 2.0, 3.0])
    t.copy_(gw.tensor([4.0]))                 # broadcast
    assert t.tolist() == [4.0, 4.0, 4.0]
    t[1] = 0.5
    t[gw.tensor([0, 2])] = gw.tensor([1.0, 2.0])
    assert t.tolist() == [1.0, 0.5, 2.0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]
    t += 1
    t *= 3
    assert t.tolist() == [3.0, 3.0, 3.0]


def test_inplace_on_leaf_requiring_grad_is_refused():
    w = gw.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    with pytest.raises(RuntimeError):
        w[0] = 2.0


def test_modifying_a_saved_tensor_raises_at_backward_naming_the_op():
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    x = gw.tensor([3.0, 4.0])
    y = (w * x).sum()
    with gw.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match="'mul'.*modified by an in-place operation"):
        y.backward()


def test_modifying_a_view_of_a_saved_tensor_is_caught():
    x = gw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1.0
    y = (h.exp()).sum()           # exp saves its output, not h
    z = (h * h).sum()             # mul saves h
    v = h[0:2]
    with gw.no_grad():
        v.fill_(0.0)
    y.backward()                  # exp's saved output untouched: fine
    with pytest.raises(RuntimeError, match="in-place"):
        z.backward()


def test_recorded_inplace_on_non_leaf_gives_correct_gradients():
    def f(x, inplace):
        y = x * 2
        if inplace:
            y += 1
            y.mul_(y)
            y[0] = 0.0
        else:
            y = (y + 1) * (y + 1)
            y = gw.cat([gw.zeros(1), y[1:]])
        return y.sum()

    x1 = gw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x2 = gw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    f(x1, True).backward()
    f(x2, False).backward()
    assert x1.grad.tolist() == x2.grad.tolist() == [0.0, 20.0, 28.0]


def test_inplace_with_grad_operand_makes_plain_tensor_require_grad():
    w = gw.tensor([2.0], requires_grad=True)
    acc = gw.zeros(1)
    acc += w * 3
    assert acc.requires_grad and not acc.is_leaf
    acc.sum().backward()
    assert w.grad.tolist() == [3.0]


def test_inplace_cannot_change_shape():
    t = gw.zeros(3)
    with pytest.raises(ValueError, match="cannot change the shape"):
        t.add_(gw.ones(2, 3))
