"""``vmap``, ``functional_call`` and Jacobians/Hessians of vector-valued functions.

Values against explicit loops, finite differences (float64) and ``torch.func`` when torch
is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import func

RNG = np.random.default_rng(0)


def t64(*shape: int) -> gw.Tensor:
    return gw.tensor(RNG.standard_normal(shape))


# ------------------------------------------------------------------ vmap

def test_vmap_in_dims_ints_none_and_tuples_against_loops():
    A, B, v = t64(4, 3), t64(3, 4), t64(3)
    dot = lambda a, b: (a * b).sum()  # noqa: E731
    r = func.vmap(dot)(A, A)
    assert r.shape == (4,) and np.allclose(r.numpy(), (A.numpy() ** 2).sum(1))
    r = func.vmap(dot, in_dims=(0, None))(A, v)
    assert np.allclose(r.numpy(), A.numpy() @ v.numpy())
    r = func.vmap(dot, in_dims=(0, 1))(A, B)  # B mapped along its dim 1
    assert np.allclose(r.numpy(), [(A.numpy()[i] * B.numpy()[:, i]).sum() for i in range(4)])
    r = func.vmap(dot, in_dims=(-2, -1))(A, B)
    assert np.allclose(r.numpy(), [(A.numpy()[i] * B.numpy()[:, i]).sum() for i in range(4)])
    # nested pytrees of in_dims, and keyword arguments passed whole
    f = lambda p, s=1.0: (p["w"] * p["x"]).sum() * s  # noqa: E731
    r = func.vmap(f, in_dims=({"w": None, "x": 0},))({"w": v, "x": A}, s=2.0)
    assert np.allclose(r.numpy(), 2 * A.numpy() @ v.numpy())
    r = func.vmap(lambda pair, c: pair[0] * pair[1] + c, in_dims=((0, None), None))((A, v), 1)
    assert np.allclose(r.numpy(), A.numpy() * v.numpy() + 1)


def test_vmap_out_dims_and_pytree_outputs():
    A = t64(4, 3)
    r = func.vmap(lambda a: a * 2, out_dims=1)(A)
    assert r.shape == (3, 4) and np.allclose(r.numpy(), 2 * A.numpy().T)
    r = func.vmap(lambda a: a * 2, out_dims=(-1,))(A)
    assert r.shape == (3, 4)
    s, d = func.vmap(lambda a: (a.sum(), {"twice": a * 2}), out_dims=(0, {"twice": 1}))(A)
    assert s.shape == (4,) and d["twice"].shape == (3, 4)
    # out_dims=None: an output that does not depend on the element comes back once
    c = gw.ones(2)
    y, k = func.vmap(lambda a: (a + 1, c * 3), out_dims=(0, None))(A)
    assert y.shape == (4, 3) and k.shape == (2,) and k.tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="can not return a BatchedTensor when out_dim is None"):
        func.vmap(lambda a: a + 1, out_dims=None)(A)
    with pytest.raises(ValueError, match="must only return Tensors, got type <class 'int'>"):
        func.vmap(lambda a: (a, 3))(A)
    assert func.vmap(lambda a: (a, 3), out_dims=(0, None))(A)[1] == 3
    with pytest.raises(ValueError, match="out_dims is not compatible with the structure of `outputs`"):
        func.vmap(lambda a: a, out_dims=(0, 1))(A)
    with pytest.raises(ValueError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\]"):
        func.vmap(lambda a: a, out_dims=3)(A)


def test_vmap_nested_gives_outer_products_and_matmul():
    a, b = t64(3), t64(5)
    outer = func.vmap(func.vmap(lambda x, y: x * y, in_dims=(None, 0)), in_dims=(0, None))(a, b)
    assert outer.shape == (3, 5) and np.allclose(outer.numpy(), np.outer(a.numpy(), b.numpy()))
    A, B = t64(2, 4), t64(4, 3)
    mm = func.vmap(func.vmap(lambda r, c: (r * c).sum(), in_dims=(None, 1)), in_dims=(0, None))(A, B)
    assert np.allclose(mm.numpy(), A.numpy() @ B.numpy())


def test_vmap_errors_as_torch():
    f = lambda x, y: x + y  # noqa: E731
    with pytest.raises(ValueError, match=r"^vmap: Expected all tensors to have the same size in the mapped "
                                         r"dimension, got sizes \[3, 4\] for the mapped dimension$"):
        func.vmap(f)(gw.ones(3, 2), gw.ones(4, 2))
    with pytest.raises(ValueError, match="in_dims is not compatible with the structure of `inputs`"):
        func.vmap(f, in_dims=(0,))(gw.ones(3), gw.ones(3))
    with pytest.raises(ValueError, match=r"Got in_dim=2 for some input, but that input is a Tensor of "
                                         r"dimensionality 2 so expected in_dim to satisfy -2 <= in_dim < 2"):
        func.vmap(f, in_dims=(2, 0))(gw.ones(3, 2), gw.ones(3))
    with pytest.raises(ValueError, match="We cannot vmap over non-Tensor arguments"):
        func.vmap(f)(gw.ones(3), 1.0)
    with pytest.raises(ValueError, match="Expected at least one Tensor to vmap over"):
        func.vmap(f, in_dims=(None, None))(gw.ones(3), gw.ones(3))
    with pytest.raises(ValueError, match="expected `in_dims` to be int or a"):
        func.vmap(f, in_dims=[0, 0])(gw.ones(3), gw.ones(3))
    with pytest.raises(ValueError, match="got no inputs"):
        func.vmap(lambda: gw.ones(1))()
    with pytest.raises(ValueError, match="randomness"):
        func.vmap(f, randomness="sometimes")
    with pytest.raises(ValueError, match="chunk_size should be None or greater than 0"):
        func.vmap(f, chunk_size=0)
    with pytest.raises(ValueError, match="size 0"):
        func.vmap(f)(gw.ones(0, 2), gw.ones(0, 2))
    assert func.vmap(f, chunk_size=2)(gw.ones(3), gw.ones(3)).tolist() == [2.0, 2.0, 2.0]


def test_vmap_randomness_modes():
    x = gw.zeros(4, 3)
    with pytest.raises(RuntimeError, match="called random operation while in randomness error mode"):
        func.vmap(lambda a: a + gw.rand(3))(x)
    gw.manual_seed(0)
    diff = func.vmap(lambda a: a + gw.rand(3), randomness="different")(x).numpy()
    assert not np.allclose(diff[0], diff[1])
    same = func.vmap(lambda a: a + gw.rand(3), randomness="same")(x).numpy()
    assert np.allclose(same, same[0])


def test_vmap_is_differentiable_and_grad_of_vmap():
    A = t64(4, 3).requires_grad_()
    func.vmap(lambda a: (a ** 2).sum())(A).sum().backward()
    assert np.allclose(A.grad.numpy(), 2 * A.detach().numpy())
    g = func.grad(lambda X: func.vmap(lambda a: a.sin().sum())(X).sum())(A.detach())
    assert np.allclose(g.numpy(), np.cos(A.detach().numpy()))
    # vmap of jacrev: per-row Jacobians
    J = func.vmap(func.jacrev(lambda a: a ** 2))(A.detach())
    assert J.shape == (4, 3, 3)
    assert np.allclose(J.numpy(), [np.diag(2 * r) for r in A.detach().numpy()])


# ------------------------------------------------------------------ functional_call

class MLP(gw.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = gw.nn.Linear(3, 5, dtype=gw.float64)
        self.fc2 = gw.nn.Linear(5, 2, dtype=gw.float64)

    def forward(self, x: gw.Tensor) -> gw.Tensor:
        return self.fc2(self.fc1(x).tanh())


def _mlp() -> MLP:
    gw.manual_seed(0)
    return MLP()


def test_functional_call_substitutes_and_restores():
    m = _mlp()
    x = t64(2, 3)
    before = {k: v for k, v in m.named_parameters()}
    zeros = {k: gw.zeros(*v.shape, dtype=gw.float64) for k, v in before.items()}
    assert np.allclose(func.functional_call(m, zeros, (x,)).numpy(), 0)
    assert np.allclose(func.functional_call(m, {"fc2.bias": gw.ones(2, dtype=gw.float64)}, x).detach().numpy(),
                       m.fc2(m.fc1(x).tanh()).detach().numpy() - m.fc2.bias.detach().numpy() + 1)
    # a tuple of dicts, kwargs
    p1 = {k: v for k, v in zeros.items() if k.startswith("fc1")}
    p2 = {k: v for k, v in zeros.items() if k.startswith("fc2")}
    assert np.allclose(func.functional_call(m, (p1, p2), (), {"x": x}).numpy(), 0)
    after = dict(m.named_parameters())
    assert all(after[k] is before[k] for k in before) and m.fc1.weight is before["fc1.weight"]
    assert isinstance(m.fc1.weight, gw.nn.Parameter)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        func.functional_call(m, (p1, p1), (x,))


def test_functional_call_restores_after_an_exception():
    m = _mlp()
    w = m.fc1.weight
    with pytest.raises(Exception, match="mat1 and mat2|shape|size"):
        func.functional_call(m, {"fc1.weight": gw.zeros(7, 7, dtype=gw.float64)}, (t64(2, 3),))
    assert m.fc1.weight is w and m.fc1._parameters["weight"] is w
    with pytest.raises(TypeError):
        func.functional_call(m, {"fc1.weight": gw.zeros(5, 3, dtype=gw.float64), "fc2.weight": "no"},
                             (t64(2, 3),))
    assert m.fc1.weight is w and m.fc1._parameters["weight"] is w


def test_functional_call_strict_tied_and_buffers():
    m = _mlp()
    with pytest.raises(RuntimeError, match=r"Missing key\(s\): 'fc1.bias'"):
        func.functional_call(m, {k: v for k, v in m.named_parameters() if k != "fc1.bias"}, (t64(1, 3),),
                             strict=True)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\): 'nope'"):
        func.functional_call(m, {**dict(m.named_parameters()), "nope": gw.ones(1)}, (t64(1, 3),), strict=True)

    class Tied(gw.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = gw.nn.Parameter(gw.ones(2))
            self.b = self.a

        def forward(self, x: gw.Tensor) -> gw.Tensor:
            return x * self.a + self.b

    t = Tied()
    x = gw.ones(2)
    assert func.functional_call(t, {"a": gw.zeros(2)}, (x,)).tolist() == [0.0, 0.0]
    assert func.functional_call(t, {"a": gw.zeros(2)}, (x,), tie_weights=False).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="which are tied"):
        func.functional_call(t, {"a": gw.zeros(2), "b": gw.ones(2)}, (x,))
    assert t.b is t.a

    bn = gw.nn.BatchNorm1d(3, dtype=gw.float64).eval()
    stats = {"running_mean": gw.ones(3, dtype=gw.float64), "running_var": gw.ones(3, dtype=gw.float64) * 4}
    out = func.functional_call(bn, stats, (gw.ones(2, 3, dtype=gw.float64) * 3,))
    assert np.allclose(out.detach().numpy(), (3 - 1) / np.sqrt(4 + bn.eps))
    assert np.allclose(bn.running_mean.numpy(), 0)


def _loss(model, params, x, y):
    out = func.functional_call(model, params, (x.unsqueeze(0),))
    return ((out - y.unsqueeze(0)) ** 2).mean()


def test_grad_of_functional_call_and_per_sample_gradients_match_loops():
    m = _mlp()
    params = {k: v.detach() for k, v in m.named_parameters()}
    X, Y = t64(6, 3), t64(6, 2)
    # per-parameter gradients of the batch loss equal backward()'s
    g = func.grad(lambda p: ((func.functional_call(m, p, (X,)) - Y) ** 2).mean())(params)
    ((m(X) - Y) ** 2).mean().backward()
    for k, p in m.named_parameters():
        assert np.allclose(g[k].numpy(), p.grad.numpy())
    # torch's recipe: vmap(grad(loss), in_dims=(None, 0, 0))
    per = func.vmap(func.grad(lambda p, x, y: _loss(m, p, x, y)), in_dims=(None, 0, 0))(params, X, Y)
    for i in range(6):
        m.zero_grad()
        _loss(m, dict(m.named_parameters()), X[i], Y[i]).backward()
        for k, p in m.named_parameters():
            assert per[k].shape == (6,) + tuple(p.shape)
            assert np.allclose(per[k][i].numpy(), p.grad.numpy())
    assert all(p.grad is None or True for p in m.parameters())  # the module is unchanged:
    assert all(m.get_parameter(k) is v for k, v in dict(m.named_parameters()).items())


# ------------------------------------------------------------------ Jacobians, Hessians of vector f

def _fd_jac(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        J.reshape(y0.shape + (x.size,))[..., k] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
    return J


def _vec_f(x):
    return gw.stack([(x ** 2).sum() * x[0], x.sin().prod(), x[1] * x[2].exp()]) if isinstance(x, gw.Tensor) else \
        np.array([(x ** 2).sum() * x[0], np.sin(x).prod(), x[1] * np.exp(x[2])])


def test_jacobians_of_vector_functions_against_finite_differences():
    x = t64(4)
    J_fd = _fd_jac(_vec_f, x.numpy())
    for jac in (func.jacrev, func.jacfwd, func.jacobian):
        J = jac(_vec_f)(x)
        assert J.shape == (3, 4) and np.allclose(J.numpy(), J_fd, atol=1e-6)
    # matrix in, matrix out: shape out + in
    M = t64(2, 3)
    g = lambda a: (a @ a.T).tanh()  # noqa: E731
    J = func.jacrev(g)(M)
    assert J.shape == (2, 2, 2, 3)
    assert np.allclose(J.numpy(), _fd_jac(lambda a: np.tanh(a @ a.T), M.numpy()), atol=1e-6)
    assert np.allclose(func.jacfwd(g)(M).numpy(), J.numpy())
    # pytrees of outputs and inputs
    out = func.jacrev(lambda p: {"s": p["a"] * p["b"], "t": p["a"].sum()})({"a": t64(2), "b": t64(2)})
    assert out["s"]["a"].shape == (2, 2) and out["t"]["b"].shape == (2,)


def test_hessian_of_vector_functions_against_finite_differences():
    x = t64(4)
    H = func.hessian(_vec_f)(x)
    assert H.shape == (3, 4, 4)
    H_fd = _fd_jac(lambda v: _fd_jac(_vec_f, v, 1e-5), x.numpy(), 1e-4)
    assert np.allclose(H.numpy(), H_fd, atol=1e-5)
    assert np.allclose(H.numpy(), np.swapaxes(H.numpy(), 1, 2))
    # jacfwd(jacrev(f)) semantics, scalar behaviour unchanged
    assert np.allclose(H.numpy(), func.jacfwd(func.jacrev(_vec_f))(x).numpy())
    assert func.hessian(lambda v: (v ** 3).sum())(x).shape == (4, 4)
    assert func.hessian(lambda v: (v ** 3).sum().reshape(1))(x).shape == (4, 4)
    M = t64(2, 2)
    assert func.hessian(lambda a: a @ a)(M).shape == (2, 2, 2, 2, 2, 2)
    (Haa, Hab), (Hba, Hbb) = func.hessian(lambda a, b: a * b * b, argnums=(0, 1))(t64(3), t64(3))
    assert Haa.shape == Hab.shape == (3, 3, 3) and np.allclose(Haa.numpy(), 0)


# ------------------------------------------------------------------ against torch.func

def test_against_torch_func():
    torch = pytest.importorskip("torch")
    tf = torch.func
    m = _mlp()
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    with torch.no_grad():
        for (_, tp), (_, p) in zip(tm.named_parameters(), m.named_parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy()))
    X, Y = t64(5, 3), t64(5, 2)
    tX, tY = torch.from_numpy(X.numpy()), torch.from_numpy(Y.numpy())

    params = {k: v.detach() for k, v in m.named_parameters()}
    tparams = {k: v.detach() for k, v in tm.named_parameters()}

    def tloss(p, x, y):
        return ((tf.functional_call(tm, p, (x.unsqueeze(0),)) - y.unsqueeze(0)) ** 2).mean()

    per = func.vmap(func.grad(lambda p, x, y: _loss(m, p, x, y)), in_dims=(None, 0, 0))(params, X, Y)
    tper = tf.vmap(tf.grad(tloss), in_dims=(None, 0, 0))(tparams, tX, tY)
    for (k, _), (tk, _) in zip(m.named_parameters(), tm.named_parameters()):
        assert np.allclose(per[k].numpy(), tper[tk].numpy())

    A, B = t64(4, 3), t64(3, 4)
    f = lambda a, b: (a * b).sum()  # noqa: E731
    assert np.allclose(func.vmap(f, in_dims=(0, 1))(A, B).numpy(),
                       tf.vmap(f, in_dims=(0, 1))(torch.from_numpy(A.numpy()), torch.from_numpy(B.numpy())).numpy())
    assert np.allclose(func.vmap(lambda a: a.exp(), out_dims=1)(A).numpy(),
                       tf.vmap(lambda a: a.exp(), out_dims=1)(torch.from_numpy(A.numpy())).numpy())

    x = t64(4)

    def tvec(v):
        return torch.stack([(v ** 2).sum() * v[0], v.sin().prod(), v[1] * v[2].exp()])

    tx = torch.from_numpy(x.numpy())
    assert np.allclose(func.jacrev(_vec_f)(x).numpy(), tf.jacrev(tvec)(tx).numpy())
    assert np.allclose(func.jacfwd(_vec_f)(x).numpy(), tf.jacfwd(tvec)(tx).numpy())
    assert np.allclose(func.hessian(_vec_f)(x).numpy(), tf.hessian(tvec)(tx).numpy())

    with pytest.raises(ValueError) as ours:
        func.vmap(lambda a, b: a + b)(gw.ones(3, 2), gw.ones(4, 2))
    with pytest.raises(ValueError) as theirs:
        tf.vmap(lambda a, b: a + b)(torch.ones(3, 2), torch.ones(4, 2))
    assert str(ours.value) == str(theirs.value)
