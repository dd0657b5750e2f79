"""``.data`` is a Tensor that shares memory and has no history, and ``.numpy()`` refuses
tensors that require grad, both as in PyTorch (issue 13, item 2)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw


def test_data_is_a_tensor_sharing_memory_without_history() -> None:
    w = gw.ones(3, requires_grad=True)
    d = w.data
    assert isinstance(d, gw.Tensor) and not d.requires_grad and d.grad_fn is None
    d[0] = 5.0
    assert w.detach().numpy()[0] == 5.0          # the change shows through
    assert w.requires_grad and w.is_leaf


def test_manual_updates_through_data_keep_identity_and_grad() -> None:
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    ident, g = id(w), w.grad
    w.data -= 0.5 * w.grad                        # the classic hand-written SGD step
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])
    w.data.add_(w.grad, alpha=-0.25)
    np.testing.assert_allclose(w.detach().numpy(), [-0.5, -1.0])
    w.data += -1.0 * w.grad
    np.testing.assert_allclose(w.detach().numpy(), [-2.5, -5.0])
    assert id(w) == ident and w.grad is g and w.requires_grad


def test_in_place_change_through_data_is_invisible_to_autograd() -> None:
    # torch: changes through .data do not bump the version counter, so a backward that
    # saved the tensor runs (with the changed values) instead of raising.
    torch = pytest.importorskip("torch")
    for lib in (gw, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        x.data.mul_(3.0)
        y.backward()
        np.testing.assert_allclose(np.asarray(x.grad.numpy()), [6.0, 12.0])


def test_in_place_change_on_the_tensor_itself_is_still_caught() -> None:
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    y = (w * gw.tensor([3.0, 4.0])).sum()
    with gw.no_grad():
        w.mul_(2)                                 # bumps the version, unlike w.data.mul_
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_assigning_data_replaces_values_shape_and_dtype() -> None:
    p = gw.nn.Parameter(gw.zeros(2))
    p.grad = gw.ones(2)
    p.data = gw.arange(6, dtype=gw.float64).reshape(2, 3)
    assert p.shape == (2, 3) and p.dtype == np.float64
    assert isinstance(p, gw.nn.Parameter) and p.requires_grad and p.grad is not None
    with pytest.raises(TypeError, match="assign a Tensor"):
        p.data = [1.0, 2.0]


def test_detach_shares_memory_and_data_matches_torch_values() -> None:
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    d.zero_()
    np.testing.assert_array_equal(x.detach().numpy(), [0.0, 0.0])


def test_numpy_refuses_a_tensor_that_requires_grad_and_names_the_fix() -> None:
    w = gw.nn.Linear(2, 2).weight
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        w.numpy()
    arr = w.detach().numpy()
    assert isinstance(arr, np.ndarray) and arr.shape == (2, 2)
    assert gw.tensor([1.0]).numpy().tolist() == [1.0]
    assert w.grad is None and (w * 1).detach().numpy().shape == (2, 2)
