"""The fast paths of the op table against their reference forms.

Convolution (im2col as one batched GEMM, col2im), max pooling (a running maximum over
taps, a tap-by-tap scatter), the fused LSTM layer (in-place NumPy backward through
time), linear/matmul (GEMM orientation, batch folding), cross-entropy coefficients,
sum_to and sigmoid each agree with a plain re-implementation or with the slower path
they replace.  Gradients of every op are also checked by tests/ops/test_op_table.py.
"""

from __future__ import annotations

import gc
import itertools

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd.backends import array_backend
from gradwise.errors import DtypeError, ShapeError
from gradwise.ops.broadcast import _sum_to
from gradwise.ops.conv import _conv, _conv_transpose, _conv_weight
from gradwise.ops.matmul import _linear, _matmul
from gradwise.ops.network import cross_entropy_coefficients
from gradwise.ops.pooling import _max_pool, _max_pool_scatter, _max_windows, max_pool_scatter_reference, prepare_pool
from gradwise.ops.recurrent import _lstm_layer, _lstm_layer_grads_arrays, lstm_layer_grads_reference
from gradwise.ops.registry import JointGrads, Later

rng = np.random.default_rng(0)


# ----------------------------------------------------------------------------- convolution
def _attrs(x_hw, kernel, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    return {"stride": stride, "pad": pad, "dilation": dilation, "groups": groups, "in_hw": x_hw, "kernel": kernel}


def _conv_loops(x, w, a):
    # Plain loops over output positions and kernel taps.
    (sh, sw), (dh, dw), g = a["stride"], a["dilation"], a["groups"]
    p = a["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[1]), (p[2], p[3])))
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    og = o // g
    out = np.zeros((n, o, ho, wo))
    for oc, i, j in itertools.product(range(o), range(kh), range(kw)):
        grp = oc // og
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
        patch = xp[:, grp * cg:(grp + 1) * cg, rows, cols]
        out[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, i, j])
    return out


CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), _attrs((7, 6), (3, 3))),
    ((2, 4, 8, 7), (6, 2, 3, 2), _attrs((8, 7), (3, 2), stride=(2, 1), pad=(1, 2, 0, 1), dilation=(1, 2), groups=2)),
    ((1, 2, 9, 9), (3, 2, 2, 2), _attrs((9, 9), (2, 2), stride=(3, 3))),
    # many channels on few output positions: conv_weight folds the batch into one GEMM
    ((3, 4, 3, 3), (16, 4, 2, 2), _attrs((3, 3), (2, 2))),
    ((2, 4, 3, 3), (16, 2, 2, 2), _attrs((3, 3), (2, 2), groups=2)),
]


@pytest.mark.parametrize("xs,ws,a", CONV_CASES)
def test_conv_and_its_adjoints_match_loops(xs, ws, a):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    y = _conv(x, w, **a)
    assert np.allclose(y, _conv_loops(x, w, a))
    # The two adjoints by the defining identities <conv(x, w), g> = <x, conv_T(g, w)> = <w, conv_W(x, g)>,
    # checked entry by entry against the loop reference (conv of unit vectors).
    g = rng.standard_normal(y.shape)
    gx = _conv_transpose(g, w, **a)
    gw_ = _conv_weight(x, g, **a)
    assert gx.shape == x.shape and gw_.shape == w.shape
    for idx in [tuple(rng.integers(0, s) for s in xs) for _ in range(5)]:
        e = np.zeros(xs)
        e[idx] = 1.0
        assert np.isclose(gx[idx], np.sum(_conv_loops(e, w, a) * g))
    for idx in [tuple(rng.integers(0, s) for s in ws) for _ in range(5)]:
        e = np.zeros(ws)
        e[idx] = 1.0
        assert np.isclose(gw_[idx], np.sum(_conv_loops(x, e, a) * g))


def test_conv_keeps_float32_and_contiguous_nchw():
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    a = _attrs((6, 6), (3, 3), pad=(1, 1, 1, 1))
    y = _conv(x, w, **a)
    assert y.dtype == np.float32 and y.flags.c_contiguous and y.shape == (2, 4, 6, 6)
    assert _conv_transpose(y, w, **a).dtype == np.float32
    assert _conv_weight(x, y, **a).dtype == np.float32


# ----------------------------------------------------------------------------- max pooling
POOL_CASES = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 1, 1, 1, False), (2, 2, 0, 2, True),
    ((2, 3), (1, 2), (1, 1), 1, True),
]


@pytest.mark.parametrize("k,s,p,d,ceil", POOL_CASES)
def test_max_pool_taps_match_windows_and_argmax_scatter(k, s, p, d, ceil):
    # Small integers: many ties, including whole windows of equal values (ReLU zeros).
    x = rng.integers(0, 3, size=(2, 3, 9, 8)).astype(np.float64)
    a = prepare_pool("max_pool2d", x, k, s, p, d, ceil)
    out = _max_pool(x, **a)
    assert np.array_equal(out, _max_windows(x, **a).max(axis=-1))
    g = rng.standard_normal(out.shape)
    assert np.allclose(_max_pool_scatter(g, x, out, **a), max_pool_scatter_reference(g, x, **a))


def test_max_pool_nan_windows_take_the_reference_path_and_match_it():
    x = rng.standard_normal((1, 2, 6, 6))
    x[0, 1, 2, 3] = np.nan
    a = prepare_pool("max_pool2d", x, 2, None, 0, 1, False)
    out = _max_pool(x, **a)
    assert np.isnan(out[0, 1, 1, 1]) and np.isfinite(out[0, 0]).all()     # NaN propagates, as in PyTorch
    g = rng.standard_normal(out.shape)
    got = _max_pool_scatter(g, x, out, **a)
    assert np.allclose(got, max_pool_scatter_reference(g, x, **a)) and got[0, 1, 2, 3] == g[0, 1, 1, 1]


def test_max_pool_gradient_goes_to_the_first_maximum_like_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]]])
    xg = gw.tensor(x, requires_grad=True)
    gw.max_pool2d(xg, 2, stride=1).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(xt, 2, stride=1).sum().backward()
    assert np.array_equal(xg.grad.numpy(), xt.grad.numpy())


# ----------------------------------------------------------------------------- fused LSTM layer
def _lstm_inputs(t_len=4, n=3, n_in=5, hd=4, bias=True, dtype=np.float64):
    r = np.random.default_rng(1)
    args = [r.standard_normal((t_len, n, n_in)), 0.5 * r.standard_normal((n, hd)), 0.5 * r.standard_normal((n, hd)),
            0.5 * r.standard_normal((4 * hd, n_in)), 0.5 * r.standard_normal((4 * hd, hd))]
    args += [0.5 * r.standard_normal(4 * hd), 0.5 * r.standard_normal(4 * hd)] if bias else [None, None]
    return [None if a is None else a.astype(dtype) for a in args]


def _lstm_steps(x, h, c, w_ih, w_hh, b_ih, b_hh):
    # PyTorch's equations, one step at a time.
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    hd = h.shape[1]
    out = []
    for xt in x:
        a = xt @ w_ih.T + h @ w_hh.T + (0 if b_ih is None else b_ih + b_hh)
        i, f, g, o = sig(a[:, :hd]), sig(a[:, hd:2 * hd]), np.tanh(a[:, 2 * hd:3 * hd]), sig(a[:, 3 * hd:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append((i, f, g, o, c, h))
    return np.array(out).transpose(1, 0, 2, 3)            # (6, T, N, H)


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_layer_forward_packs_every_gate_and_state(bias):
    args = _lstm_inputs(bias=bias)
    assert np.allclose(_lstm_layer(*args), _lstm_steps(*args), atol=1e-12)


@pytest.mark.parametrize("bias,gate_grads", [(True, False), (True, True), (False, False)])
def test_lstm_layer_array_backward_matches_the_reference_rules(bias, gate_grads):
    args = _lstm_inputs(bias=bias)
    out = _lstm_layer(*args)
    g = np.zeros_like(out)
    g[5] = rng.standard_normal(g[5].shape)          # every hidden state
    g[4, -1] = rng.standard_normal(g[4, -1].shape)   # the last cell state only (c_n)
    if gate_grads:
        g[:4] = rng.standard_normal(g[:4].shape)
    fast = [v.fn() if isinstance(v, Later) else v for v in _lstm_layer_grads_arrays(g, out, *args)]
    ref = lstm_layer_grads_reference(array_backend(), g, out, *args)
    for k, (a, b) in enumerate(zip(fast, ref)):
        if args[k] is None:
            continue
        assert a.shape == args[k].shape and np.allclose(a, b, atol=1e-12), k


def test_lstm_layer_keeps_float32():
    args = _lstm_inputs(dtype=np.float32)
    out = _lstm_layer(*args)
    assert out.dtype == np.float32
    grads = _lstm_layer_grads_arrays(np.ones_like(out), out, *args)
    assert all((v.fn() if isinstance(v, Later) else v).dtype == np.float32 for v in grads)


# ----------------------------------------------------------------------------- joint rules
def test_joint_grads_compute_once_per_backward_step_and_forget_after():
    calls = []

    def compute(b, g, out, x, y):
        calls.append(1)
        return g * 2.0, Later(lambda: g * 3.0)

    joint = JointGrads(compute, 2)
    rules = joint.rules
    g = np.ones(3)
    assert np.array_equal(rules[0](None, g, None, 1, 2), 2 * g) and np.array_equal(rules[1](None, g, None, 1, 2), 3 * g)
    assert len(calls) == 1                                 # shared by both inputs
    g2 = np.full(3, 5.0)
    assert np.array_equal(rules[1](None, g2, None, 1, 2), 3 * g2) and len(calls) == 2
    assert joint._key is not None
    del g2
    gc.collect()
    assert joint._key is None and joint._value == []      # released with its gradient


# ----------------------------------------------------------------------------- linear and matmul
@pytest.mark.parametrize("m,k,n", [(4, 80, 9), (9, 80, 4), (3, 8, 12), (5, 64, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_orientations_match_the_definition(m, k, n, bias):
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32) if bias else None
    got = _linear(x, w, b)
    ref = x.astype(np.float64) @ w.T.astype(np.float64) + (0 if b is None else b)
    assert got.dtype == np.float32 and got.flags.c_contiguous and np.allclose(got, ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(DtypeError, match="mat1 and mat2 must have the same dtype, but got Double and Float"):
        _linear(x.astype(np.float64), w, b)                            # no promotion, as in torch


def test_matmul_folds_a_stack_times_a_matrix():
    a = rng.standard_normal((3, 4, 5, 6))
    b = rng.standard_normal((6, 2))
    assert np.allclose(_matmul(a, b), np.matmul(a, b))
    strided = a[:, ::2]                                 # not contiguous: folded through one copy
    assert np.allclose(_matmul(strided, b), np.matmul(strided, b))
    with pytest.raises(ShapeError, match="inner dimensions disagree"):
        _matmul(rng.standard_normal((2, 3)), rng.standard_normal((4, 5)))


def test_sum_to_matches_numpy():
    x = rng.standard_normal((2, 3, 4))
    assert np.allclose(_sum_to(x, (4,)), x.sum(axis=(0, 1)))
    assert np.allclose(_sum_to(x, (3, 1)), x.sum(axis=(0, 2)).reshape(3, 1))
    assert _sum_to(x, (2, 3, 4)) is x


# ----------------------------------------------------------------------------- cross-entropy, sigmoid
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_coefficients_fast_path_matches_the_general_one(reduction):
    t = rng.integers(0, 5, size=7)
    fast = cross_entropy_coefficients((7, 5), np.dtype(np.float32), t, None, -100, reduction, 0.0)
    general = cross_entropy_coefficients((7, 5), np.dtype(np.float32), t, np.ones(5), -100, reduction, 0.0)
    assert fast.dtype == np.float32 and np.allclose(fast, general)
    # an ignore_index inside the class range takes the general path and zeroes those rows
    c = cross_entropy_coefficients((7, 5), np.dtype(np.float64), t, None, int(t[0]), reduction, 0.0)
    assert np.all(c[t == t[0]] == 0)


def test_sigmoid_dtypes_and_extremes():
    x = np.array([-1000.0, -80.0, 0.0, 30.0, 1000.0])
    s = gw.sigmoid(gw.tensor(x)).numpy()
    assert s[0] == 0.0 and s[2] == 0.5 and s[4] == 1.0 and s[1] == pytest.approx(np.exp(-80.0), rel=1e-12)
    assert gw.sigmoid(gw.tensor(x.astype(np.float32))).dtype == gw.float32
    with np.errstate(all="raise"):                       # no warning escapes for overflowing exp(-x)
        gw.sigmoid(gw.tensor(np.array([-1e4], dtype=np.float32)))
