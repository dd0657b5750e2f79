"""Local and global minima: critical points by their Hessian, and basins of attraction.

Where the gradient vanishes, the second-derivative test decides what the point is: with
``H`` the Hessian, ``f(x + h) ~ f(x) + h^T H h / 2``, so all eigenvalues of ``H`` positive
make ``x`` a minimum, all negative a maximum, mixed signs a saddle (``f`` rises along
some directions and falls along others), and a zero eigenvalue leaves the test
undecided (``degenerate``: a flat direction, as on a terrace).

:func:`basin_map` runs gradient descent from every point of a grid and records which
known minimum each start reaches: the basins of attraction, and the share of starts
that end in a global minimum.

>>> classify_point("saddle", (0.0, 0.0)).kind
'saddle'
>>> bm = basin_map("curve", grid=9, steps=800)      # starts -1.5, -1, ..., 2.5
>>> bm.labels.tolist()           # 0: global minimum -1, 1: local minimum 1, -1: stopped elsewhere
[0, 0, 0, -1, 1, 1, 1, -1, -1]
>>> [round(float(f), 3) for f in bm.fractions], round(bm.stuck_fraction, 3)
([0.333, 0.333], 0.333)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.insight.descent import as_objective, descend_many, resolve_optimizer
from gradwise.insight.functions import CriticalPoint, DescentError, Objective
from gradwise.optim import Optimizer

POINT_KINDS = ("minimum", "maximum", "saddle", "degenerate", "not_critical")


@dataclass(frozen=True)
class PointCheck:
    """The second-derivative test at ``point``: ``gradient`` ``(d,)``, ``hessian`` ``(d, d)``
    and its ``eigenvalues`` (ascending), and the ``kind`` they give (:data:`POINT_KINDS`);
    ``is_global``: a minimum whose value equals the function's known global minimum value."""

    function: str
    point: np.ndarray
    value: float
    gradient: np.ndarray = field(repr=False)
    grad_norm: float
    hessian: np.ndarray = field(repr=False)
    eigenvalues: np.ndarray
    kind: str
    is_global: bool = False


def _kind(grad_norm: float, eig: np.ndarray, grad_tol: float, eig_tol: float) -> str:
    if not grad_norm <= grad_tol:
        return "not_critical"
    # an eigenvalue counts as zero relative to the largest curvature at the point
    zero = eig_tol * max(1.0, float(np.max(np.abs(eig))))
    if np.all(eig > zero):
        return "minimum"
    if np.all(eig < -zero):
        return "maximum"
    if np.any(eig > zero) and np.any(eig < -zero):
        return "saddle"
    return "degenerate"


def classify_point(fn: str | Objective | Callable[[Tensor], Tensor], point: Any, *, grad_tol: float = 1e-6,
                   eig_tol: float = 1e-5) -> PointCheck:
    """Gradient and Hessian (``gradwise.func.hessian``) of ``fn`` at ``point`` ``(d,)``, and the
    point's kind: ``not_critical`` when ``|grad| > grad_tol``, otherwise minimum, maximum,
    saddle or degenerate by the signs of the Hessian's eigenvalues (``|lambda| <= eig_tol *
    max(1, max |lambda|)`` counts as zero: a degenerate point found numerically sits ~1e-8 away
    from the exact one, where a vanishing eigenvalue reads ~1e-7).

    >>> c = classify_point("himmelblau", (3.0, 2.0))
    >>> c.kind, c.eigenvalues.round(2).tolist()
    ('minimum', [25.72, 82.28])
    """
    from gradwise.api.creation import tensor
    from gradwise.func import hessian, value_and_grad

    x = np.array(point, dtype=np.float64).reshape(-1)
    obj = as_objective(fn, x.size)
    if x.size != obj.dim:
        raise DescentError(f"classify_point: {obj.name} takes a point of shape ({obj.dim},), got {x.size} values")
    value, g = value_and_grad(lambda p: obj(p).reshape(()))(tensor(x))
    h = hessian(lambda p: obj(p).reshape(()))(tensor(x)).numpy().reshape(obj.dim, obj.dim)
    h = 0.5 * (h + h.T)                  # symmetric up to rounding; eigvalsh wants it exactly
    eig = np.linalg.eigvalsh(h)
    gn = float(np.linalg.norm(g.numpy()))
    kind = _kind(gn, eig, grad_tol, eig_tol)
    f, f_star = float(value.item()), obj.minimum_value
    is_global = kind == "minimum" and f_star is not None and f <= f_star + 1e-8 * max(1.0, abs(f_star))
    return PointCheck(obj.name, x, f, g.numpy().copy(), gn, h, eig, kind, is_global)


def _grid_points(obj: Objective, grid: int, domain: tuple[tuple[float, float], ...] | None
                 ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise DescentError(f"grid must be an integer >= 2 (points per axis), got {grid!r}")
    box = obj.domain if domain is None else tuple(tuple(map(float, b)) for b in domain)
    if len(box) != obj.dim or any(len(b) != 2 or not b[0] < b[1] for b in box):
        raise DescentError(f"domain for {obj.name} must be {obj.dim} pairs (low, high) with low < high, got {box}")
    axes = tuple(np.linspace(lo, hi, grid) for lo, hi in box)
    mesh = np.meshgrid(*axes, indexing="xy")      # 2-D: row i holds y = ys[i], column j x = xs[j]
    return axes, np.stack([m.ravel() for m in mesh], axis=1)


def _batched_newton(obj: Objective, x: np.ndarray, iters: int, span: float) -> np.ndarray:
    """Newton's method on ``grad f = 0`` from every row of ``x`` at once: the gradient of
    ``sum_i f(x_i)`` holds each row's gradient, and one Hessian-vector product per
    coordinate (``gradwise.func.hvp``) gives every row's Hessian column."""
    from gradwise.api.creation import tensor
    from gradwise.func import grad, hvp

    n, d = x.shape
    total = lambda p: obj(p).sum()  # noqa: E731
    with np.errstate(all="ignore"):
        for _ in range(iters):
            g = grad(total)(tensor(x)).numpy()
            h = np.empty((n, d, d))
            for j in range(d):
                e = np.zeros((n, d))
                e[:, j] = 1.0
                h[:, :, j] = hvp(total, (tensor(x),), (tensor(e),))[1].numpy()
            step = np.einsum("nij,nj->ni", np.linalg.pinv(h), g)
            # a Newton step near a singular Hessian can be huge: cap it at a quarter of the domain
            norm = np.linalg.norm(step, axis=1, keepdims=True)
            step = np.where(norm > 0.25 * span, step * (0.25 * span / np.maximum(norm, 1e-300)), step)
            x = x - step
            x = np.where(np.isfinite(x), x, np.nan)
    return x


def find_critical_points(fn: str | Objective, *, grid: int = 12, domain: tuple[tuple[float, float], ...] | None = None,
                         iters: int = 60, grad_tol: float = 1e-6) -> tuple[PointCheck, ...]:
    """Critical points of ``fn`` in its domain: Newton's method on ``grad f = 0`` from a
    ``grid`` x ``grid`` set of starts (it finds maxima and saddles as well as minima),
    duplicates merged, each one classified by :func:`classify_point`; sorted by value.

    >>> [c.kind for c in find_critical_points("curve")]
    ['minimum', 'minimum', 'degenerate', 'maximum']
    """
    obj = as_objective(fn, domain=domain)
    _, starts = _grid_points(obj, grid, domain)
    box = obj.domain if domain is None else domain
    span = max(hi - lo for lo, hi in box)
    ends = _batched_newton(obj, starts, iters, span)
    found: list[PointCheck] = []
    for p in ends:
        if not np.all(np.isfinite(p)) or any(not lo <= v <= hi for v, (lo, hi) in zip(p, box)):
            continue
        if any(np.linalg.norm(p - c.point) <= 1e-6 * span for c in found):
            continue
        c = classify_point(obj, p, grad_tol=grad_tol)
        if c.kind != "not_critical":
            found.append(c)
    return tuple(sorted(found, key=lambda c: (c.value, tuple(c.point))))


@dataclass(frozen=True)
class BasinMap:
    """Where descent from each grid start ends.

    ``axes``: the grid's coordinates per variable (``(xs,)`` or ``(xs, ys)``); ``starts`` and
    ``finals`` ``(n, d)`` (``n = grid ** d``, x fastest); ``labels`` ``(n,)``: the index in
    ``minima`` of the minimum the start reached within ``tol``, or -1 (stuck elsewhere, still
    moving, or diverged); ``fractions`` per minimum, ``stuck_fraction`` for -1, and
    ``global_fraction`` the share that reached a global minimum.  ``paths`` ``(m, steps + 1, d)``
    are the full trajectories of ``path_starts`` (a sparser sub-grid, for drawing).
    """

    function: str
    optimizer: str
    lr: float
    steps: int
    tol: float
    axes: tuple[np.ndarray, ...] = field(repr=False)
    starts: np.ndarray = field(repr=False)
    finals: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    diverged: np.ndarray = field(repr=False)
    minima: tuple[CriticalPoint, ...] = field(repr=False)
    counts: np.ndarray
    fractions: np.ndarray
    stuck_fraction: float
    global_fraction: float
    path_starts: np.ndarray = field(repr=False)
    paths: np.ndarray = field(repr=False)

    def label_grid(self) -> np.ndarray:
        """``labels`` in the grid's shape: ``(ny, nx)`` (row = y) for 2-D, ``(nx,)`` for 1-D."""
        return self.labels.reshape(tuple(len(a) for a in reversed(self.axes)))

    def summary(self) -> str:
        """One line per minimum: where it is, global or local, and the share of starts reaching it."""
        lines = [f"{self.function}: {len(self.starts)} starts, {self.optimizer} lr={self.lr:g}, {self.steps} steps"]
        for m, c, f in zip(self.minima, self.counts, self.fractions):
            pt = ", ".join(f"{v:.4f}" for v in m.point)
            lines.append(f"  ({pt})  f={m.value:.4g}  {'global' if m.is_global else 'local '}  "
                         f"{int(c):5d} starts  {f:6.1%}")
        lines.append(f"  no minimum reached: {self.stuck_fraction:.1%}; global minimum reached: "
                     f"{self.global_fraction:.1%}")
        return "\n".join(lines)


def basin_map(fn: str | Objective, optimizer: str | type[Optimizer] = "sgd", lr: float | None = None, *,
              grid: int = 41, steps: int = 600, tol: float = 1e-2,
              domain: tuple[tuple[float, float], ...] | None = None, path_grid: int = 6, **opt_kwargs: Any) -> BasinMap:
    """Descend from every point of a ``grid`` x ``grid`` lattice over the domain (``grid`` points
    for a 1-D function) and label each start by the known minimum it reaches.

    ``lr=None`` picks ``suggest_lr`` over all the starts (for SGD: one over the largest
    curvature anywhere on the grid, so no start overshoots).

    >>> bm = basin_map("himmelblau", grid=11, steps=300)
    >>> bm.global_fraction, len(bm.fractions)
    (1.0, 4)
    """
    from gradwise.insight.race import suggest_lr

    obj = as_objective(fn, domain=domain)
    if not obj.minima:
        raise DescentError(f"basin_map: {obj.name} has no known minima to map basins of; choose a function "
                           "with minima (e.g. himmelblau, camel, curve)")
    axes, starts = _grid_points(obj, grid, domain)
    name, _, _ = resolve_optimizer(optimizer, {})
    if lr is None:
        lr = suggest_lr(obj, optimizer, points=starts)
    runs = descend_many(obj, starts, optimizer, lr, steps, tol=tol, **opt_kwargs)
    idx = {m: i for i, m in enumerate(obj.minima)}
    # obj.minima is not empty, so every run has a nearest minimum
    labels = np.array([idx[r.nearest_minimum] if r.at_minimum and r.nearest_minimum is not None else -1
                       for r in runs])
    counts = np.array([(labels == i).sum() for i in range(len(obj.minima))])
    n = len(runs)
    glob = sum(int(c) for m, c in zip(obj.minima, counts) if m.is_global)
    # the drawn paths: every k-th start along each axis
    stride = max(1, (grid - 1) // max(1, path_grid - 1))
    sub = np.zeros(tuple(len(a) for a in reversed(axes)), dtype=bool)
    sub[tuple(slice(None, None, stride) for _ in axes)] = True
    pick = np.flatnonzero(sub.ravel())
    return BasinMap(obj.name, name, float(lr), steps, float(tol), axes, starts,
                    np.array([r.final for r in runs]), labels, np.array([r.diverged for r in runs]), obj.minima,
                    counts, counts / n, float((labels == -1).sum() / n), glob / n, starts[pick],
                    np.stack([runs[i].positions for i in pick]))
