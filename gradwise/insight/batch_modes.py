"""Full-batch, stochastic and mini-batch gradient descent, compared on one model and one data set.

:func:`compare_batch_modes` trains the same model from the same initial weights with
``gradwise.train.fit`` in each mode and measures, at those initial weights, how far a
mini-batch gradient strays from the full gradient.

Why mini-batches work: the full-batch gradient is the mean of the per-sample gradients,
``g = (1/N) sum_i g_i``; a batch of ``B`` samples drawn without replacement gives the
unbiased estimate ``g_B = (1/B) sum_{i in batch} g_i`` with

    E ||g_B - g||^2 = (sigma^2 / B) * (N - B) / (N - 1),   sigma^2 = (1/N) sum_i ||g_i - g||^2

(the variance of a sample mean, with the finite-population correction): about
``sigma^2 / B`` while ``B << N``, and zero at ``B = N``.  Doubling the batch halves the
noise but also halves the number of steps per epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.api.random import Generator, resolve
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError
from gradwise.insight.weights import dataset_loss, load_weights, named_weights, preserved
from gradwise.train.batches import MODES
from gradwise.train.callbacks import Callback
from gradwise.train.loop import fit


class BatchModeError(GradwiseError, ValueError):
    """An option of :func:`compare_batch_modes` that cannot work; the message names it and what is valid."""


@dataclass(frozen=True, eq=False)
class BatchModeRun:
    """One mode's training run.

    ``epoch``, ``samples_seen`` (gradient evaluations: samples whose gradient was computed),
    ``wall_time`` (seconds spent training, the loss evaluations excluded) and ``train_loss``
    (mean loss over the whole training set, in eval mode) have shape ``(epochs + 1,)``: the
    first entry is the initial point.  ``steps``/``epochs`` are the run's
    :class:`~gradwise.train.History` arrays (``history.steps``, ``history.epochs``).
    """

    mode: str
    batch_size: int
    lr: float
    updates_per_epoch: int
    epoch: np.ndarray
    samples_seen: np.ndarray
    wall_time: np.ndarray
    train_loss: np.ndarray
    steps: dict[str, np.ndarray]
    epochs: dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class GradientVariance:
    """How far mini-batch gradients stray from the full gradient, at one fixed set of weights.

    For each batch size ``B`` (shape ``(K,)`` arrays): ``variance`` is the mean over
    ``num_batches`` random batches (drawn without replacement, as a DataLoader does) of
    ``||g_B - g||^2`` and ``std_error`` its standard error; ``predicted`` is the closed form
    ``sigma^2 / B * (N - B) / (N - 1)`` from the ``N`` per-sample gradients (which assumes
    the batch loss is the mean of per-sample losses: no BatchNorm).  ``slope`` is the
    least-squares slope of ``log variance`` against ``log B`` over the sizes with
    ``B <= N / 8`` (about -1: the variance falls as ``1/B``).
    """

    batch_sizes: np.ndarray
    variance: np.ndarray
    std_error: np.ndarray
    predicted: np.ndarray
    per_sample_variance: float
    full_grad_norm: float
    num_batches: int
    n: int
    slope: float

    def to_text(self) -> str:
        """A table: batch size, measured variance +- standard error, the prediction and B x variance."""
        lines = [f"mini-batch gradient variance E||g_B - g||^2 at fixed weights (N = {self.n}, "
                 f"||g|| = {self.full_grad_norm:.4g}, sigma^2 = {self.per_sample_variance:.4g}, "
                 f"{self.num_batches} batches per size; log-log slope {self.slope:.3f})",
                 f"{'B':>6}  {'measured':>11}  {'+-':>9}  {'predicted':>11}  {'B x measured':>12}"]
        for b, v, e, p in zip(self.batch_sizes, self.variance, self.std_error, self.predicted):
            lines.append(f"{int(b):>6}  {v:>11.4g}  {e:>9.2g}  {p:>11.4g}  {b * v:>12.4g}")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class BatchModeComparison:
    """What :func:`compare_batch_modes` returns: the runs by mode and the gradient-variance table."""

    runs: dict[str, BatchModeRun]
    variance: GradientVariance
    n_train: int
    epochs: int

    def to_text(self) -> str:
        lines = [f"{'mode':<10} {'batch':>6} {'lr':>8} {'updates/epoch':>13} {'loss start':>11} "
                 f"{'loss end':>10} {'time (s)':>9}"]
        for r in self.runs.values():
            lines.append(f"{r.mode:<10} {r.batch_size:>6} {r.lr:>8.3g} {r.updates_per_epoch:>13} "
                         f"{r.train_loss[0]:>11.4g} {r.train_loss[-1]:>10.4g} {r.wall_time[-1]:>9.3g}")
        return "\n".join(lines) + "\n\n" + self.variance.to_text()

    def __str__(self) -> str:
        return self.to_text()


class _FullLoss(Callback):
    """Loss on the whole training set at the start and after every epoch, its own time kept apart."""

    def __init__(self, loss_fn: Any, data: Any) -> None:
        self.loss_fn, self._data = loss_fn, data
        self.loss: list[float] = []
        self.wall: list[float] = []
        self.samples: list[int] = []
        self._spent = 0.0

    def _measure(self, trainer: Any) -> None:
        t0 = time.perf_counter()
        self.loss.append(dataset_loss(trainer.model, self.loss_fn, self._data))
        self._spent += time.perf_counter() - t0

    def on_fit_start(self, trainer: Any) -> None:
        self.wall.append(0.0)
        self.samples.append(0)
        self._measure(trainer)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        # the trainer's clock includes the time of the evaluations made so far: take it out
        self.wall.append(max(float(logs["wall_time"]) - self._spent, 0.0))
        self.samples.append(int(logs["samples_seen"]))
        self._measure(trainer)


def _flat_grad(model: Any, loss_fn: Any, x: Tensor, y: Tensor) -> np.ndarray:
    params = [p for _, p in named_weights(model)]
    for p in params:
        p.grad = None
    loss_fn(model(x), y).backward()
    return np.concatenate([np.zeros(p.numel()) if p.grad is None else
                           np.asarray(p.grad._data, dtype=np.float64).ravel() for p in params])


def gradient_variance(model: Any, loss_fn: Any, data: tuple[Any, Any], batch_sizes: Sequence[int] | None = None,
                      num_batches: int = 200, generator: Generator | None = None,
                      per_sample_limit: int = 2000) -> GradientVariance:
    """Measure ``E ||g_B - g||^2`` for each batch size at the model's current weights.

    ``data`` is ``(x, y)`` with ``N`` samples; ``batch_sizes`` default to the powers of two up
    to ``min(256, N // 4)``.  Every batch gradient is a real backward pass on a random batch
    (without replacement) in train mode; the model's parameters, gradients and mode are
    restored afterwards.  ``sigma^2`` for the closed form uses every per-sample gradient when
    ``N <= per_sample_limit``, else an unbiased estimate from ``per_sample_limit`` random samples.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> x = gw.randn(128, 3, generator=gen); y = x @ gw.tensor([[1.0], [-1.0], [2.0]])
    >>> gv = gradient_variance(nn.Linear(3, 1, generator=gen), nn.MSELoss(), (x, y), [1, 4, 16],
    ...                        num_batches=100, generator=gen)
    >>> bool(gv.variance[0] > gv.variance[1] > gv.variance[2]), bool(-1.3 < gv.slope < -0.7)
    (True, True)
    """
    x, y = (d if isinstance(d, Tensor) else Tensor(np.asarray(d)) for d in data)
    n = len(y)
    if len(x) != n or n < 2:
        raise BatchModeError(f"gradient_variance: data must be (x, y) with the same number (>= 2) of samples, got "
                             f"{len(x)} inputs and {n} targets")
    if batch_sizes is None:
        top = max(1, min(256, n // 4))
        batch_sizes = [2 ** k for k in range(int(math.log2(top)) + 1)]
    sizes = sorted({int(b) for b in batch_sizes})
    if not sizes or sizes[0] < 1 or sizes[-1] > n:
        raise BatchModeError(f"gradient_variance: batch sizes must be integers in [1, {n}] (the number of samples), "
                             f"got {list(batch_sizes)}")
    if not isinstance(num_batches, int) or num_batches < 2:
        raise BatchModeError(f"gradient_variance: num_batches must be an int >= 2, got {num_batches!r}")
    if not isinstance(per_sample_limit, int) or per_sample_limit < 2:
        raise BatchModeError(f"gradient_variance: per_sample_limit must be an int >= 2, got {per_sample_limit!r}")
    rng = resolve(generator)
    with preserved(model):
        model.train()
        g = _flat_grad(model, loss_fn, x, y)
        # sigma^2, the closed form's only input: the mean of ||g_i - g||^2 over the samples (all of
        # them, or a random subset: with g exact, the subset mean is an unbiased estimate)
        rows = range(n) if n <= per_sample_limit else rng.choice(n, size=per_sample_limit, replace=False)
        sq = 0.0
        for i in rows:
            d = _flat_grad(model, loss_fn, x[int(i):int(i) + 1], y[int(i):int(i) + 1]) - g
            sq += float(d @ d)
        sigma2 = sq / len(rows)
        var, err = [], []
        for b in sizes:
            dev = np.empty(num_batches)
            for k in range(num_batches):
                idx = Tensor(rng.choice(n, size=b, replace=False))
                d = _flat_grad(model, loss_fn, x[idx], y[idx]) - g
                dev[k] = d @ d
            var.append(dev.mean())
            err.append(dev.std(ddof=1) / math.sqrt(num_batches))
    bs = np.array(sizes, dtype=np.int64)
    var_a = np.array(var)
    predicted = sigma2 / bs * (n - bs) / (n - 1)
    small = (bs <= n / 8) & (var_a > 0)
    slope = float(np.polyfit(np.log(bs[small]), np.log(var_a[small]), 1)[0]) if small.sum() >= 2 else math.nan
    return GradientVariance(bs, var_a, np.array(err), predicted, sigma2, float(math.sqrt(g @ g)), num_batches, n,
                            slope)


def _default_optimizer(params: Any, lr: float) -> Any:
    from gradwise.optim import SGD

    return SGD(params, lr=lr)


def compare_batch_modes(model: Any, loss_fn: Any, data: tuple[Any, Any], *, epochs: int = 10,
                        modes: Sequence[str] = MODES, batch_size: int = 32, lr: float | Mapping[str, float] = 0.05,
                        optimizer: Callable[[Any, float], Any] | None = None,
                        variance_batch_sizes: Sequence[int] | None = None, variance_batches: int = 200,
                        metrics: Sequence[Any] = (), generator: Generator | None = None) -> BatchModeComparison:
    """Train ``model`` from its current weights once per mode and measure the batch-gradient noise.

    Every run starts from the same initial weights (the model's on entry), builds a fresh
    optimizer with ``optimizer(params, lr)`` (default: plain ``SGD``), and trains with
    ``gradwise.train.fit(mode=...)`` for ``epochs`` epochs, shuffling from its own
    generator seeded from ``generator`` (the same seed for every mode).  ``lr`` is one
    value or ``{mode: lr}``.  The model's weights are restored afterwards.

    ``data``: ``(x, y)`` of ``N`` samples.  Returns a :class:`BatchModeComparison`: per mode a
    :class:`BatchModeRun` (loss over the whole training set against epochs, gradient
    evaluations and wall time, plus the History arrays), and the
    :class:`GradientVariance` table measured at the initial weights.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> x = gw.randn(64, 3, generator=gen); y = x @ gw.tensor([[1.0], [-1.0], [2.0]])
    >>> cmp = compare_batch_modes(nn.Linear(3, 1, generator=gen), nn.MSELoss(), (x, y), epochs=3,
    ...                           batch_size=8, variance_batch_sizes=[1, 8], variance_batches=20, generator=gen)
    >>> [(r.mode, r.updates_per_epoch, int(r.samples_seen[-1])) for r in cmp.runs.values()]
    [('full', 1, 192), ('sgd', 64, 192), ('minibatch', 8, 192)]
    >>> bool(cmp.runs["sgd"].train_loss[-1] < cmp.runs["full"].train_loss[-1])
    True
    """
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise BatchModeError(f"compare_batch_modes: modes must be a non-empty subset of {list(MODES)}, got "
                             f"{list(modes)}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise BatchModeError(f"compare_batch_modes: epochs must be a positive int, got {epochs!r}")
    rates = dict(lr) if isinstance(lr, Mapping) else {m: lr for m in modes}
    for m in modes:
        value = rates.get(m)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise BatchModeError(f"compare_batch_modes: lr for mode {m!r} must be a positive finite number, got "
                                 f"{value!r} (pass one number or a dict with a rate for each of {list(modes)})")
    make_opt = optimizer or _default_optimizer
    x, y = (d if isinstance(d, Tensor) else Tensor(np.asarray(d)) for d in data)
    n = len(y)
    seed = int(resolve(generator).integers(2 ** 62))
    variance = gradient_variance(model, loss_fn, (x, y), variance_batch_sizes, variance_batches,
                                 Generator().manual_seed(seed))
    runs: dict[str, BatchModeRun] = {}
    with preserved(model) as init:
        for mode in modes:
            load_weights(model, init)
            for _, p in named_weights(model):
                p.grad = None
            recorder = _FullLoss(loss_fn, (x, y))
            history = fit(model, loss_fn, make_opt(model.parameters(), float(rates[mode])), (x, y), epochs=epochs,
                          mode=mode, batch_size=batch_size, metrics=metrics, callbacks=[recorder], progress=False,
                          generator=Generator().manual_seed(seed))
            size = {"full": n, "sgd": 1}.get(mode, min(batch_size, n))
            runs[mode] = BatchModeRun(mode, size, float(rates[mode]), -(-n // size),
                                      np.arange(len(recorder.loss)), np.array(recorder.samples, dtype=np.int64),
                                      np.array(recorder.wall), np.array(recorder.loss), history.steps,
                                      history.epochs)
    return BatchModeComparison(runs, variance, n, epochs)
