"""nn.functional.interpolate and nn.Upsample: values and gradients against PyTorch, gradients by
float64 finite differences, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.nn import functional as F

rng = np.random.default_rng(11)

# (input shape, mode, size, scale_factor, align_corners)
CASES = [
    ((2, 3, 5), "nearest", 9, None, None),
    ((2, 3, 5), "nearest", None, 1.7, None),
    ((2, 3, 7), "nearest", 3, None, None),
    ((1, 2, 4, 5), "nearest", (7, 3), None, None),
    ((1, 2, 4, 5), "nearest", None, (2, 0.6), None),
    ((1, 2, 3, 4, 2), "nearest", None, 2, None),
    ((1, 2, 3, 4, 2), "nearest", (5, 3, 4), None, None),
    ((1, 2, 5, 6), "nearest-exact", (7, 4), None, None),
    ((2, 3, 5), "linear", 8, None, False),
    ((2, 3, 5), "linear", 8, None, True),
    ((2, 3, 5), "linear", None, 1.5, False),
    ((2, 3, 5), "linear", None, 2.5, True),
    ((2, 3, 7), "linear", 3, None, False),
    ((2, 3, 5), "linear", 1, None, True),
    ((1, 2, 4, 5), "bilinear", (7, 9), None, False),
    ((1, 2, 4, 5), "bilinear", (7, 9), None, True),
    ((1, 2, 4, 5), "bilinear", None, 2, False),
    ((1, 2, 4, 5), "bilinear", None, (0.5, 1.3), False),
    ((1, 2, 6, 5), "bilinear", (3, 2), None, True),
    ((1, 1, 3, 4, 2), "trilinear", (4, 5, 3), None, False),
]


@pytest.mark.parametrize("shape,mode,size,scale,corners", CASES)
def test_values_and_gradients_match_torch(shape, mode, size, scale, corners):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    xg = gw.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yg = F.interpolate(xg, size=size, scale_factor=scale, mode=mode, align_corners=corners)
    yt = torch.nn.functional.interpolate(xt, size=size, scale_factor=scale, mode=mode, align_corners=corners)
    assert yg.shape == tuple(yt.shape)
    assert np.allclose(yg.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    w = rng.standard_normal(yg.shape)
    (yg * gw.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert np.allclose(xg.grad.numpy(), xt.grad.numpy(), atol=1e-12)


def test_float32_matches_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
    for mode, corners in (("bilinear", False), ("bilinear", True), ("nearest", None)):
        yg = F.interpolate(gw.tensor(x), scale_factor=1.5, mode=mode, align_corners=corners)
        yt = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.5, mode=mode, align_corners=corners)
        assert yg.dtype == gw.float32 and np.allclose(yg.numpy(), yt.numpy(), atol=1e-5)


@pytest.mark.parametrize("mode,corners", [("linear", False), ("linear", True), ("bilinear", False),
                                          ("bilinear", True), ("nearest", None)])
def test_gradients_by_finite_differences(mode, corners):
    shape = (1, 2, 4) if mode == "linear" else (1, 2, 3, 4)
    size = 7 if mode == "linear" else (5, 6)
    if mode == "nearest":
        shape, size = (1, 2, 3, 4), (5, 3)
    x = gw.tensor(rng.standard_normal(shape), requires_grad=True)
    w = gw.tensor(rng.standard_normal((1, 2) + ((size,) if isinstance(size, int) else size)))

    def f(inp):
        return (F.interpolate(inp, size=size, mode=mode, align_corners=corners) * w).sum()

    assert gw.gradcheck(f, (x,), atol=1e-7, rtol=1e-6)


def test_upsample_modules_match_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 3, 4))
    pairs = [(nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Upsample(scale_factor=2, mode="bilinear")),
             (nn.Upsample(size=(5, 7)), torch.nn.Upsample(size=(5, 7))),
             (nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)),
             (nn.UpsamplingNearest2d(size=6), torch.nn.UpsamplingNearest2d(size=6))]
    for g, t in pairs:
        assert repr(g) == repr(t)
        assert np.allclose(g(gw.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), atol=1e-12)
    assert list(nn.Upsample(scale_factor=2).parameters()) == []


def test_output_is_a_new_tensor_even_at_the_same_size():
    x = gw.randn(1, 1, 3)
    y = F.interpolate(x, size=3)
    assert y is not x and np.array_equal(y.numpy(), x.numpy())


@pytest.mark.parametrize("kwargs,match", [
    ({"size": 4, "mode": "bicubic"}, "mode='bicubic' is not supported; choose one of"),
    ({"size": 4, "mode": "linear"}, "got 4D input, but linear mode needs 3D input"),
    ({"size": (4, 4), "mode": "trilinear"}, "trilinear mode needs 5D input"),
    ({"size": 4, "align_corners": True}, "align_corners option can only be set with the interpolating modes"),
    ({}, "exactly one of size or scale_factor"),
    ({"size": 4, "scale_factor": 2}, "exactly one of size or scale_factor"),
    ({"size": (4, 4, 4)}, r"size \(4, 4, 4\) must have one entry per spatial dimension \(2"),
    ({"scale_factor": -1.0}, "scale_factor must be positive"),
    ({"size": 0}, "must all be positive"),
])
def test_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        F.interpolate(gw.zeros(1, 1, 3, 3), **kwargs)


def test_input_rank_error():
    with pytest.raises(ValueError, match=r"interpolate: input must be \(N, C, W\).*got 2-D"):
        F.interpolate(gw.zeros(3, 3), size=4)


def test_dtype_and_recompute_errors_and_integer_nearest():
    with pytest.raises(TypeError, match="linear mode needs a floating-point input, got int64"):
        F.interpolate(gw.zeros(1, 1, 3, dtype=gw.int64), size=5, mode="linear")
    with pytest.raises(ValueError, match="recompute_scale_factor is not meaningful with an explicit size"):
        F.interpolate(gw.zeros(1, 1, 3), size=5, recompute_scale_factor=True)
    y = F.interpolate(gw.tensor([[[1, 2, 3]]]), scale_factor=2)
    assert y.dtype == gw.int64 and y.tolist() == [[[1, 1, 2, 2, 3, 3]]]


def test_recompute_scale_factor_matches_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 5, 7))
    for recompute in (None, False, True):
        yg = F.interpolate(gw.tensor(x), scale_factor=1.7, mode="bilinear", recompute_scale_factor=recompute)
        yt = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.7, mode="bilinear",
                                             recompute_scale_factor=recompute)
        assert np.allclose(yg.numpy(), yt.numpy(), atol=1e-12)
