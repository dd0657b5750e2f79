"""gradwise.func transforms against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import func

rng = np.random.default_rng(0)
A = gw.tensor(rng.standard_normal((3, 3)))
x0 = gw.tensor(rng.standard_normal(3))
v0 = gw.tensor(rng.standard_normal(3))


def quad(x):
    return (x @ A @ x) * 0.5


def test_grad_of_quadratic_and_nesting():
    assert np.allclose(func.grad(quad)(x0).numpy(), 0.5 * (A.numpy() + A.numpy().T) @ x0.numpy())
    assert func.grad(func.grad(lambda x: x ** 3))(gw.tensor(2.0)).item() == 12.0
    assert func.grad(func.grad(func.grad(lambda x: x ** 4)))(gw.tensor(1.0)).item() == 24.0
    assert not x0.requires_grad and x0.grad is None      # inputs are never mutated


def test_value_and_grad_has_aux_and_argnums():
    def f(x, y):
        return (x * y).sum(), {"note": 1}
    (value, aux), (gx, gy) = func.value_and_grad(f, argnums=(0, 1), has_aux=True)(x0, v0)
    assert np.isclose(value.item(), (x0.numpy() * v0.numpy()).sum()) and aux == {"note": 1}
    assert np.allclose(gx.numpy(), v0.numpy()) and np.allclose(gy.numpy(), x0.numpy())
    g, aux = func.grad(f, argnums=1, has_aux=True)(x0, v0)
    assert np.allclose(g.numpy(), x0.numpy())


def test_pytree_params():
    params = {"w": gw.tensor(rng.standard_normal(3)), "b": (gw.tensor(0.5, dtype=gw.float64),)}
    g = func.grad(lambda p: ((x0 * p["w"]).sum() + p["b"][0]) ** 2)(params)
    r = (x0.numpy() * params["w"].numpy()).sum() + 0.5
    assert set(g) == {"w", "b"} and isinstance(g["b"], tuple)
    assert np.allclose(g["w"].numpy(), 2 * r * x0.numpy()) and np.isclose(g["b"][0].item(), 2 * r)


def test_unused_argument_gets_zeros():
    assert func.grad(lambda x, y: (x * 2).sum(), argnums=1)(x0, v0).tolist() == [0.0, 0.0, 0.0]


def test_jacobians_hessian_hvp_jvp_vjp_agree():
    f = lambda x: (x @ A).tanh()                     # noqa: E731
    J = func.jacrev(f)(x0).numpy()
    assert J.shape == (3, 3)
    assert np.allclose(func.jacfwd(f)(x0).numpy(), J)
    assert np.allclose(func.jacobian(f)(x0).numpy(), J)
    out, t = func.jvp(f, (x0,), (v0,))
    assert np.allclose(t.numpy(), J @ v0.numpy())
    out, fn = func.vjp(f, x0)
    assert np.allclose(fn(v0)[0].numpy(), v0.numpy() @ J)
    H = func.hessian(quad)(x0).numpy()
    assert np.allclose(H, 0.5 * (A.numpy() + A.numpy().T))
    _, hv = func.hvp(quad, (x0,), (v0,))
    assert np.allclose(hv.numpy(), H @ v0.numpy())


def test_jacobian_of_linear_map_is_the_matrix():
    assert np.allclose(func.jacrev(lambda x: A @ x)(x0).numpy(), A.numpy())


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"must return a scalar.*shape \(3,\)"):
        func.grad(lambda x: x * 2)(x0)
    with pytest.raises(ValueError, match="argnums 2 is out of range .* 1 positional argument"):
        func.grad(lambda x: x.sum(), argnums=2)(x0)
    with pytest.raises(ValueError, match="cannot differentiate with respect to a int64"):
        func.grad(lambda x: x.sum())(gw.tensor([1, 2]))
