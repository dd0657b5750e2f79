"""Tensor creation, dtypes, conversions and repr (PyTorch's conventions)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw


def test_default_dtypes_follow_pytorch():
    assert gw.tensor([1.0, 2.0]).dtype == np.float32
    assert gw.tensor([1, 2]).dtype == np.int64
    assert gw.tensor([True]).dtype == np.bool_
    assert gw.tensor(np.zeros(2, np.float64)).dtype == np.float64  # arrays keep their dtype
    assert gw.tensor([1.0], dtype=gw.float64).dtype == np.float64
    assert gw.zeros(2, 3).dtype == np.float32 and gw.zeros(2, 3).shape == (2, 3)
    assert gw.ones((2, 3)).shape == (2, 3)
    assert gw.full((2,), 7).dtype == np.int64 and gw.full((2,), 7.0).dtype == np.float32
    assert gw.arange(4).dtype == np.int64 and gw.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert gw.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert gw.eye(3).tolist()[1] == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("expr", [lambda x: x * 2.5, lambda x: 2.5 + x, lambda x: x ** 2,
                                  lambda x: x / 3, lambda x: 1 - x, lambda x: x.exp() * 0.1,
                                  lambda x: gw.maximum(x, x * 0.5)])
def test_python_scalars_never_upcast_float32(expr):
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    y = expr(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_like_constructors_and_random_with_generator():
    x = gw.ones(2, 3, dtype=gw.float64)
    assert gw.zeros_like(x).dtype == np.float64 and gw.full_like(x, 3).tolist()[0] == [3, 3, 3]
    g1, g2 = gw.Generator().manual_seed(7), gw.Generator().manual_seed(7)
    assert np.array_equal(gw.randn(4, generator=g1).numpy(), gw.randn(4, generator=g2).numpy())
    assert np.array_equal(gw.rand_like(x, generator=g1).numpy(), gw.rand_like(x, generator=g2).numpy())
    r = gw.randint(0, 5, (100,), generator=g1)
    assert r.dtype == np.int64 and 0 <= r.numpy().min() and r.numpy().max() < 5
    assert sorted(gw.randperm(5, generator=g1).tolist()) == [0, 1, 2, 3, 4]


def test_manual_seed_is_reproducible_and_leaves_numpy_global_state_alone():
    state = np.random.get_state()[1].copy()
    gw.manual_seed(3)
    a = gw.rand(5).numpy().copy()
    gw.manual_seed(3)
    b = gw.rand(5).numpy()
    assert np.array_equal(a, b)
    assert np.array_equal(np.random.get_state()[1], state)


def test_numpy_interop_shares_memory():
    x = gw.tensor([1.0, 2.0, 3.0])
    x.numpy()[0] = 10.0
    assert x.tolist()[0] == 10.0
    assert np.asarray(x) is x.detach().numpy()
    arr = np.arange(3.0)
    t = gw.from_numpy(arr)
    arr[1] = 5.0
    assert t.tolist() == [0.0, 5.0, 2.0]
    y = np.ones(3) * gw.tensor([1.0, 2.0, 3.0], requires_grad=True)   # ndarray op tensor -> Tensor
    assert isinstance(y, gw.Tensor) and y.grad_fn is not None


def test_metadata_and_conversions():
    x = gw.arange(6.0).reshape(2, 3)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.T.shape == (3, 2) and x.numel() == 6 and len(x) == 2
    assert gw.tensor([[4.0]]).item() == 4.0 and isinstance(gw.tensor([2]).item(), int)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x.to(gw.float64).dtype == np.float64 and x.astype("float64").dtype == np.float64
    assert x.long().dtype == np.int64 and x.double().dtype == np.float64
    with pytest.raises(ValueError, match="only one-element tensors"):
        x.item()


def test_cast_is_differentiable_and_grad_keeps_original_dtype():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(gw.float64) * 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


def test_repr_like_pytorch():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert "dtype=float64" in repr(gw.tensor([1.0], dtype=gw.float64))
    assert repr(gw.tensor(3)) == "tensor(3)"


def test_requires_grad_on_integer_tensor_is_refused():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        gw.tensor([1, 2], requires_grad=True)
    with pytest.raises(gw.DtypeError):
        gw.arange(3).requires_grad_()


def test_python_scalar_operands_promote_as_torch():
    assert (gw.tensor([1, 2]) * 0.5).dtype == np.float32          # int tensor: the default float (torch)
    assert (gw.tensor([1, 2]) * 2).dtype == np.int64
    x64 = gw.tensor([1.0], dtype=gw.float64)
    assert (x64 * (1 / 3)).item() == 1 / 3                          # full float64 constant
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    y = (3.0 - x) * 0.25 / 2
    assert y.dtype == np.float32 and np.allclose(y.detach().numpy(), [0.25, 0.125])
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), [-0.125, -0.125])
