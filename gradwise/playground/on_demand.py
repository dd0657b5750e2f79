"""The views the page asks for with a button, too costly to send after every update: the learning
rate triptych and the loss landscape with the optimizer's path.

Both leave the live run exactly as it was (the landscape moves the weights and puts them back bit
for bit; the triptych trains copies).

>>> from gradwise.playground.engine import Playground
>>> from gradwise.playground.settings import Settings
>>> pg = Playground(Settings(n_samples=60, hidden=(4,)))
>>> pg.step(5)
5
>>> land = landscape(pg, steps=5)
>>> len(land["losses"]), len(land["losses"][0]), len(land["path"])
(5, 5, 6)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.api.random import Generator
from gradwise.insight.landscape import LandscapeError, filter_normalized_direction, surface, trajectory
from gradwise.playground import recipe
from gradwise.playground.settings import LR_RANGE, PlaygroundError, parse_settings
from gradwise.playground.views import finite_or_none

TRIPTYCH_FACTORS = (0.1, 1.0, 10.0)
TRIPTYCH_STEPS = 200
MAX_SPAN = 5.0


def triptych(pg: Any, steps: int = TRIPTYCH_STEPS) -> dict[str, Any]:
    """The run retrained from scratch for ``steps`` updates at lr / 10, lr and lr x 10 (clipped to the
    slider's range): ``{"steps", "runs": [{"lr", "curve_steps", "train_loss", "diverged"}...]}``."""
    from gradwise.playground.engine import Playground

    runs = []
    for factor in TRIPTYCH_FACTORS:
        lr = min(max(pg.settings.lr * factor, LR_RANGE[0]), LR_RANGE[1])
        copy = Playground(parse_settings({"lr": lr}, pg.settings))
        copy.step(steps)
        runs.append({"lr": float(f"{lr:.4g}"), "curve_steps": copy.curve_steps,
                     "train_loss": [finite_or_none(v) for v in copy.train_loss], "diverged": copy.diverged})
    return {"steps": steps, "runs": runs}


def _project(path: np.ndarray, center: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Least-squares coordinates ``(a, b)`` of each row of ``path`` (``(T, P)``) in the plane
    ``center + a d1 + b d2``: the closest point of the plane (the path itself may leave it)."""
    basis = np.stack([d1, d2], axis=1)                                # (P, 2)
    coords, *_ = np.linalg.lstsq(basis, (path - center).T, rcond=None)
    return coords.T                                                   # (T, 2)


def landscape(pg: Any, kind: str = "random", steps: int = 21, seed: int = 0) -> dict[str, Any]:
    """The training loss on a plane through the current weights, with the optimizer's path in it.

    ``kind="random"``: two random filter-normalised directions (Li et al. 2018; seeded by ``seed``)
    over a span that holds the path's projection (in many dimensions random directions are nearly
    orthogonal to the path, so it often shows as a short track near the centre); ``kind="path"``:
    the plane of the path's two principal directions (PCA), where the path lies flattest.
    Returns ``{"kind", "alphas": [lo, hi], "betas": [lo, hi], "losses": steps x steps (row j: the
    j-th beta from lo up), "path": [[a, b]...], "path_steps", "center_loss"}``.
    """
    model = pg.model
    loss_fn = lambda out, y: recipe.loss_of(pg.settings.loss, out, y)  # noqa: E731
    data = (pg.x_train, pg.y_train)
    if kind == "path":
        if len(pg.path) < 3:
            raise PlaygroundError("landscape: the path plane needs at least 3 recorded points; take a few updates "
                                  "first")
        named = [(n, p.shape) for n, p in model.named_parameters()]
        snapshots = []
        for flat_point in pg.path:
            point, at = {}, 0
            for n, shape in named:
                size = int(np.prod(shape))
                point[n] = flat_point[at:at + size].reshape(shape).astype(np.float64)
                at += size
            snapshots.append(point)
        try:
            s = trajectory(model, loss_fn, data, snapshots, steps=steps)
        except LandscapeError as e:
            raise PlaygroundError(f"landscape: {e}") from None
        path = s.path if s.path is not None else np.zeros((0, 2))
    elif kind == "random":
        gen = Generator().manual_seed(seed)
        d1, d2 = filter_normalized_direction(model, gen), filter_normalized_direction(model, gen)
        names = [n for n, _ in model.named_parameters()]
        flat = [np.concatenate([d[n].ravel() for n in names]) for d in (d1, d2)]
        center = np.concatenate([p._data.ravel() for p in model.parameters()]).astype(np.float64)
        path = _project(np.asarray(pg.path, dtype=np.float64), center, *flat)
        reach = float(np.abs(path).max()) if len(path) else 0.0
        span = min(max(1.0, 1.15 * reach), MAX_SPAN) if math.isfinite(reach) else 1.0
        s = surface(model, loss_fn, data, (d1, d2), span=(-span, span), steps=steps)
    else:
        raise PlaygroundError(f"landscape: kind {kind!r} is not valid; valid: random, path")
    return {"kind": kind, "alphas": [float(s.alphas[0]), float(s.alphas[-1])],
            "betas": [float(s.betas[0]), float(s.betas[-1])], "center_loss": finite_or_none(s.center_loss),
            "losses": [[finite_or_none(v) for v in row] for row in s.losses],
            "path": [[finite_or_none(a), finite_or_none(b)] for a, b in path], "path_steps": list(pg.path_steps)}
