"""Recurrent layers: ``RNN`` (tanh or relu), ``LSTM``, ``GRU`` with PyTorch's parameters,
gate order, initialisation U(-1/sqrt(hidden), 1/sqrt(hidden)), ``batch_first`` and stacked
layers.  Composites of table ops, so the gradient through time (where vanishing gradients
are taught) is the engine's, exact.

Equations (PyTorch's), per time step t and layer:

* RNN:  ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``
* LSTM: ``i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``;
  ``c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g)``, ``h_t = sigmoid(o) tanh(c_t)``
* GRU:  ``r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)``, ``z`` likewise,
  ``n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))``, ``h_t = (1 - z) n + z h_{t-1}``
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gradwise.api import functions as _ops
from gradwise.api.creation import empty, zeros
from gradwise.api.random import Generator
from gradwise.autograd.function import apply
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.nn import functional as F
from gradwise.nn import init
from gradwise.nn.module import Module
from gradwise.nn.parameter import Parameter
from gradwise.ops.recurrent import LSTM_LAYER


class _RNNBase(Module):
    _gates = 1
    # One time step, defined by each subclass (RNN and GRU carry h, LSTM carries (h, c)):
    # _cell(projected_input, state, w_hh, b_hh) -> new state.  Annotation only: no class value.
    _cell: Callable[..., Any]

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None, generator: Generator | None = None) -> None:
        super().__init__()
        if bidirectional:
            raise NotImplementedError(f"{type(self).__name__}: bidirectional=True is not supported yet; "
                                      "run a second layer on the time-reversed input (x.flip(0))")
        if not 0 <= dropout < 1:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        bound = 1.0 / math.sqrt(hidden_size)
        g = self._gates * hidden_size
        for k in range(num_layers):
            n_in = input_size if k == 0 else hidden_size
            names: list[tuple[str, tuple[int, ...]]] = [(f"weight_ih_l{k}", (g, n_in)),
                                                        (f"weight_hh_l{k}", (g, hidden_size))]
            if bias:
                names += [(f"bias_ih_l{k}", (g,)), (f"bias_hh_l{k}", (g,))]
            for name, shape in names:
                p = Parameter(empty(*shape, dtype=dtype))
                init.uniform_(p, -bound, bound, generator)
                setattr(self, name, p)

    def _layer_params(self, k: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        return (getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}"),
                getattr(self, f"bias_ih_l{k}", None), getattr(self, f"bias_hh_l{k}", None))

    def _prepare(self, x: Tensor, hx: Any) -> tuple[Tensor, bool, Any]:
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}(input_size={self.input_size}) expects input of shape "
                             f"{'(N, L, H_in)' if self.batch_first else '(L, N, H_in)'} or (L, H_in) with "
                             f"H_in={self.input_size}, got {format_shape(x.shape)}")
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, unbatched, hx

    def _initial(self, hx: Tensor | None, n: int, dtype: Any, unbatched: bool) -> Tensor:
        shape = (self.num_layers, n, self.hidden_size)
        if hx is None:
            return zeros(*shape, dtype=dtype)
        h = hx.unsqueeze(1) if unbatched else hx
        if tuple(h.shape) != shape:
            raise ShapeError(f"{type(self).__name__}: initial state must have shape {shape}, got "
                             f"{format_shape(hx.shape)}")
        return h

    def _finish(self, out: Tensor, unbatched: bool) -> Tensor:
        if unbatched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out

    def _run(self, x: Tensor, states: list[Any]) -> tuple[Tensor, list[Any]]:
        # x: (L, N, H_in).  One matmul projects every time step's input at once; the loop
        # carries only the recurrent part.
        finals = []
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer_params(k)
            proj = F.linear(x, w_ih, b_ih)
            state = states[k]
            outs = []
            for t in range(x.shape[0]):
                state = self._cell(proj[t], state, w_hh, b_hh)
                outs.append(state[0] if isinstance(state, tuple) else state)
            finals.append(state)
            x = _ops.stack(outs, 0)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        return x, finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        return s


class _HiddenStateRNN(_RNNBase):
    """An RNN whose state is one hidden tensor per layer (RNN, GRU; an LSTM also carries a cell)."""

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, unbatched, _ = self._prepare(input, hx)
        h0 = self._initial(hx, x.shape[1], x.dtype, unbatched)
        out, finals = self._run(x, [h0[k] for k in range(self.num_layers)])
        h_n = _ops.stack(finals, 0)
        return self._finish(out, unbatched), (h_n.squeeze(1) if unbatched else h_n)


class RNN(_HiddenStateRNN):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    Returns ``(output, h_n)``: output ``(L, N, H)`` (``(N, L, H)`` with batch_first),
    ``h_n`` ``(num_layers, N, H)``.

    >>> import gradwise as gw
    >>> rnn = gw.nn.RNN(3, 5, num_layers=2, batch_first=True)
    >>> out, h = rnn(gw.randn(4, 7, 3))
    >>> out.shape, h.shape
    ((4, 7, 5), (2, 4, 5))
    """

    _act: Callable[[Tensor], Tensor]   # set in __init__ through self.__dict__ (tanh or relu)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: Any = None, generator: Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity={nonlinearity!r} is not valid; use 'tanh' or 'relu'")
        self.__dict__["_act"] = _ops.tanh if nonlinearity == "tanh" else _ops.relu
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype, generator)
        self.nonlinearity = nonlinearity

    def _cell(self, px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
        return self._act(px + F.linear(h, w_hh, b_hh))


class LSTM(_RNNBase):
    """Long short-term memory (gates i, f, g, o in PyTorch's order).

    Returns ``(output, (h_n, c_n))``.  Each layer is one fused op (``lstm_layer``, see
    gradwise/ops/recurrent.py): the same equations as the per-step cell below, one graph
    node per layer, the backward through time on arrays.

    >>> import gradwise as gw
    >>> out, (h, c) = gw.nn.LSTM(3, 4)(gw.randn(6, 2, 3))
    >>> out.shape, h.shape, c.shape
    ((6, 2, 4), (1, 2, 4), (1, 2, 4))
    """

    _gates = 4

    def _cell(self, px: Tensor, state: tuple[Tensor, Tensor], w_hh: Tensor,
              b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
        # One step as a composite of table ops (the reference the fused recurrence is tested against).
        h, c = state
        gates = px + F.linear(h, w_hh, b_hh)
        i, f, g, o = _ops.chunk(gates, 4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c

    def _run_fused(self, x: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        h_n, c_n = [], []
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer_params(k)
            if x.shape[0] == 0:      # no time steps: the state passes through unchanged
                h_n.append(h0[k])
                c_n.append(c0[k])
                x = zeros(0, x.shape[1], self.hidden_size, dtype=x.dtype)
                continue
            packed = apply(LSTM_LAYER, x, h0[k], c0[k], w_ih, w_hh, b_ih, b_hh)   # (6, L, N, H)
            x = packed[5]
            h_n.append(packed[5, -1])
            c_n.append(packed[4, -1])
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        return x, h_n, c_n

    def forward(self, input: Tensor,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        x, unbatched, _ = self._prepare(input, hx)
        h0 = self._initial(None if hx is None else hx[0], x.shape[1], x.dtype, unbatched)
        c0 = self._initial(None if hx is None else hx[1], x.shape[1], x.dtype, unbatched)
        out, hs, cs = self._run_fused(x, h0, c0)
        h_n = _ops.stack(hs, 0)
        c_n = _ops.stack(cs, 0)
        if unbatched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(out, unbatched), (h_n, c_n)


class GRU(_HiddenStateRNN):
    """Gated recurrent unit (gates r, z, n in PyTorch's order). Returns ``(output, h_n)``."""

    _gates = 3

    def _cell(self, px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
        ph = F.linear(h, w_hh, b_hh)
        xr, xz, xn = _ops.chunk(px, 3, -1)
        hr, hz, hn = _ops.chunk(ph, 3, -1)
        r = (xr + hr).sigmoid()
        z = (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        return (1.0 - z) * n + z * h
