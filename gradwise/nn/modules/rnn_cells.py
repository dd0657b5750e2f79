"""The one-step recurrent cells ``RNNCell``, ``LSTMCell``, ``GRUCell`` (PyTorch's parameters,
names and gate order), and the step functions and initialisation they share with the
sequence layers of ``rnn.py``.  Equations in ``rnn.py``'s module docstring."""

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


def init_uniform(module: Module, names: list[tuple[str, tuple[int, ...]]], hidden_size: int, dtype: Any,
                  generator: Generator | None) -> None:
    """Create the parameters ``names`` (in order) with PyTorch's U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for name, shape in names:
        p = Parameter(empty(*shape, dtype=dtype))
        init.uniform_(p, -bound, bound, generator)
        setattr(module, name, p)


def rnn_step(act: Callable[[Tensor], Tensor], px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """Elman step from the projected input ``px = x W_ih^T + b_ih``."""
    return act(px + F.linear(h, w_hh, b_hh))


def gru_step(px: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """GRU step from the projected input ``px = x W_ih^T + b_ih`` (gates r, z, n)."""
    ph = F.linear(h, w_hh, b_hh)
    xr, xz, xn = _ops.chunk(px, 3, -1)
    hr, hz, hn = _ops.chunk(ph, 3, -1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (1.0 - z) * n + z * h


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
        init_uniform(self, names, hidden_size, dtype, generator)

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
        h = rnn_step(self._act, F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
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
        h = gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h.squeeze(0) if unbatched else h
