"""The contour view: the training loss over two parameters of the network (every other one held
where the last step started), the steepest-descent direction there, the step the optimizer took,
and ``cos θ`` between the two: how far the step points from steepest descent.

The gradient is the full-batch one (every training point, dropout off), so ``cos θ = 1`` for plain
full-batch SGD (up to L2) and less where mini-batches, momentum or Adam's per-coordinate scaling
turn the step.  For a network with exactly two parameters the picture is the whole loss surface.

>>> from gradwise.playground.engine import Playground
>>> from gradwise.playground.settings import Settings
>>> pg = Playground(Settings(n_samples=60, hidden=(), optimizer="sgd", batch_mode="full"))
>>> pg.step(3)
3
>>> view = contour(pg, 0, 1, steps=5)        # the first layer's two weights into unit 0
>>> round(view["cos"], 6), len(view["losses"])
(1.0, 5)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.autograd.grad_mode import enable_grad, no_grad
from gradwise.insight.weights import load_weights, preserved
from gradwise.playground import recipe
from gradwise.playground.settings import PlaygroundError
from gradwise.playground.views import finite_or_none


def parameter_labels(model: Any) -> list[str]:
    """A label per scalar parameter, in flat order: ``0.weight[1, 0]``, ``0.bias[1]``...

    >>> from gradwise import nn
    >>> parameter_labels(nn.Linear(2, 1))
    ['weight[0, 0]', 'weight[0, 1]', 'bias[0]']
    """
    labels = []
    for name, p in model.named_parameters():
        for idx in np.ndindex(*p.shape):
            labels.append(f"{name}[{', '.join(str(i) for i in idx)}]")
    return labels


def _load_flat(model: Any, flat: np.ndarray) -> None:
    values, at = {}, 0
    for name, p in model.named_parameters():
        values[name] = flat[at:at + p.numel()].reshape(p.shape)
        at += p.numel()
    load_weights(model, values)


def _cos(u: np.ndarray, v: np.ndarray) -> float:
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    return float(u @ v) / (nu * nv) if nu > 0 and nv > 0 else math.nan


def contour(pg: Any, i: Any = None, j: Any = None, steps: int = 21) -> dict[str, Any]:
    """The loss over parameters ``i`` and ``j`` (flat indices, see :func:`parameter_labels`; ``None``:
    the two that the last step moved most) around the point the last step started from, with
    ``descent`` (minus the full-batch gradient's two components), ``step`` (the last update's two
    components) and ``cos`` (cosine between the whole step and the whole minus gradient;
    ``cos_plane``: the same for the two drawn components).  Both axes span the same width, so
    angles in the picture are true angles."""
    if pg.last_before is None or pg.last_step is None:
        raise PlaygroundError("contour: take at least one update first; the view shows the last step")
    n = pg.last_before.size
    if i is None and j is None and n >= 2:
        i, j = (int(k) for k in np.argsort(-np.abs(pg.last_step), kind="stable")[:2])
    for name, k in (("i", i), ("j", j)):
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
            raise PlaygroundError(f"contour: {name} must be a parameter index from 0 to {n - 1}, got {k!r}")
    if i == j:
        raise PlaygroundError(f"contour: i and j must be two different parameters, got {i} twice")
    model, s = pg.model, pg.settings
    theta, step = pg.last_before, pg.last_step
    pg.monitor.detach()                     # these forwards are not training steps
    try:
        with preserved(model):
            _load_flat(model, theta)
            model.eval()
            for p in model.parameters():
                p.grad = None
            with enable_grad():
                loss = recipe.loss_of(s.loss, model(pg.x_train), pg.y_train)
            loss.backward()
            grad = np.concatenate([p.grad._data.ravel() if p.grad is not None else np.zeros(p.numel())
                                   for p in model.parameters()]).astype(np.float64)
            # wide enough to show the loss change around the point, and at least 4 steps' worth
            span = max(4.0 * max(abs(step[i]), abs(step[j])), 0.25 * max(abs(theta[i]), abs(theta[j]), 0.2))
            ticks_a = theta[i] + np.linspace(-span, span, steps)
            ticks_b = theta[j] + np.linspace(-span, span, steps)
            losses = np.empty((steps, steps))
            point = theta.copy()
            with no_grad(), np.errstate(all="ignore"):
                for r, b in enumerate(ticks_b):
                    for c, a in enumerate(ticks_a):
                        point[i], point[j] = a, b
                        _load_flat(model, point)
                        losses[r, c] = float(recipe.loss_of(s.loss, model(pg.x_train), pg.y_train).item())
    finally:
        pg.monitor.attach()
    labels = parameter_labels(model)
    return {
        "i": i, "j": j, "labels": [labels[i], labels[j]],
        "alphas": [float(ticks_a[0]), float(ticks_a[-1])], "betas": [float(ticks_b[0]), float(ticks_b[-1])],
        "losses": [[finite_or_none(v) for v in row] for row in losses],
        "center": [float(theta[i]), float(theta[j])],
        "descent": [finite_or_none(-grad[i]), finite_or_none(-grad[j])],
        "step": [finite_or_none(step[i]), finite_or_none(step[j])],
        "cos": finite_or_none(_cos(step, -grad)), "cos_plane": finite_or_none(_cos(step[[i, j]], -grad[[i, j]])),
        "n_parameters": n,
    }
