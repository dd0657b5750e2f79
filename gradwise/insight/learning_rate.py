"""Choosing the learning rate: the stable range on a quadratic, run labels, the triptych.

On a quadratic ``f(x) = (x - m)^T H (x - m) / 2`` a gradient-descent step multiplies the
error along each eigenvector of ``H`` (eigenvalue ``lambda``) by ``1 - lr * lambda``.  The
error shrinks along every direction exactly when ``|1 - lr * lambda| < 1`` for every
``lambda``, that is ``0 < lr < 2 / lambda_max``.  Below ``1 / lambda_max`` the steps
approach the minimum from one side; between ``1 / lambda_max`` and ``2 / lambda_max`` the
steep direction overshoots and flips sign every step (it still converges); at ``2 /
lambda_max`` it flips forever, and above it the flips grow: divergence.  Meanwhile the
shallow direction shrinks by ``1 - lr * lambda_min`` per step, so the smallest eigenvalue
sets how many steps convergence takes.  Near a minimum of any smooth function the same
holds locally with the Hessian there (:func:`stable_lr_bound`).

:func:`classify_lr` labels a recorded run by these rules, checked in this order:

1. ``diverging``: the run left the finite range (non-finite loss or position past the
   divergence box), or its final loss is above its initial loss, or the loss rose over the
   judged window (the last ``window`` share of the steps) by more than ``rise_rtol``.
2. ``converged``: the final gap ``f(x_T) - f*`` to the nearest known minimum's value is at
   most ``gap_rtol`` times the initial gap (for a function with no known minimum: the final
   gradient norm is at most ``gap_rtol`` times the first).
3. ``oscillating``: in the window, at least ``flip_share`` of consecutive steps reverse
   direction (the cosine between step ``k`` and step ``k + 1`` is negative).
4. ``too_small``: the loss is still falling over the window, slowly: not converged within
   the step budget, moving steadily downhill.
5. ``stalled``: none of the above (stopped away from a minimum: a flat terrace, a saddle).

>>> b = stable_lr_bound("bowl")
>>> b.eigenvalues.tolist(), b.bound
([1.0, 50.0], 0.04)
>>> t = lr_triptych("bowl")
>>> [v.label for v in t.verdicts]
['too_small', 'converged', 'diverging']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.insight.descent import Trajectory, as_objective, descend, resolve_optimizer
from gradwise.insight.functions import DescentError, DescentTypeError, Objective
from gradwise.insight.minima import classify_point
from gradwise.optim import Optimizer

LR_LABELS = ("converged", "too_small", "oscillating", "diverging", "stalled")


@dataclass(frozen=True)
class LRBound:
    """The Hessian's eigenvalues at ``point`` and the largest stable learning rate ``bound`` of
    ``optimizer`` on the quadratic with that Hessian (``inf`` when no eigenvalue is positive):
    ``factor / lambda_max`` with ``factor`` 2 for plain gradient descent, ``2 (1 + beta)`` for
    heavy-ball momentum and ``2 (1 + beta) / (1 + 2 beta)`` for Nesterov momentum.  ``rule`` says
    which: the formula, then the method in brackets."""

    function: str
    point: np.ndarray
    eigenvalues: np.ndarray
    lambda_max: float
    bound: float
    optimizer: str = "sgd"
    factor: float = 2.0
    rule: str = "2/lambda_max (plain gradient descent)"

    @property
    def formula(self) -> str:
        """The rule's formula alone, e.g. ``2(1+beta)/lambda_max``."""
        return self.rule.split(" (", 1)[0]

    @property
    def method(self) -> str:
        """The rule's method alone, e.g. ``heavy-ball momentum, beta = 0.9``."""
        return self.rule.split(" (", 1)[1].rstrip(")") if " (" in self.rule else self.optimizer


def _stability_factor(optimizer: str | type[Optimizer], options: dict[str, Any]) -> tuple[str, float, str]:
    """``(name, factor, rule)``: a fixed-step method on ``f = lambda x^2 / 2`` is stable for
    ``lr * lambda < factor``.

    Plain descent multiplies the error by ``1 - h`` (``h = lr lambda``): stable for ``h < 2``.
    Heavy ball, ``x' = x - h x + beta (x - x_prev)``, has the characteristic polynomial
    ``z^2 - (1 + beta - h) z + beta``; a root reaches ``z = -1`` at ``h = 2 (1 + beta)``.
    Nesterov's look-ahead gives ``z^2 - (1 + beta)(1 - h) z + beta (1 - h)``, which reaches
    ``z = -1`` at ``h = 2 (1 + beta) / (1 + 2 beta)``.  Methods that rescale each coordinate
    (Adam, RMSprop, ...) have no such bound; the plain-descent one is reported for them.
    """
    from gradwise.optim import SGD

    name, cls, opts = resolve_optimizer(optimizer, dict(options))
    if cls is SGD:
        beta = float(opts.get("momentum", 0.0) or 0.0)
        if beta > 0 and opts.get("nesterov", False):
            return name, 2 * (1 + beta) / (1 + 2 * beta), \
                f"2(1+beta)/((1+2beta) lambda_max) (Nesterov momentum, beta = {beta:g})"
        if beta > 0:
            return name, 2 * (1 + beta), f"2(1+beta)/lambda_max (heavy-ball momentum, beta = {beta:g})"
        return name, 2.0, "2/lambda_max (plain gradient descent)"
    return name, 2.0, f"2/lambda_max (plain gradient descent's bound; {name} rescales its steps and has none)"


def stable_lr_bound(fn: str | Objective | Callable[[Tensor], Tensor], point: Any = None,
                    optimizer: str | type[Optimizer] = "sgd", **opt_kwargs: Any) -> LRBound:
    """The largest stable learning rate of ``optimizer`` (with ``opt_kwargs``, e.g. ``momentum``)
    on the quadratic model of ``fn`` at ``point`` (default: its first global minimum, or its
    start when it has none): ``2 / lambda_max`` for plain gradient descent, ``2 (1 + beta) /
    lambda_max`` for heavy-ball momentum; exact on a quadratic, the local limit near a minimum
    of any smooth function.

    >>> stable_lr_bound("booth").bound         # Hessian [[10, 8], [8, 10]]: eigenvalues 2 and 18
    0.1111111111111111
    >>> b = stable_lr_bound("bowl", optimizer="momentum")     # beta = 0.9: 2 * 1.9 / 50
    >>> round(b.bound, 6), b.rule
    (0.076, '2(1+beta)/lambda_max (heavy-ball momentum, beta = 0.9)')
    """
    obj = as_objective(fn, None if point is None else np.size(point))
    if point is None:
        point = obj.global_minima[0].point if obj.global_minima else obj.start
    name, factor, rule = _stability_factor(optimizer, opt_kwargs)
    check = classify_point(obj, point, grad_tol=np.inf)
    lam = float(check.eigenvalues[-1])
    return LRBound(obj.name, check.point, check.eigenvalues, lam, factor / lam if lam > 0 else float("inf"),
                   name, factor, rule)


@dataclass(frozen=True)
class LRRules:
    """The thresholds :func:`classify_lr` uses (see the module docstring for the rules).

    ``gap_rtol=1e-6``: a run has converged when six orders of magnitude of its initial gap to
    the minimum are gone (on the bowl, ``lr = 1 / lambda_max`` gets there in under 300 steps,
    while after 400 steps ``lr = 2 / lambda_max / 100`` still has 8 % of the gap left).
    ``window=0.2``: judge the trend on the last fifth of the run.  ``flip_share=0.5``: a run
    oscillates when at least half its late steps turn back (a steady descent turns back
    almost never).  ``rise_rtol=1e-3``: a late loss rise of 0.1 % is not rounding noise.
    """

    gap_rtol: float = 1e-6
    window: float = 0.2
    flip_share: float = 0.5
    rise_rtol: float = 1e-3


@dataclass(frozen=True)
class LRVerdict:
    """A run's label (one of :data:`LR_LABELS`), the figures behind it and a sentence."""

    label: str
    lr: float
    gap_ratio: float
    flip_share: float
    window_change: float
    reason: str


def _gap_ratio(run: Trajectory) -> float:
    if run.nearest_minimum is not None:
        # relative to the minimum the run ended nearest: a run that settles in a local
        # minimum has converged (to the wrong place: the basin map's business)
        f_star = run.nearest_minimum.value
        first, last = run.losses[0] - f_star, run.final_loss - f_star
    else:
        first, last = run.grad_norms[0], run.final_grad_norm
    return float(max(last, 0.0) / first) if first > 0 else 0.0


def _flip_share(positions: np.ndarray) -> float:
    steps = np.diff(positions, axis=0)
    a, b = steps[:-1], steps[1:]
    dots = np.einsum("ij,ij->i", a, b)
    moving = (np.linalg.norm(a, axis=1) > 0) & (np.linalg.norm(b, axis=1) > 0)
    return float((dots[moving] < 0).mean()) if moving.any() else 0.0


def classify_lr(run: Trajectory, rules: LRRules | None = None) -> LRVerdict:
    """Label a run ``converged``, ``too_small``, ``oscillating``, ``diverging`` or ``stalled``.

    >>> classify_lr(descend("bowl", None, "sgd", lr=0.04, steps=400)).label    # lr = 2 / lambda_max
    'oscillating'
    """
    if not isinstance(run, Trajectory):
        raise DescentTypeError(f"classify_lr: expected a Trajectory from descend(), got {type(run).__name__}")
    rules = rules or LRRules()
    if not 0 < rules.window <= 1:
        raise DescentError(f"classify_lr: rules.window must be in (0, 1], got {rules.window}")
    n = run.steps + 1
    w0 = max(0, n - 1 - max(2, int(round(rules.window * run.steps))))
    if run.diverged:
        gone = int(np.flatnonzero(np.isfinite(run.losses))[-1]) + 1
        return LRVerdict("diverging", run.lr, float("inf"), float("nan"), float("inf"),
                         f"lr={run.lr:g}: the run left the finite range after {gone} steps")
    window = run.losses[w0:]
    change = float((window[-1] - window[0]) / max(abs(window[0]), 1e-300))
    flips = _flip_share(run.positions[w0:])
    gap = _gap_ratio(run)
    if run.final_loss > run.losses[0] or change > rules.rise_rtol:
        why = (f"the loss ends above where it started ({run.final_loss:.3g} > {run.losses[0]:.3g})"
               if run.final_loss > run.losses[0] else f"the loss rose by {change:.1%} over the last steps")
        return LRVerdict("diverging", run.lr, gap, flips, change, f"lr={run.lr:g}: {why}")
    if gap <= rules.gap_rtol:
        return LRVerdict("converged", run.lr, gap, flips, change,
                         f"lr={run.lr:g}: the gap to the minimum fell to {gap:.1e} of its start")
    if flips >= rules.flip_share:
        return LRVerdict("oscillating", run.lr, gap, flips, change,
                         f"lr={run.lr:g}: {flips:.0%} of the last steps turn back; the gap is still {gap:.1e} "
                         "of its start")
    if change < 0:
        return LRVerdict("too_small", run.lr, gap, flips, change,
                         f"lr={run.lr:g}: still falling ({change:.2%} over the last steps) with {gap:.1e} of the "
                         "gap left")
    return LRVerdict("stalled", run.lr, gap, flips, change,
                     f"lr={run.lr:g}: not moving down, {gap:.1e} of the gap left (a flat stretch or a saddle)")


@dataclass(frozen=True)
class Triptych:
    """The same function and start with three learning rates (too small, well chosen, too large):
    the runs, their verdicts and the stable-range bound they were chosen from."""

    function: str
    bound: LRBound
    lrs: tuple[float, float, float]
    runs: tuple[Trajectory, Trajectory, Trajectory] = field(repr=False)
    verdicts: tuple[LRVerdict, LRVerdict, LRVerdict]

    def summary(self) -> str:
        """The bound and one line per run: its rate as a multiple of the bound, its verdict and why."""
        lines = [f"{self.function}: lambda_max = {self.bound.lambda_max:.4g}, stable for lr < {self.bound.formula} = "
                 f"{self.bound.bound:.4g} ({self.bound.method})"]
        for v in self.verdicts:
            lines.append(f"  lr={v.lr:<10.4g} ({v.lr / self.bound.bound:.3g} x bound)  {verdict_text(v.label):12s} "
                         f"{v.reason}")
        return "\n".join(lines)


VERDICT_TEXT = {"converged": "converged", "too_small": "too small", "oscillating": "oscillating",
                "diverging": "diverging", "stalled": "stalled"}


def verdict_text(label: str) -> str:
    """A verdict label of :data:`LR_LABELS` in words, for titles and tables.

    >>> verdict_text("too_small")
    'too small'
    """
    return VERDICT_TEXT.get(label, label.replace("_", " "))


def lr_triptych(fn: str | Objective = "bowl", start: Sequence[float] | None = None,
                lrs: Sequence[float] | None = None, optimizer: str | type[Optimizer] = "sgd", *,
                steps: int = 400, rules: LRRules | None = None, **opt_kwargs: Any) -> Triptych:
    """Three runs from ``start`` with a too-small, a well-chosen and a too-large learning rate,
    each labelled by :func:`classify_lr`.  ``lrs=None`` derives them from the optimizer's own
    stable bound ``B`` (:func:`stable_lr_bound`: ``2 / lambda_max`` for plain descent, ``2 (1 +
    beta) / lambda_max`` for heavy-ball momentum): ``B / 100``, ``B / 2`` (for plain descent ``1 /
    lambda_max``, which removes the steep direction in one step) and ``1.1 B`` (beyond the bound:
    the steep direction grows every step).

    >>> t = lr_triptych("bowl", optimizer="momentum")
    >>> round(t.bound.bound, 6), [v.label for v in t.verdicts]
    (0.076, ['too_small', 'converged', 'diverging'])
    """
    obj = as_objective(fn, None if start is None else np.size(start))
    bound = stable_lr_bound(obj, None if obj.minima or start is None else start, optimizer, **opt_kwargs)
    if lrs is None:
        if not np.isfinite(bound.bound):
            raise DescentError(f"lr_triptych: {obj.name} has no positive curvature at its minimum; pass lrs")
        lrs = (bound.bound / 100, bound.bound / 2, 1.1 * bound.bound)
    lrs = tuple(float(v) for v in lrs)
    if len(lrs) != 3 or not all(v > 0 for v in lrs):
        raise DescentError(f"lr_triptych: lrs must be three positive learning rates (small, good, large), got {lrs}")
    runs = tuple(descend(obj, start, optimizer, lr, steps, **opt_kwargs) for lr in lrs)
    verdicts = tuple(classify_lr(r, rules) for r in runs)
    return Triptych(obj.name, bound, lrs, runs, verdicts)  # type: ignore[arg-type]
