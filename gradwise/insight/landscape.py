"""Loss landscapes of a network: slices of the loss through weight space.

* :func:`interpolate`: the 1-D line ``theta(a) = (1 - a) theta_0 + a theta_1`` between two
  parameter sets (Goodfellow et al., 2015), e.g. the initial and the trained weights;
* :func:`surface`: the 2-D plane ``theta* + a d1 + b d2`` around the weights ``theta*`` along
  two random *filter-normalised* directions (Li et al., 2018, :func:`filter_normalized_direction`):
  each filter of a direction is rescaled to the norm of the matching filter of the weights,
  so that the picture does not depend on the scale of each layer's weights;
* :func:`trajectory`: the training path, recorded by a :class:`ParameterRecorder` callback,
  projected onto the two leading principal directions of ``theta_t - theta_final``, with the
  loss surface of that plane underneath (Li et al., 2018, section 7).

All three leave the model's parameters bit-identical; losses are computed in eval mode
without a graph (:func:`~gradwise.insight.weights.dataset_loss`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from gradwise.api.random import Generator, resolve
from gradwise.errors import GradwiseError
from gradwise.insight.weights import (
    dataset_loss,
    flatten,
    load_weights,
    named_weights,
    preserved,
    snapshot,
    unflatten,
)
from gradwise.train.callbacks import Callback


class LandscapeError(GradwiseError, ValueError):
    """An option of a landscape function that cannot work; the message names it and what is valid."""


@dataclass(frozen=True, eq=False)
class Interpolation:
    """Loss along ``(1 - a) theta_0 + a theta_1``: ``alphas`` and ``losses`` of shape ``(n,)``;
    ``start_loss``/``end_loss`` are the losses at ``a = 0`` and ``a = 1``."""

    alphas: np.ndarray
    losses: np.ndarray
    start_loss: float
    end_loss: float
    labels: tuple[str, str]
    distance: float         # ||theta_1 - theta_0||


@dataclass(frozen=True, eq=False)
class Surface:
    """Loss on the plane ``center + a d1 + b d2``: ``alphas`` ``(n,)``, ``betas`` ``(m,)`` and
    ``losses`` ``(m, n)`` (row ``j`` is ``b = betas[j]``); ``center_loss`` is the loss at the center.

    ``path`` (``(T, 2)``, or ``None``) holds the coordinates of a recorded training path in the
    plane, ``path_losses`` ``(T,)`` the loss at each recorded point, and ``explained_variance``
    ``(2,)`` the fraction of the path's variance along each direction (PCA planes only).
    """

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray
    center_loss: float
    kind: str                                   # "random filter-normalised" or "PCA of the training path"
    directions: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]
    path: np.ndarray | None = None
    path_losses: np.ndarray | None = None
    explained_variance: np.ndarray | None = None


def _grid(lo: float, hi: float, num: int, what: str) -> np.ndarray:
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise LandscapeError(f"{what}: the range must be two finite numbers low < high, got ({lo}, {hi})")
    if not isinstance(num, int) or isinstance(num, bool) or num < 2:
        raise LandscapeError(f"{what}: the number of points must be an int >= 2, got {num!r}")
    # rounded so that grid points meant to be 0 or 1 are exactly 0 or 1
    return np.round(np.linspace(lo, hi, num), 12)


def _as_arrays(model: Any, values: Any, what: str) -> dict[str, np.ndarray]:
    if isinstance(values, Mapping):
        names = [n for n, _ in named_weights(model)]
        missing = [n for n in names if n not in values]
        if missing:
            raise LandscapeError(f"{what}: no values for parameter(s) {missing}; expected a dict with the names of "
                                 f"model.named_parameters() (e.g. from gradwise.insight.snapshot(model))")
        return {n: np.asarray(getattr(values[n], "_data", values[n])) for n in names}
    raise LandscapeError(f"{what}: expected a dict {{name: array}} of parameter values (gradwise.insight.snapshot, "
                         f"or model.state_dict()), got {type(values).__name__}")


def interpolate(model: Any, loss_fn: Any, data: Any, start: Mapping[str, Any], end: Mapping[str, Any],
                alphas: Sequence[float] | None = None, labels: tuple[str, str] = ("start", "end")) -> Interpolation:
    """Loss along the straight line from the parameters ``start`` to ``end``.

    ``start``/``end`` are ``{name: array}`` (:func:`~gradwise.insight.snapshot` or a state dict);
    ``alphas`` default to 31 points from -0.25 to 1.25 (0 and 1 among them); ``data`` is
    ``(x, y)`` or an iterable of batches.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> from gradwise.insight import snapshot
    >>> model = nn.Linear(1, 1, bias=False)
    >>> x, y = gw.tensor([[1.0], [2.0]]), gw.tensor([[2.0], [4.0]])
    >>> line = interpolate(model, nn.MSELoss(), (x, y), {"weight": [[0.0]]}, {"weight": [[2.0]]}, [0, 0.5, 1])
    >>> line.losses.tolist()                    # weight 0, 1, 2
    [10.0, 2.5, 0.0]
    """
    a0, a1 = _as_arrays(model, start, "interpolate: start"), _as_arrays(model, end, "interpolate: end")
    al = _grid(-0.25, 1.25, 31, "interpolate") if alphas is None else np.asarray(alphas, dtype=np.float64)
    if al.ndim != 1 or len(al) < 2 or not np.isfinite(al).all():
        raise LandscapeError(f"interpolate: alphas must be at least 2 finite numbers, got {alphas!r}")
    losses = np.empty(len(al))
    with preserved(model):
        for i, a in enumerate(al):
            # at a = 0 and a = 1 this is exactly theta_0 and theta_1 (0 * x = 0, 1 * x = x)
            load_weights(model, {n: (1 - a) * np.asarray(a0[n], np.float64) + a * np.asarray(a1[n], np.float64)
                                 for n in a0})
            losses[i] = dataset_loss(model, loss_fn, data)
        load_weights(model, a0)
        l0 = dataset_loss(model, loss_fn, data)
        load_weights(model, a1)
        l1 = dataset_loss(model, loss_fn, data)
    dist = math.sqrt(sum(float(np.sum((np.asarray(a1[n], np.float64) - a0[n]) ** 2)) for n in a0))
    # labels is a pair (the signature); tuple() only turns a list given for it into a tuple
    return Interpolation(al, losses, l0, l1, cast("tuple[str, str]", tuple(labels)), dist)


def filter_normalized_direction(model: Any, generator: Generator | None = None,
                                weights: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """A random direction in weight space, filter-normalised as in Li et al. (2018).

    For each parameter with 2 or more dimensions, a Gaussian direction ``d`` of the same shape
    is drawn and every filter ``d[i]`` (a row of a Linear weight: one output unit's incoming
    weights; an output channel of a Conv weight) is rescaled to ``||w[i]||``, the norm of the
    matching filter of the weights.  Biases and normalisation parameters (1-D parameters)
    get a zero direction: the picture moves only the weights that feed units.  Returns
    ``{name: array}`` (float64) for every trainable parameter.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> model = nn.Linear(3, 2, generator=gw.Generator().manual_seed(0))
    >>> d = filter_normalized_direction(model, gw.Generator().manual_seed(1))
    >>> bool(np.allclose(np.linalg.norm(d["weight"], axis=1), np.linalg.norm(model.weight.data, axis=1)))
    True
    >>> d["bias"].tolist()
    [0.0, 0.0]
    """
    rng = resolve(generator)
    w = snapshot(model) if weights is None else _as_arrays(model, weights, "filter_normalized_direction: weights")
    out = {}
    for name, value in w.items():
        value = np.asarray(value, dtype=np.float64)
        if value.ndim <= 1:
            out[name] = np.zeros_like(value)
            continue
        d = rng.standard_normal(value.shape)
        axes = tuple(range(1, value.ndim))
        w_norm = np.sqrt(np.sum(value ** 2, axis=axes, keepdims=True))
        d_norm = np.sqrt(np.sum(d ** 2, axis=axes, keepdims=True))
        out[name] = d * (w_norm / np.where(d_norm > 0, d_norm, 1.0))
    return out


def _plane(model: Any, loss_fn: Any, data: Any, center: dict[str, np.ndarray], d1: dict[str, np.ndarray],
           d2: dict[str, np.ndarray], alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    losses = np.empty((len(betas), len(alphas)))
    for j, b in enumerate(betas):
        for i, a in enumerate(alphas):
            load_weights(model, {n: center[n] + a * d1[n] + b * d2[n] for n in center})
            losses[j, i] = dataset_loss(model, loss_fn, data)
    return losses


def surface(model: Any, loss_fn: Any, data: Any, directions: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
            span: tuple[float, float] = (-1.0, 1.0), steps: int = 21, generator: Generator | None = None) -> Surface:
    """Loss on the plane through the model's current weights along two directions.

    ``directions`` default to two independent :func:`filter_normalized_direction` draws from
    ``generator``; the grid is ``steps x steps`` points over ``span`` in both coordinates (a
    coordinate of 1 moves every filter by its own norm).

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> model = nn.Linear(2, 1, generator=gen)
    >>> x = gw.randn(32, 2, generator=gen); y = x.sum(dim=1, keepdim=True)
    >>> s = surface(model, nn.MSELoss(), (x, y), steps=5, generator=gen)
    >>> s.losses.shape, bool(s.losses[2, 2] == s.center_loss)
    ((5, 5), True)
    """
    center = {k: np.asarray(v, dtype=np.float64) for k, v in snapshot(model).items()}
    if directions is None:
        d1 = filter_normalized_direction(model, generator)
        d2 = filter_normalized_direction(model, generator)
    else:
        if len(directions) != 2:
            raise LandscapeError(f"surface: directions must be a pair of {{name: array}} dicts, got {len(directions)}")
        d1, d2 = (_as_arrays(model, d, f"surface: directions[{k}]") for k, d in enumerate(directions))
    grid = _grid(float(span[0]), float(span[1]), steps, "surface")
    with preserved(model):
        losses = _plane(model, loss_fn, data, center, d1, d2, grid, grid)
    center_loss = dataset_loss(model, loss_fn, data)
    return Surface(grid, grid.copy(), losses, center_loss, "random filter-normalised",
                   ({k: np.asarray(v, np.float64) for k, v in d1.items()},
                    {k: np.asarray(v, np.float64) for k, v in d2.items()}))


class ParameterRecorder(Callback):
    """A fit callback that records a copy of the parameters at the start and after every
    ``every`` epochs: ``snapshots`` (a list of ``{name: array}``) and ``epochs`` (0 = initial).

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> model = nn.Linear(2, 1, generator=gen)
    >>> rec = ParameterRecorder()
    >>> x = gw.randn(16, 2, generator=gen)
    >>> _ = gw.train.fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, x[:, :1]),
    ...                  epochs=3, mode="full", callbacks=[rec], progress=False)
    >>> rec.epochs
    [0, 1, 2, 3]
    """

    def __init__(self, every: int = 1) -> None:
        if not isinstance(every, int) or every < 1:
            raise LandscapeError(f"ParameterRecorder: every must be an int >= 1, got {every!r}")
        self.every = every
        self.snapshots: list[dict[str, np.ndarray]] = []
        self.epochs: list[int] = []

    def on_fit_start(self, trainer: Any) -> None:
        if not self.snapshots:
            self.snapshots.append(snapshot(trainer.model))
            self.epochs.append(trainer.epoch)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        if (epoch + 1) % self.every == 0:
            self.snapshots.append(snapshot(trainer.model))
            self.epochs.append(epoch + 1)


def trajectory(model: Any, loss_fn: Any, data: Any, snapshots: Sequence[Mapping[str, Any]], steps: int = 21,
               margin: float = 0.3) -> Surface:
    """The training path ``snapshots`` (oldest first, e.g. ``ParameterRecorder.snapshots``) in the
    plane of its two leading principal directions, centred on the last snapshot.

    PCA of the rows ``theta_t - theta_final`` (centred, by SVD) gives orthonormal directions
    ``u1, u2``; point ``t`` sits at ``((theta_t - theta_final) . u1, (theta_t - theta_final) . u2)``
    (the last at ``(0, 0)``) and ``explained_variance`` is each direction's share of the
    total variance.  The loss is evaluated on a ``steps x steps`` grid covering the path
    with ``margin`` (a fraction of its extent) on every side, and at every snapshot.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 4, generator=gen), nn.Tanh(), nn.Linear(4, 1, generator=gen))
    >>> x = gw.randn(64, 2, generator=gen); y = x[:, :1] * x[:, 1:]
    >>> rec = ParameterRecorder()
    >>> _ = gw.train.fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.2), (x, y), epochs=6,
    ...                  batch_size=16, callbacks=[rec], progress=False, generator=gen)
    >>> t = trajectory(model, nn.MSELoss(), (x, y), rec.snapshots, steps=5)
    >>> t.path.shape, t.path[-1].tolist(), bool(0 <= t.explained_variance.sum() <= 1)
    ((7, 2), [0.0, 0.0], True)
    """
    if len(snapshots) < 3:
        raise LandscapeError(f"trajectory: need at least 3 parameter snapshots for a plane of 2 principal "
                             f"directions, got {len(snapshots)} (record more epochs)")
    arrays = [_as_arrays(model, s, f"trajectory: snapshots[{i}]") for i, s in enumerate(snapshots)]
    names = list(arrays[-1])
    final = flatten(arrays[-1], names)
    rows = np.stack([flatten(a, names) - final for a in arrays])           # (T, P)
    centred = rows - rows.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(sv ** 2))
    if total == 0:
        raise LandscapeError("trajectory: every snapshot is the same point; the parameters never moved")
    u1, u2 = vt[0], vt[1]
    explained = np.array([sv[0] ** 2, sv[1] ** 2]) / total
    coords = np.stack([rows @ u1, rows @ u2], axis=1)                      # (T, 2); last row is (0, 0)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-12)
    alphas = _grid(float(lo[0] - pad[0]), float(hi[0] + pad[0]), steps, "trajectory")
    betas = _grid(float(lo[1] - pad[1]), float(hi[1] + pad[1]), steps, "trajectory")
    center = {n: np.asarray(v, np.float64) for n, v in arrays[-1].items()}
    d1, d2 = unflatten(u1, center), unflatten(u2, center)
    with preserved(model):
        losses = _plane(model, loss_fn, data, center, d1, d2, alphas, betas)
        path_losses = np.empty(len(arrays))
        for t, a in enumerate(arrays):
            load_weights(model, a)
            path_losses[t] = dataset_loss(model, loss_fn, data)
    return Surface(alphas, betas, losses, float(path_losses[-1]), "PCA of the training path", (d1, d2), coords,
                   path_losses, explained)
