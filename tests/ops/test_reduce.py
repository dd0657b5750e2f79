"""Reductions beyond the table test: NumPy values, PyTorch semantics, zeros in products,
ties, norms at zero, numerical stability and error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradwise as gw
from gradwise.api import reductions as rapi
from gradwise.autograd.function import apply
from gradwise.ops.registry import REGISTRY

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3, 4))


def t64(values, grad=True):
    return gw.tensor(np.asarray(values, dtype=np.float64), requires_grad=grad)


def check(fn, *xs, second=True):
    """First and second order against finite differences, and the differentiable
    (create_graph) gradient equal to the plain one (gradgradcheck alone would accept a
    create_graph gradient that is wrong but self-consistent)."""
    assert gw.gradcheck(fn, xs, atol=1e-8, rtol=1e-6)
    if second:
        assert gw.gradgradcheck(fn, xs, atol=1e-7, rtol=1e-5)
        out = fn(*xs)
        seed = gw.tensor(RNG.standard_normal(out.shape))
        plain = gw.autograd.grad(out, xs, seed, retain_graph=True)
        graph = gw.autograd.grad(out, xs, seed, create_graph=True)
        for p, g in zip(plain, graph):
            np.testing.assert_allclose(g.detach().numpy(), p.detach().numpy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ values and dims


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), (-1, 1), [0, 1, 2]])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name,ref", [
    ("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("amax", np.amax), ("amin", np.amin),
    ("logsumexp", lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))),
    ("var", lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1)),
    ("std", lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims, ddof=1)),
    ("norm", lambda a, axis, keepdims: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))),
])
def test_values_match_numpy(name, ref, dim, keepdim):
    axis = tuple(dim) if isinstance(dim, list) else dim
    expect = ref(A, axis=axis, keepdims=keepdim)
    x = gw.tensor(A)
    got = getattr(gw, name)(x, dim=dim, keepdim=keepdim) if name != "norm" else x.norm(dim=dim, keepdim=keepdim)
    assert got.shape == np.shape(expect)
    np.testing.assert_allclose(got.numpy(), expect, rtol=1e-12, atol=1e-12)


def test_numpy_spellings_and_empty_dim_tuple():
    x = gw.tensor(A)
    np.testing.assert_allclose(x.sum(axis=1, keepdims=True).numpy(), A.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(gw.mean(x, axis=(0, 2)).numpy(), A.mean(axis=(0, 2)))
    assert x.sum(dim=()).shape == ()                   # PyTorch: an empty dim list means all
    np.testing.assert_allclose(x.var(axis=0, ddof=0).numpy(), A.var(axis=0))
    with pytest.raises(TypeError, match="sum: got both dim"):
        x.sum(dim=0, axis=1)


def test_dtypes_follow_pytorch_and_float32_stays_float32():
    x = gw.tensor(A.astype(np.float32), requires_grad=True)
    for name in ("sum", "mean", "prod", "amax", "amin", "logsumexp", "var", "std", "norm"):
        out = getattr(x, name)(dim=1)
        assert out.dtype == np.float32, name
        out.sum().backward()
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape
        x.grad = None
    for name in ("softmax", "log_softmax", "cumsum", "cumprod"):
        assert getattr(x, name)(1).dtype == np.float32
    assert x.sum(dtype=gw.float64).dtype == np.float64
    assert x.softmax(dim=1, dtype=gw.float64).dtype == np.float64
    assert x.cumsum(1, dtype=gw.float64).dtype == np.float64
    b = gw.tensor([[True, False, True]])
    assert b.sum().dtype == np.int64 and b.sum().item() == 2
    assert gw.tensor([1, 2, 3], dtype=gw.int32).cumsum(0).tolist() == [1, 3, 6]
    # a float64 reduction of float32 input still gives the input a float32 gradient
    x.sum(dtype=gw.float64).backward()
    assert x.grad.dtype == np.float32


# ------------------------------------------------------------------ var / std


def test_var_std_correction_and_unbiased():
    x = gw.tensor(A)
    for c in (0, 1, 2):
        np.testing.assert_allclose(x.var(dim=2, correction=c).numpy(), A.var(axis=2, ddof=c))
        np.testing.assert_allclose(x.std(dim=(0, 1), correction=c).numpy(), A.std(axis=(0, 1), ddof=c))
    np.testing.assert_allclose(x.var(unbiased=False).numpy(), A.var())
    np.testing.assert_allclose(x.var(False).numpy(), A.var())              # var(input, unbiased)
    np.testing.assert_allclose(x.var(1, False, True).numpy(), A.var(axis=1, keepdims=True))  # dim, unbiased, keepdim
    np.testing.assert_allclose(x.std(1, True).numpy(), A.std(axis=1, ddof=1))
    with pytest.raises(TypeError, match="var: give either correction"):
        x.var(correction=1, unbiased=True)


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std_gradients_with_correction(correction):
    x = t64(A)
    check(lambda t: t.var(dim=(0, 2), correction=correction), x)
    check(lambda t: t.std(dim=1, correction=correction, keepdim=True), x)


def test_too_few_elements_give_inf_or_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(gw.tensor([3.0]).var().item())                    # 0 / 0, like PyTorch
        assert np.isinf(gw.tensor([1.0, 2.0]).var(correction=2).item())
        x = t64([3.0])
        x.var().backward()
        assert np.isnan(x.grad.item())


def test_std_gradient_of_constant_input_is_zero_not_nan():
    x = t64([2.0, 2.0, 2.0])
    x.std().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------ prod with zeros


@pytest.mark.parametrize("values", [
    [[2.0, 0.0, 3.0, 4.0], [1.5, -2.0, 0.5, 3.0]],      # one zero in one row
    [[0.0, 1.5, 0.0, 2.0], [1.0, 0.0, 3.0, -1.0]],      # two zeros in a row, one in the other
    [[0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]],       # many zeros, all zeros
])
@pytest.mark.parametrize("dim", [None, 1, 0, (0, 1)])
def test_prod_gradients_with_zeros_first_and_second_order(values, dim):
    x = t64(values)
    check(lambda t: t.prod(dim=dim) if dim is not None else t.prod(), x)


def test_prod_gradient_values_with_zeros():
    values = np.array([2.0, 0.0, 3.0, 4.0])
    x = t64(values)
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 24.0, 0.0, 0.0]
    x = t64([0.0, 5.0, 0.0])
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    # the Hessian at a point with one zero: d^2 prod / dx_i dx_j = prod of the others
    x = t64([2.0, 0.0, 3.0])
    (g,) = gw.autograd.grad(x.prod(), x, create_graph=True)
    (h1,) = gw.autograd.grad(g[1], x)
    assert h1.tolist() == [3.0, 0.0, 2.0]


def test_prod_with_zeros_in_3d_over_middle_and_all_dims():
    a = RNG.uniform(0.5, 2.0, (2, 3, 2))
    a[0, 1, 0] = 0.0
    a[1, :, 1] = 0.0
    check(lambda t: t.prod(dim=1), t64(a))
    check(lambda t: t.prod(dim=(0, 2), keepdim=True), t64(a))


# ------------------------------------------------------------------ cumsum / cumprod


def test_cumsum_cumprod_values():
    x = gw.tensor(A)
    np.testing.assert_allclose(x.cumsum(1).numpy(), np.cumsum(A, axis=1))
    np.testing.assert_allclose(x.cumprod(-1).numpy(), np.cumprod(A, axis=-1))
    np.testing.assert_allclose(gw.cumsum(x, dim=0).numpy(), np.cumsum(A, axis=0))
    assert gw.tensor(3.0).cumsum(0).item() == 3.0


def _cumprod_jacobian(x):
    """Brute-force Jacobian of the inclusive cumprod of a vector: prod_{j<=i, j!=k} x_j."""
    n = len(x)
    jac = np.zeros((n, n))
    for i in range(n):
        for k in range(i + 1):
            jac[i, k] = np.prod([x[j] for j in range(i + 1) if j != k])
    return jac


@pytest.mark.parametrize("values", [
    [2.0, 0.0, 3.0, 4.0, -1.5],       # one zero
    [0.0, 2.0, 3.0, 0.0, 5.0],        # zero first, then another
    [1.5, 2.0, 0.0, 0.0, 0.0],        # several zeros at the end
    [3.0, -2.0, 1.5, 0.5, 0.0],       # zero last
    [0.0, 0.0, 0.0, 0.0, 0.0],
])
def test_cumprod_gradient_with_zeros_is_exact(values):
    x = t64(values)
    g = RNG.standard_normal(5)
    x.cumprod(0).backward(gw.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), _cumprod_jacobian(values).T @ g, rtol=1e-12, atol=1e-12)
    check(lambda t: t.cumprod(0), t64(values))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod_with_zeros_along_any_dim(dim):
    a = RNG.uniform(0.5, 2.0, (3, 4)) * RNG.choice([-1.0, 1.0], (3, 4))
    a[0, 1] = a[2, 2] = a[2, 3] = a[1, 0] = 0.0
    check(lambda t: t.cumprod(dim), t64(a))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("exclusive", [False, True])
def test_reverse_and_exclusive_scans_with_zeros(reverse, exclusive):
    # The flags the gradient rules use (prod's gradient is two exclusive cumprods).
    a = np.array([[2.0, 0.0, 3.0, -1.0, 0.5], [0.0, 1.5, 0.0, 2.0, 3.0]])
    op = REGISTRY["cumprod"]
    check(lambda t: apply(op, t, dim=1, reverse=reverse, exclusive=exclusive), t64(a))
    ref = a[:, ::-1] if reverse else a
    ref = np.concatenate([np.ones((2, 1)), ref[:, :-1]], axis=1) if exclusive else ref
    ref = np.cumprod(ref, axis=1)
    np.testing.assert_allclose(apply(op, gw.tensor(a), dim=1, reverse=reverse, exclusive=exclusive).numpy(),
                               ref[:, ::-1] if reverse else ref)
    s = apply(REGISTRY["cumsum"], gw.tensor(a), dim=1, reverse=reverse, exclusive=exclusive).numpy()
    ref = a[:, ::-1] if reverse else a
    ref = np.cumsum(np.concatenate([np.zeros((2, 1)), ref[:, :-1]], axis=1) if exclusive else ref, axis=1)
    np.testing.assert_allclose(s, ref[:, ::-1] if reverse else ref)


# ------------------------------------------------------------------ max / min / amax / amin / arg


def test_max_min_without_dim_return_values_only():
    x = gw.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert isinstance(gw.max(x), gw.Tensor) and x.max().item() == 7.0 and x.min().item() == 1.0


def test_max_min_with_dim_return_named_values_and_indices():
    x = gw.tensor(A, requires_grad=True)
    r = x.max(dim=-1)
    assert isinstance(r, tuple) and len(r) == 2
    values, indices = r
    np.testing.assert_array_equal(r.values.detach().numpy(), A.max(axis=-1))
    np.testing.assert_array_equal(r.indices.numpy(), A.argmax(axis=-1))
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    expect = np.zeros_like(A)
    np.put_along_axis(expect, A.argmax(axis=-1)[..., None], 1.0, axis=-1)
    np.testing.assert_array_equal(x.grad.numpy(), expect)
    m = gw.min(x, 1, keepdim=True)
    assert m.values.shape == (2, 1, 4) and m.indices.shape == (2, 1, 4)
    np.testing.assert_array_equal(m.indices.numpy(), A.argmin(axis=1)[:, None])


def test_ties_max_dim_picks_one_index_amax_and_full_max_split():
    x = gw.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert indices.tolist() == [1, 0]                   # the first of the tied elements
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    x.grad = None
    x.amax(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]
    x.grad = None
    x.max().backward()                                  # no dim: split evenly, as in PyTorch
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]
    x.grad = None
    x.amin(dim=(0, 1)).backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]


def test_max_propagates_nan_and_its_gradient_goes_to_the_nan():
    x = t64([1.0, np.nan, 3.0])
    out = x.amax()
    assert np.isnan(out.item())
    out.backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    assert gw.tensor([1.0, np.nan, 3.0]).argmax().item() == 1


def test_argmax_argmin():
    x = gw.tensor(A, requires_grad=True)
    for name in ("argmax", "argmin"):
        r = getattr(x, name)(dim=1)
        np.testing.assert_array_equal(r.numpy(), getattr(A, name)(axis=1))
        assert r.dtype == np.int64 and r.grad_fn is None
        assert getattr(x, name)().item() == getattr(A, name)()
        assert getattr(x, name)(dim=-1, keepdim=True).shape == (2, 3, 1)
    with pytest.raises(gw.DimError, match="argmin: dim must be a single int"):
        x.argmin(dim=(0, 1))


def test_empty_max_names_the_op():
    with pytest.raises(gw.ShapeError, match="amax: cannot reduce a tensor of shape \\(0, 3\\)"):
        gw.zeros(0, 3).amax(dim=0)


# ------------------------------------------------------------------ median / kthvalue


def test_median_without_dim_is_lower_middle_and_splits_ties():
    x = gw.tensor([[4.0, 1.0], [3.0, 2.0]], requires_grad=True)
    m = rapi.median(x)
    assert m.item() == 2.0                              # the lower of 2 and 3, as in PyTorch
    m.backward()
    assert x.grad.tolist() == [[0.0, 0.0], [0.0, 1.0]]
    y = t64([1.0, 2.0, 2.0, 5.0, 2.0])
    rapi.median(y).backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 1 / 3, 1 / 3, 0.0, 1 / 3])
    assert np.isnan(rapi.median(gw.tensor([1.0, np.nan, 0.0])).item())


def test_median_and_kthvalue_along_dim():
    x = gw.tensor(A, requires_grad=True)
    r = rapi.median(x, dim=-1)
    srt = np.sort(A, axis=-1)
    np.testing.assert_array_equal(r.values.detach().numpy(), srt[..., 1])      # n = 4: lower middle
    np.testing.assert_array_equal(np.take_along_axis(A, r.indices.numpy()[..., None], -1)[..., 0],
                                  r.values.detach().numpy())
    r.values.sum().backward()
    assert x.grad.sum() == 6.0 and set(np.unique(x.grad.numpy())) == {0.0, 1.0}
    k = rapi.kthvalue(x, 3, dim=1, keepdim=True)
    assert k.values.shape == (2, 1, 4)
    np.testing.assert_array_equal(k.values.detach().numpy()[:, 0], np.sort(A, axis=1)[:, 2])
    r = rapi.median(gw.tensor([[1.0, np.nan, 0.0], [3.0, 1.0, 2.0]]), dim=1)
    assert np.isnan(r.values.numpy()[0]) and r.indices.tolist() == [1, 2]
    with pytest.raises(gw.ShapeError, match="kthvalue: k=5 is out of range for dim 1 of size 3"):
        rapi.kthvalue(x, 5, dim=1)
    assert rapi.median(gw.tensor(2.0), 0).values.item() == 2.0


def test_median_gradients_match_finite_differences():
    a = RNG.permutation(12).reshape(3, 4) * 0.5
    check(lambda t: rapi.median(t, dim=1).values, t64(a))
    check(lambda t: rapi.kthvalue(t, 2, dim=0).values, t64(a))
    check(lambda t: rapi.median(t), t64(a))


def test_var_mean_std_mean_and_bind():
    x = gw.tensor(A)
    v, m = rapi.var_mean(x, 1, keepdim=True)
    np.testing.assert_allclose(v.numpy(), A.var(axis=1, ddof=1, keepdims=True))
    np.testing.assert_allclose(m.numpy(), A.mean(axis=1, keepdims=True))
    s, m = rapi.std_mean(x, dim=(0, 2), correction=0)
    np.testing.assert_allclose(s.numpy(), A.std(axis=(0, 2)))
    assert set(rapi.FUNCTIONS) == {"median", "kthvalue", "var_mean", "std_mean"}
    assert all(getattr(gw, name) is fn for name, fn in rapi.FUNCTIONS.items())
    assert x.median().item() == rapi.median(x).item()
    assert x.kthvalue(1).values.shape == (2, 3)


# ------------------------------------------------------------------ norm


@pytest.mark.parametrize("p,ref", [
    (1, lambda a, ax: np.abs(a).sum(axis=ax)), (2, lambda a, ax: np.sqrt((a * a).sum(axis=ax))),
    ("fro", lambda a, ax: np.sqrt((a * a).sum(axis=ax))), (float("inf"), lambda a, ax: np.abs(a).max(axis=ax)),
    (-float("inf"), lambda a, ax: np.abs(a).min(axis=ax)), (3, lambda a, ax: (np.abs(a) ** 3).sum(axis=ax) ** (1 / 3)),
    (0.5, lambda a, ax: (np.abs(a) ** 0.5).sum(axis=ax) ** 2), (0, lambda a, ax: (a != 0).sum(axis=ax) * 1.0),
])
@pytest.mark.parametrize("dim", [None, 1, (0, 2)])
def test_norm_orders_match_numpy(p, ref, dim):
    got = gw.tensor(A).norm(p, dim=dim)
    np.testing.assert_allclose(got.numpy(), ref(A, dim), rtol=1e-12)
    assert gw.tensor(A).norm(p, dim=dim, keepdim=True).ndim == 3


def test_norm_gradient_at_zero_vector_is_zero_first_and_second_order():
    z = gw.zeros(3, dtype=gw.float64, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]
    x = t64([[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]])
    x.norm(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.6, 0.0, -0.8]]
    (g,) = gw.autograd.grad(z.norm(), z, create_graph=True)
    (h,) = gw.autograd.grad(g.sum(), z)
    assert np.isfinite(h.numpy()).all()


def test_norm_p_below_one_gives_zero_elements_zero_gradient():
    x = t64([0.0, 1.0, 4.0])
    x.norm(0.5).backward()
    assert x.grad.numpy()[0] == 0.0 and np.isfinite(x.grad.numpy()).all()


def test_norm_gradients_general_p():
    a = RNG.uniform(0.3, 2.0, (3, 4)) * RNG.choice([-1.0, 1.0], (3, 4))
    for p in (1.5, 2.5, 4, 0.7):
        check(lambda t, p=p: t.norm(p, dim=1), t64(a))


def test_norm_rejects_nuclear_and_unknown_orders():
    with pytest.raises(ValueError, match="nuc"):
        gw.ones(2, 2).norm("nuc")
    with pytest.raises(ValueError, match="norm: p='max'"):
        gw.ones(2).norm("max")


# ------------------------------------------------------------------ softmax family, logsumexp


def test_softmax_sums_to_one_and_is_stable():
    x = gw.tensor([[1000.0, 0.0, -1000.0]], dtype=gw.float64, requires_grad=True)
    s = x.softmax(dim=1)
    assert s.tolist() == [[1.0, 0.0, 0.0]]
    ls = x.log_softmax(dim=-1)
    assert np.isfinite(ls.detach().numpy()).all() and ls.tolist() == [[0.0, -1000.0, -2000.0]]
    (s.sum() * 0.0 + (s * gw.tensor([[1.0, 2.0, 3.0]])).sum() + ls[0, 2]).backward()
    assert np.isfinite(x.grad.numpy()).all()
    r = gw.tensor(RNG.standard_normal((3, 4, 5)))
    for d in (0, 1, 2, -1):
        np.testing.assert_allclose(r.softmax(d).sum(dim=d).numpy(), 1.0)
        np.testing.assert_allclose(np.exp(r.log_softmax(d).numpy()), r.softmax(d).numpy())


def test_softmax_gradients_and_dim_is_required():
    a = RNG.standard_normal((2, 3, 4))
    for d in (0, 1, -1):
        check(lambda t, d=d: t.softmax(d), t64(a))
        check(lambda t, d=d: t.log_softmax(dim=d), t64(a))
    with pytest.raises(TypeError):
        gw.tensor(a).softmax()


def test_logsumexp_is_stable():
    x = gw.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], dtype=gw.float64, requires_grad=True)
    out = x.logsumexp(dim=1)
    np.testing.assert_allclose(out.detach().numpy(), [1000.0 + np.log(2), -1000.0 + np.log(2)])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5, rtol=1e-12)
    assert gw.tensor([-np.inf, -np.inf]).logsumexp(0).item() == -np.inf
    assert gw.tensor([np.inf, 1.0]).logsumexp(0).item() == np.inf


# ------------------------------------------------------------------ all / any / count_nonzero


def test_all_any_count_nonzero():
    x = gw.tensor([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]], requires_grad=True)
    for name, ref in (("all", np.all), ("any", np.any)):
        r = getattr(x, name)(dim=1)
        assert r.dtype == np.bool_ and r.grad_fn is None
        assert r.tolist() == ref(x.detach().numpy(), axis=1).tolist()
        assert getattr(x, name)().dtype == np.bool_
    c = x.count_nonzero(dim=0)
    assert c.dtype == np.int64 and c.tolist() == [2, 1, 2]
    assert gw.count_nonzero(x).item() == 5


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("call,op", [
    (lambda x: x.sum(dim=3), "sum"), (lambda x: x.mean(dim=(0, -4)), "mean"),
    (lambda x: x.var(dim=5), "var"), (lambda x: x.std(dim=-4), "std"), (lambda x: x.prod(dim=3), "prod"),
    (lambda x: x.amax(dim=3), "amax"), (lambda x: x.amin(dim=3), "amin"),
    (lambda x: x.argmax(dim=3), "argmax"), (lambda x: x.argmin(dim=3), "argmin"),
    (lambda x: x.logsumexp(dim=3), "logsumexp"), (lambda x: x.softmax(3), "softmax"),
    (lambda x: x.log_softmax(3), "log_softmax"), (lambda x: x.cumsum(3), "cumsum"),
    (lambda x: x.cumprod(-4), "cumprod"), (lambda x: x.norm(dim=3), "norm"), (lambda x: x.all(dim=3), "all"),
    (lambda x: x.max(dim=3), "max"), (lambda x: x.min(3), "min"),
    (lambda x: rapi.median(x, 3), "median"), (lambda x: rapi.kthvalue(x, 1, 3), "kthvalue"),
])
def test_out_of_range_dim_names_op_dim_and_valid_range(call, op):
    with pytest.raises(gw.DimError) as info:
        call(gw.tensor(A))
    msg = str(info.value)
    assert msg.startswith(f"{op}: dim ") and "3 dimensions" in msg and "valid: -3 to 2" in msg, msg
    assert isinstance(info.value, IndexError)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "prod", "amax", "amin", "logsumexp",
                                  "norm", "all", "any"])
def test_repeated_dim_is_an_error(name):
    with pytest.raises(gw.DimError, match=f"{name}: dim \\(0, -3\\) repeats a dimension"):
        getattr(gw.tensor(A), name)(dim=(0, -3))


# ------------------------------------------------------------------ PyTorch oracle (optional)


def test_against_pytorch_when_installed():
    torch = pytest.importorskip("torch")
    a = np.array([[2.0, 0.0, 3.0, 0.0], [1.0, 3.0, 3.0, -2.0]])
    for fn in (lambda m: m.prod(dim=1).sum(), lambda m: m.cumprod(1).sum(),
               lambda m: m.max(dim=1).values.sum(), lambda m: m.amax(dim=1).sum(),
               lambda m: m.max(), lambda m: m.norm(dim=1).sum(), lambda m: m.std(dim=1).sum()):
        x = gw.tensor(a, requires_grad=True)
        fn(x).backward()
        y = torch.tensor(a, requires_grad=True)
        fn(y).backward()
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-12, atol=1e-12)
