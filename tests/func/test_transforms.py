"""gradwise.func transforms against closed forms, and against each other."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import gradwise as gw
from gradwise import func
from gradwise.errors import DtypeError, ShapeError

rng = np.random.default_rng(0)
An = rng.standard_normal((3, 3))
A = gw.tensor(An)
x0n, v0n = rng.standard_normal(3), rng.standard_normal(3)
x0, v0 = gw.tensor(x0n), gw.tensor(v0n)


def quad(x):
    """0.5 x^T A x, written without a (k,) @ (k, k) product."""
    return (x * (A * x).sum(1)).sum() * 0.5


def t64(a):
    return gw.tensor(np.asarray(a, dtype=np.float64))


# ------------------------------------------------------------------ grad, value_and_grad

def test_grad_closed_forms():
    assert np.allclose(func.grad(lambda x: (x ** 3).sum())(x0).numpy(), 3 * x0n ** 2)
    assert np.allclose(func.grad(lambda x: (x.exp() * x).sum())(x0).numpy(), np.exp(x0n) * (1 + x0n))
    pos = t64([0.5, 2.0, 3.0])
    assert np.allclose(func.grad(lambda x: (x.log() / x).sum())(pos).numpy(),
                       (1 - np.log(pos.numpy())) / pos.numpy() ** 2)
    assert np.allclose(func.grad(quad)(x0).numpy(), 0.5 * (An + An.T) @ x0n)


def test_grad_with_sin_if_registered():
    if not hasattr(gw, "sin"):
        pytest.skip("sin is not in the op table yet")
    g = func.grad(lambda x: (x.sin() * x.exp()).sum())(x0).numpy()
    assert np.allclose(g, np.exp(x0n) * (np.sin(x0n) + np.cos(x0n)))
    assert np.allclose(func.grad(func.grad(lambda x: x.sin()))(gw.tensor(0.7)).item(), -np.sin(0.7),
                       atol=1e-6)


def test_grad_shape_dtype_and_python_numbers():
    x = gw.ones(2, 3)
    g = func.grad(lambda t: (t * 2.0).sum())(x)
    assert g.shape == (2, 3) and g.dtype == gw.float32 and np.all(g.numpy() == 2)
    g = func.grad(lambda t: t ** 2)(3.0)
    assert g.dtype == gw.float32 and g.item() == 6.0
    assert func.grad(lambda t: t.sum() * 0.0 + 5.0)(x).numpy().tolist() == [[0.0] * 3] * 2


def test_nesting_grad_of_grad():
    assert func.grad(func.grad(lambda x: x ** 3))(gw.tensor(2.0)).item() == 12.0
    assert func.grad(func.grad(func.grad(lambda x: x ** 4)))(gw.tensor(1.0)).item() == 24.0
    d2 = func.grad(lambda x: func.grad(lambda t: (t.exp() * t).sum())(x).sum())(x0)
    assert np.allclose(d2.numpy(), np.exp(x0n) * (2 + x0n))


def test_nesting_through_closures_and_no_perturbation_confusion():
    x, y = t64(2.0), t64(3.0)
    # d/dx [d/dy (x y)^2] = d/dx 2 x^2 y = 4 x y
    assert func.grad(lambda a: func.grad(lambda b: (a * b) ** 2)(y))(x).item() == pytest.approx(24.0)
    # JAX's perturbation-confusion example: the inner y is not the outer x, so this is 1
    assert func.grad(lambda a: a * func.grad(lambda b: a + b)(a))(x).item() == pytest.approx(1.0)
    assert func.grad(lambda a: func.grad(lambda b: a * b)(t64(5.0)))(x).item() == pytest.approx(1.0)


def test_inputs_are_never_mutated_and_results_are_detached():
    x = gw.tensor([1.0, 2.0])
    g = func.grad(lambda t: (t ** 2).sum())(x)
    assert not x.requires_grad and x.grad is None and g.grad_fn is None and not g.requires_grad
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    func.grad(lambda t: (t ** 2).sum())(w)
    assert w.grad is None


def test_inputs_requiring_grad_stay_connected_like_torch_func():
    w = gw.tensor([1.0, 2.0], dtype=gw.float64, requires_grad=True)
    g = func.grad(lambda t: (t ** 3).sum())(w)        # 3 w^2
    assert g.requires_grad
    g.sum().backward()
    assert np.allclose(w.grad.numpy(), 6 * w.detach().numpy())
    with gw.no_grad():
        assert not func.grad(lambda t: (t ** 3).sum())(w).requires_grad


def test_depth_counter_recovers_from_errors():
    def boom(x):
        raise RuntimeError("inside f")
    with pytest.raises(RuntimeError, match="inside f"):
        func.grad(boom)(x0)
    assert not func.grad(lambda x: (x * x).sum())(x0).requires_grad


def test_value_and_grad_has_aux_and_argnums():
    def f(x, y):
        return (x * y).sum(), {"note": 1, "prod": x * y}
    (value, aux), (gx, gy) = func.value_and_grad(f, argnums=(0, 1), has_aux=True)(x0, v0)
    assert np.isclose(value.item(), (x0n * v0n).sum()) and aux["note"] == 1
    assert not aux["prod"].requires_grad and np.allclose(aux["prod"].numpy(), x0n * v0n)
    assert np.allclose(gx.numpy(), v0n) and np.allclose(gy.numpy(), x0n)
    g, aux = func.grad(f, argnums=1, has_aux=True)(x0, v0)
    assert np.allclose(g.numpy(), x0n)
    assert np.allclose(func.grad(lambda x, y: (x * y ** 2).sum(), argnums=-1)(x0, v0).numpy(),
                       2 * x0n * v0n)
    (gy,) = func.grad(lambda x, y: (x * y).sum(), argnums=(1,))(x0, v0)
    assert np.allclose(gy.numpy(), x0n)


def test_kwargs_are_passed_and_not_differentiated():
    g = func.grad(lambda x, scale=1.0: (x * scale).sum())(x0, scale=3.0)
    assert np.allclose(g.numpy(), 3.0)


def test_pytree_params_dict_for_a_linear_model():
    X = rng.standard_normal((5, 3))
    y = rng.standard_normal(5)
    params = {"w": t64(rng.standard_normal(3)), "b": (t64(0.5),), "name": "layer"}

    def loss(p, X, y):
        return ((X @ p["w"] + p["b"][0] - y) ** 2).mean()

    g = func.grad(loss)(params, t64(X), t64(y))
    r = X @ params["w"].numpy() + 0.5 - y
    assert set(g) == {"w", "b", "name"} and isinstance(g["b"], tuple) and g["name"] == "layer"
    assert np.allclose(g["w"].numpy(), 2 * X.T @ r / 5) and np.isclose(g["b"][0].item(), 2 * r.mean())
    assert params["w"].grad is None and not params["w"].requires_grad


def test_pytree_container_types_survive():
    Pair = namedtuple("Pair", "a b")
    p = Pair(t64([1.0, 2.0]), [t64(3.0)])
    g = func.grad(lambda q: (q.a ** 2).sum() + q.b[0] ** 2)(p)
    assert isinstance(g, Pair) and isinstance(g.b, list)
    assert g.a.tolist() == [2.0, 4.0] and g.b[0].item() == 6.0
    od = OrderedDict(z=t64(1.0), a=t64(2.0))
    g = func.grad(lambda d: d["z"] * d["a"])(od)
    assert type(g) is OrderedDict and list(g) == ["z", "a"] and g["z"].item() == 2.0


def test_unused_argument_gets_zeros():
    g = func.grad(lambda x, y: (x * 2).sum(), argnums=1)(x0, v0)
    assert g.tolist() == [0.0, 0.0, 0.0] and g.dtype == v0.dtype


# ------------------------------------------------------------------ vjp, jvp, jacobians

def f_vec(x):
    return (x @ B).exp() * x.sum()


B = gw.tensor(rng.standard_normal((3, 4)))


def J_vec(x):
    """Closed form of d f_vec / dx: diag(e) B^T s + e 1^T, e = exp(x B), s = sum x."""
    e = np.exp(x @ B.numpy())
    return (e[:, None] * B.numpy().T) * x.sum() + e[:, None]


def test_jacrev_and_jacfwd_match_closed_form():
    J = func.jacrev(f_vec)(x0)
    assert J.shape == (4, 3) and np.allclose(J.numpy(), J_vec(x0n))
    assert np.allclose(func.jacfwd(f_vec)(x0).numpy(), J_vec(x0n))
    assert np.allclose(func.jacobian(f_vec)(x0).numpy(), J_vec(x0n))


def test_jacobian_of_linear_map_is_the_matrix():
    M = gw.tensor(rng.standard_normal((2, 3)))
    assert np.allclose(func.jacrev(lambda x: M @ x)(x0).numpy(), M.numpy())
    assert np.allclose(func.jacfwd(lambda x: M @ x)(x0).numpy(), M.numpy())


def test_jacobian_shapes_are_output_then_input():
    X = gw.tensor(rng.standard_normal((2, 3)))
    for jac in (func.jacrev, func.jacfwd):
        J = jac(lambda t: t.sum(0))(X)            # (3,) output, (2, 3) input
        expect = np.zeros((3, 2, 3))
        for j in range(3):
            expect[j, :, j] = 1.0
        assert J.shape == (3, 2, 3) and np.allclose(J.numpy(), expect)
        assert jac(lambda t: (t ** 2).sum())(X).shape == (2, 3)            # scalar output
        assert jac(lambda t: t * 2)(gw.tensor(1.5)).shape == ()


def test_jacobian_pytrees_and_tuple_argnums():
    def f(p, z):
        return {"out": p["w"] * z, "s": (p["w"] ** 2).sum()}
    p = {"w": t64([1.0, 2.0])}
    z = t64([3.0, 5.0])
    for jac in (func.jacrev, func.jacfwd):
        J = jac(f, argnums=(0, 1))(p, z)
        assert set(J) == {"out", "s"}
        d_out_dw, d_out_dz = J["out"]
        assert np.allclose(d_out_dw["w"].numpy(), np.diag([3.0, 5.0]))
        assert np.allclose(d_out_dz.numpy(), np.diag([1.0, 2.0]))
        assert np.allclose(J["s"][0]["w"].numpy(), [2.0, 4.0]) and np.allclose(J["s"][1].numpy(), 0)


def test_jacobian_has_aux():
    J, aux = func.jacrev(lambda x: (x * 2, "info"), has_aux=True)(x0)
    assert aux == "info" and np.allclose(J.numpy(), 2 * np.eye(3))
    J, aux = func.jacfwd(lambda x: (x * 2, x.sum()), has_aux=True)(x0)
    assert np.isclose(aux.item(), x0n.sum()) and np.allclose(J.numpy(), 2 * np.eye(3))


def test_jvp_is_jacobian_times_v_and_vjp_is_v_times_jacobian():
    out, t = func.jvp(f_vec, (x0,), (v0,))
    assert np.allclose(out.numpy(), f_vec(x0).numpy()) and np.allclose(t.numpy(), J_vec(x0n) @ v0n)
    u = gw.tensor(rng.standard_normal(4))
    out, fn = func.vjp(f_vec, x0)
    (g,) = fn(u)
    assert np.allclose(g.numpy(), u.numpy() @ J_vec(x0n))
    assert np.allclose(fn(u * 2)[0].numpy(), 2 * g.numpy())          # vjp_fn can be reused
    assert np.allclose(fn(u.numpy())[0].numpy(), g.numpy())          # arrays are accepted


def test_vjp_several_primals_pytree_output_and_aux():
    def f(x, y):
        return {"p": x * y, "q": (x + y).sum()}, "aux"
    out, fn, aux = func.vjp(f, x0, v0, has_aux=True)
    assert aux == "aux" and set(out) == {"p", "q"} and not out["p"].requires_grad
    gx, gy = fn({"p": gw.ones(3, dtype=gw.float64), "q": t64(2.0)})
    assert np.allclose(gx.numpy(), v0n + 2) and np.allclose(gy.numpy(), x0n + 2)


def test_jvp_pytree_primals_and_unused_outputs():
    def f(p, c):
        return (p["a"] * p["b"], c * 0.0 + 1.0)
    p, t = {"a": t64([1.0, 2.0]), "b": t64([3.0, 4.0])}, {"a": t64([1.0, 0.0]), "b": t64([0.0, 1.0])}
    (o1, o2), (j1, j2) = func.jvp(f, (p, t64(1.0)), (t, t64(0.0)))
    assert np.allclose(j1.numpy(), [3.0, 2.0]) and np.allclose(j2.numpy(), 0.0)
    _, jv, aux = func.jvp(lambda x: (x ** 2, "k"), (x0,), (v0,), has_aux=True)
    assert aux == "k" and np.allclose(jv.numpy(), 2 * x0n * v0n)


# ------------------------------------------------------------------ hessian, hvp

def test_hessian_of_quadratic_form():
    H = func.hessian(quad)(x0)
    assert H.shape == (3, 3) and np.allclose(H.numpy(), 0.5 * (An + An.T))
    assert np.allclose(func.jacfwd(func.jacrev(quad))(x0).numpy(), 0.5 * (An + An.T))
    assert np.allclose(func.jacrev(func.jacfwd(quad))(x0).numpy(), 0.5 * (An + An.T))


def test_hessian_shapes_and_tuple_argnums():
    X = gw.tensor(rng.standard_normal((2, 2)))
    H = func.hessian(lambda t: (t ** 3).sum())(X)
    assert H.shape == (2, 2, 2, 2)
    assert np.allclose(H.numpy().reshape(4, 4), np.diag(6 * X.numpy().reshape(-1)))
    a, b = t64(2.0), t64(3.0)
    (Haa, Hab), (Hba, Hbb) = func.hessian(lambda x, y: x * x * y, argnums=(0, 1))(a, b)
    assert [h.item() for h in (Haa, Hab, Hba, Hbb)] == pytest.approx([6.0, 4.0, 4.0, 0.0])


def test_hvp_equals_hessian_times_v():
    out, hv = func.hvp(quad, (x0,), (v0,))
    assert np.isclose(out.item(), quad(x0).item())
    assert np.allclose(hv.numpy(), 0.5 * (An + An.T) @ v0n)
    H = func.hessian(f_scalar := lambda x: (x.exp() * x ** 2).sum())(x0).numpy()
    assert np.allclose(func.hvp(f_scalar, (x0,), (v0,))[1].numpy(), H @ v0n)
    _, (h1, h2) = func.hvp(lambda x, y: (x * y * y).sum(), (x0, v0), (gw.ones(3), gw.zeros(3)))
    assert np.allclose(h1.numpy(), 0) and np.allclose(h2.numpy(), 2 * v0n)   # H_xx = 0, H_yx = 2y
    _, hv = func.hvp(lambda x: x.sum() * 3.0, (x0,), (v0,))                 # linear: H = 0
    assert np.allclose(hv.numpy(), 0)


def test_transforms_compose():
    # third derivative of x^4 through hvp: d/dx (12 x^2 v) = 24 x v
    g = func.grad(lambda x: func.hvp(lambda t: (t ** 4).sum(), (x,), (gw.ones(3),))[1].sum())(x0)
    assert np.allclose(g.numpy(), 24 * x0n)
    # jvp of grad is hvp
    _, t = func.jvp(func.grad(quad), (x0,), (v0,))
    assert np.allclose(t.numpy(), 0.5 * (An + An.T) @ v0n)
    # vjp of a vjp_fn: the cotangent is the variable
    jv = func.grad(lambda u: (func.vjp(f_vec, x0)[1](u)[0] * v0).sum())(gw.zeros(4, dtype=gw.float64))
    assert np.allclose(jv.numpy(), J_vec(x0n) @ v0n)


def test_float32_in_float32_out():
    x = gw.tensor([0.5, 1.5])
    for r in (func.grad(lambda t: (t ** 2).sum())(x), func.jacrev(lambda t: t * 2)(x),
              func.jacfwd(lambda t: t * 2)(x), func.hessian(lambda t: (t ** 3).sum())(x),
              func.jvp(lambda t: t * 2, (x,), (gw.ones(2),))[1],
              func.hvp(lambda t: (t ** 3).sum(), (x,), (gw.ones(2),))[1]):
        assert r.dtype == gw.float32


# ------------------------------------------------------------------ errors

def test_errors_name_the_problem():
    with pytest.raises(ShapeError, match=r"grad: .*must return a scalar.*shape \(3,\)"):
        func.grad(lambda x: x * 2)(x0)
    # hessian of a vector-valued f is no error: shape out + in + in (tests/func/test_vmap_functional_call.py)
    assert func.hessian(lambda x: x * 2)(gw.ones(2, 3)).shape == (2, 3, 2, 3, 2, 3)
    with pytest.raises(ValueError, match="argnums 2 is out of range .* 1 positional argument "):
        func.grad(lambda x: x.sum(), argnums=2)(x0)
    with pytest.raises(ValueError, match=r"argnums -3 is out of range .* 2 positional arguments"):
        func.jacrev(lambda x, y: x, argnums=(0, -3))(x0, v0)
    with pytest.raises(ValueError, match="argnums must be an int or a non-empty tuple"):
        func.grad(lambda x: x.sum(), argnums="x")
    with pytest.raises(ValueError, match="same argument twice"):
        func.grad(lambda x, y: x.sum(), argnums=(0, -2))(x0, v0)
    with pytest.raises(DtypeError, match="cannot differentiate with respect to a int64 tensor"):
        func.grad(lambda x: x.sum())(gw.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"has_aux=True.*pair \(output, aux\)"):
        func.grad(lambda x: x.sum(), has_aux=True)(x0)
    with pytest.raises(ValueError, match="must return a scalar tensor, got float"):
        func.grad(lambda x: 1.0)(x0)
    with pytest.raises(ValueError, match="argument 0 is a str"):
        func.grad(lambda x: x)("x")


def test_vjp_jvp_hvp_argument_errors():
    _, fn = func.vjp(lambda x: x * 2, x0)
    with pytest.raises(ShapeError, match=r"cotangent 0 has shape \(2,\) but output 0 has shape \(3,\)"):
        fn(gw.ones(2))
    with pytest.raises(ValueError, match="got 2 cotangent tensor"):
        fn((gw.ones(3), gw.ones(3)))
    with pytest.raises(ValueError, match="1 primals but 2 tangents"):
        func.jvp(lambda x: x, (x0,), (v0, v0))
    with pytest.raises(ShapeError, match=r"tangent 0 has shape \(2,\) but primal 0 has shape \(3,\)"):
        func.jvp(lambda x: x, (x0,), (gw.ones(2),))
    with pytest.raises(ShapeError, match=r"hvp: .*shape \(3,\)"):
        func.hvp(lambda x: x * 2, (x0,), (v0,))


# ------------------------------------------------------------------ known core bug

def test_vector_times_square_matrix_gradient_shape():
    # regression: the (k,) @ (k, k) rule once returned a (1, k) gradient
    assert func.grad(lambda x: (x @ A).sum())(x0).shape == (3,)
