"""The loss against one weight: the slope at chosen points, the step descent takes, and where it stops.

:func:`slope_view` gathers what the ``gradwise slope`` picture shows for a 1-D loss, either a
test function (``"curve"``, with a global and a local minimum) or :func:`tiny_model_slice`:
the loss of a tiny trained network against one of its weights, the others held fixed.

- the curve ``L(w)`` and its derivative ``dL/dw`` on a grid (the engine's gradients);
- at each chosen point (labelled A, B, C...): the tangent, the sign of the gradient, the step
  plain gradient descent takes, ``-lr dL/dw``, and the whole descent from there;
- the minima, found from the sign changes of ``dL/dw`` (minus to plus) and refined by
  bisection; a *local* minimum that descent ends in is a trap: the gradient is zero there, so
  descent stops although a lower loss exists elsewhere.

>>> v = slope_view("curve", [0.3, 1.7, 1.0], lr=0.1, steps=200)
>>> v.labels, v.tangents.signs.tolist()
(('A', 'B', 'C'), [-1, 1, 0])
>>> [round(m.point[0], 6) for m in v.minima], [m.is_global for m in v.minima]
([-1.0, 1.0], [True, False])
>>> v.trapped
{'A': 1, 'B': 1, 'C': 1}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.insight.descent import Trajectory, as_objective, descend
from gradwise.insight.function_views import TangentLines, tangent_lines
from gradwise.insight.functions import CriticalPoint, DescentError, Objective

TINY_MODEL_DOMAIN = (-6.0, 4.0)


def _derivative(obj: Objective, xs: np.ndarray) -> np.ndarray:
    from gradwise.api.creation import tensor
    from gradwise.func import grad

    return np.asarray(grad(lambda p: obj(p).sum())(tensor(xs[:, None])).numpy()[:, 0], dtype=np.float64)


def minima_1d(obj: Objective, n: int = 801) -> tuple[CriticalPoint, ...]:
    """The minima of a 1-D ``obj`` on its domain: where ``dL/dw`` changes sign from minus to plus
    on an ``n``-point grid, refined by 60 bisection steps on ``dL/dw``; the lowest is global."""
    lo, hi = obj.domain[0]
    xs = np.linspace(lo, hi, n)
    d = _derivative(obj, xs)
    found = []
    for i in np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0)):
        a, b = float(xs[i]), float(xs[i + 1])
        for _ in range(60):                  # bisection keeps f'(a) < 0 <= f'(b)
            mid = 0.5 * (a + b)
            if _derivative(obj, np.array([mid]))[0] < 0:
                a = mid
            else:
                b = mid
        x = 0.5 * (a + b)
        found.append((x, obj.value([x])))
    if not found:
        return ()
    best = min(v for _, v in found)
    return tuple(CriticalPoint((x,), v, "minimum", v <= best + 1e-12 * max(1.0, abs(best))) for x, v in found)


def tiny_model_slice(seed: int = 0, steps: int = 400) -> Objective:
    """The training loss (mean squared error) of a tiny network against one weight.

    The network is ``Linear(1, 3) -> Tanh -> Linear(3, 1)`` (10 parameters, float64), trained
    with Adam (lr 0.05, ``steps`` full-batch steps, seed ``seed``) on 24 points of
    ``y = sin(3x)``, ``x`` in ``[-2, 2]``.  The returned 1-D Objective is the loss when the first
    hidden unit's input weight ``w`` (``0.weight[0, 0]``) is replaced by its argument and the
    other nine parameters keep their trained values: along this slice the loss has a global
    minimum (the trained weight) and a local one, separated by a ridge.
    """
    import gradwise.api.functions as F
    from gradwise.api.creation import tensor
    from gradwise.api.random import manual_seed
    from gradwise.autograd.grad_mode import no_grad
    from gradwise.func import functional_call
    from gradwise.nn import Linear, Sequential, Tanh
    from gradwise.optim import Adam

    x = np.linspace(-2.0, 2.0, 24)[:, None]
    xt, yt = tensor(x), tensor(np.sin(3.0 * x))
    manual_seed(seed)
    model = Sequential(Linear(1, 3), Tanh(), Linear(3, 1)).double()
    opt = Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        ((model(xt) - yt) ** 2).mean().backward()
        opt.step()
    with no_grad():
        trained = model[0].weight.detach().clone()
    mask = np.zeros(trained.shape)
    mask[0, 0] = 1.0
    keep, hole = trained * tensor(1.0 - mask), tensor(mask)

    def loss(w: Any) -> Any:
        # the weight matrix with entry (0, 0) replaced by w: differentiable in w
        weight = keep + hole * F.reshape(w, (1, 1))
        return ((functional_call(model, {"0.weight": weight}, (xt,)) - yt) ** 2).mean()

    base = as_objective(loss, 1, (TINY_MODEL_DOMAIN,))
    obj = dataclasses.replace(
        base, name="tiny model", start=(float(trained._data[0, 0]),),
        description="training loss (MSE) of a 1-3-1 tanh network fitted to y = sin(3x), against the first hidden "
                    "unit's input weight w; the other 9 parameters fixed at their trained values")
    return dataclasses.replace(obj, minima=minima_1d(obj), all_minima_known=True)


@dataclass(frozen=True)
class SlopeView:
    """What the slope picture shows: the curve ``values`` and derivative ``slopes`` on ``xs``;
    ``tangents`` at the chosen points named ``labels``; each point's descent in ``paths`` (plain
    gradient descent, ``lr``); the ``minima``; ``trapped``: label -> index into ``minima`` of the
    *local* minimum its descent ended in (absent when it reached the global minimum or stopped
    elsewhere)."""

    function: str
    description: str
    variable: str
    xs: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    slopes: np.ndarray = field(repr=False)
    labels: tuple[str, ...]
    tangents: TangentLines = field(repr=False)
    paths: tuple[Trajectory, ...] = field(repr=False)
    minima: tuple[CriticalPoint, ...]
    trapped: dict[str, int]
    lr: float

    @property
    def traps(self) -> tuple[int, ...]:
        """Indices into ``minima`` of the local minima some descent ended in."""
        return tuple(sorted(set(self.trapped.values())))


def slope_view(fn: str | Objective, at: Sequence[float] | None = None, *, lr: float = 0.1, steps: int = 200,
               n: int = 400, variable: str = "x") -> SlopeView:
    """The slope picture's record for a 1-D ``fn`` at the points ``at`` (default: the tangent
    points :func:`~gradwise.insight.tangent_lines` picks)."""
    obj = as_objective(fn, 1)
    if obj.dim != 1:
        raise DescentError(f"slope_view: {obj.name} is a function of {obj.dim} variables; the slope picture needs "
                           "a 1-D loss such as 'curve'")
    if not (isinstance(steps, int) and steps >= 1):
        raise DescentError(f"slope_view: steps must be a positive integer, got {steps!r}")
    tangents = tangent_lines(obj, at, lr=lr)
    if len(tangents.x) > 26:
        raise DescentError(f"slope_view: at most 26 points (labelled A to Z), got {len(tangents.x)}")
    labels = tuple(chr(ord("A") + i) for i in range(len(tangents.x)))
    lo, hi = obj.domain[0]
    xs = np.linspace(lo, hi, n)
    minima = obj.minima if obj.minima and obj.all_minima_known else minima_1d(obj)
    obj = dataclasses.replace(obj, minima=minima)
    paths = tuple(descend(obj, (float(x),), "sgd", lr=lr, steps=steps, tol=1e-3 * (hi - lo)) for x in tangents.x)
    trapped = {}
    for label, path in zip(labels, paths):
        if path.at_minimum and path.nearest_minimum is not None and not path.nearest_minimum.is_global:
            trapped[label] = minima.index(path.nearest_minimum)
    from gradwise.insight.function_views import function_grid

    grid = function_grid(obj, n)
    return SlopeView(obj.name, obj.description, variable, xs, grid.values, _derivative(obj, xs), labels, tangents,
                     paths, minima, trapped, float(lr))
