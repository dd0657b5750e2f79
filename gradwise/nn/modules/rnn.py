"""Recurrent layers: ``RNN`` (tanh or relu), ``LSTM``, ``GRU`` and their one-step cells
``RNNCell``, ``LSTMCell``, ``GRUCell``, with PyTorch's parameters (names, shapes, gate order,
so ``state_dict`` keys match), initialisation U(-1/sqrt(hidden), 1/sqrt(hidden)),
``batch_first``, stacked layers and ``bidirectional``.  Composites of table ops (the LSTM
layer one fused op), so the gradient through time (where vanishing gradients are taught) is
the engine's, exact.

A bidirectional layer runs a second set of weights (``*_reverse``) over the sequence from
its last step to its first and concatenates the two outputs of every step, forward first:
output ``(L, N, 2 * H)``; the next layer takes ``2 * H`` inputs; ``h_n`` holds the final
states in PyTorch's order, index ``layer * 2 + direction``.

Equations (PyTorch's), per time step t and layer:

* RNN:  ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``
* LSTM: ``i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``;
  ``c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g)``, ``h_t = sigmoid(o) tanh(c_t)``
* GRU:  ``r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)``, ``z`` likewise,
  ``n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))``, ``h_t = (1 - z) n + z h_{t-1}``
"""

from __future__ import annotations

import math
import warnings
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


def _init_uniform(module: Module, names: list[tuple[str, tuple[int, ...]]], hidden_size: int, dtype: Any,
                  generator: Generator | None) -> None:
    """Create the parameters ``names`` (in order) with PyTorch's U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for name, shape in names:
        p = Parameter(empty(*shape, dtype=dtype))
        init.uniform_(p, -bound, bound, generator)
        setattr(module, name, p)


def _rnn_step(act: Callable[[Tensor], Tensor], px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """Elman step from the projected input ``px = x W_ih^T + b_ih``."""
    return act(px + F.linear(h, w_hh, b_hh))


def _gru_step(px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """GRU step from the projected input ``px = x W_ih^T + b_ih`` (gates r, z, n)."""
    ph = F.linear(h, w_hh, b_hh)
    xr, xz, xn = _ops.chunk(px, 3, -1)
    hr, hz, hn = _ops.chunk(ph, 3, -1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (1.0 - z) * n + z * h


def _lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
                b_hh: Tensor | None, reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM direction over ``x`` (L >= 1, N, I) as one fused op: ``(outputs, h_n, c_n)``.
    The reverse direction runs the same op on the time-reversed sequence and reverses its
    outputs back, so output step t holds the state after reading steps L-1..t."""
    packed = apply(LSTM_LAYER, x[::-1] if reverse else x, h0, c0, w_ih, w_hh, b_ih, b_hh)   # (6, L, N, H)
    out = packed[5, ::-1] if reverse else packed[5]
    return out, packed[5, -1], packed[4, -1]


class _RNNBase(Module):
    _gates = 1
    # One time step, defined by each subclass (RNN and GRU carry h, LSTM carries (h, c)):
    # _cell(projected_input, state, w_hh, b_hh) -> new state.  Annotation only: no class value.
    _cell: Callable[..., Any]

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None, generator: Generator | None = None) -> None:
        super().__init__()
        if not 0 <= dropout < 1:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=3)
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError(f"{type(self).__name__}: hidden_size and num_layers must be positive, got "
                             f"hidden_size={hidden_size}, num_layers={num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bool(bidirectional)
        dirs = 2 if bidirectional else 1
        g = self._gates * hidden_size
        names: list[tuple[str, tuple[int, ...]]] = []
        all_weights = []
        for k in range(num_layers):
            n_in = input_size if k == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{k}" + ("_reverse" if d else "")
                layer: list[tuple[str, tuple[int, ...]]] = [(f"weight_ih{sfx}", (g, n_in)),
                                                            (f"weight_hh{sfx}", (g, hidden_size))]
                if bias:
                    layer += [(f"bias_ih{sfx}", (g,)), (f"bias_hh{sfx}", (g,))]
                names += layer
                all_weights.append([name for name, _ in layer])
        self._all_weights = all_weights
        _init_uniform(self, names, hidden_size, dtype, generator)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters per layer and direction (PyTorch's ``all_weights``)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Does nothing: PyTorch packs the weights for cuDNN; gradwise has nothing to pack."""

    def _layer_params(self, k: int, reverse: bool = False) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        sfx = f"_l{k}" + ("_reverse" if reverse else "")
        return (getattr(self, f"weight_ih{sfx}"), getattr(self, f"weight_hh{sfx}"),
                getattr(self, f"bias_ih{sfx}", None), getattr(self, f"bias_hh{sfx}", None))

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
        shape = (self.num_layers * self.num_directions, n, self.hidden_size)
        if hx is None:
            return zeros(*shape, dtype=dtype)
        h = hx.unsqueeze(1) if unbatched else hx
        if tuple(h.shape) != shape:
            want = shape[::2] if unbatched else shape
            raise ShapeError(f"{type(self).__name__}: initial state must have shape {want} "
                             "(num_layers * num_directions, N, hidden_size), or without N for an unbatched "
                             f"input, got {format_shape(hx.shape)}")
        return h

    def _finish(self, out: Tensor, unbatched: bool) -> Tensor:
        if unbatched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out

    def _between_layers(self, outs: list[Tensor], k: int) -> Tensor:
        # the directions' outputs side by side (forward first), then dropout before the next layer
        x = outs[0] if len(outs) == 1 else _ops.cat(outs, -1)
        if self.dropout and self.training and k < self.num_layers - 1:
            x = F.dropout(x, self.dropout)
        return x

    def _run(self, x: Tensor, states: list[Any]) -> tuple[Tensor, list[Any]]:
        # x: (L, N, H_in); states[k * num_directions + d].  One matmul projects every time
        # step's input at once; the loop carries only the recurrent part.  The reverse
        # direction walks the steps from last to first and stores each output at its step.
        finals = []
        steps = x.shape[0]
        for k in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                w_ih, w_hh, b_ih, b_hh = self._layer_params(k, d == 1)
                proj = F.linear(x, w_ih, b_ih)
                state = states[k * self.num_directions + d]
                seq = []
                for t in (range(steps - 1, -1, -1) if d else range(steps)):
                    state = self._cell(proj[t], state, w_hh, b_hh)
                    seq.append(state[0] if isinstance(state, tuple) else state)
                finals.append(state)
                outs.append(_ops.stack(seq[::-1] if d else seq, 0))
            x = self._between_layers(outs, k)
        return x, finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class _HiddenStateRNN(_RNNBase):
    """An RNN whose state is one hidden tensor per layer (RNN, GRU; an LSTM also carries a cell)."""

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, unbatched, _ = self._prepare(input, hx)
        if x.shape[0] == 0:
            raise ShapeError(f"Expected sequence length to be larger than 0 in {type(self).__name__}")
        h0 = self._initial(hx, x.shape[1], x.dtype, unbatched)
        out, finals = self._run(x, [h0[k] for k in range(h0.shape[0])])
        h_n = _ops.stack(finals, 0)
        return self._finish(out, unbatched), (h_n.squeeze(1) if unbatched else h_n)


class RNN(_HiddenStateRNN):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    Returns ``(output, h_n)``: output ``(L, N, D * H)`` (``(N, L, D * H)`` with batch_first),
    ``h_n`` ``(D * num_layers, N, H)``, with D = 2 if bidirectional else 1.

    >>> import gradwise as gw
    >>> rnn = gw.nn.RNN(3, 5, num_layers=2, batch_first=True)
    >>> out, h = rnn(gw.randn(4, 7, 3))
    >>> out.shape, h.shape
    ((4, 7, 5), (2, 4, 5))
    >>> out, h = gw.nn.RNN(3, 5, num_layers=2, bidirectional=True)(gw.randn(7, 4, 3))
    >>> out.shape, h.shape
    ((7, 4, 10), (4, 4, 5))
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
        return _rnn_step(self._act, px, h, w_hh, b_hh)


class LSTM(_RNNBase):
    """Long short-term memory (gates i, f, g, o in PyTorch's order).

    Returns ``(output, (h_n, c_n))``.  Each layer and direction is one fused op
    (``lstm_layer``, see gradwise/ops/recurrent.py): the same equations as the per-step cell
    below, one graph node per layer, the backward through time on arrays.

    >>> import gradwise as gw
    >>> out, (h, c) = gw.nn.LSTM(3, 4)(gw.randn(6, 2, 3))
    >>> out.shape, h.shape, c.shape
    ((6, 2, 4), (1, 2, 4), (1, 2, 4))
    >>> out, (h, c) = gw.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)(gw.randn(2, 6, 3))
    >>> out.shape, h.shape, c.shape
    ((2, 6, 8), (4, 2, 4), (4, 2, 4))
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
        dirs = self.num_directions
        for k in range(self.num_layers):
            if x.shape[0] == 0:      # no time steps: the state passes through unchanged
                h_n += [h0[k * dirs + d] for d in range(dirs)]
                c_n += [c0[k * dirs + d] for d in range(dirs)]
                x = zeros(0, x.shape[1], self.hidden_size * dirs, dtype=x.dtype)
                continue
            if dirs == 1:            # the unidirectional path: one op per layer, nothing else
                w_ih, w_hh, b_ih, b_hh = self._layer_params(k)
                packed = apply(LSTM_LAYER, x, h0[k], c0[k], w_ih, w_hh, b_ih, b_hh)   # (6, L, N, H)
                x = packed[5]
                h_n.append(packed[5, -1])
                c_n.append(packed[4, -1])
                if self.dropout and self.training and k < self.num_layers - 1:
                    x = F.dropout(x, self.dropout)
                continue
            outs = []
            for d in range(dirs):
                out, h, c = _lstm_layer(x, h0[k * dirs + d], c0[k * dirs + d], *self._layer_params(k, d == 1),
                                        reverse=d == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = self._between_layers(outs, k)
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
    """Gated recurrent unit (gates r, z, n in PyTorch's order). Returns ``(output, h_n)``.

    >>> import gradwise as gw
    >>> out, h = gw.nn.GRU(3, 4, bidirectional=True)(gw.randn(6, 2, 3))
    >>> out.shape, h.shape
    ((6, 2, 8), (2, 2, 4))
    """

    _gates = 3

    def _cell(self, px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
        return _gru_step(px, h, w_hh, b_hh)


# ------------------------------------------------------------------------------ cells
class _RNNCellBase(Module):
    """One time step: parameters ``weight_ih (G*H, H_in)``, ``weight_hh (G*H, H)``,
    ``bias_ih``, ``bias_hh (G*H,)``; input ``(N, H_in)`` or unbatched ``(H_in,)``."""

    _gates = 1
    # Set in __init__ (annotations only: the instance owns them).
    weight_ih: Parameter
    weight_hh: Parameter
    bias_ih: Parameter | None
    bias_hh: Parameter | None

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = self._gates * hidden_size
        names: list[tuple[str, tuple[int, ...]]] = [("weight_ih", (g, input_size)), ("weight_hh", (g, hidden_size))]
        if bias:
            names += [("bias_ih", (g,)), ("bias_hh", (g,))]
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _init_uniform(self, names, hidden_size, dtype, generator)

    def _batched(self, input: Tensor, hx: Tensor | None) -> tuple[Tensor, Tensor, bool]:
        """The input as ``(N, H_in)``, the state as ``(N, H)`` (zeros if None), and whether unbatched."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}(input_size={self.input_size}) got input of shape {format_shape(input.shape)}; "
                             f"its last dimension must be {self.input_size}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            return x, zeros(x.shape[0], self.hidden_size, dtype=x.dtype), unbatched
        if hx.ndim != input.ndim or tuple(hx.shape[-1:]) != (self.hidden_size,) or \
                (not unbatched and hx.shape[0] != x.shape[0]):
            want = f"({self.hidden_size},)" if unbatched else f"({x.shape[0]}, {self.hidden_size})"
            raise ShapeError(f"{name}: hidden state must have shape {want} for input of shape "
                             f"{format_shape(input.shape)}, got {format_shape(hx.shape)}")
        return x, (hx.unsqueeze(0) if unbatched else hx), unbatched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s


class RNNCell(_RNNCellBase):
    """One Elman step ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu); returns ``h'``.

    >>> import gradwise as gw
    >>> cell = gw.nn.RNNCell(3, 5)
    >>> h = cell(gw.randn(4, 3))                 # the state starts at zeros
    >>> cell(gw.randn(4, 3), h).shape, cell(gw.randn(3)).shape
    ((4, 5), (5,))
    """

    _act: Callable[[Tensor], Tensor]   # set in __init__ through self.__dict__ (tanh or relu)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 dtype: Any = None, generator: Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity={nonlinearity!r} is not valid; use 'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, dtype, generator)
        self.__dict__["_act"] = _ops.tanh if nonlinearity == "tanh" else _ops.relu
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._batched(input, hx)
        h = _rnn_step(self._act, F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h.squeeze(0) if unbatched else h


class LSTMCell(_RNNCellBase):
    """One LSTM step (gates i, f, g, o); ``hx`` is ``(h, c)`` or None for zeros; returns ``(h', c')``.
    Runs the fused ``lstm_layer`` op over one step (one graph node).

    >>> import gradwise as gw
    >>> cell = gw.nn.LSTMCell(3, 5)
    >>> h, c = cell(gw.randn(4, 3))
    >>> h, c = cell(gw.randn(4, 3), (h, c))
    >>> h.shape, c.shape, [n for n, _ in cell.named_parameters()]
    ((4, 5), (4, 5), ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'])
    """

    _gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, h, unbatched = self._batched(input, None if hx is None else hx[0])
        _, c, _ = self._batched(input, None if hx is None else hx[1])
        packed = apply(LSTM_LAYER, x.unsqueeze(0), h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                       self.bias_hh)                                                        # (6, 1, N, H)
        h, c = packed[5, 0], packed[4, 0]
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_RNNCellBase):
    """One GRU step (gates r, z, n); returns ``h'``.

    >>> import gradwise as gw
    >>> cell = gw.nn.GRUCell(3, 5)
    >>> cell(gw.randn(4, 3)).shape, cell(gw.randn(3), gw.zeros(5)).shape
    ((4, 5), (5,))
    """

    _gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._batched(input, hx)
        h = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h.squeeze(0) if unbatched else h
