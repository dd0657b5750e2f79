"""``nn.utils.rnn``: batches of variable-length sequences, padded or packed (``torch.nn.utils.rnn``).

A *padded* batch is one tensor ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) whose
sequence ``b`` holds real values in its first ``lengths[b]`` steps and ``padding_value``
after them.  A *packed* batch (``PackedSequence``) keeps only the real steps: the sequences
are ordered by decreasing length, and ``data`` holds, for t = 0, 1, ..., the step-t rows of
the ``batch_sizes[t]`` sequences that are still running (the longest first)::

    lengths [3, 1, 2] (sorted: 3, 2, 1)      data rows:  a0 c0 b0 | a1 c1 | a2
    batch_sizes = [3, 2, 1];  sorted_indices = [0, 2, 1];  unsorted_indices = [0, 2, 1]

A recurrent layer fed a ``PackedSequence`` updates, at step t, only the first
``batch_sizes[t]`` states, so each sequence's final state is the one after its own last step.

Packing and padding are each one gather (``index_select``) of rows, so gradients flow back
through them to the inputs: packing then padding is the identity on the real steps and sends
zero gradient to the padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradwise.api import functions as _ops
from gradwise.api.creation import full, tensor
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence", "unpack_sequence", "unpad_sequence"]


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse permutation (``out[p[i]] = i``), or None for None.

    >>> import gradwise as gw
    >>> invert_permutation(gw.tensor([2, 0, 1])).tolist()
    [1, 2, 0]
    """
    if permutation is None:
        return None
    p = np.asarray(permutation._data, dtype=np.int64)
    out = np.empty_like(p)
    out[p] = np.arange(p.size, dtype=np.int64)
    return tensor(out)


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """A packed batch of variable-length sequences, torch's namedtuple:

    * ``data (sum(lengths), *)``: the real steps, time-major, longest sequences first;
    * ``batch_sizes (T,)`` int64: how many sequences run at each step (non-increasing);
    * ``sorted_indices (B,)``: batch position of the k-th longest sequence (None when the
      batch was already sorted); ``unsorted_indices``: its inverse.

    Build one with ``pack_padded_sequence`` or ``pack_sequence``, not by hand.

    >>> import gradwise as gw
    >>> p = gw.nn.utils.rnn.pack_sequence([gw.tensor([1., 2.]), gw.tensor([3., 4., 5.])], enforce_sorted=False)
    >>> p.data.tolist(), p.batch_sizes.tolist(), p.sorted_indices.tolist()
    ([3.0, 1.0, 4.0, 2.0, 5.0], [2, 2, 1], [1, 0])
    """

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if batch_sizes is None:
            raise TypeError("PackedSequence: batch_sizes is required; build packed batches with "
                            "pack_padded_sequence or pack_sequence")
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data: Tensor) -> PackedSequence:
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)`` (dtype or device); the index tensors stay int64.  Returns ``self``
        when nothing changes, as torch."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._with_data(data)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.cuda()``: raises gradwise's device error (gradwise computes on the CPU)."""
        return self._with_data(self.data.cuda(*args, **kwargs))

    def long(self) -> PackedSequence:
        return self._with_data(self.data.long())

    def int(self) -> PackedSequence:
        return self._with_data(self.data.int())

    def double(self) -> PackedSequence:
        return self._with_data(self.data.double())

    def float(self) -> PackedSequence:
        return self._with_data(self.data.float())

    def half(self) -> PackedSequence:
        return self._with_data(self.data.half())

    def detach(self) -> PackedSequence:
        return self._with_data(self.data.detach())

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _lengths_array(lengths: Any, op: str) -> np.ndarray:
    arr = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ShapeError(f"{op}: lengths must be a 1-D list or int64 tensor of sequence lengths, got "
                         f"{arr.dtype.name} of shape {format_shape(arr.shape)}")
    return arr.astype(np.int64)


def _gather_rows(source: Tensor, rows: np.ndarray) -> Tensor:
    """``source`` flattened to rows ``(n, *)`` of its leading two dimensions, then ``rows`` of it."""
    flat = source.reshape(source.shape[0] * source.shape[1], *source.shape[2:])
    return _ops.index_select(flat, 0, tensor(rows))


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of
    the given ``lengths`` (B,).  With ``enforce_sorted`` the lengths must be non-increasing;
    otherwise the batch is sorted here and ``sorted_indices`` records the order (a stable
    sort: sequences of equal length keep their batch order, which PyTorch's sort does not
    promise, so ``data`` may order such rows differently; unpacked values and an RNN's
    ``h_n`` are the same).

    >>> import gradwise as gw
    >>> x = gw.tensor([[1., 2., 3.], [4., 5., 0.]])        # (B=2, T=3), lengths 3 and 2
    >>> p = pack_padded_sequence(x, [3, 2], batch_first=True)
    >>> p.data.tolist(), p.batch_sizes.tolist()
    ([1.0, 4.0, 2.0, 5.0, 3.0], [2, 2, 1])
    """
    lens = _lengths_array(lengths, "pack_padded_sequence")
    if input.ndim < 2:
        raise ShapeError(f"pack_padded_sequence: input must be (T, B, *) or (B, T, *) with batch_first, got "
                         f"{format_shape(input.shape)}")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if lens.size != batch:
        raise ShapeError(f"pack_padded_sequence: expected len(lengths) to be equal to batch_size, but got "
                         f"{lens.size} (batch_size={batch})")
    if lens.size and lens.min() <= 0:
        raise ValueError("pack_padded_sequence: length of all samples has to be greater than 0, but found an "
                         f"element in lengths that is <= 0: {lens.tolist()}")
    if lens.size and lens.max() > steps:
        raise ShapeError(f"pack_padded_sequence: a length {int(lens.max())} exceeds the {steps} time steps of "
                         f"the input of shape {format_shape(input.shape)}")
    sorted_indices: Tensor | None = None
    order = np.arange(batch, dtype=np.int64)
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise ValueError(f"pack_padded_sequence: lengths {lens.tolist()} must be sorted in decreasing order "
                             "when enforce_sorted is True; pass enforce_sorted=False to pack_padded_sequence "
                             "and/or pack_sequence to sort them here")
    else:
        order = np.argsort(-lens, kind="stable").astype(np.int64)
        sorted_indices = tensor(order)
    lens_sorted = lens[order]
    batch_sizes = np.array([(lens_sorted > t).sum() for t in range(int(lens.max(initial=0)))], dtype=np.int64)
    # the packed row of (step t, k-th longest sequence) is row t*B + order[k] of the (T, B) grid,
    # or order[k]*T + t of the (B, T) grid
    t_idx = np.concatenate([np.full(n, t, dtype=np.int64) for t, n in enumerate(batch_sizes)] or
                           [np.zeros(0, np.int64)])
    b_idx = np.concatenate([order[:n] for n in batch_sizes] or [np.zeros(0, np.int64)])
    rows = b_idx * steps + t_idx if batch_first else t_idx * batch + b_idx
    return PackedSequence(_gather_rows(input, rows), tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)``, padded ``(T, B, *)``
    (``(B, T, *)`` with ``batch_first``) in the original batch order, ``T = total_length`` or
    the longest length; ``lengths`` int64 ``(B,)``.

    >>> import gradwise as gw
    >>> p = pack_sequence([gw.tensor([1., 2., 3.]), gw.tensor([4.])])
    >>> padded, lengths = pad_packed_sequence(p, batch_first=True, padding_value=-1.0)
    >>> padded.tolist(), lengths.tolist()
    ([[1.0, 2.0, 3.0], [4.0, -1.0, -1.0]], [3, 1])
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expects a PackedSequence, got {type(sequence).__name__}")
    sizes = np.asarray(sequence.batch_sizes._data, dtype=np.int64)
    max_len = int(sizes.size)
    batch = int(sizes[0]) if sizes.size else 0
    steps = max_len
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(f"pad_packed_sequence: expected total_length to be at least the length of the longest "
                             f"sequence in the input, but got total_length={total_length} and max sequence "
                             f"length being {max_len}")
        steps = int(total_length)
    data = sequence.data
    # lengths in sorted order: sequence k runs while k < batch_sizes[t]
    lens_sorted = np.array([(sizes > k).sum() for k in range(batch)], dtype=np.int64)
    unsorted = (np.arange(batch, dtype=np.int64) if sequence.unsorted_indices is None
                else np.asarray(sequence.unsorted_indices._data, dtype=np.int64))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    # grid[t, b] = packed row of the sequence at batch position b, step t, or the padding row
    pad_row = int(offsets[-1])
    grid = np.full((steps, batch), pad_row, dtype=np.int64)
    for b in range(batch):
        k = unsorted[b]                      # b is the k-th longest sequence
        n = lens_sorted[k]
        grid[:n, b] = offsets[:n] + k
    if batch_first:
        grid = grid.T
    pad = full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    ext = _ops.cat([data, pad], 0)
    out = _ops.index_select(ext, 0, tensor(grid.reshape(-1))).reshape(*grid.shape, *data.shape[1:])
    return out, tensor(lens_sorted[unsorted])


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences ``(L_i, *)`` into ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``),
    ``T = max L_i``, filling the missing steps with ``padding_value`` after the values
    (``padding_side='right'``) or before them (``'left'``).

    >>> import gradwise as gw
    >>> pad_sequence([gw.tensor([1., 2.]), gw.tensor([3.])], batch_first=True).tolist()
    [[1.0, 2.0], [3.0, 0.0]]
    >>> pad_sequence([gw.tensor([1., 2.]), gw.tensor([3.])], batch_first=True, padding_side="left").tolist()
    [[1.0, 2.0], [0.0, 3.0]]
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side={padding_side!r} is not valid; use 'right' or 'left'")
    seqs = list(sequences.unbind(0)) if isinstance(sequences, Tensor) else list(sequences)
    if not seqs:
        raise ValueError("pad_sequence: received an empty list of sequences")
    trailing = tuple(seqs[0].shape[1:]) if seqs[0].ndim else ()
    for i, s in enumerate(seqs):
        if s.ndim == 0 or tuple(s.shape[1:]) != trailing:
            raise ShapeError(f"pad_sequence: every sequence must be (L, *{trailing}); sequence {i} has shape "
                             f"{format_shape(s.shape)} and sequence 0 {format_shape(seqs[0].shape)}")
    lens = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    steps, batch = int(lens.max()), len(seqs)
    starts = np.concatenate([[0], np.cumsum(lens)])
    pad_row = int(starts[-1])
    grid = np.full((steps, batch), pad_row, dtype=np.int64)
    for b, n in enumerate(lens):
        t0 = 0 if padding_side == "right" else steps - n
        grid[t0:t0 + n, b] = starts[b] + np.arange(n)
    if batch_first:
        grid = grid.T
    pad = full((1, *trailing), padding_value, dtype=seqs[0].dtype)
    ext = _ops.cat([*seqs, pad], 0)
    return _ops.index_select(ext, 0, tensor(grid.reshape(-1))).reshape(*grid.shape, *trailing)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``(L_i, *)`` (``pad_sequence`` then ``pack_padded_sequence``).

    >>> import gradwise as gw
    >>> pack_sequence([gw.tensor([1., 2.]), gw.tensor([3.])]).batch_sizes.tolist()
    [2, 1]
    """
    lengths = [int(s.shape[0]) for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """The sequences of a padded batch, each cut to its length (``(L_i, *)``).

    >>> import gradwise as gw
    >>> [s.tolist() for s in unpad_sequence(gw.tensor([[1., 2.], [3., 0.]]), [2, 1], batch_first=True)]
    [[1.0, 2.0], [3.0]]
    """
    lens = _lengths_array(lengths, "unpad_sequence")
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[b, :int(n)] for b, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The sequences of a packed batch, in the original order, each ``(L_i, *)``."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
