"""From training data to batches: loaders for each descent mode, batch unpacking, gradient norms."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradwise.api.random import Generator
from gradwise.autograd.tensor import Tensor
from gradwise.data.dataset import TensorDataset
from gradwise.data.loader import DataLoader
from gradwise.train.errors import TrainingError

# The descent modes, the one list of them: each name with how often it updates (``gradwise train --mode``).
MODE_UPDATES: dict[str, str] = {"full": "one update per epoch", "sgd": "one per sample", "minibatch": "one per batch"}
MODES: tuple[str, ...] = tuple(MODE_UPDATES)


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def make_loader(data: Any, mode: str, batch_size: int, generator: Generator | None, *, what: str = "train_data",
                shuffle: bool = True) -> DataLoader:
    """A DataLoader for ``data``: a DataLoader (used as is), a Dataset, or a tuple ``(x, y)`` of
    tensors/arrays whose first dimensions agree."""
    if mode not in MODES:
        raise TrainingError(f"fit: mode must be one of {list(MODES)}, got {mode!r}")
    if isinstance(data, DataLoader):
        if mode != "minibatch":
            raise TrainingError(f"fit: mode={mode!r} chooses the batch size itself; pass a Dataset or (x, y) "
                                "instead of a DataLoader, or use mode='minibatch'")
        return data
    if isinstance(data, (tuple, list)):
        if len(data) < 2:
            raise TrainingError(f"fit: {what} as a tuple must be (inputs, targets), got {len(data)} item(s)")
        data = TensorDataset(*[_as_tensor(d) for d in data])
    if not (hasattr(data, "__getitem__") and hasattr(data, "__len__")):
        raise TrainingError(f"fit: {what} must be a DataLoader, a Dataset or a tuple (inputs, targets), "
                            f"got {type(data).__name__}")
    n = len(data)
    if n == 0:
        raise TrainingError(f"fit: {what} is empty")
    if mode == "full":
        return DataLoader(data, batch_size=n, shuffle=False)
    if mode == "sgd":
        return DataLoader(data, batch_size=1, shuffle=shuffle, generator=generator)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise TrainingError(f"fit: batch_size must be a positive int, got {batch_size!r}")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)


def split_batch(batch: Any) -> tuple[tuple[Any, ...], Any]:
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return tuple(batch[:-1]), batch[-1]
    raise TrainingError("fit: each batch must be a tuple (inputs..., targets); got "
                        f"{type(batch).__name__}. Use a collate_fn that returns (x, y)")


def global_grad_norm(params: Iterable[Tensor]) -> float:
    """L2 norm of all gradients taken together, ``sqrt(sum_p sum_i g_pi^2)``, in float64."""
    total = 0.0
    for p in params:
        if p.grad is not None:
            g = np.asarray(p.grad._data, dtype=np.float64).ravel()
            total += float(g @ g)
    return math.sqrt(total)
