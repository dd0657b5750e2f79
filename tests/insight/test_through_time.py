"""gradient_through_time: d loss / d h_t of recurrent layers against backpropagation through
time written out in NumPy, the vanishing of a tanh RNN over 50 steps, an LSTM whose forget
gates are open, the input layouts, and the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight import MonitorError, MonitorTypeError, Thresholds, gradient_through_time


def numpy_bptt(rnn, x, loss="last"):
    """||dL/dh_t|| for a one-layer tanh RNN with L = sum(h_T) (``"last"``) or sum_t sum(h_t) (``"all"``)."""
    w_ih = rnn.weight_ih_l0.detach().numpy().astype(np.float64)
    w_hh = rnn.weight_hh_l0.detach().numpy().astype(np.float64)
    b = rnn.bias_ih_l0.detach().numpy().astype(np.float64) + rnn.bias_hh_l0.detach().numpy().astype(np.float64)
    xs = np.asarray(x.detach().numpy(), np.float64)
    h = np.zeros((xs.shape[1], w_hh.shape[0]))
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ w_ih.T + h @ w_hh.T + b)
        hs.append(h)
    direct = np.ones_like(h)
    g = direct.copy()                                  # dL/dh_T
    norms = [np.linalg.norm(g)]
    for t in range(len(hs) - 1, 0, -1):
        # h_t = tanh(... + h_{t-1} W_hh^T): dL/dh_{t-1} = (dL/dh_t * (1 - h_t^2)) W_hh (+ direct term)
        g = (g * (1.0 - hs[t] ** 2)) @ w_hh + (direct if loss == "all" else 0.0)
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


def test_tanh_rnn_gradient_vanishes_through_50_steps():
    rnn = nn.RNN(4, 32, dtype=gw.float64, generator=gw.Generator().manual_seed(0))
    x = gw.randn(50, 8, 4, dtype=gw.float64, generator=gw.Generator().manual_seed(1))
    tg = gradient_through_time(rnn, x)
    oracle = numpy_bptt(rnn, x)
    np.testing.assert_allclose(tg.grad_norms, oracle, rtol=1e-9)
    assert tg.grad_norms.shape == (50,) and tg.steps == 50 and tg.kind == "RNN"
    assert tg.cell_grad_norms is None
    assert tg.first_to_last_ratio == pytest.approx(oracle[0] / oracle[-1], rel=1e-9)
    assert tg.first_to_last_ratio < 1e-8                      # orders of magnitude
    assert tg.decay_per_step == pytest.approx(tg.first_to_last_ratio ** (1 / 49), rel=1e-9)
    assert tg.decay_per_step < 0.7
    assert tg.verdict == "vanishing"
    expected_memory = 50 - 1 - int(np.nonzero(oracle < 1e-3 * oracle[-1])[0][-1])
    assert tg.memory_steps == expected_memory < 20
    assert any("LSTM" in a for a in tg.advice)
    # no side effect on the model's gradients
    assert all(p.grad is None for p in rnn.parameters())


def test_custom_loss_over_every_step():
    rnn = nn.RNN(3, 16, dtype=gw.float64, generator=gw.Generator().manual_seed(2))
    x = gw.randn(20, 5, 3, dtype=gw.float64, generator=gw.Generator().manual_seed(3))
    tg = gradient_through_time(rnn, x, loss_fn=lambda states: states.sum())
    np.testing.assert_allclose(tg.grad_norms, numpy_bptt(rnn, x, loss="all"), rtol=1e-9)
    assert tg.verdict == "healthy"      # every step gets a direct gradient from its own term


def test_stepping_reproduces_the_full_sequence_forward():
    # gradient_through_time runs the layer one step at a time; the states must be the module's own
    for cls in (nn.RNN, nn.GRU, nn.LSTM):
        m = cls(3, 6, num_layers=2, dtype=gw.float64, generator=gw.Generator().manual_seed(4))
        x = gw.randn(7, 2, 3, dtype=gw.float64, generator=gw.Generator().manual_seed(5))
        full, _ = m(x)
        seen = []
        gradient_through_time(m, x, loss_fn=lambda states, seen=seen: seen.append(states) or states.sum())
        np.testing.assert_allclose(seen[0].detach().numpy(), full.detach().numpy(), rtol=1e-12)


def test_lstm_with_open_forget_gates_keeps_its_gradient():
    x = gw.randn(50, 8, 4, generator=gw.Generator().manual_seed(1))
    lstm = nn.LSTM(4, 32, generator=gw.Generator().manual_seed(0))
    default = gradient_through_time(lstm, x)
    assert default.verdict == "vanishing"                    # forget gates start at sigmoid(0) = 1/2
    assert any("forget-gate bias" in a for a in default.advice)
    with gw.no_grad():
        lstm.bias_ih_l0[32:64] = 1.5
        lstm.bias_hh_l0[32:64] = 1.5
    tg = gradient_through_time(lstm, x)
    assert tg.verdict == "healthy" and tg.advice == ()
    assert tg.first_to_last_ratio > 1e-2 and tg.memory_steps == 50
    assert tg.cell_grad_norms.shape == (50,) and tg.cell_grad_norms[-1] == 0.0
    assert np.all(tg.cell_grad_norms[:-1] > 0)
    rnn = gradient_through_time(nn.RNN(4, 32, generator=gw.Generator().manual_seed(0)), x)
    assert tg.first_to_last_ratio > 1e6 * rnn.first_to_last_ratio


def test_exploding_recurrence():
    rnn = nn.RNN(2, 16, nonlinearity="relu", dtype=gw.float64, generator=gw.Generator().manual_seed(0))
    with gw.no_grad():
        rnn.weight_hh_l0.copy_(gw.eye(16, dtype=gw.float64) * 1.5)
        rnn.bias_hh_l0.fill_(1.0)
    x = gw.randn(30, 4, 2, dtype=gw.float64, generator=gw.Generator().manual_seed(1))
    tg = gradient_through_time(rnn, x)
    # active relu units pass the recurrence unchanged: dL/dh_{t-1} = 1.5 dL/dh_t
    assert tg.first_to_last_ratio == pytest.approx(1.5 ** 29, rel=1e-9)
    assert tg.verdict == "exploding" and any("clip" in a for a in tg.advice)


def test_layouts_and_reporting():
    rnn = nn.RNN(4, 8, batch_first=True, generator=gw.Generator().manual_seed(0))
    x = gw.randn(3, 9, 4, generator=gw.Generator().manual_seed(1))
    batched = gradient_through_time(rnn, x)
    assert batched.grad_norms.shape == (9,)
    one = gradient_through_time(rnn, x[1:2])
    unbatched = gradient_through_time(rnn, x[1])
    np.testing.assert_allclose(unbatched.grad_norms, one.grad_norms, rtol=1e-5)
    strict = gradient_through_time(rnn, x, thresholds=Thresholds(vanishing_ratio=0.9))
    assert strict.verdict == "vanishing" and strict.thresholds.vanishing_ratio == 0.9
    data = json.loads(json.dumps(batched.to_dict(), allow_nan=False))
    assert data["kind"] == "RNN" and len(data["grad_norms"]) == 9
    text = str(batched)
    assert text.startswith("RNN gradient through time:") and "|dL/dh_t|" in text


def test_errors():
    with pytest.raises(MonitorTypeError, match="must be an nn.RNN, nn.LSTM or nn.GRU, got Linear"):
        gradient_through_time(nn.Linear(2, 2), gw.randn(3, 2))
    rnn = nn.RNN(4, 8)
    with pytest.raises(MonitorError, match=r"inputs must be a tensor of shape \(L, N, H_in\).*got \(4,\)"):
        gradient_through_time(rnn, gw.randn(4))
    with pytest.raises(MonitorError, match="no time steps"):
        gradient_through_time(rnn, gw.randn(0, 2, 4))
    with pytest.raises(MonitorError, match="loss_fn must return a scalar tensor"):
        gradient_through_time(rnn, gw.randn(5, 2, 4), loss_fn=lambda s: s)
    rnn.requires_grad_(False)
    with pytest.raises(MonitorError, match="do not require grad"):
        gradient_through_time(rnn, gw.randn(5, 2, 4), hx=gw.zeros(1, 2, 8))
    assert gradient_through_time(rnn, gw.randn(5, 2, 4)).steps == 5     # frozen weights: the leaf hx carries it
