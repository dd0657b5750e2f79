"""The learning-rate range test (Smith, 2015; popularised by fastai): one short run in which
the learning rate grows exponentially every mini-batch, watching where the loss falls
fastest and where it blows up.

At iteration ``i`` of ``num_iter`` the rate is ``start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))``.
The loss is smoothed with a debiased exponential moving average,
``avg_i = smooth * avg_{i-1} + (1 - smooth) * loss_i``, ``smoothed_i = avg_i / (1 - smooth ** (i + 1))``,
and the test stops early once ``smoothed_i > diverge_factor * best`` (or the loss is not finite).
The model and the optimizer are put back exactly as they were.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError
from gradwise.insight.html_repr import lr_finder_html
from gradwise.insight.weights import named_weights, preserved


class LRFinderError(GradwiseError, ValueError):
    """An option of :func:`lr_find` that cannot work; the message names it and what is valid."""


@dataclass(frozen=True)
class LRSuggestion:
    """One suggested learning rate: which rule (``name``), the rate, the smoothed loss there,
    the index into the record's arrays and why this point was chosen."""

    name: str
    lr: float
    loss: float
    index: int
    reason: str


@dataclass(frozen=True, eq=False)
class LRFinderResult:
    """The range test's record: ``lrs``, ``losses`` (raw mini-batch losses) and ``smoothed``
    have shape ``(iterations,)``; ``suggestions`` are ``steepest``, ``valley`` and ``minimum/10``
    (see :func:`lr_find`), computed on ``smoothed`` without the first ``skip_start`` and the
    last ``skip_end`` points."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    best_loss: float
    diverged: bool
    stop_reason: str
    skip_start: int
    skip_end: int
    suggestions: tuple[LRSuggestion, ...]
    settings: dict[str, float]

    def suggestion(self, name: str) -> LRSuggestion:
        """The suggestion called ``name`` (``"steepest"``, ``"valley"`` or ``"minimum/10"``)."""
        for s in self.suggestions:
            if s.name == name:
                return s
        raise KeyError(f"LRFinderResult.suggestion: no suggestion {name!r}; have {[s.name for s in self.suggestions]}")

    def to_text(self) -> str:
        lines = [f"LR range test: {len(self.lrs)} iterations, lr {self.lrs[0]:.3g} -> {self.lrs[-1]:.3g} "
                 f"({self.stop_reason})"]
        lines += [f"  {s.name:<11} lr = {s.lr:.3g}  (smoothed loss {s.loss:.4g}): {s.reason}" for s in self.suggestions]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        """Jupyter's display: the loss against the LR with the suggestions marked, and why each."""
        return lr_finder_html(self)


def _copy(value: Any) -> Any:
    """A deep copy of optimizer state: arrays, tensors and containers copied, scalars as they are."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, Tensor):
        return Tensor(value._data)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


def _batches(loader: Any) -> Iterator[Any]:
    """The loader's batches, starting a new pass whenever one ends."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise LRFinderError("lr_find: the loader yielded no batches")


def _longest_decrease(y: np.ndarray) -> tuple[int, int]:
    """``(start, end)`` of the longest strictly decreasing subsequence of ``y``: ``end`` is its
    last index and ``start = end - length`` (fastai's valley convention)."""
    n = len(y)
    length = np.ones(n, dtype=np.int64)
    best_end = 0
    for i in range(1, n):
        earlier = y[:i] > y[i]
        if earlier.any():
            length[i] = length[:i][earlier].max() + 1
        if length[i] > length[best_end]:
            best_end = i
    return best_end - int(length[best_end]), best_end


# the valley's stretch: where the smoothed loss falls at least this share of its steepest rate
FALLING_SHARE = 0.1


def falling_stretch(x: np.ndarray, y: np.ndarray, share: float = FALLING_SHARE) -> tuple[int, int]:
    """``(first, last)`` indices of the longest contiguous stretch where ``y`` falls against ``x``
    at least ``share`` times as fast as its steepest fall (``dy/dx <= share * min dy/dx < 0``);
    the whole range when ``y`` never falls.  On a flat, noisy start the slope is a tiny share of
    the steepest one, so the stretch is where the loss really drops.

    >>> falling_stretch(np.arange(7.0), np.array([5.0, 5.0, 4.0, 2.0, 1.0, 1.0, 3.0]))
    (1, 4)
    """
    slope = np.gradient(y, x)
    low = float(np.min(slope))
    if not low < 0:
        return 0, len(y) - 1
    falling = slope <= share * low
    best, first = (0, 0), None
    for i, f in enumerate(np.append(falling, False)):
        if f and first is None:
            first = i
        elif not f and first is not None:
            if i - 1 - first > best[1] - best[0] or not falling[best[0]]:
                best = (first, i - 1)
            first = None
    return best


def suggest(lrs: np.ndarray, smoothed: np.ndarray, skip_start: int = 0, skip_end: int = 0) -> tuple[LRSuggestion, ...]:
    """The three suggestions on a recorded curve (``lrs`` and ``smoothed`` of shape ``(n,)``).

    - ``steepest``: where the smoothed loss falls fastest per decade of LR (the most negative
      ``d smoothed / d log10(lr)``, central differences);
    - ``valley``: fastai's rule (the longest decreasing subsequence of the smoothed loss, and the
      point about halfway along it), applied to the stretch where the loss is really falling
      (:func:`falling_stretch`), so that a flat, noisy start cannot hold the longest run;
    - ``minimum/10``: a tenth of the LR at the lowest smoothed loss (at the minimum the rate is
      already about to diverge).

    >>> lrs = np.logspace(-4, 0, 41)
    >>> loss = 1 / (1 + (lrs / 1e-2) ** 2) + (lrs / 0.3) ** 4      # falls around 1e-2, explodes near 1
    >>> {s.name: round(float(np.log10(s.lr)), 1) for s in suggest(lrs, loss)}
    {'steepest': -2.0, 'valley': -2.2, 'minimum/10': -2.1}
    """
    lo, hi = skip_start, len(lrs) - skip_end
    x, y = np.log10(lrs[lo:hi]), smoothed[lo:hi]
    if len(y) < 3 or not np.isfinite(y).all():
        raise LRFinderError(f"lr_find: {len(y)} usable finite points after skipping {skip_start} at the start and "
                            f"{skip_end} at the end; need at least 3 (raise num_iter or lower start_lr)")
    slope = np.gradient(y, x)
    i = int(np.argmin(slope))
    steep = LRSuggestion("steepest", float(lrs[lo + i]), float(y[i]), lo + i,
                         f"the smoothed loss falls fastest here ({slope[i]:.3g} per decade of LR)")
    a, b = falling_stretch(x, y)
    start, end = _longest_decrease(y[a:b + 1])
    start, end = start + a, end + a
    third = (end - start) / 3
    v = min(max(start + int(third) + int(third / 2), a), b)
    valley = LRSuggestion("valley", float(lrs[lo + v]), float(y[v]), lo + v,
                          f"about halfway along the longest stretch over which the smoothed loss keeps falling "
                          f"(lr {lrs[lo + max(start, a)]:.3g} to {lrs[lo + end]:.3g})")
    m = int(np.argmin(y))
    target = lrs[lo + m] / 10
    k = int(np.argmin(np.abs(np.log(lrs[lo:hi]) - math.log(target))))
    minimum = LRSuggestion("minimum/10", float(target), float(y[k]), lo + k,
                           f"a tenth of lr {lrs[lo + m]:.3g}, where the smoothed loss is lowest ({y[m]:.4g}); at the "
                           "minimum the rate is already close to diverging")
    return steep, valley, minimum


def lr_find(model: Any, loss_fn: Any, optimizer: Any, loader: Any, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_iter: int = 100, smooth: float = 0.98, diverge_factor: float = 4.0) -> LRFinderResult:
    """Run the LR range test and restore ``model`` and ``optimizer`` exactly afterwards.

    ``loader`` yields ``(inputs..., targets)`` batches (a DataLoader; it is iterated again
    when it runs out).  Every iteration sets the LR of every parameter group, takes one
    optimizer step on one batch and records that batch's loss before the step.  The
    parameters, their gradients, the train/eval mode and the optimizer's state and
    hyper-parameters are bit-identical afterwards (the loader's shuffling generator has
    moved on).  Suggestions skip the first ``num_iter // 10`` points (the average is still
    warming up) and the last few (up to 5) before the stop.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> from gradwise.data import DataLoader, TensorDataset
    >>> gen = gw.Generator().manual_seed(0)
    >>> x = gw.randn(256, 4, generator=gen); y = x @ gw.randn(4, 1, generator=gen)
    >>> model = nn.Linear(4, 1, generator=gen)
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=gen)
    >>> result = lr_find(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=60)
    >>> result.diverged, [s.name for s in result.suggestions]
    (True, ['steepest', 'valley', 'minimum/10'])
    """
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr), ("diverge_factor", diverge_factor)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise LRFinderError(f"lr_find: {name} must be a positive finite number, got {value!r}")
    if not end_lr > start_lr:
        raise LRFinderError(f"lr_find: end_lr must be greater than start_lr, got start_lr={start_lr} end_lr={end_lr}")
    if not isinstance(num_iter, int) or isinstance(num_iter, bool) or num_iter < 5:
        raise LRFinderError(f"lr_find: num_iter must be an int >= 5, got {num_iter!r}")
    if not isinstance(smooth, (int, float)) or not 0 <= smooth < 1:
        raise LRFinderError(f"lr_find: smooth must be in [0, 1), got {smooth!r}")
    if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "state_dict"):
        raise LRFinderError(f"lr_find: optimizer must be a gradwise optimizer, got {type(optimizer).__name__}")
    ratio = end_lr / start_lr
    lrs, losses, smoothed = [], [], []
    avg, best = 0.0, math.inf
    diverged, reason = False, f"reached end_lr after {num_iter} iterations"
    saved_state = {p: _copy(st) for p, st in optimizer.state.items()}
    saved_groups = [{k: _copy(v) for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    params = [p for _, p in named_weights(model)]
    with preserved(model):
        try:
            model.train()
            batches = _batches(loader)
            for i in range(num_iter):
                lr = start_lr * ratio ** (i / (num_iter - 1))
                for group in optimizer.param_groups:
                    group["lr"] = lr
                batch = next(batches)
                if not (isinstance(batch, (tuple, list)) and len(batch) >= 2):
                    raise LRFinderError(f"lr_find: each batch must be a tuple (inputs..., targets), got "
                                        f"{type(batch).__name__}")
                optimizer.zero_grad()
                loss = loss_fn(model(*batch[:-1]), batch[-1])
                if not isinstance(loss, Tensor) or loss.ndim != 0:
                    raise LRFinderError("lr_find: loss_fn must return a scalar tensor (use reduction='mean')")
                value = float(loss.item())
                lrs.append(lr)
                losses.append(value)
                if not math.isfinite(value):
                    smoothed.append(math.inf)
                    diverged, reason = True, f"the loss became {value} at lr {lr:.3g} (iteration {i})"
                    break
                avg = smooth * avg + (1 - smooth) * value
                s = avg / (1 - smooth ** (i + 1))
                smoothed.append(s)
                if i > 0 and s > diverge_factor * best:
                    diverged = True
                    reason = (f"diverged at lr {lr:.3g} (iteration {i}): smoothed loss {s:.4g} > "
                              f"{diverge_factor:g} x best {best:.4g}")
                    break
                best = min(best, s)
                loss.backward()
                optimizer.step()
        finally:
            # the saved objects themselves (not a state_dict round trip): dtypes, 0-d arrays and
            # Python scalars come back exactly as they were
            optimizer.state = saved_state
            for group, saved in zip(optimizer.param_groups, saved_groups):
                for k in [k for k in group if k != "params" and k not in saved]:
                    del group[k]
                group.update(saved)
            for p in params:
                p.grad = None       # preserved() puts the original gradients back
    lr_a, sm = np.array(lrs), np.array(smoothed)
    finite = len(sm) if np.isfinite(sm).all() else int(np.argmin(np.isfinite(sm)))   # a non-finite loss ends it
    skip_start = min(num_iter // 10, max(finite - 3, 0))
    skip_end = (len(sm) - finite) + min(5, max(finite - skip_start - 3, 0))
    return LRFinderResult(lr_a, np.array(losses), sm, best, diverged, reason, skip_start, skip_end,
                          suggest(lr_a, sm, skip_start, skip_end),
                          {"start_lr": float(start_lr), "end_lr": float(end_lr), "num_iter": num_iter,
                           "smooth": float(smooth), "diverge_factor": float(diverge_factor)})
