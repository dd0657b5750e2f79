"""Layer- and optimizer-level fast paths against their reference forms: the fused LSTM layer
against the same layer run one step at a time on composite ops, and the in-place SGD
update against the out-of-place one."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn

rng = np.random.default_rng(3)


def _double(m):
    for p in m.parameters():
        p.data = p.data.double()
    return m


def _stepwise(lstm, x, h0, c0):
    """The LSTM through its per-step composite cell (chunk, sigmoid, tanh, products: one node each)."""
    hs, cs = [], []
    for k in range(lstm.num_layers):
        w_ih, w_hh, b_ih, b_hh = lstm._layer_params(k)
        h, c = h0[k], c0[k]
        outs = []
        for t in range(x.shape[0]):
            h, c = lstm._cell(nn.functional.linear(x[t], w_ih, b_ih), (h, c), w_hh, b_hh)
            outs.append(h)
        x = gw.stack(outs, 0)
        hs.append(h)
        cs.append(c)
    return x, gw.stack(hs, 0), gw.stack(cs, 0)


@pytest.mark.parametrize("bias", [True, False])
def test_fused_lstm_matches_the_stepwise_composite(bias):
    lstm = _double(nn.LSTM(3, 4, num_layers=2, bias=bias, generator=gw.Generator().manual_seed(0)))
    x = gw.tensor(rng.standard_normal((5, 2, 3)), requires_grad=True)
    h0 = gw.tensor(0.3 * rng.standard_normal((2, 2, 4)), requires_grad=True)
    c0 = gw.tensor(0.3 * rng.standard_normal((2, 2, 4)), requires_grad=True)
    weights = [rng.standard_normal(s) for s in ((5, 2, 4), (2, 2, 4), (2, 2, 4))]

    def grads(run):
        for t in (x, h0, c0, *lstm.parameters()):
            t.grad = None
        out, h_n, c_n = run()
        loss = (out * gw.tensor(weights[0])).sum() + (h_n * gw.tensor(weights[1])).sum() \
            + (c_n * gw.tensor(weights[2])).sum()
        loss.backward()
        values = [out.detach().numpy(), h_n.detach().numpy(), c_n.detach().numpy()]
        return values + [t.grad.numpy() for t in (x, h0, c0, *lstm.parameters())]

    def fused():
        out, (h_n, c_n) = lstm(x, (h0, c0))
        return out, h_n, c_n

    for a, b in zip(grads(fused), grads(lambda: _stepwise(lstm, x, h0, c0))):
        assert np.allclose(a, b, atol=1e-12)


def test_fused_lstm_batch_first_unbatched_and_dropout():
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5, generator=gw.Generator().manual_seed(1))
    out, (h, c) = lstm(gw.randn(2, 6, 3))
    assert out.shape == (2, 6, 4) and h.shape == (2, 2, 4) and c.shape == (2, 2, 4)
    assert np.allclose(out.detach().numpy()[:, -1], h.detach().numpy()[-1])
    out, (h, c) = lstm(gw.randn(6, 3))
    assert out.shape == (6, 4) and h.shape == (2, 4)


def test_fused_lstm_second_derivatives():
    # create_graph runs the reference backward on recorded ops: gradgradcheck in float64
    lstm = _double(nn.LSTM(2, 2, generator=gw.Generator().manual_seed(2)))
    x = gw.tensor(rng.standard_normal((3, 1, 2)), requires_grad=True)
    assert gw.gradgradcheck(lambda inp: lstm(inp)[0], (x,), atol=1e-6, rtol=1e-5)


def test_sgd_in_place_update_matches_the_formula_and_moves_the_version():
    p = nn.Parameter(gw.tensor(rng.standard_normal(5).astype(np.float32)))
    start = p.detach().numpy().copy()
    opt = gw.optim.SGD([p], lr=0.1, momentum=0.9)
    buf = np.zeros(5, dtype=np.float32)
    for step in range(3):
        g = rng.standard_normal(5).astype(np.float32)
        p.grad = gw.tensor(g)
        version = p._version[0] if p._version else 0
        data = p.detach().numpy()
        opt.step()
        buf = g if step == 0 else 0.9 * buf + g
        start = start - np.float32(0.1) * buf
        assert p.detach().numpy() is data and p._version[0] == version + 1      # in place, version moved
        assert np.allclose(p.detach().numpy(), start, rtol=1e-6)


def test_sgd_falls_back_for_read_only_arrays_and_other_dtypes():
    p = nn.Parameter(gw.tensor(np.ones(3, dtype=np.float32)))
    p.detach().numpy().flags.writeable = False
    p.grad = gw.tensor(np.full(3, 2.0, dtype=np.float64))
    gw.optim.SGD([p], lr=0.5).step()
    assert p.dtype == gw.float32 and np.allclose(p.detach().numpy(), 0.0)
