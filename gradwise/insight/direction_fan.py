"""A fan of unit directions around a point of a 2-D function, each with its directional derivative.

The rate at which ``f`` changes when moving from ``x`` along a unit vector ``u`` is
``D_u f(x) = grad f(x) . u = |grad f| cos(theta)``, theta being the angle from the gradient to
``u``.  :func:`direction_fan` evaluates it (with :func:`~gradwise.insight.directional_derivative`,
and again by central finite differences) on directions evenly spread around the circle,
starting at the gradient's own direction, so that the fan holds theta = 0 (steepest ascent,
``+|grad f|``), theta = +-pi/2 (along the contour: no change to first order) and theta = pi
(steepest descent, ``-|grad f|``) whenever ``n`` is a multiple of 4.

>>> fan = direction_fan("bowl", (1.0, 0.2), n=8)
>>> fan.gradient.tolist(), round(fan.grad_norm, 6)
([1.0, 10.0], 10.049876)
>>> [round(float(r), 6) for r in fan.rates[[0, 2, 4]]]      # theta = 0, pi/2, pi
[10.049876, 0.0, -10.049876]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.insight.descent import as_objective
from gradwise.insight.direction import directional_derivative
from gradwise.insight.functions import DescentError, Objective


@dataclass(frozen=True)
class DirectionFan:
    """Directional derivatives of a 2-D function at ``point`` along ``n`` unit directions.

    ``angles`` ``(n,)``: theta in ``[-pi, pi)``, the angle from the gradient to each direction
    (counter-clockwise positive; measured from the x axis when the gradient is zero);
    ``directions`` ``(n, 2)``: the unit vectors; ``rates`` ``(n,)``: ``grad . u`` from the
    engine; ``cos_theta`` ``(n,)``: ``rates / |grad|`` (0 where the gradient is zero);
    ``fd_rates`` ``(n,)``: the same rates by central differences ``(f(x + h u) - f(x - h u)) / 2h``.
    ``contour_direction`` ``(2,)``: the unit vector at theta = +pi/2, tangent to the contour
    through ``point``.
    """

    function: str
    point: np.ndarray
    value: float
    gradient: np.ndarray
    grad_norm: float
    angles: np.ndarray = field(repr=False)
    directions: np.ndarray = field(repr=False)
    rates: np.ndarray = field(repr=False)
    cos_theta: np.ndarray = field(repr=False)
    fd_rates: np.ndarray = field(repr=False)
    contour_direction: np.ndarray = field(repr=False)

    @property
    def steepest_descent(self) -> np.ndarray:
        """The unit vector ``-grad / |grad|`` (zeros where the gradient is zero)."""
        if self.grad_norm == 0:
            return np.zeros(2)
        return -self.gradient / self.grad_norm


def direction_fan(fn: str | Objective, point: Any, n: int = 24, h: float = 1e-5) -> DirectionFan:
    """``grad f . u`` at ``point`` for ``n`` unit directions ``u`` spread evenly around the circle,
    the first one along the gradient (``fn``: a 2-D test function's name or an Objective)."""
    obj = as_objective(fn, 2)
    if obj.dim != 2:
        raise DescentError(f"direction_fan: {obj.name} is a function of {obj.dim} variable(s); the fan of "
                           "directions needs a function of 2")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise DescentError(f"direction_fan: n must be an integer >= 4, got {n!r}")
    x = np.asarray(point, dtype=np.float64).reshape(-1)
    if x.shape != (2,) or not np.all(np.isfinite(x)):
        raise DescentError(f"direction_fan: the point must be 2 finite numbers (x, y), got {point!r}")
    g = obj.gradient(x)
    if not np.all(np.isfinite(g)):
        raise DescentError(f"direction_fan: the gradient of {obj.name} at {tuple(x.tolist())} is not finite "
                           f"({g.tolist()}); choose another point")
    norm = float(np.linalg.norm(g))
    base = math.atan2(g[1], g[0]) if norm > 0 else 0.0
    # theta = -pi, ..., 0, ..., pi - 2 pi / n: rotated so that index n / 2 is the gradient itself
    angles = -math.pi + 2.0 * math.pi * np.arange(n) / n
    angles = np.roll(angles, -(n // 2))                         # start at theta = 0
    dirs = np.stack([np.cos(base + angles), np.sin(base + angles)], axis=1)

    def f(p: Any) -> Any:
        return obj(p)

    rates = np.array([directional_derivative(f, x, u).value for u in dirs])
    fd = np.array([(obj.value(x + h * u) - obj.value(x - h * u)) / (2.0 * h) for u in dirs])
    cos = rates / norm if norm > 0 else np.zeros(n)
    contour = np.array([math.cos(base + math.pi / 2), math.sin(base + math.pi / 2)])
    return DirectionFan(obj.name, x, obj.value(x), g, norm, angles, dirs, rates, np.clip(cos, -1.0, 1.0), fd,
                        contour)


def neighbourhood(fn: str | Objective, point: Any, fraction: float = 0.18) -> tuple[tuple[float, float], ...]:
    """The square box centred on ``point`` whose half-width is ``fraction`` of the longest side of
    ``fn``'s domain: the close-up in which a fan of directions and the contour through the point
    are seen together.

    >>> neighbourhood("bowl", (1.0, 0.0), fraction=0.5)
    ((-2.0, 4.0), (-3.0, 3.0))
    """
    obj = as_objective(fn, 2)
    if not 0 < fraction <= 1:
        raise DescentError(f"neighbourhood: fraction must be in (0, 1], got {fraction!r}")
    half = fraction * max(hi - lo for lo, hi in obj.domain)
    x = np.asarray(point, dtype=np.float64).reshape(-1)
    return tuple((float(c - half), float(c + half)) for c in x)
