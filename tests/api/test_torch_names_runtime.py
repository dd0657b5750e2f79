"""PyTorch's runtime names: isnan & co., numel, clamp_min/max, thread counts, finfo/iinfo, dtype."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise.errors import DtypeError

VALUES = [1.0, float("nan"), float("inf"), -float("inf"), -0.0, 3.5]


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal"])
def test_tests_match_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    x = gw.tensor(VALUES, dtype=gw.float64)
    ours_fn, ours_m = getattr(gw, name)(x), getattr(x, name)()
    theirs = getattr(torch, name)(torch.tensor(VALUES, dtype=torch.float64))
    assert ours_fn.dtype == gw.bool and not ours_fn.requires_grad
    assert ours_fn.tolist() == ours_m.tolist() == theirs.tolist()


def test_tests_on_requires_grad_have_no_history() -> None:
    x = gw.tensor(VALUES, requires_grad=True)
    assert x.isnan().grad_fn is None and not x.isfinite().requires_grad


def test_isposinf_refuses_complex() -> None:
    z = gw.tensor(np.array([1 + 1j]))
    with pytest.raises(DtypeError, match="isposinf: complex"):
        gw.isposinf(z)
    assert gw.isreal(gw.tensor(np.array([1 + 0j, 1 + 2j]))).tolist() == [True, False]


def test_numel() -> None:
    torch = pytest.importorskip("torch")
    assert gw.numel(gw.zeros(2, 3, 4)) == torch.numel(torch.zeros(2, 3, 4)) == 24
    with pytest.raises(TypeError, match="numel"):
        gw.numel([1, 2])


def test_clamp_min_max_values_and_gradients() -> None:
    torch = pytest.importorskip("torch")
    data = np.array([-2.0, -0.3, 0.4, 1.7])
    x = gw.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    np.testing.assert_allclose(x.clamp_min(0.0).detach().numpy(), t.clamp_min(0.0).detach().numpy())
    np.testing.assert_allclose(gw.clamp_max(x, 1.0).detach().numpy(), torch.clamp_max(t, 1.0).detach().numpy())
    (x.clamp_min(0.0) * x.clamp_max(1.0)).sum().backward()
    # finite differences (central, float64), away from the kinks
    f = lambda a: float((np.maximum(a, 0.0) * np.minimum(a, 1.0)).sum())  # noqa: E731
    h = 1e-6
    fd = [(f(data + h * e) - f(data - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(x.grad.numpy(), fd, atol=1e-6)
    y = gw.tensor([-1.0, 5.0])
    assert y.clamp_min_(0.0) is y and y.clamp_max_(2.0).tolist() == [0.0, 2.0]


def test_num_threads() -> None:
    pytest.importorskip("threadpoolctl")
    before = gw.get_num_threads()
    try:
        gw.set_num_threads(1)
        assert gw.get_num_threads() == 1
    finally:
        gw.set_num_threads(before)
    with pytest.raises(ValueError, match="set_num_threads: .* int >= 1, got 0"):
        gw.set_num_threads(0)


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = gw.finfo(getattr(gw, name)), torch.finfo(getattr(torch, name))
    for attr in ("eps", "max", "min", "tiny", "bits"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert gw.finfo().dtype == gw.get_default_dtype()
    with pytest.raises(DtypeError, match="finfo: int64 is not a floating dtype"):
        gw.finfo(gw.int64)


@pytest.mark.parametrize("name", ["int8", "uint8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = gw.iinfo(getattr(gw, name)), torch.iinfo(getattr(torch, name))
    assert (ours.min, ours.max, ours.bits) == (theirs.min, theirs.max, theirs.bits)
    with pytest.raises(DtypeError, match="iinfo: float32 is not an integer"):
        gw.iinfo(gw.float32)


def test_dtype_is_the_type_of_dtypes() -> None:
    x = gw.zeros(2)
    assert isinstance(x.dtype, gw.dtype) and isinstance(gw.int64, gw.dtype)
    assert not isinstance("float32", gw.dtype)
