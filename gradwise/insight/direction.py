"""The gradient's direction: why ``-grad f`` is the direction of steepest descent.

The rate of change of ``f`` at ``x`` along a direction ``u`` is the directional
derivative ``D_u f(x) = grad f(x) . u = |grad f| |u| cos(theta)``, where theta is
the angle between ``u`` and the gradient.  Over unit directions it is smallest,
``-|grad f|``, at ``cos(theta) = -1``: moving against the gradient lowers ``f``
fastest; along a direction at right angles (``cos(theta) = 0``) ``f`` does not
change to first order; with the gradient (``cos(theta) = 1``) it rises fastest.

>>> import gradwise as gw
>>> f = lambda p: (p ** 2).sum()                   # grad f = 2p
>>> d = directional_derivative(f, [1.0, 0.0], [0.0, 1.0])
>>> d.value, d.cos_theta
(0.0, 0.0)
>>> steepest_descent_check(f, [1.0, 2.0], n_directions=100).none_faster
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.api.random import Generator, resolve
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape


def _gradient(f: Callable[[Tensor], Tensor], x: Any) -> tuple[np.ndarray, float]:
    from gradwise.api.creation import tensor

    p = tensor(np.array(x._data if isinstance(x, Tensor) else x, dtype=np.float64), requires_grad=True)
    out = f(p)
    if not isinstance(out, Tensor) or out.numel() != 1:
        raise ShapeError("directional derivative: f must return a scalar tensor, got "
                         f"{format_shape(out.shape) if isinstance(out, Tensor) else type(out).__name__}")
    out.backward()
    assert p.grad is not None, "directional derivative: f's output does not depend on its input"
    return p.grad.numpy().copy(), float(out.item())


def _value(f: Callable[[Tensor], Tensor], x: np.ndarray) -> float:
    from gradwise.api.creation import tensor
    from gradwise.autograd.grad_mode import no_grad

    with no_grad():
        return float(f(tensor(x)).item())


@dataclass(frozen=True)
class DirectionalDerivative:
    """``value = grad . u = grad_norm * u_norm * cos_theta``; ``angle_deg`` is theta in degrees."""

    value: float
    gradient: np.ndarray = field(repr=False)
    grad_norm: float
    u_norm: float
    cos_theta: float
    angle_deg: float


def directional_derivative(f: Callable[[Tensor], Tensor], x: Any, u: Any) -> DirectionalDerivative:
    """``D_u f(x) = grad f(x) . u`` for a scalar function ``f`` of a tensor shaped like ``x`` (float64).

    ``u`` has ``x``'s shape and need not be a unit vector (the rate then scales with ``|u|``).
    """
    g, _ = _gradient(f, x)
    u = np.array(u._data if isinstance(u, Tensor) else u, dtype=np.float64)
    if u.shape != g.shape:
        raise ShapeError(f"directional_derivative: the direction u has shape {format_shape(u.shape)} but x has "
                         f"shape {format_shape(g.shape)}; they must match")
    value = float(np.vdot(g, u))
    gn, un = float(np.linalg.norm(g)), float(np.linalg.norm(u))
    cos = value / (gn * un) if gn > 0 and un > 0 else 0.0
    cos = min(1.0, max(-1.0, cos))
    return DirectionalDerivative(value, g, gn, un, cos, math.degrees(math.acos(cos)))


@dataclass(frozen=True)
class SteepestDescentCheck:
    """Rates ``D_u f`` along ``n`` random unit directions, beside the rate along ``-grad/|grad|``.

    ``angles_deg[i]`` is the angle between direction ``i`` and the negative gradient;
    ``rates[i] = -grad_norm * cos(angles_deg[i])``; ``fd_rates`` are the same rates measured
    by finite differences ``(f(x + h u) - f(x - h u)) / 2h``, so the picture does not rest on
    autograd alone.
    """

    gradient: np.ndarray = field(repr=False)
    grad_norm: float
    steepest_rate: float
    directions: np.ndarray = field(repr=False)
    angles_deg: np.ndarray = field(repr=False)
    rates: np.ndarray = field(repr=False)
    fd_rates: np.ndarray = field(repr=False)
    best_sampled_rate: float
    none_faster: bool


def steepest_descent_check(f: Callable[[Tensor], Tensor], x: Any, n_directions: int = 256, *,
                           generator: Generator | None = None, h: float = 1e-5) -> SteepestDescentCheck:
    """Sample ``n_directions`` unit directions uniformly on the sphere and show that none lowers
    ``f`` faster than the negative gradient (whose rate is ``-|grad f(x)|``)."""
    if n_directions < 1:
        raise ValueError(f"steepest_descent_check: n_directions must be >= 1, got {n_directions}")
    g, _ = _gradient(f, x)
    x0 = np.array(x._data if isinstance(x, Tensor) else x, dtype=np.float64)
    gn = float(np.linalg.norm(g))
    # normalised Gaussian vectors are uniform on the unit sphere
    dirs = resolve(generator).standard_normal((n_directions, g.size))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    rates = dirs @ g.ravel()
    cos_to_neg = -rates / gn if gn > 0 else np.zeros(n_directions)
    angles = np.degrees(np.arccos(np.clip(cos_to_neg, -1.0, 1.0)))
    fd = np.array([(_value(f, x0 + h * d.reshape(g.shape)) - _value(f, x0 - h * d.reshape(g.shape))) / (2 * h)
                   for d in dirs])
    best = float(rates.min())
    # Cauchy-Schwarz: g . u >= -|g| |u| = -|g| for every unit u (tolerance for round-off)
    return SteepestDescentCheck(g, gn, -gn, dirs, angles, rates, fd, best, bool(best >= -gn * (1 + 1e-12)))
