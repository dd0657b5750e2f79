"""The variable-length scan of the recurrent layers, and their ``PackedSequence`` forward.

Every stacked recurrent layer runs here on *packed rows*: ``data (sum(batch_sizes), H_in)``
holds, for t = 0, 1, ..., the step-t inputs of the ``batch_sizes[t]`` sequences still
running (the longest first).  An ordinary ``(L, N, H_in)`` batch is the special case
``batch_sizes = [N] * L``, its rows ``x.reshape(L * N, H_in)``.

At step t only the first ``n = batch_sizes[t]`` states advance; the others keep their value:
``state = cat(cell(x_t, state[:n]), state[n:])``.  Going forward the batch sizes shrink, so a
sequence's state stops changing after its own last step, and that is its ``h_n``.  The
reverse direction walks t from the last step down, so a sequence keeps its initial state
until its own last step is reached, and ends after step 0: both as PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.api import functions as _ops
from gradwise.api.creation import zeros
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.nn import functional as F
from gradwise.nn.utils.rnn import PackedSequence

State = Any      # a Tensor (RNN, GRU) or a tuple (h, c) (LSTM), batch first


def _head(state: State, n: int) -> State:
    if isinstance(state, tuple):
        return tuple(s if s.shape[0] == n else s[:n] for s in state)
    return state if state.shape[0] == n else state[:n]


def _merge(new: State, old: State, n: int) -> State:
    """The first ``n`` states from ``new``, the rest from ``old`` (sequences not running now)."""
    if isinstance(old, tuple):
        return tuple(_merge(a, b, n) for a, b in zip(new, old))
    return new if old.shape[0] == n else _ops.cat([new, old[n:]], 0)


def scan_layers(rnn: Any, data: Tensor, batch_sizes: list[int], states: list[State]) -> tuple[Tensor, list[State]]:
    """All layers and directions of ``rnn`` over packed rows ``data`` (see the module doc);
    ``states[k * D + d]`` the initial states in sorted batch order.  Returns the last layer's
    output rows ``(sum(batch_sizes), D * H_out)`` and the final states, same indexing."""
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).astype(int)
    steps = len(batch_sizes)
    dirs = rnn.num_directions
    finals: list[State] = []
    for k in range(rnn.num_layers):
        outs = []
        for d in range(dirs):
            w_ih, w_hh, b_ih, b_hh = rnn._layer_params(k, d == 1)
            w_hr = rnn._proj_weight(k, d == 1)
            # one matmul projects every step's input at once; the loop carries the recurrence
            proj = F.linear(data, w_ih, b_ih)
            state = states[k * dirs + d]
            seq: list[Tensor] = [proj] * steps
            for t in (range(steps - 1, -1, -1) if d else range(steps)):
                n = batch_sizes[t]
                new = rnn._cell(proj[int(offsets[t]):int(offsets[t + 1])], _head(state, n), w_hh, b_hh, w_hr)
                seq[t] = new[0] if isinstance(new, tuple) else new
                state = _merge(new, state, n)
            finals.append(state)
            outs.append(_ops.cat(seq, 0) if steps else zeros(0, rnn._out_size, dtype=data.dtype))
        data = rnn._between_layers(outs, k)
    return data, finals


def _permute(h: Tensor, index: Tensor | None) -> Tensor:
    return h if index is None else _ops.index_select(h, 1, index)


def packed_forward(rnn: Any, seq: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
    """``rnn(packed, hx)``: a PackedSequence of the outputs (same batch sizes and order) and
    the final states ``(num_layers * D, B, H)`` in the original batch order (``(h_n, c_n)``
    for an LSTM).  ``hx`` is in the original batch order too, as in PyTorch."""
    name = type(rnn).__name__
    data = seq.data
    if data.ndim != 2 or data.shape[-1] != rnn.input_size:
        raise ShapeError(f"{name}(input_size={rnn.input_size}) expects packed data of shape (sum(lengths), "
                         f"{rnn.input_size}), got {format_shape(data.shape)}")
    sizes = [int(v) for v in np.asarray(seq.batch_sizes._data).reshape(-1)]
    batch = sizes[0] if sizes else 0
    is_lstm = rnn._gates == 4
    if is_lstm:
        h_in, c_in = (None, None) if hx is None else hx
        h0 = _permute(rnn._initial(h_in, batch, data.dtype, False, rnn._out_size), seq.sorted_indices)
        c0 = _permute(rnn._initial(c_in, batch, data.dtype, False, rnn.hidden_size), seq.sorted_indices)
        states: list[State] = [(h0[i], c0[i]) for i in range(h0.shape[0])]
    else:
        h0 = _permute(rnn._initial(hx, batch, data.dtype, False, rnn._out_size), seq.sorted_indices)
        states = [h0[i] for i in range(h0.shape[0])]
    out, finals = scan_layers(rnn, data, sizes, states)
    packed = PackedSequence(out, seq.batch_sizes, seq.sorted_indices, seq.unsorted_indices)
    if is_lstm:
        h_n = _permute(_ops.stack([s[0] for s in finals], 0), seq.unsorted_indices)
        c_n = _permute(_ops.stack([s[1] for s in finals], 0), seq.unsorted_indices)
        return packed, (h_n, c_n)
    return packed, _permute(_ops.stack(finals, 0), seq.unsorted_indices)
