"""Test functions to watch gradient descent on: 1-D and 2-D, with their known minima.

Each entry of :data:`FUNCTIONS` is an :class:`Objective`: a callable on a gradwise
tensor of shape ``(d,)`` (or a batch ``(..., d)``, one value per point) whose
gradients come from the engine, with the box to plot it on, its known minima (all of
them where they are known, each marked global or local), other known critical points
(maxima, saddles, flat points) and a description.

The functions are written with tensor methods only (``**``, ``cos``, ``exp``,
``sqrt``), so ``f(x).backward()`` gives the gradient and ``gradwise.func.hessian``
the Hessian.  Minima and saddles listed with many digits were found by Newton's
method on the engine's gradient and Hessian (``gradwise.insight.find_critical_points``
finds them again, and the tests check that), the others are exact.

>>> import gradwise as gw
>>> f = FUNCTIONS["himmelblau"]
>>> len(f.minima), all(m.is_global for m in f.minima)
(4, True)
>>> x = gw.tensor([3.0, 2.0], dtype=gw.float64, requires_grad=True)
>>> f(x).backward()
>>> x.grad.tolist()
[0.0, 0.0]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError, ShapeError, format_shape

KINDS = ("minimum", "maximum", "saddle", "degenerate")


class DescentError(GradwiseError, ValueError):
    """A bad value for a descent/minima/learning-rate option; the message names it and what is valid."""


class DescentTypeError(GradwiseError, TypeError):
    """An argument of the wrong type (an optimizer that is neither a name nor an Optimizer class, ...)."""


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes: ``kind`` is one of :data:`KINDS`; ``is_global``
    marks a global minimum."""

    point: tuple[float, ...]
    value: float
    kind: str = "minimum"
    is_global: bool = False


@dataclass(frozen=True)
class Objective:
    """A scalar test function of ``dim`` variables with what is known about it.

    ``fn`` maps a tensor of shape ``(..., dim)`` to one value per point (shape ``(...)``);
    ``domain`` is one ``(low, high)`` pair per variable (the box that the pictures show);
    ``minima`` are the known minima, ``all_minima_known`` says whether that list is
    complete on the domain; ``others`` are further known critical points; ``start`` is a
    start point that shows something interesting.
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    dim: int
    domain: tuple[tuple[float, float], ...]
    minima: tuple[CriticalPoint, ...]
    description: str
    start: tuple[float, ...]
    all_minima_known: bool = True
    others: tuple[CriticalPoint, ...] = ()

    def __call__(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            from gradwise.api.creation import tensor

            x = tensor(np.asarray(x, dtype=np.float64))
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ShapeError(f"{self.name}: expected a point of shape ({self.dim},) or a batch (..., {self.dim}), "
                             f"got shape {format_shape(tuple(x.shape))}")
        return self.fn(x)

    @property
    def global_minima(self) -> tuple[CriticalPoint, ...]:
        """The global minima (several for Himmelblau and the six-hump camel)."""
        return tuple(m for m in self.minima if m.is_global)

    @property
    def critical_points(self) -> tuple[CriticalPoint, ...]:
        """The known minima followed by the other known critical points."""
        return self.minima + self.others

    @property
    def minimum_value(self) -> float | None:
        """The global minimum's value, or None when the function has no minimum (the saddle)."""
        return min((m.value for m in self.minima), default=None)

    def value(self, point: Any) -> float:
        """``f(point)`` as a float (no graph recorded)."""
        from gradwise.api.creation import tensor
        from gradwise.autograd.grad_mode import no_grad

        with no_grad():
            return float(self(tensor(np.asarray(point, dtype=np.float64))).item())

    def gradient(self, point: Any) -> np.ndarray:
        """``grad f(point)`` from the engine, shape ``(dim,)``."""
        from gradwise.api.creation import tensor

        x = tensor(np.asarray(point, dtype=np.float64), requires_grad=True)
        self(x).backward()
        assert x.grad is not None   # every test function depends on all of its coordinates
        return x.grad.numpy().copy()


def _xy(x: Tensor) -> tuple[Tensor, Tensor]:
    return x[..., 0], x[..., 1]


def _bowl(x: Tensor) -> Tensor:
    a, b = _xy(x)
    return 0.5 * a ** 2 + 25.0 * b ** 2


def _rosenbrock(x: Tensor) -> Tensor:
    a, b = _xy(x)
    return (1.0 - a) ** 2 + 100.0 * (b - a ** 2) ** 2


def _himmelblau(x: Tensor) -> Tensor:
    a, b = _xy(x)
    return (a ** 2 + b - 11.0) ** 2 + (a + b ** 2 - 7.0) ** 2


def _rastrigin(x: Tensor) -> Tensor:
    return (x ** 2 - 10.0 * (2.0 * math.pi * x).cos()).sum(dim=-1) + 10.0 * x.shape[-1]


# A tiny constant under Ackley's square root: the cone point at the origin has no gradient
# (d sqrt(r^2)/dx = x / r is 0/0 there), and with it the gradient at the origin is exactly 0
# while f moves by ~1e-15, far below anything a picture or a tolerance sees.
_ACKLEY_EPS = 1e-30


def _ackley(x: Tensor) -> Tensor:
    a, b = _xy(x)
    r = (0.5 * (a ** 2 + b ** 2) + _ACKLEY_EPS).sqrt()
    waves = 0.5 * ((2.0 * math.pi * a).cos() + (2.0 * math.pi * b).cos())
    return -20.0 * (-0.2 * r).exp() - waves.exp() + (math.e + 20.0)


def _beale(x: Tensor) -> Tensor:
    a, b = _xy(x)
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b ** 2) ** 2 + (2.625 - a + a * b ** 3) ** 2


def _booth(x: Tensor) -> Tensor:
    a, b = _xy(x)
    return (a + 2.0 * b - 7.0) ** 2 + (2.0 * a + b - 5.0) ** 2


def _camel(x: Tensor) -> Tensor:
    a, b = _xy(x)
    return (4.0 - 2.1 * a ** 2 + a ** 4 / 3.0) * a ** 2 + a * b + (4.0 * b ** 2 - 4.0) * b ** 2


def _saddle(x: Tensor) -> Tensor:
    a, b = _xy(x)
    return a ** 2 - b ** 2


def _curve(x: Tensor) -> Tensor:
    # f'(x) = (x + 1) x (x - 1) (x - 2)^2: minima at -1 (global) and 1, a maximum at 0 and a
    # double root at 2, where f' and f'' both vanish: a flat terrace, not a minimum.
    t = x[..., 0]
    return t ** 6 / 6.0 - 0.8 * t ** 5 + 0.75 * t ** 4 + t ** 3 * (4.0 / 3.0) - 2.0 * t ** 2


def _rastrigin_minima(low: float = -5.12, high: float = 5.12) -> tuple[CriticalPoint, ...]:
    """Rastrigin is a sum of ``g(t) = t^2 - 10 cos(2 pi t) + 10`` over the coordinates, so its
    minima are the products of g's minima: one next to each integer k, a little closer to 0
    (the bowl ``t^2`` pulls it in), found by Newton on ``g'(t) = 2t + 20 pi sin(2 pi t)``."""
    roots = []
    for k in range(math.ceil(low), math.floor(high) + 1):
        t = float(k)
        for _ in range(50):
            g1 = 2.0 * t + 20.0 * math.pi * math.sin(2.0 * math.pi * t)
            g2 = 2.0 + 40.0 * math.pi ** 2 * math.cos(2.0 * math.pi * t)
            t -= g1 / g2
        roots.append(t)
    g = [r * r - 10.0 * math.cos(2.0 * math.pi * r) + 10.0 for r in roots]
    pts = []
    for (i, a), (j, b) in itertools.product(enumerate(roots), repeat=2):
        is_origin = a == 0.0 and b == 0.0
        pts.append(CriticalPoint((a, b), 0.0 if is_origin else g[i] + g[j], "minimum", is_origin))
    return tuple(sorted(pts, key=lambda m: m.value))


def _m(x: float, y: float, value: float, is_global: bool) -> CriticalPoint:
    return CriticalPoint((x, y), value, "minimum", is_global)


_HIMMELBLAU_MIN = (_m(3.0, 2.0, 0.0, True), _m(-2.805118086952745, 3.131312518250573, 0.0, True),
                   _m(-3.779310253377747, -3.2831859912861696, 0.0, True),
                   _m(3.5844283403304917, -1.8481265269644036, 0.0, True))
_HIMMELBLAU_OTHERS = (
    CriticalPoint((-0.2708445906673476, -0.9230385564799815), 181.6165215225827, "maximum"),
    CriticalPoint((3.385154183607021, 0.07385187983774928), 13.311926270405587, "saddle"),
    CriticalPoint((0.08667750455539634, 2.884254701174776), 67.71915008752613, "saddle"),
    CriticalPoint((-3.0730257507643897, -0.08135304428796751), 104.01516291755811, "saddle"),
    CriticalPoint((-0.12796134673068005, -1.9537149802445766), 178.33723920192745, "saddle"),
)
_CAMEL_MIN = (_m(0.08984201310031806, -0.7126564030207396, -1.0316284534898774, True),
              _m(-0.08984201310031806, 0.7126564030207396, -1.0316284534898774, True),
              _m(-1.7036067149699807, 0.7960835686726252, -0.21546382438371725, False),
              _m(1.7036067149699807, -0.7960835686726252, -0.21546382438371725, False),
              _m(-1.607104752920197, -0.5686514548841314, 2.1042503103112584, False),
              _m(1.607104752920197, 0.5686514548841314, 2.1042503103112584, False))

_CAMEL_OTHERS = (
    CriticalPoint((0.0, 0.0), 0.0, "saddle"),
    CriticalPoint((1.1092053368047863, -0.7682680925095398), 0.5437186009781851, "saddle"),
    CriticalPoint((-1.1092053368047863, 0.7682680925095398), 0.5437186009781851, "saddle"),
    CriticalPoint((-1.6380679841897785, -0.22867406904439405), 2.2293571975307147, "saddle"),
    CriticalPoint((1.6380679841897785, 0.22867406904439405), 2.2293571975307147, "saddle"),
    CriticalPoint((-1.2960702671671092, -0.6050843880386585), 2.229470818029859, "saddle"),
    CriticalPoint((1.2960702671671092, 0.6050843880386585), 2.229470818029859, "saddle"),
    CriticalPoint((-1.2302298765166524, -0.16233458445899493), 2.496295351023577, "maximum"),
    CriticalPoint((1.2302298765166524, 0.16233458445899493), 2.496295351023577, "maximum"),
)

FUNCTIONS: dict[str, Objective] = {
    "bowl": Objective(
        "bowl", _bowl, 2, ((-3.0, 3.0), (-1.5, 1.5)), (_m(0.0, 0.0, 0.0, True),),
        "Ill-conditioned quadratic bowl f = x^2/2 + 25 y^2: Hessian diag(1, 50), condition number 50. "
        "Gradient descent with a fixed learning rate is stable for 0 < lr < 2/50 = 0.04: the steep y "
        "direction limits the rate while the shallow x direction then needs hundreds of steps.",
        (-2.5, 1.0)),
    "rosenbrock": Objective(
        "rosenbrock", _rosenbrock, 2, ((-2.0, 2.0), (-1.0, 3.0)), (_m(1.0, 1.0, 0.0, True),),
        "Rosenbrock's banana f = (1 - x)^2 + 100 (y - x^2)^2: a curved, flat-bottomed valley; easy to "
        "reach, slow to follow to the single minimum at (1, 1) (Hessian eigenvalues ~0.4 and ~1002 there).",
        (-1.5, 2.0)),
    "himmelblau": Objective(
        "himmelblau", _himmelblau, 2, ((-5.0, 5.0), (-5.0, 5.0)), _HIMMELBLAU_MIN,
        "Himmelblau's function f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2: four minima, all global (f = 0), "
        "one local maximum at (-0.271, -0.923) and four saddles; where descent ends depends on the start.",
        (0.0, 0.0), True, _HIMMELBLAU_OTHERS),
    "rastrigin": Objective(
        "rastrigin", _rastrigin, 2, ((-5.12, 5.12), (-5.12, 5.12)), _rastrigin_minima(),
        "Rastrigin's function f = 20 + sum(x_i^2 - 10 cos(2 pi x_i)): a bowl covered in ripples, with a local "
        "minimum near every integer point (121 on the domain) and the global one at the origin.",
        (2.3, -1.7)),
    "ackley": Objective(
        "ackley", _ackley, 2, ((-5.0, 5.0), (-5.0, 5.0)), (_m(0.0, 0.0, 0.0, True),),
        "Ackley's function: an almost flat, rippled plateau around a deep funnel at the origin (f = 0). Its "
        "many local minima near the integer points are not listed.",
        (2.2, 1.6), False),
    "beale": Objective(
        "beale", _beale, 2, ((-4.5, 4.5), (-4.5, 4.5)), (_m(3.0, 0.5, 0.0, True),),
        "Beale's function: steep walls at the corners and flat valleys; one minimum at (3, 0.5) and saddles "
        "at (0, 1) and near (0.1, -2.64).",
        (1.0, 1.5), True,
        (CriticalPoint((0.0, 1.0), 14.203125, "saddle"),
         CriticalPoint((0.10053793732415843, -2.6445135850231245), 9.86451228475556, "saddle"))),
    "booth": Objective(
        "booth", _booth, 2, ((-10.0, 10.0), (-10.0, 10.0)), (_m(1.0, 3.0, 0.0, True),),
        "Booth's function f = (x + 2y - 7)^2 + (2x + y - 5)^2: a tilted quadratic bowl (Hessian [[10, 8], "
        "[8, 10]], eigenvalues 2 and 18), minimum at (1, 3).",
        (-7.0, 8.0)),
    "camel": Objective(
        "camel", _camel, 2, ((-2.5, 2.5), (-1.5, 1.5)), _CAMEL_MIN,
        "Six-hump camel f = (4 - 2.1 x^2 + x^4/3) x^2 + x y + (4 y^2 - 4) y^2: six minima, two of them global "
        "(f = -1.0316 at (+-0.0898, -+0.7127)), and two maxima and seven saddles between them.",
        (-1.5, -1.0), True, _CAMEL_OTHERS),
    "saddle": Objective(
        "saddle", _saddle, 2, ((-2.0, 2.0), (-2.0, 2.0)), (),
        "The saddle f = x^2 - y^2: the gradient vanishes at the origin, which is neither a minimum nor a "
        "maximum (Hessian eigenvalues 2 and -2); f has no minimum, and descent slides off along y.",
        (1.5, 0.05), True, (CriticalPoint((0.0, 0.0), 0.0, "saddle"),)),
    "curve": Objective(
        "curve", _curve, 1, ((-1.5, 2.5),),
        (CriticalPoint((-1.0,), -97.0 / 60.0, "minimum", True), CriticalPoint((1.0,), -33.0 / 60.0, "minimum")),
        "1-D curve f = x^6/6 - 4x^5/5 + 3x^4/4 + 4x^3/3 - 2x^2 with f' = (x + 1) x (x - 1) (x - 2)^2: the "
        "global minimum at x = -1, a local minimum at x = 1, a maximum at 0 and a flat terrace at x = 2 "
        "(f' = f'' = 0, not a minimum) where descent from the right creeps to a halt.",
        (0.4,), True,
        (CriticalPoint((0.0,), 0.0, "maximum"), CriticalPoint((2.0,), -4.0 / 15.0, "degenerate"))),
}


def get_function(fn: str | Objective) -> Objective:
    """The :class:`Objective` named ``fn`` (or ``fn`` itself); an unknown name lists the valid ones.

    >>> get_function("rosenbrock").minima[0].point
    (1.0, 1.0)
    """
    if isinstance(fn, Objective):
        return fn
    if isinstance(fn, str):
        if fn in FUNCTIONS:
            return FUNCTIONS[fn]
        raise DescentError(f"unknown test function {fn!r}; choose one of {', '.join(FUNCTIONS)}")
    raise DescentTypeError(f"expected a test-function name ({', '.join(FUNCTIONS)}) or an Objective, "
                           f"got {type(fn).__name__}")
