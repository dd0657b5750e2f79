"""What the pictures of a test function show, computed here so that ``gradwise.viz`` only draws.

- :func:`function_grid`: ``f`` on a regular grid over the domain (for contours, surfaces and
  1-D curves), with the known critical points.
- :func:`gradient_arrows`: the negative gradient at chosen points, the direction descent
  takes from each.
- :func:`tangent_lines`: for a 1-D function, the tangent at chosen points, the gradient's
  sign there, and one small step against the gradient, which lowers ``f`` wherever the slope
  is not zero and does not move at all where it is.

>>> t = tangent_lines("curve", [-1.4, -0.5, 0.5, 1.0, 1.5], lr=0.01)
>>> t.signs.tolist(), t.lowered.tolist(), t.stopped.tolist()
([-1, 1, -1, 0, 1], [True, True, True, False, True], [False, False, False, True, False])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.insight.descent import as_objective
from gradwise.insight.functions import CriticalPoint, DescentError, Objective


@dataclass(frozen=True)
class FunctionGrid:
    """``values`` of ``f`` on the grid ``axes``: ``(nx,)`` for 1-D, ``(ny, nx)`` (row = y) for 2-D."""

    function: str
    description: str
    domain: tuple[tuple[float, float], ...]
    axes: tuple[np.ndarray, ...] = field(repr=False)
    values: np.ndarray = field(repr=False)
    critical_points: tuple[CriticalPoint, ...] = field(repr=False)

    @property
    def dim(self) -> int:
        return len(self.axes)


def _evaluate(obj: Objective, points: np.ndarray) -> np.ndarray:
    from gradwise.api.creation import tensor
    from gradwise.autograd.grad_mode import no_grad

    with no_grad(), np.errstate(all="ignore"):
        return obj(tensor(points)).numpy().copy()


def function_grid(fn: str | Objective, n: int = 200, domain: tuple[tuple[float, float], ...] | None = None
                  ) -> FunctionGrid:
    """``f`` on ``n`` points per axis over ``domain`` (default: the function's), in one batched call.

    >>> g = function_grid("rosenbrock", n=5)
    >>> g.values.shape, float(g.values[2, 3])      # row y = 1, column x = 1: the minimum
    ((5, 5), 0.0)
    """
    obj = as_objective(fn, domain=domain)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise DescentError(f"function_grid: n must be an integer >= 2, got {n!r}")
    box = obj.domain if domain is None else tuple((float(lo), float(hi)) for lo, hi in domain)
    if len(box) != obj.dim:
        raise DescentError(f"function_grid: {obj.name} needs {obj.dim} (low, high) pairs, got {box}")
    axes = tuple(np.linspace(lo, hi, n) for lo, hi in box)
    mesh = np.meshgrid(*axes, indexing="xy")
    values = _evaluate(obj, np.stack(mesh, axis=-1))
    return FunctionGrid(obj.name, obj.description, box, axes, values, obj.critical_points)


@dataclass(frozen=True)
class GradientArrows:
    """At each of ``points`` ``(m, d)``: ``values``, ``gradients`` ``(m, d)``, their ``norms``,
    and ``directions``, the unit vectors ``-grad / |grad|`` (zero where the gradient is zero)."""

    function: str
    points: np.ndarray
    values: np.ndarray
    gradients: np.ndarray
    norms: np.ndarray
    directions: np.ndarray


def gradient_arrows(fn: str | Objective, points: Any = None, n: int = 9) -> GradientArrows:
    """The negative gradient at ``points`` ``(m, d)`` (default: an ``n`` x ``n`` grid inside the domain).

    >>> a = gradient_arrows("bowl", [[1.0, 0.0], [0.0, 1.0]])
    >>> a.gradients.tolist(), a.directions.tolist()
    ([[1.0, 0.0], [0.0, 50.0]], [[-1.0, -0.0], [-0.0, -1.0]])
    """
    from gradwise.api.creation import tensor
    from gradwise.func import grad

    obj = as_objective(fn, None if points is None else np.shape(np.array(points, dtype=np.float64))[-1])
    if points is None:
        # cell centres, so no arrow sits on the plot's edge
        axes = [lo + (np.arange(n) + 0.5) * (hi - lo) / n for lo, hi in obj.domain]
        points = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="xy")], axis=1)
    pts = np.array(points, dtype=np.float64).reshape(-1, obj.dim)
    g = grad(lambda p: obj(p).sum())(tensor(pts)).numpy().copy()
    norms = np.linalg.norm(g, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        directions = np.where(norms[:, None] > 0, -g / norms[:, None], 0.0)
    return GradientArrows(obj.name, pts, _evaluate(obj, pts), g, norms, directions)


@dataclass(frozen=True)
class TangentLines:
    """Tangents of a 1-D ``f`` at ``x`` ``(m,)``: ``values``, ``slopes`` (``f'(x)``), ``signs``
    (-1, 0, +1; 0 when ``|f'| <= zero_tol``), ``segments`` ``(m, 2, 2)``: the tangent's two end
    points ``(x -+ h, f(x) -+ f'(x) h)`` with ``h = length / sqrt(1 + f'(x)^2)``, so every segment
    is ``2 length`` long whatever its slope, ``segments[i, 0]`` left and ``[i, 1]`` right;
    ``downhill`` ``(m, 2)``: the end of the segment that lies against the gradient (lower than
    the point; the point itself where ``f' = 0``); and one gradient step
    ``next_x = x - lr f'(x)`` with ``next_values``: ``lowered`` where ``f`` went down,
    ``stopped`` where the gradient is zero (to ``zero_tol``), so the step does not move: a
    minimum, a maximum or a flat point."""

    function: str
    x: np.ndarray
    values: np.ndarray
    slopes: np.ndarray
    signs: np.ndarray
    segments: np.ndarray = field(repr=False)
    downhill: np.ndarray = field(repr=False)
    lr: float
    next_x: np.ndarray
    next_values: np.ndarray
    lowered: np.ndarray
    stopped: np.ndarray


def tangent_lines(fn: str | Objective, x: Any = None, *, lr: float = 0.02, length: float = 0.35,
                  zero_tol: float = 1e-9) -> TangentLines:
    """Tangents, gradient signs and one descent step at the points ``x`` of a 1-D function
    (default: its known critical points and the midpoints between them and the domain's ends)."""
    from gradwise.api.creation import tensor
    from gradwise.func import grad

    obj = as_objective(fn, 1)
    if obj.dim != 1:
        raise DescentError(f"tangent_lines: {obj.name} is a function of {obj.dim} variables; tangent lines "
                           "need a 1-D function such as 'curve'")
    if x is None:
        lo, hi = obj.domain[0]
        knots = sorted({lo, hi} | {float(c.point[0]) for c in obj.critical_points})
        x = sorted(set(knots[1:-1]) | {(a + b) / 2 for a, b in zip(knots, knots[1:])})
    xs = np.array(x, dtype=np.float64).reshape(-1)
    if not lr > 0:
        raise DescentError(f"tangent_lines: lr must be positive, got {lr!r}")
    pts = xs[:, None]
    values = _evaluate(obj, pts)
    slopes = grad(lambda p: obj(p).sum())(tensor(pts)).numpy()[:, 0].copy()
    signs = np.where(np.abs(slopes) <= zero_tol, 0, np.sign(slopes)).astype(int)
    h = length / np.sqrt(1.0 + slopes ** 2)
    offsets = np.stack([-h, h], axis=1)
    segments = np.stack([xs[:, None] + offsets, values[:, None] + slopes[:, None] * offsets], axis=-1)
    # against the gradient: left where f' > 0, right where f' < 0
    downhill = np.where((signs > 0)[:, None], segments[:, 0], segments[:, 1])
    downhill = np.where((signs == 0)[:, None], np.stack([xs, values], axis=1), downhill)
    nxt = xs - lr * slopes
    nvals = _evaluate(obj, nxt[:, None])
    return TangentLines(obj.name, xs, values, slopes, signs, segments, downhill, float(lr), nxt, nvals,
                        nvals < values, signs == 0)
