"""``nn.utils.parameters_to_vector`` and ``vector_to_parameters``: flat parameter vectors."""

from __future__ import annotations

from collections.abc import Iterable

from gradwise.api.functions import cat
from gradwise.autograd.tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated (a differentiable view of the values)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (in place)."""
    i = 0
    for p in parameters:
        n = p.numel()
        p._write(vec._data[i:i + n].reshape(p.shape))
        i += n
    if i != vec.numel():
        raise ValueError(f"vector_to_parameters: vector has {vec.numel()} elements, parameters need {i}")
