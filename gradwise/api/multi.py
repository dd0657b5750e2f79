"""Functions that return several tensors, built from single-output ops.

Every graph node has one output; ``split``/``chunk``/``unbind`` are therefore
slices (each its own node) and ``max``/``min`` along a dimension are an
``argmax`` (no gradient) plus a ``take_along_dim`` of the values, so the
gradient reaches exactly the selected element, as in PyTorch.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, NamedTuple

from gradwise.autograd.function import call
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError
from gradwise.ops.dims import normalize_dim
from gradwise.ops.registry import REGISTRY


class ValuesIndices(NamedTuple):
    """``(values, indices)`` as returned by ``max``/``min`` with a ``dim`` (like torch.return_types)."""

    values: Tensor
    indices: Tensor


def _slice(t: Tensor, dim: int, start: int, stop: int) -> Tensor:
    return call(REGISTRY["getitem"], t, (slice(None),) * dim + (slice(start, stop),))


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Split into chunks of ``split_size_or_sections`` (an int: equal sizes, the last may be
    smaller; a list: those sizes) along ``dim``.

    >>> import gradwise as gw
    >>> [p.shape for p in gw.split(gw.ones(5, 2), 2)]
    [(2, 2), (2, 2), (1, 2)]
    """
    d = normalize_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} sum to {builtins.sum(sizes)} but dimension {d} "
                             f"has size {n}")
    out = []
    start = 0
    for s in sizes:
        out.append(_slice(tensor, d, start, start + s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of size ``ceil(n / chunks)`` (the last may be smaller).

    >>> import gradwise as gw
    >>> [p.shape for p in gw.chunk(gw.ones(5), 2)]
    [(3,), (2,)]
    """
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    d = normalize_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    size = -(-n // chunks) if n else 1
    return split(input, builtins.max(size, 1), d)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, with that dimension removed.

    >>> import gradwise as gw
    >>> [r.tolist() for r in gw.unbind(gw.tensor([[1, 2], [3, 4]]))]
    [[1, 2], [3, 4]]
    """
    d = normalize_dim(dim, input.ndim, "unbind")
    return tuple(call(REGISTRY["getitem"], input, (slice(None),) * d + (i,))
                 for i in range(input.shape[d]))


def _extreme(name: str, arg: str, full: str, pair: str) -> Any:
    def fn(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):  # max(a, b): elementwise
            return call(REGISTRY[pair], input, dim)
        if dim is None:
            return call(REGISTRY[full], input)
        d = normalize_dim(dim, input.ndim, name)
        idx = call(REGISTRY[arg], input, d, keepdim=True)
        values = call(REGISTRY["take_along_dim"], input, idx, d)
        if not keepdim:
            values = values.squeeze(d)
            idx = idx.squeeze(d)
        return ValuesIndices(values, idx)

    fn.__name__ = name
    fn.__doc__ = (f"``{name}(input)``: the {name}imum value (gradient split among ties).\n"
                  f"``{name}(input, dim, keepdim=False)``: ``(values, indices)`` along ``dim``; the\n"
                  f"gradient goes to the selected index.  ``{name}(a, b)``: elementwise ``{pair}``.\n\n"
                  f">>> import gradwise as gw\n>>> x = gw.tensor([[1.0, 5.0], [7.0, 2.0]])\n"
                  f">>> x.{name}(dim=1).indices.tolist()\n{[1, 0] if name == 'max' else [0, 1]}")
    return fn


max = _extreme("max", "argmax", "amax", "maximum")  # noqa: A001  (PyTorch's name)
min = _extreme("min", "argmin", "amin", "minimum")  # noqa: A001

# public functions of this module; METHODS: those also bound as Tensor methods (by gradwise.api.bind)
FUNCTIONS = {"split": split, "chunk": chunk, "unbind": unbind, "max": max, "min": min}
METHODS = tuple(FUNCTIONS)
