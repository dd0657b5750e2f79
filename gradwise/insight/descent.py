"""Gradient descent on a test function, recorded step by step with gradwise's own optimizers.

:func:`descend` runs one optimizer from one start and returns a :class:`Trajectory`: the
position, loss and gradient norm at every step, where it ended, the nearest known minimum
and how many steps it took to settle within ``tol`` of it.  :func:`descend_many` runs many
starts at once: the starts are rows of one ``(n, d)`` parameter whose loss is the sum of
the rows' values, so row ``i``'s gradient is ``grad f(x_i)``, and because the optimizers
below update every coordinate on its own (SGD, momentum, Adam, RMSprop, ...) each row
follows exactly the path it would follow alone (L-BFGS, whose line search couples the
rows, is run one start at a time).

>>> t = descend("bowl", (-2.5, 1.0), "sgd", lr=0.02, steps=800)
>>> t.positions.shape, t.nearest_minimum.point, t.distance < 1e-5
((801, 2), (0.0, 0.0), True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwise.api.functions import stack
from gradwise.autograd.tensor import Tensor
from gradwise.insight.functions import CriticalPoint, DescentError, DescentTypeError, Objective, get_function
from gradwise.optim import LBFGS, Optimizer
from gradwise.optim.registry import OPTIMIZERS as _REGISTRY
from gradwise.optim.registry import is_coordinatewise


class _OptimizersByName(Mapping[str, tuple[type[Optimizer], dict[str, Any]]]):
    """The optimizer registry (gradwise/optim/registry.py) as the descent tools read it: name ->
    (class, the options the name implies; the caller's options win).  A live view, so an optimizer
    registered after this module was imported is reachable too."""

    def __getitem__(self, name: str) -> tuple[type[Optimizer], dict[str, Any]]:
        entry = _REGISTRY[name]
        return entry.cls, dict(entry.implied)

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


OPTIMIZERS = _OptimizersByName()

# A run has diverged once its position leaves a box this many times the domain's size, or a
# loss or gradient stops being finite; the rest of its record is NaN.
DIVERGENCE_FACTOR = 1e6


@dataclass(frozen=True)
class Trajectory:
    """One descent: ``positions`` ``(steps + 1, d)`` (row 0 is the start), ``losses`` and
    ``grad_norms`` ``(steps + 1,)`` at those positions, NaN after a divergence.

    ``final`` is the last finite position, ``nearest_minimum`` the closest known minimum to it
    (None when none is known) at ``distance``; ``minimum_value`` is the function's global
    minimum value (None when it has none); ``steps_to_tol`` is the first step from which
    the run stays within ``tol`` of that minimum to the end (None if it never settles there).
    """

    function: str
    optimizer: str
    lr: float
    options: dict[str, Any]
    start: np.ndarray = field(repr=False)
    positions: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)
    grad_norms: np.ndarray = field(repr=False)
    final: np.ndarray
    final_loss: float
    final_grad_norm: float
    nearest_minimum: CriticalPoint | None
    distance: float
    tol: float
    steps_to_tol: int | None
    diverged: bool
    steps: int
    minimum_value: float | None = None

    @property
    def gaps(self) -> np.ndarray:
        """``losses - f*`` with ``f*`` the function's global minimum value, ``(steps + 1,)``
        (the losses themselves when no minimum is known)."""
        return self.losses - (self.minimum_value or 0.0)

    @property
    def at_minimum(self) -> bool:
        """Whether the run ended within ``tol`` of a known minimum."""
        return self.distance <= self.tol

    @property
    def reached_global(self) -> bool:
        """Whether the run ended within ``tol`` of a global minimum."""
        return self.at_minimum and self.nearest_minimum is not None and self.nearest_minimum.is_global

    @property
    def steps_to_global(self) -> int | None:
        """``steps_to_tol`` when the run settled at a *global* minimum, else None: ending in a
        local minimum is not success."""
        return self.steps_to_tol if self.reached_global else None

    @property
    def label(self) -> str:
        return f"{self.optimizer} (lr={self.lr:g})"


def as_objective(fn: str | Objective | Callable[[Tensor], Tensor], dim: int | None = None,
                 domain: Sequence[tuple[float, float]] | None = None) -> Objective:
    """An :class:`Objective` for a registry name, an Objective, or a plain callable on a ``(d,)``
    tensor (no known minima; ``dim`` from ``domain`` when not given; its box is ``domain``, or
    ``[-1, 1]`` per variable)."""
    if isinstance(fn, (str, Objective)):
        return get_function(fn)
    if dim is None and domain is not None:
        dim = len(domain)
    if not callable(fn):
        raise DescentTypeError(f"descend: fn must be a test-function name, an Objective or a callable on a "
                               f"tensor, got {type(fn).__name__}")
    if dim is None:
        raise DescentError(f"a plain callable ({getattr(fn, '__name__', type(fn).__name__)}) needs a start point "
                           "(or a domain) to know its dimension")

    def batched(x: Tensor) -> Tensor:
        # a plain callable takes one point: evaluate the rows one by one and stack them
        if x.ndim == 1:
            return fn(x)
        rows = x.reshape(-1, dim)
        return stack([fn(rows[i]).reshape(()) for i in range(rows.shape[0])]).reshape(tuple(x.shape[:-1]))

    name = getattr(fn, "__name__", type(fn).__name__)
    box = ((-1.0, 1.0),) * dim if domain is None else tuple((float(lo), float(hi)) for lo, hi in domain)
    return Objective(name, batched, dim, box, (), f"user function {name}", (0.0,) * dim, False)


def resolve_optimizer(optimizer: str | type[Optimizer], options: dict[str, Any]) -> tuple[str, type[Optimizer],
                                                                                         dict[str, Any]]:
    """``(name, class, options)`` for an optimizer name from :data:`OPTIMIZERS` or an Optimizer class."""
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in OPTIMIZERS:
            raise DescentError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)} "
                               "or pass an Optimizer class")
        cls, implied = OPTIMIZERS[key]
        return key, cls, {**implied, **options}
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        return optimizer.__name__, optimizer, dict(options)
    raise DescentTypeError(f"optimizer must be a name ({', '.join(OPTIMIZERS)}) or an Optimizer subclass, "
                           f"got {optimizer!r}")


def _starts(obj: Objective, starts: Any, name: str) -> np.ndarray:
    arr = np.array(starts, dtype=np.float64)
    if arr.ndim == 1 and obj.dim == 1 and arr.shape[0] != 1 and name == "descend_many":
        arr = arr[:, None]                       # a 1-D function's starts may be given as a flat list
    if arr.ndim != 2 or arr.shape[1] != obj.dim or arr.shape[0] < 1:
        raise DescentError(f"{name}: starts for {obj.name} must have shape (n, {obj.dim}) with n >= 1, "
                           f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DescentError(f"{name}: the start must be finite, got {arr.tolist()}")
    return arr


def _check(steps: int, tol: float, name: str) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise DescentError(f"{name}: steps must be a positive integer, got {steps!r}")
    if not isinstance(tol, (int, float)) or not tol > 0:
        raise DescentError(f"{name}: tol must be a positive number, got {tol!r}")


def _run(obj: Objective, starts: np.ndarray, cls: type[Optimizer], options: dict[str, Any],
         steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions ``(n, steps + 1, d)``, losses and gradient norms ``(n, steps + 1)`` for a batch."""
    from gradwise.api.creation import tensor
    from gradwise.autograd.grad_mode import no_grad

    n, d = starts.shape
    positions = np.full((n, steps + 1, d), np.nan)
    losses = np.full((n, steps + 1), np.nan)
    grad_norms = np.full((n, steps + 1), np.nan)
    bound = DIVERGENCE_FACTOR * max(1.0, max(abs(v) for box in obj.domain for v in box))
    x = tensor(starts.copy(), requires_grad=True)
    try:
        opt = cls([x], **options)
    except TypeError as exc:
        raise DescentTypeError(f"{cls.__name__}: {exc}") from None
    alive = np.ones(n, dtype=bool)
    last = starts.copy()

    def closure() -> Tensor:
        opt.zero_grad()
        loss = obj(x).sum()
        loss.backward()
        return loss

    with np.errstate(all="ignore"):
        for k in range(steps + 1):
            opt.zero_grad()
            values = obj(x)
            values.sum().backward()
            assert x.grad is not None, "the objective's value does not depend on its input"
            v, g = values.detach().numpy().reshape(n), x.grad.numpy()
            gn = np.linalg.norm(g, axis=1)
            ok = np.isfinite(v) & np.isfinite(gn) & np.all(np.abs(x._data) <= bound, axis=1)
            alive &= ok
            positions[alive, k] = x._data[alive]
            losses[alive, k] = v[alive]
            grad_norms[alive, k] = gn[alive]
            last[alive] = x._data[alive]
            if k == steps or not alive.any():
                break
            opt.step(closure) if isinstance(opt, LBFGS) else opt.step()
            if not alive.all():
                # a diverged row stays parked at its last finite position so it cannot disturb the rest
                with no_grad():
                    x.copy_(np.where(alive[:, None], x._data, last))
    return positions, losses, grad_norms


def _nearest(obj: Objective, point: np.ndarray) -> tuple[CriticalPoint | None, float]:
    if not obj.minima:
        return None, float("inf")
    pts = np.array([m.point for m in obj.minima])
    dist = np.linalg.norm(pts - point, axis=1)
    i = int(np.argmin(dist))
    return obj.minima[i], float(dist[i])


def _settled(positions: np.ndarray, minimum: CriticalPoint | None, tol: float) -> int | None:
    """The first step from which every later position lies within ``tol`` of ``minimum``."""
    if minimum is None:
        return None
    inside = np.linalg.norm(positions - np.array(minimum.point), axis=1) <= tol   # NaN compares False
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    return int(outside[-1] + 1) if outside.size else 0


def _record(obj: Objective, name: str, options: dict[str, Any], start: np.ndarray, positions: np.ndarray,
            losses: np.ndarray, grad_norms: np.ndarray, tol: float, steps: int) -> Trajectory:
    finite = np.flatnonzero(np.isfinite(losses))
    j = int(finite[-1])
    diverged = j < steps
    final = positions[j].copy()
    nearest, dist = _nearest(obj, final)
    if diverged:
        dist = float("inf")
    for arr in (positions, losses, grad_norms):
        arr.setflags(write=False)
    lr = float(options.get("lr", float("nan")))
    return Trajectory(obj.name, name, lr, dict(options), start.copy(), positions, losses, grad_norms, final,
                      float(losses[j]), float(grad_norms[j]), nearest, dist, float(tol),
                      None if diverged else _settled(positions, nearest, tol), diverged, steps,
                      obj.minimum_value)


def descend_many(fn: str | Objective | Callable[[Tensor], Tensor], starts: Any,
                 optimizer: str | type[Optimizer] = "sgd", lr: float = 1e-2, steps: int = 200, *,
                 tol: float = 1e-3, **opt_kwargs: Any) -> list[Trajectory]:
    """:func:`descend` from every row of ``starts`` ``(n, d)``; one :class:`Trajectory` per start.

    >>> runs = descend_many("himmelblau", [[1.0, 1.0], [-1.0, 1.0]], "sgd", lr=0.01, steps=200)
    >>> [r.nearest_minimum.point[0] for r in runs], all(r.at_minimum for r in runs)
    ([3.0, -2.805118086952745], True)
    """
    arr = np.array(starts, dtype=np.float64)
    obj = as_objective(fn, arr.shape[-1] if arr.ndim else None)
    arr = _starts(obj, arr, "descend_many")
    _check(steps, tol, "descend_many")
    name, cls, options = resolve_optimizer(optimizer, {"lr": lr, **opt_kwargs})
    if is_coordinatewise(cls):
        # each coordinate moves on its own gradient and state: a batch of starts in one parameter
        # moves exactly like the starts one by one
        chunks = [_run(obj, arr, cls, options, steps)]
    else:
        chunks = [_run(obj, arr[i:i + 1], cls, options, steps) for i in range(arr.shape[0])]
    pos = np.concatenate([c[0] for c in chunks])
    loss = np.concatenate([c[1] for c in chunks])
    gn = np.concatenate([c[2] for c in chunks])
    return [_record(obj, name, options, arr[i], pos[i], loss[i], gn[i], tol, steps) for i in range(arr.shape[0])]


def descend(fn: str | Objective | Callable[[Tensor], Tensor], start: Sequence[float] | np.ndarray | None = None,
            optimizer: str | type[Optimizer] = "sgd", lr: float = 1e-2, steps: int = 200, *, tol: float = 1e-3,
            **opt_kwargs: Any) -> Trajectory:
    """Run ``steps`` optimizer steps on ``fn`` from ``start`` and record the path.

    ``fn``: a name from :data:`~gradwise.insight.functions.FUNCTIONS`, an Objective, or a
    callable taking a float64 tensor of shape ``(d,)`` to a scalar.  ``start``: ``(d,)``
    (default: the function's own start).  ``optimizer``: a name from :data:`OPTIMIZERS`
    (``"momentum"`` and ``"nesterov"`` are SGD with ``momentum=0.9``) or an Optimizer class;
    ``opt_kwargs`` go to its constructor.  ``tol`` is the distance to a known minimum that
    counts as reached.

    >>> t = descend("rosenbrock", (-1.5, 2.0), "adam", lr=0.05, steps=2000, tol=1e-2)
    >>> t.at_minimum, t.steps_to_tol is not None
    (True, True)
    """
    if start is None:
        obj = as_objective(fn)
        start = obj.start
    arr = np.array(start, dtype=np.float64)
    if arr.ndim != 1:
        raise DescentError(f"descend: start must be one point of shape (d,), got shape {arr.shape}; "
                           "use descend_many for several starts")
    return descend_many(fn, arr[None, :], optimizer, lr, steps, tol=tol, **opt_kwargs)[0]
