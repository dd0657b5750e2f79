"""A model's parameters as plain arrays: snapshots, points in weight space, and the loss there.

The LR finder, the loss landscapes and the batch-mode comparison all move a model to
other points of its weight space and must leave it exactly where it was.  They share
these few helpers:

* :func:`snapshot` copies the parameters (``{name: array}``, float arrays of the
  parameters' own dtypes) and :func:`load_weights` writes such a dict back in place
  (so optimizers, which key their state by the parameter objects, keep working);
* :func:`flatten`/:func:`unflatten` turn a snapshot into one float64 vector and back
  (the coordinates PCA works in);
* :func:`dataset_loss` is the mean loss over a data set, in eval mode, without a graph;
* :func:`preserved` restores parameters, gradients and train/eval mode on exit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from gradwise.autograd.grad_mode import no_grad
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError, format_shape


class WeightSpaceError(GradwiseError, ValueError):
    """Parameter values that do not fit the model (missing names, wrong shapes), or unusable data."""


def named_weights(model: Any) -> list[tuple[str, Tensor]]:
    """The parameters that require grad, by name, in ``model.named_parameters()`` order."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def snapshot(model: Any) -> dict[str, np.ndarray]:
    """A copy of every trainable parameter, ``{name: array}``.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> model = nn.Linear(3, 2, generator=gw.Generator().manual_seed(0))
    >>> {k: v.shape for k, v in snapshot(model).items()}
    {'weight': (2, 3), 'bias': (2,)}
    """
    return {n: np.array(p._data, copy=True) for n, p in named_weights(model)}


def _check(model: Any, values: Mapping[str, Any], owner: str) -> list[tuple[str, Tensor, np.ndarray]]:
    own = named_weights(model)
    missing = [n for n, _ in own if n not in values]
    if missing:
        raise WeightSpaceError(f"{owner}: no values for parameter(s) {missing}; expected the names of "
                               f"model.named_parameters(): {[n for n, _ in own]}")
    out = []
    for n, p in own:
        v = values[n]
        a = np.asarray(v._data if isinstance(v, Tensor) else v)
        if a.shape != p.shape:
            raise WeightSpaceError(f"{owner}: parameter {n!r} has shape {format_shape(p.shape)}, the values given "
                                   f"have shape {format_shape(a.shape)}")
        out.append((n, p, a))
    return out


def load_weights(model: Any, values: Mapping[str, Any]) -> None:
    """Write ``values`` (``{name: array or Tensor}``, e.g. from :func:`snapshot`) into the parameters, in place."""
    checked = _check(model, values, "load_weights")
    with no_grad():
        for _, p, a in checked:
            p.copy_(a.astype(p.dtype, copy=False))


def flatten(values: Mapping[str, Any], names: list[str]) -> np.ndarray:
    """The arrays ``values[name]`` for ``name`` in ``names``, raveled and joined: shape ``(P,)``, float64."""
    return np.concatenate([np.asarray(values[n], dtype=np.float64).ravel() for n in names]) if names else \
        np.zeros(0)


def unflatten(vector: np.ndarray, like: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Split a ``(P,)`` vector into arrays shaped like ``like`` (in its key order), float64.

    >>> v = unflatten(np.arange(5.0), {"w": np.zeros((2, 2)), "b": np.zeros(1)})
    >>> v["w"].tolist(), v["b"].tolist()
    ([[0.0, 1.0], [2.0, 3.0]], [4.0])
    """
    out, start = {}, 0
    for n, a in like.items():
        size = int(np.prod(np.shape(a)))
        out[n] = np.asarray(vector[start:start + size], dtype=np.float64).reshape(np.shape(a))
        start += size
    if start != len(vector):
        raise WeightSpaceError(f"unflatten: the vector has {len(vector)} entries, the parameters {start}")
    return out


def _batches(data: Any, batch_size: int) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(data, (tuple, list)) and len(data) >= 2 and not isinstance(data[0], (tuple, list)):
        *inputs, target = data
        n = len(target)
        if any(len(x) != n for x in inputs):
            raise WeightSpaceError(f"dataset_loss: inputs and targets disagree in length: "
                                   f"{[len(x) for x in inputs]} vs {n}")
        tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in (*inputs, target)]
        for start in range(0, n, batch_size):
            part = [t[start:start + batch_size] for t in tensors]
            yield tuple(part[:-1]), part[-1]
        return
    if not hasattr(data, "__iter__"):
        raise WeightSpaceError(f"dataset_loss: data must be a tuple (inputs, targets) or an iterable of such "
                               f"batches (a DataLoader), got {type(data).__name__}")
    for batch in data:
        if not (isinstance(batch, (tuple, list)) and len(batch) >= 2):
            raise WeightSpaceError(f"dataset_loss: each batch must be a tuple (inputs..., targets), got "
                                   f"{type(batch).__name__}")
        yield tuple(batch[:-1]), batch[-1]


def dataset_loss(model: Any, loss_fn: Any, data: Any, batch_size: int = 4096) -> float:
    """Mean of ``loss_fn(model(x), y)`` over ``data`` (weighted by batch size), in eval mode, without a graph.

    ``data``: a tuple ``(x, y)`` (evaluated in chunks of ``batch_size``) or an iterable of
    ``(x, y)`` batches.  The model's train/eval mode is put back afterwards.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> model = nn.Linear(1, 1, bias=False)
    >>> _ = nn.init.ones_(model.weight)
    >>> dataset_loss(model, nn.MSELoss(), (gw.tensor([[1.0], [2.0]]), gw.tensor([[0.0], [0.0]])))
    2.5
    """
    was_training = getattr(model, "training", True)
    model.eval()
    total, n = 0.0, 0
    try:
        with no_grad():
            for inputs, target in _batches(data, batch_size):
                k = len(target)
                total += float(loss_fn(model(*inputs), target).item()) * k
                n += k
    finally:
        model.train(was_training)
    if n == 0:
        raise WeightSpaceError("dataset_loss: the data is empty")
    return total / n


@contextmanager
def preserved(model: Any) -> Iterator[dict[str, np.ndarray]]:
    """Restore the parameters (bit for bit), their ``.grad`` and the train/eval mode on exit;
    yields the snapshot taken on entry."""
    saved = snapshot(model)
    # copies: a backward accumulates into an existing .grad in place
    grads = {n: (None if p.grad is None else Tensor(p.grad._data)) for n, p in named_weights(model)}
    was_training = getattr(model, "training", True)
    try:
        yield saved
    finally:
        load_weights(model, saved)
        for n, p in named_weights(model):
            p.grad = grads[n]
        model.train(was_training)
