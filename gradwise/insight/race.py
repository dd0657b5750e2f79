"""Several optimizers from one start: :func:`compare`, the optimizer :func:`race` and its table.

A :class:`Comparison` holds one :class:`~gradwise.insight.descent.Trajectory` per run and
tabulates steps-to-tolerance (the first step from which a run stays within ``tol`` of a
*global* minimum: settling in a local one is not success), final loss and final distance.

:func:`suggest_lr` gives a learning rate per optimizer from the function itself:

- SGD, momentum, Nesterov: ``1 / L`` with ``L`` the largest Hessian eigenvalue found at the
  given points (default: the start and the global minima).  On a quadratic plain gradient
  descent is stable for ``lr < 2 / L``; ``1 / L`` is half that bound, and heavy-ball momentum
  with ``beta = 0.9`` is stable up to ``2 (1 + beta) / L``, so it is safe for all three.
- Adam and its relatives, RMSprop, Lion, Rprop: their steps are about ``lr`` per coordinate
  whatever the gradient's size, so ``lr`` is set by the distance to travel: ``1 %`` of the
  domain's longest side (``0.2 %`` for RMSprop, whose first steps are ~10 times ``lr``
  because its squared-gradient average starts at zero without a bias correction; and for
  Lion, whose sign steps never shrink).
- Adagrad: its steps shrink like ``lr / sqrt(t)``, so ``10 %`` of the longest side.
- Adadelta and L-BFGS: ``1.0`` (their own scale-free defaults).

>>> suggest_lr("bowl", "sgd")            # the bowl's Hessian is diag(1, 50)
0.02
>>> r = race("bowl", optimizers=("sgd", "momentum"), steps=600)
>>> r.runs["momentum"].steps_to_tol < r.runs["sgd"].steps_to_tol
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.insight.descent import Trajectory, as_objective, descend, resolve_optimizer
from gradwise.insight.functions import DescentError, Objective
from gradwise.optim import LBFGS, SGD, Adadelta, Adagrad, Lion, Optimizer, RMSprop

RACE_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam")

# fractions of the domain's longest side (see the module docstring)
_SIDE_FRACTION = {Adagrad: 0.1, RMSprop: 0.002, Lion: 0.002}


def largest_curvature(fn: str | Objective, points: Any) -> float:
    """The largest Hessian eigenvalue of ``fn`` over ``points`` ``(n, d)`` (``gradwise.func.hvp``
    gives every point's Hessian at once: one product per coordinate on ``sum_i f(x_i)``)."""
    from gradwise.api.creation import tensor
    from gradwise.func import hvp

    obj = as_objective(fn, np.shape(np.array(points, dtype=np.float64))[-1])
    x = np.array(points, dtype=np.float64).reshape(-1, obj.dim)
    n, d = x.shape
    h = np.empty((n, d, d))
    for j in range(d):
        e = np.zeros((n, d))
        e[:, j] = 1.0
        h[:, :, j] = hvp(lambda p: obj(p).sum(), (tensor(x),), (tensor(e),))[1].numpy()
    eig = np.linalg.eigvalsh(0.5 * (h + np.swapaxes(h, 1, 2)))
    return float(np.nanmax(eig[:, -1]))


def suggest_lr(fn: str | Objective, optimizer: str | type[Optimizer], points: Any = None) -> float:
    """A learning rate for ``optimizer`` on ``fn`` by the rules in the module docstring;
    ``points`` ``(n, d)`` are where the curvature is measured for the SGD family.

    >>> suggest_lr("rosenbrock", "adam")
    0.04
    """
    obj = as_objective(fn, None if points is None else np.shape(np.array(points, dtype=np.float64))[-1])
    _, cls, _ = resolve_optimizer(optimizer, {})
    if cls is SGD:
        pts = [obj.start] + [m.point for m in obj.global_minima] if points is None else points
        curvature = largest_curvature(obj, pts)
        if not curvature > 0:
            raise DescentError(f"suggest_lr: {obj.name} has no positive curvature at the given points, so no "
                               "step size follows from it; pass lr explicitly")
        return float(f"{1.0 / curvature:.2g}")       # two significant digits read better in tables
    if cls in (Adadelta, LBFGS):
        return 1.0
    side = max(hi - lo for lo, hi in obj.domain)
    return float(f"{_SIDE_FRACTION.get(cls, 0.01) * side:.2g}")


@dataclass(frozen=True)
class Comparison:
    """Runs from one start, by label; :meth:`table` rows and text/Markdown renderings."""

    function: str
    start: np.ndarray
    steps: int
    tol: float
    runs: dict[str, Trajectory] = field(repr=False)

    def table(self) -> list[dict[str, Any]]:
        """One row per run, fastest to a *global* minimum first; runs that never settle within
        ``tol`` of one (stuck in a local minimum, too slow, diverged) last, by distance."""
        rows = [{"run": k, "optimizer": t.optimizer, "lr": t.lr, "steps_to_tol": t.steps_to_global,
                 "final_loss": t.final_loss, "distance": t.distance, "diverged": t.diverged,
                 "local_minimum": t.at_minimum and not t.reached_global}
                for k, t in self.runs.items()]
        return sorted(rows, key=lambda r: (r["steps_to_tol"] is None, r["steps_to_tol"] or 0, r["distance"]))

    def ranking(self) -> list[str]:
        """Labels from fastest to slowest to reach a global minimum within ``tol``."""
        return [r["run"] for r in self.table()]

    def winner(self) -> str | None:
        """The label of the run that settled within ``tol`` of a global minimum first, or None
        when no run did (a run ending in a local minimum does not count).

        >>> race("camel", (-1.5, -1.0), ("sgd",), steps=200).winner() is None     # sgd ends in a local minimum
        True
        """
        best = self.table()[0] if self.runs else None
        return None if best is None or best["steps_to_tol"] is None else str(best["run"])

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        head = ["run", "lr", f"steps to {self.tol:g}", "final loss", "distance to minimum"]
        body = []
        for r in self.table():
            if r["diverged"]:
                reached = "diverged"
            elif r["local_minimum"]:
                reached = "local min only"
            else:
                reached = f"not in {self.steps}" if r["steps_to_tol"] is None else str(r["steps_to_tol"])
            body.append([r["run"], f"{r['lr']:g}", reached, f"{r['final_loss']:.3g}", f"{r['distance']:.3g}"])
        return head, body

    def to_markdown(self) -> str:
        """The table as GitHub Markdown."""
        head, body = self._cells()
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])

    def to_text(self) -> str:
        """The table as aligned plain text, headed by the function, start and tolerance."""
        head, body = self._cells()
        widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
        fmt = lambda row: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                    for i, (c, w) in enumerate(zip(row, widths)))
        start = ", ".join(f"{v:g}" for v in self.start)
        title = f"{self.function} from ({start}), {self.steps} steps, tolerance {self.tol:g}"
        return "\n".join([title, fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])

    def __str__(self) -> str:
        return self.to_text()


def compare(fn: str | Objective, start: Sequence[float] | None = None,
            runs: Mapping[str, tuple[str | type[Optimizer], Mapping[str, Any]]] | None = None, *,
            steps: int = 500, tol: float = 1e-3) -> Comparison:
    """Run each ``label: (optimizer, kwargs)`` of ``runs`` from the same ``start`` (default: the
    function's own); ``kwargs`` go to the optimizer, and a missing ``lr`` is :func:`suggest_lr`'s.

    >>> c = compare("booth", runs={"sgd": ("sgd", {"lr": 0.05}), "adam": ("adam", {"lr": 0.2})}, steps=300)
    >>> sorted(c.runs), c.runs["sgd"].at_minimum
    (['adam', 'sgd'], True)
    """
    obj = as_objective(fn, None if start is None else np.size(start))
    if not runs:
        raise DescentError("compare: runs must map at least one label to (optimizer, kwargs), e.g. "
                           "{'adam': ('adam', {'lr': 0.01})}")
    start_arr = np.array(obj.start if start is None else start, dtype=np.float64)
    out: dict[str, Trajectory] = {}
    for label, spec in runs.items():
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping)):
            raise DescentError(f"compare: run {label!r} must be (optimizer, kwargs dict), got {spec!r}")
        optimizer, kwargs = spec
        kwargs = dict(kwargs)
        lr = kwargs.pop("lr", None)
        if lr is None:
            lr = suggest_lr(obj, optimizer)
        out[str(label)] = descend(obj, start_arr, optimizer, lr, steps, tol=tol, **kwargs)
    return Comparison(obj.name, start_arr, steps, float(tol), out)


def race(fn: str | Objective, start: Sequence[float] | None = None,
         optimizers: Sequence[str | type[Optimizer]] = RACE_OPTIMIZERS, lr: float | None = None, *,
         steps: int = 500, tol: float = 1e-3) -> Comparison:
    """The optimizer race: every optimizer in ``optimizers`` from one start, each with ``lr``
    (default: its own :func:`suggest_lr`), labelled by name.

    >>> r = race("rosenbrock", optimizers=("sgd", "adam"), steps=3000, tol=1e-2)
    >>> r.ranking()
    ['adam', 'sgd']
    """
    if not optimizers:
        raise DescentError(f"race: optimizers must name at least one of {', '.join(RACE_OPTIMIZERS)}")
    runs = {}
    for opt in optimizers:
        name, _, _ = resolve_optimizer(opt, {})
        runs[name] = (opt, {} if lr is None else {"lr": lr})
    return compare(fn, start, runs, steps=steps, tol=tol)
