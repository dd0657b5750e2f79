"""Recurrent layers: ``RNN`` (tanh or relu), ``LSTM``, ``GRU`` (their one-step cells
``RNNCell``, ``LSTMCell``, ``GRUCell`` live in ``rnn_cells.py``), with PyTorch's parameters (names, shapes, gate order,
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
* LSTM with ``proj_size`` P > 0: ``h_t = (sigmoid(o) tanh(c_t)) W_hr^T`` (P values; ``weight_hr``
  ``(P, H)``; ``weight_hh`` ``(4H, P)``; the next layer reads ``D * P`` inputs)

A ``PackedSequence`` input (``nn.utils.rnn``) runs the variable-length scan of
``rnn_packed.py``: output packed alike, each sequence's final state taken at its own last
step, ``h_n`` in the original batch order.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from gradwise.api import functions as _ops
from gradwise.api.creation import zeros
from gradwise.api.random import Generator
from gradwise.autograd.function import apply
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.nn import functional as F
from gradwise.nn.module import Module
from gradwise.nn.modules.rnn_cells import GRUCell, LSTMCell, RNNCell, gru_step, init_uniform, rnn_step
from gradwise.nn.modules.rnn_packed import packed_forward, scan_layers
from gradwise.nn.parameter import Parameter
from gradwise.nn.utils.rnn import PackedSequence
from gradwise.ops.recurrent import LSTM_LAYER

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]     # the cells re-exported from rnn_cells


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
    # _cell(projected_input, state, w_hh, b_hh, w_hr) -> new state (w_hr: the LSTM projection
    # or None).  Annotation only: no class value.
    _cell: Callable[..., Any]

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None, generator: Generator | None = None, proj_size: int = 0) -> None:
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
        if proj_size < 0 or proj_size >= hidden_size:
            raise ValueError(f"{type(self).__name__}: proj_size must be 0 (no projection) or in [1, hidden_size="
                             f"{hidden_size}), got proj_size={proj_size}")
        self.proj_size = int(proj_size)
        out = self._out_size
        dirs = 2 if bidirectional else 1
        g = self._gates * hidden_size
        names: list[tuple[str, tuple[int, ...]]] = []
        all_weights = []
        for k in range(num_layers):
            n_in = input_size if k == 0 else out * dirs
            for d in range(dirs):
                sfx = f"_l{k}" + ("_reverse" if d else "")
                layer: list[tuple[str, tuple[int, ...]]] = [(f"weight_ih{sfx}", (g, n_in)),
                                                            (f"weight_hh{sfx}", (g, out))]
                if bias:
                    layer += [(f"bias_ih{sfx}", (g,)), (f"bias_hh{sfx}", (g,))]
                if proj_size:
                    layer.append((f"weight_hr{sfx}", (proj_size, hidden_size)))
                names += layer
                all_weights.append([name for name, _ in layer])
        self._all_weights = all_weights
        init_uniform(self, names, hidden_size, dtype, generator)

    @property
    def _out_size(self) -> int:
        """Size of h (and of each direction's output): ``proj_size`` if set, else ``hidden_size``."""
        return self.proj_size or self.hidden_size

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

    def _proj_weight(self, k: int, reverse: bool = False) -> Tensor | None:
        return getattr(self, f"weight_hr_l{k}" + ("_reverse" if reverse else ""), None)

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

    def _initial(self, hx: Tensor | None, n: int, dtype: Any, unbatched: bool, size: int | None = None) -> Tensor:
        shape = (self.num_layers * self.num_directions, n, size or self.hidden_size)
        if hx is None:
            return zeros(*shape, dtype=dtype)
        h = hx.unsqueeze(1) if unbatched else hx
        if tuple(h.shape) != shape:
            want = shape[::2] if unbatched else shape
            last = "hidden_size" if shape[2] == self.hidden_size else "proj_size"
            raise ShapeError(f"{type(self).__name__}: initial state must have shape {want} "
                             f"(num_layers * num_directions, N, {last}), or without N for an unbatched "
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
        # x: (L, N, H_in); states[k * num_directions + d].  A full batch is the packed case
        # with every batch size N: rows x.reshape(L * N, H_in) (see rnn_packed.py).
        steps, n = x.shape[0], x.shape[1]
        out, finals = scan_layers(self, x.reshape(steps * n, x.shape[2]), [n] * steps, states)
        return out.reshape(steps, n, out.shape[-1]), finals

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
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        return s


class _HiddenStateRNN(_RNNBase):
    """An RNN whose state is one hidden tensor per layer (RNN, GRU; an LSTM also carries a cell)."""

    def forward(self, input: Any, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        if isinstance(input, PackedSequence):
            return packed_forward(self, input, hx)
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

    def _cell(self, px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None = None) -> Tensor:
        return rnn_step(self._act, px, h, w_hh, b_hh)


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
    >>> out, (h, c) = gw.nn.LSTM(3, 4, proj_size=2)(gw.randn(6, 2, 3))      # h projected to 2 values
    >>> out.shape, h.shape, c.shape
    ((6, 2, 2), (1, 2, 2), (1, 2, 4))
    """

    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, dtype: Any = None, generator: Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype, generator, proj_size=proj_size)

    def _cell(self, px: Tensor, state: tuple[Tensor, Tensor], w_hh: Tensor,
              b_hh: Tensor | None, w_hr: Tensor | None = None) -> tuple[Tensor, Tensor]:
        # One step as a composite of table ops (the reference the fused recurrence is tested
        # against, and the step of packed and projected LSTMs, which the fused op does not cover).
        h, c = state
        gates = px + F.linear(h, w_hh, b_hh)
        i, f, g, o = _ops.chunk(gates, 4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h if w_hr is None else F.linear(h, w_hr)), c

    def _run_fused(self, x: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        h_n, c_n = [], []
        dirs = self.num_directions
        for k in range(self.num_layers):
            if x.shape[0] == 0:      # no time steps: the state passes through unchanged
                h_n += [h0[k * dirs + d] for d in range(dirs)]
                c_n += [c0[k * dirs + d] for d in range(dirs)]
                x = zeros(0, x.shape[1], self._out_size * dirs, dtype=x.dtype)
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

    def forward(self, input: Any,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Any, tuple[Tensor, Tensor]]:
        if isinstance(input, PackedSequence):
            return packed_forward(self, input, hx)
        x, unbatched, _ = self._prepare(input, hx)
        h0 = self._initial(None if hx is None else hx[0], x.shape[1], x.dtype, unbatched, self._out_size)
        c0 = self._initial(None if hx is None else hx[1], x.shape[1], x.dtype, unbatched)
        if self.proj_size and x.shape[0]:
            # the fused op has no projection: the per-step scan, (h, c) carried together
            out, finals = self._run(x, [(h0[i], c0[i]) for i in range(h0.shape[0])])
            hs, cs = [f[0] for f in finals], [f[1] for f in finals]
        else:
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
    >>> packed = gw.nn.utils.rnn.pack_sequence([gw.randn(5, 3), gw.randn(2, 3)])    # lengths 5 and 2
    >>> out, h = gw.nn.GRU(3, 4)(packed)
    >>> out.data.shape, out.batch_sizes.tolist(), h.shape
    ((7, 4), [2, 2, 1, 1, 1], (1, 2, 4))
    """

    _gates = 3

    def _cell(self, px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None = None) -> Tensor:
        return gru_step(px, h, w_hh, b_hh)
