"""torch.autograd.functional on gradwise: values against torch, gradients by finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise.func import autograd_functional as AF
from gradwise.func import grad_and_value
from gradwise.func.transforms import TransformError

RNG = np.random.default_rng(3)
A = RNG.normal(size=(3,))
B = RNG.normal(size=(3,))
V = RNG.normal(size=(3,))


def _gw_f(x, y):  # type: ignore[no-untyped-def]
    return (x.sin() * y).sum() + (x * x * y).sum()


def _np_f(x: np.ndarray, y: np.ndarray) -> float:
    return float((np.sin(x) * y).sum() + (x * x * y).sum())


def _fd_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def _t(a: np.ndarray) -> gw.Tensor:
    return gw.tensor(a, dtype=gw.float64)


def test_jacobian_and_hessian_match_torch() -> None:
    torch = pytest.importorskip("torch")
    tf = lambda x, y: (x.sin() * y).sum() + (x * x * y).sum()  # noqa: E731
    tA, tB = torch.tensor(A), torch.tensor(B)
    ours = AF.jacobian(lambda x: x.sin() * 2.0, _t(A))
    theirs = torch.autograd.functional.jacobian(lambda x: x.sin() * 2.0, tA)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    hs = AF.hessian(_gw_f, (_t(A), _t(B)))
    ths = torch.autograd.functional.hessian(tf, (tA, tB))
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(hs[i][j].numpy(), ths[i][j].numpy(), rtol=1e-10, atol=1e-12)
    jt = AF.jacobian(lambda x, y: (x * y, x + y), (_t(A), _t(B)))
    tjt = torch.autograd.functional.jacobian(lambda x, y: (x * y, x + y), (tA, tB))
    assert len(jt) == 2 and len(jt[0]) == 2
    np.testing.assert_allclose(jt[0][1].numpy(), tjt[0][1].numpy())


@pytest.mark.parametrize("name", ["vjp", "jvp", "hvp", "vhp"])
def test_products_match_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    if name in ("vjp", "jvp"):
        ours = getattr(AF, name)(lambda x: x.sin() * x, _t(A), _t(V))
        theirs = getattr(torch.autograd.functional, name)(lambda x: x.sin() * x, torch.tensor(A), torch.tensor(V))
    else:
        ours = getattr(AF, name)(lambda x: (x.sin() * x).sum(), _t(A), _t(V))
        theirs = getattr(torch.autograd.functional, name)(lambda x: (x.sin() * x).sum(), torch.tensor(A),
                                                         torch.tensor(V))
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[1].numpy(), theirs[1].numpy(), rtol=1e-10)
    assert ours[1].grad_fn is None


def test_jacobian_and_hvp_against_finite_differences() -> None:
    grad_fd = _fd_grad(lambda x: _np_f(x, B), A)
    g, value = grad_and_value(_gw_f)(_t(A), _t(B))
    np.testing.assert_allclose(g.numpy(), grad_fd, rtol=1e-6)
    assert value.item() == pytest.approx(_np_f(A, B))
    # H v by finite differences of the analytic gradient cos(x) y + 2 x y
    an_grad = lambda x: np.cos(x) * B + 2 * x * B  # noqa: E731
    h = 1e-6
    hv_fd = (an_grad(A + h * V) - an_grad(A - h * V)) / (2 * h)
    _, hv = AF.hvp(lambda x: _gw_f(x, _t(B)), _t(A), _t(V))
    np.testing.assert_allclose(hv.numpy(), hv_fd, rtol=1e-6)


def test_create_graph_gives_differentiable_results() -> None:
    x = _t(A).requires_grad_()
    _, g = AF.vjp(lambda t: (t ** 3).sum(), x, create_graph=True)
    g.sum().backward()           # d/dx sum(3 x^2) = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 6 * A)


def test_bad_inputs_and_v() -> None:
    with pytest.raises(TransformError, match="inputs must be a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda x: x, [1.0, 2.0])
    with pytest.raises(TransformError, match="v can only be omitted"):
        AF.vjp(lambda x: x * 2, _t(A))
    with pytest.raises(TransformError, match="v must match"):
        AF.jvp(lambda x: x * 2, _t(A), gw.ones(2, dtype=gw.float64))


def test_grad_and_value_has_aux() -> None:
    g, (value, aux) = grad_and_value(lambda x: ((x ** 2).sum(), "aux"), has_aux=True)(_t(A))
    np.testing.assert_allclose(g.numpy(), 2 * A)
    assert aux == "aux" and value.item() == pytest.approx(float((A ** 2).sum()))


def test_shim_resolves_torch_autograd_functional_and_version() -> None:
    from gradwise.torch_compat.shim import torch_shim

    with torch_shim():
        import torch
        import torch.autograd.functional as taf

        assert taf.hessian is AF.hessian and torch.autograd.functional.jvp is AF.jvp
        assert torch.func.grad_and_value is grad_and_value
        assert torch.version.cuda is None and torch.version.__version__.startswith("2.0.0+gradwise")
        assert torch.utils.data.get_worker_info() is None
        assert isinstance(torch.zeros(2).dtype, torch.dtype) and torch.finfo(torch.float32).bits == 32
