"""Recurrent layers: gradients through time (float64 gradcheck over 6 steps), shapes, PyTorch oracle."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn

rng = np.random.default_rng(0)


def _double(m):
    for p in m.parameters():
        p.data = p.data.double()
    return m


@pytest.mark.parametrize("cls,kw", [(nn.RNN, {}), (nn.RNN, {"nonlinearity": "relu"}), (nn.LSTM, {}), (nn.GRU, {})])
def test_gradients_through_six_time_steps(cls, kw):
    m = _double(cls(2, 3, num_layers=2, batch_first=True, generator=gw.Generator().manual_seed(1), **kw))
    x = gw.tensor(rng.standard_normal((2, 6, 2)), requires_grad=True)

    def f(inp, *params):
        out, state = m(inp)
        h = state[0] if isinstance(state, tuple) else state
        return out.sum() + (h * h).sum()

    assert gw.gradcheck(f, (x, *m.parameters()), atol=1e-6, rtol=1e-5)


def test_shapes_initial_state_and_unbatched():
    lstm = nn.LSTM(3, 4, num_layers=2)
    h0, c0 = gw.zeros(2, 5, 4), gw.ones(2, 5, 4)
    out, (h, c) = lstm(gw.randn(7, 5, 3), (h0, c0))
    assert out.shape == (7, 5, 4) and h.shape == (2, 5, 4) and c.shape == (2, 5, 4)
    out, h = nn.GRU(3, 4)(gw.randn(7, 3))
    assert out.shape == (7, 4) and h.shape == (1, 4)
    names = [n for n, _ in nn.RNN(3, 4, num_layers=2).named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                     "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    with pytest.raises(ValueError, match=r"RNN\(input_size=3\) expects input .* got \(7, 5, 2\)"):
        nn.RNN(3, 4)(gw.randn(7, 5, 2))


def test_vanishing_gradient_through_time_is_visible():
    # tanh RNN with small recurrent weights: the gradient w.r.t. early inputs shrinks geometrically
    rnn = _double(nn.RNN(1, 8, generator=gw.Generator().manual_seed(0)))
    with gw.no_grad():
        rnn.weight_hh_l0.mul_(0.3)
    x = gw.tensor(rng.standard_normal((30, 1, 1)), requires_grad=True)
    out, _ = rnn(x)
    out[-1].sum().backward()
    g = np.abs(x.grad.numpy().reshape(-1))
    assert g[0] < 1e-6 * g[-1]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    g = _double(getattr(nn, name)(3, 4, num_layers=2, batch_first=True))
    t = getattr(torch.nn, name)(3, 4, num_layers=2, batch_first=True).double()
    for n, p in g.named_parameters():
        getattr(t, n).data = torch.tensor(p.detach().numpy().copy())
    x = rng.standard_normal((2, 5, 3))
    go, _ = g(gw.tensor(x))
    to, _ = t(torch.tensor(x))
    assert np.allclose(go.detach().numpy(), to.detach().numpy(), atol=1e-12)
