"""The fit loop: full-batch, stochastic and mini-batch gradient descent.

Every mode performs the same update, ``p <- optimizer(p, dL/dp)``, and differs
only in how many samples the loss ``L`` averages over before each update:

- ``mode="full"``: the whole training set, one update per epoch (naive or
  batch gradient descent: the exact gradient, but one step per pass);
- ``mode="sgd"``: one sample, one update per sample (stochastic gradient
  descent: a noisy but cheap estimate of the gradient);
- ``mode="minibatch"``: ``batch_size`` samples (8 to 256 typical), the usual
  compromise: many steps per pass and an estimate whose variance shrinks as
  1/batch_size.

Samples are reshuffled every epoch (``sgd``/``minibatch``) from the loader's
``Generator``, so a seeded run is reproducible and a resumed run is exact.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.api.random import Generator, default_generator
from gradwise.autograd.grad_mode import no_grad
from gradwise.autograd.tensor import Tensor
from gradwise.data.loader import DataLoader
from gradwise.errors import format_shape
from gradwise.nn.utils import clip_grad_norm_
from gradwise.train.batches import MODES, global_grad_norm, split_batch
from gradwise.train.callbacks import Callback, CSVLogger, LRSchedulerCallback, ModelCheckpoint, TensorBoardLogger
from gradwise.train.checkpoint import LoadedCheckpoint, rng_states, set_rng_states
from gradwise.train.errors import TrainingError, TrainingInterrupted
from gradwise.train.history import History
from gradwise.train.interrupts import StopLatch
from gradwise.train.metrics import Metric, get_metric
from gradwise.train.progress import ProgressBar, fit_summary
from gradwise.train.resume import restore, save_checkpoint
from gradwise.train.strategy import Strategy, resolve_strategy


def _compiled(fn: Any) -> Any:
    from gradwise.compile import compile as compile_step  # loaded only for compile=True

    return compile_step(fn)

# callbacks that write to the terminal or to files: with several processes only the main one runs them
# (a callback of your own opts in with a class attribute ``main_process_only = True``)
_WRITERS = (ProgressBar, CSVLogger, TensorBoardLogger)


class Trainer:
    """Trains ``model`` on ``loss_fn(model(*inputs), targets)`` with ``optimizer``.

    ``metrics`` are names (``"accuracy"``, ``"top5_accuracy"``, ``"mse"``, ``"mae"``, ``"r2"``) or
    :class:`~gradwise.train.metrics.Metric` objects; ``scheduler`` is stepped every epoch (or every
    step with ``scheduler_interval="step"``; ``ReduceLROnPlateau`` with ``val_loss`` when there is
    validation data, else the training loss); ``clip_grad_norm`` rescales gradients whose global
    norm exceeds it; ``checkpoint_dir`` receives ``interrupted.ckpt`` when a run is stopped by
    Ctrl-C or an exception, from which ``fit(resume=...)`` continues exactly.

    ``strategy`` says how many processes train together (:mod:`gradwise.train.strategy`; default
    one).  ``strategy=gradwise.distributed.data_parallel()`` (or the older ``distributed=True``,
    once :mod:`gradwise.distributed` is imported) trains data-parallel over MPI (launch with
    ``mpiexec -n R``; see ``docs/distributed.md``): rank 0's initial parameters are copied to
    every rank, each rank loads batches of ``batch_size`` from its own shard (a global batch of
    ``R * batch_size``), gradients are averaged after every backward (so callbacks, clipping and
    the step see the global gradient), losses and metrics are summed over ranks (every rank's
    History is the global one), BatchNorm statistics stay local, and only rank 0 prints, logs and
    writes checkpoints.  An exception on any rank aborts the whole job with that rank's traceback.
    Without ``mpiexec`` it is a world of one and trains exactly as a single process does.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> x = gw.randn(64, 3, generator=gen); y = x @ gw.tensor([[1.0], [-2.0], [0.5]])
    >>> model = nn.Linear(3, 1, generator=gen)
    >>> trainer = Trainer(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1),
    ...                   batch_size=16, progress=False, generator=gen)
    >>> history = trainer.fit((x, y), epochs=20)
    >>> bool(history.epochs["loss"][-1] < 1e-3 * history.epochs["loss"][0])
    True
    """

    def __init__(self, model: Any, loss_fn: Any, optimizer: Any, *, mode: str = "minibatch", batch_size: int = 32,
                 metrics: Sequence[str | Metric] = (), callbacks: Sequence[Callback] = (), scheduler: Any = None,
                 scheduler_interval: str = "epoch", clip_grad_norm: float | None = None, progress: bool = True,
                 checkpoint_dir: str | Path | None = None, generator: Generator | None = None,
                 eval_batch_size: int = 1024, distributed: bool | Strategy = False,
                 strategy: Strategy | None = None, compile: bool = False) -> None:  # noqa: A002
        if mode not in MODES:
            raise TrainingError(f"fit: mode must be one of {list(MODES)}, got {mode!r}")
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise TrainingError(f"fit: clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.mode, self.batch_size, self.generator = mode, batch_size, generator
        self.metric_specs = list(metrics)
        self.metrics = [get_metric(m) for m in self.metric_specs]
        self.scheduler = scheduler
        self.strategy: Strategy = resolve_strategy(strategy, distributed)
        self._collective = self.strategy.world_size > 1     # stop flags are agreed between processes
        main = self.strategy.is_main
        progress = progress and main
        user = list(callbacks)
        if scheduler is not None:
            user.insert(0, LRSchedulerCallback(scheduler, scheduler_interval))
        if progress:
            user.append(ProgressBar())
        if not main:
            user = [c for c in user if not (isinstance(c, _WRITERS) or getattr(c, "main_process_only", False))]
        # checkpoints are written after every other callback has updated its state for the epoch
        self.callbacks = [c for c in user if not isinstance(c, ModelCheckpoint)] + \
                         [c for c in user if isinstance(c, ModelCheckpoint)]
        self.clip_grad_norm, self.progress = clip_grad_norm, progress
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.eval_batch_size = eval_batch_size
        self.history = History()
        self.epoch = 0                  # the epoch being run (0-based); after a run, the number completed
        self.batch_in_epoch = 0         # batches of this epoch already applied
        self.global_step = 0
        self.samples_seen = 0
        self.epochs = 0
        self.stop_training = False
        self.stop_reason: str | None = None
        self.interrupted_checkpoint: Path | None = None
        self.epoch_arrays: dict[str, np.ndarray] = {}
        self._phase = "idle"
        self._sigint = StopLatch()
        self._collective_stop = False   # a stop that every rank of a distributed run takes at the same step
        self._time_offset = 0.0
        self._start = time.perf_counter()
        self._reset_epoch_sums()
        # compile=True: the forward and backward of each step run as a gradwise.compile plan
        self._fwd_bwd: Any = _compiled(self._forward_backward) if compile else self._forward_backward

    # ------------------------------------------------------------------ public
    def fit(self, train_data: Any, epochs: int, val_data: Any = None,
            resume: str | Path | LoadedCheckpoint | None = None) -> History:
        """Train until ``epochs`` epochs in total have run (a resumed run counts the epochs
        before the interruption) or a callback stops it; return the :class:`History`.
        ``resume``: a checkpoint file, or a :class:`~gradwise.train.checkpoint.LoadedCheckpoint`
        already read from one."""
        self._collective_stop = False
        try:
            return self._fit(train_data, epochs, val_data, resume)
        except BaseException as exc:
            if not (isinstance(exc, TrainingInterrupted) and self._collective_stop):
                # (not after a Ctrl-C seen by every rank after the same step: that is a clean stop)
                self.strategy.fail(exc)     # several processes: the others may wait in a collective
            raise

    def _fit(self, train_data: Any, epochs: int, val_data: Any,
             resume: str | Path | LoadedCheckpoint | None) -> History:
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise TrainingError(f"fit: epochs must be a positive int, got {epochs!r}")
        self.epochs = epochs
        loader = self.strategy.train_loader(train_data, self.mode, self.batch_size, self.generator)
        val_loader = None if val_data is None else self.strategy.eval_loader(val_data, self.eval_batch_size,
                                                                             what="val_data")
        self.batches_per_epoch = len(loader)
        pending = None
        if resume is not None:
            loaded = resume if isinstance(resume, LoadedCheckpoint) else LoadedCheckpoint.read(resume)
            pending = loaded.contents
            restore(self, pending, loaded.path)
        self.strategy.start(self.model, self.generator, pending)
        self.stop_training, self.stop_reason = False, None
        self._start = time.perf_counter()
        with self._sigint.armed():
            try:
                for cb in self.callbacks:
                    cb.on_fit_start(self)
                while self.epoch < epochs and not self.stop_training:
                    self._run_epoch(loader, val_loader, pending)
                    pending = None
            except BaseException as exc:
                self._on_failure(exc)
                raise
        for cb in self.callbacks:
            cb.on_fit_end(self)
        if self.progress:
            print(self.summary())
        return self.history

    def evaluate(self, data: Any, metrics: Sequence[str | Metric] | None = None) -> dict[str, float]:
        """Loss and metrics over ``data`` in eval mode without recording a graph (mean loss
        weighted by batch size).  Restores the model's previous train/eval mode.

        Distributed: each rank evaluates its shard and the sums are combined, so every rank must
        call it (it is a collective) and every rank gets the figures over all of ``data``."""
        loader = self.strategy.eval_loader(data, self.eval_batch_size)
        ms = [get_metric(m) for m in (self.metric_specs if metrics is None else metrics)]
        for m in ms:
            m.reset()
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        loss_sum, n = 0.0, 0
        try:
            with no_grad():
                for batch in loader:
                    inputs, target = split_batch(batch)
                    out = self.model(*inputs)
                    k = len(target)
                    loss_sum += float(self._loss(out, target).item()) * k
                    n += k
                    for m in ms:
                        m.update(out._data, target._data)
        finally:
            self.model.train(was_training)
        loss_sum, n = self.strategy.reduce_sums(loss_sum, n)
        self.strategy.reduce_metrics(ms)
        return {"loss": loss_sum / max(n, 1), **self._metric_values(ms)}

    def save_checkpoint(self, path: str | Path, rng: dict[str, Any] | None = None) -> Path:
        """Write a resumable checkpoint of the run as it stands (between steps) to ``path``
        (distributed: only rank 0 writes; the others return the path)."""
        return save_checkpoint(self, path, rng)

    @property
    def world_size(self) -> int:
        """Processes training together (1 unless a data-parallel strategy under ``mpiexec``)."""
        return self.strategy.world_size

    @property
    def is_main(self) -> bool:
        """Whether this process prints and writes files (rank 0, or the only process)."""
        return self.strategy.is_main

    def summary(self) -> str:
        """One line: epochs, steps, time and the last epoch's figures, NaN ones too once the run has
        gone non-finite, and where it did (:func:`~gradwise.train.progress.fit_summary`)."""
        return fit_summary(self)

    # ------------------------------------------------------------------ the loop
    def _run_epoch(self, loader: DataLoader, val_loader: DataLoader | None, pending: dict[str, Any] | None) -> None:
        epoch = self.epoch
        set_epoch = getattr(getattr(loader, "sampler", None), "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)        # a DistributedSampler reshuffles from (seed, epoch)
        gen = self._loader_generator(loader)
        skip = self.batch_in_epoch if pending is not None else 0
        if pending is not None and skip:
            # replay the interrupted epoch's shuffle from its starting state, skip the finished batches,
            # then put every random state back where the interruption left it
            gen.set_state(pending["rng"]["loader_epoch_start"])
            self._epoch_start_state = gen.get_state()
            it: Iterator[Any] = iter(loader)
            for _ in range(skip):
                next(it)
            set_rng_states(self.model, self.generator, pending["rng"])
        else:
            self._reset_epoch_sums()
            self._epoch_start_state = gen.get_state()
            it = iter(loader)
        self.model.train()
        for cb in self.callbacks:
            cb.on_epoch_start(self, epoch)
        for batch in it:
            self._boundary_rng = self._rng_now() if self.checkpoint_dir is not None else None
            self._phase = "batch"
            logs = self._step(batch)
            self._phase = "idle"
            for cb in self.callbacks:
                cb.on_batch_end(self, logs)
            if self._collective:
                # a Ctrl-C or stop request on any rank stops every rank after this same step
                sigint, stop = self.strategy.any(self._sigint.requested, self.stop_training)
                self._sigint.requested = self._sigint.requested or sigint
                self.stop_training = self.stop_training or stop
            if self._sigint.requested:
                self._collective_stop = self._collective
                raise KeyboardInterrupt
            if self.stop_training:
                break
        self._end_epoch(epoch, val_loader)

    def _step(self, batch: Any) -> dict[str, float]:
        for cb in self.callbacks:
            cb.on_batch_start(self, self.batch_in_epoch)
        inputs, target = split_batch(batch)
        loss, out = self._fwd_bwd(*inputs, target)
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        k = len(target)
        loss_value = float(loss.item())
        # several processes: global mean loss and batch size, gradients averaged before anyone looks at them
        loss_value, k = self.strategy.synchronize(params, loss_value, k)
        for cb in self.callbacks:
            cb.on_after_backward(self)
        grad_norm = global_grad_norm(params)
        if self.clip_grad_norm is not None:
            clip_grad_norm_(params, self.clip_grad_norm)
        lr = float(self.optimizer.param_groups[0]["lr"])
        self._phase = "step"            # parameters change from here: no checkpoint until it finishes
        self.optimizer.step()
        self.global_step += 1
        self.batch_in_epoch += 1
        self.samples_seen += k
        self._loss_sum += loss_value * k
        self._n += k
        for m in self.metrics:
            m.update(out._data, target._data)
        logs = {"step": self.global_step, "epoch": self.epoch, "loss": loss_value, "lr": lr,
                "grad_norm": grad_norm, "samples_seen": self.samples_seen, "wall_time": self._elapsed()}
        self.history.log_step(**logs)
        return logs

    def _forward_backward(self, *batch: Any) -> tuple[Any, Any]:
        """``zero_grad``, forward and backward of one batch ``(*inputs, target)``: ``(loss, output)``."""
        self.optimizer.zero_grad()
        out = self.model(*batch[:-1])
        loss = self._loss(out, batch[-1])
        loss.backward()
        return loss, out

    def _end_epoch(self, epoch: int, val_loader: DataLoader | None) -> None:
        self.strategy.reduce_metrics(self.metrics)      # the loss sums are global already (every step)
        logs: dict[str, float] = {"epoch": epoch, "loss": self._loss_sum / max(self._n, 1),
                                  "lr": float(self.optimizer.param_groups[0]["lr"]),
                                  "samples_seen": self.samples_seen, "wall_time": self._elapsed(),
                                  **self._metric_values(self.metrics)}
        if val_loader is not None:
            logs.update({f"val_{k}": v for k, v in self.evaluate(val_loader).items()})
        self.history.log_epoch(**logs)
        self.epoch, self.batch_in_epoch = epoch + 1, 0
        self._reset_epoch_sums()
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)
        if self._collective:
            (stop,) = self.strategy.any(self.stop_training)
            self.stop_training = self.stop_training or stop

    def _loss(self, out: Any, target: Any) -> Tensor:
        loss = self.loss_fn(out, target)
        if not isinstance(loss, Tensor) or loss.ndim != 0:
            shape = format_shape(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
            raise TrainingError(f"fit: loss_fn must return a scalar tensor, got {shape} (use reduction='mean')")
        return loss

    # ------------------------------------------------------------------ state
    def _metric_values(self, metrics: Sequence[Metric]) -> dict[str, float]:
        """The scalar figures of ``metrics`` by name; array-valued ones (a confusion matrix) go to
        ``epoch_arrays`` instead."""
        values: dict[str, float] = {}
        for m in metrics:
            value = m.compute()
            if np.ndim(value) == 0:
                values[m.name] = float(value)
            else:
                self.epoch_arrays[m.name] = value
        return values

    def _reset_epoch_sums(self) -> None:
        self._loss_sum, self._n = 0.0, 0
        for m in self.metrics:
            m.reset()

    def _elapsed(self) -> float:
        return self._time_offset + time.perf_counter() - self._start

    def _loader_generator(self, loader: DataLoader) -> Generator:
        gen = getattr(loader, "generator", None)
        return gen if isinstance(gen, Generator) else default_generator

    def _rng_now(self) -> dict[str, Any]:
        return rng_states(self.model, self.generator, getattr(self, "_epoch_start_state", None))

    def _stop_signal(self) -> int:
        """The signal that stopped the run (SIGINT for a Ctrl-C, or a stop requested by another rank)."""
        return self._sigint.signum if self._sigint.signum is not None else int(signal.SIGINT)

    def _on_failure(self, exc: BaseException) -> None:
        """After an exception or Ctrl-C: write ``interrupted.ckpt`` when the run is between steps."""
        if self._collective_stop:
            self.strategy.reduce_metrics(self.metrics)  # every rank is here: rank 0 saves the global sums
        for cb in self.callbacks:       # release what callbacks hold (bars, hooks, files) before re-raising
            try:
                cb.on_exception(self, exc)
            except Exception:  # the original error is the one to report
                pass
        if self.checkpoint_dir is None or self._phase == "step":
            if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, TrainingInterrupted):
                raise TrainingInterrupted(None, self._stop_signal()) from exc
            return
        # an unfinished batch never reached the optimizer: the checkpoint is the state before it
        rng = self._boundary_rng if self._phase == "batch" else None
        self._phase = "idle"
        self.interrupted_checkpoint = self.save_checkpoint(self.checkpoint_dir / "interrupted.ckpt", rng=rng)
        if isinstance(exc, KeyboardInterrupt):
            raise TrainingInterrupted(self.interrupted_checkpoint, self._stop_signal()) from exc
        if hasattr(exc, "add_note"):
            exc.add_note(f"gradwise: a resumable checkpoint was saved to {self.interrupted_checkpoint}")


def fit(model: Any, loss_fn: Any, optimizer: Any, train_data: Any, *, epochs: int, mode: str = "minibatch",
        batch_size: int = 32, val_data: Any = None, metrics: Sequence[str | Metric] = (),
        callbacks: Sequence[Callback] = (), scheduler: Any = None, scheduler_interval: str = "epoch",
        clip_grad_norm: float | None = None, progress: bool = True,
        resume: str | Path | LoadedCheckpoint | None = None,
        checkpoint_dir: str | Path | None = None, generator: Generator | None = None,
        distributed: bool | Strategy = False, strategy: Strategy | None = None,
        compile: bool = False) -> History:  # noqa: A002
    """Train ``model`` by gradient descent and return the :class:`History`; see :class:`Trainer`
    (``strategy=gradwise.distributed.data_parallel()``, or ``distributed=True`` once
    :mod:`gradwise.distributed` is imported: data-parallel over MPI ranks, ``batch_size`` per rank).

    ``train_data``/``val_data``: a tuple ``(x, y)`` (tensors or arrays; x ``(N, ...)``, y ``(N, ...)``),
    a Dataset of ``(x, y)`` samples, or (with ``mode="minibatch"``) a DataLoader.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> x = gw.randn(40, 2, generator=gen); y = (x[:, 0] > 0).long()
    >>> model = nn.Linear(2, 2, generator=gen)
    >>> h = fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.5), (x, y),
    ...         epochs=5, mode="full", metrics=["accuracy"], progress=False)
    >>> len(h.steps["step"]), bool(h.epochs["accuracy"][-1] > 0.9)
    (5, True)
    """
    trainer = Trainer(model, loss_fn, optimizer, mode=mode, batch_size=batch_size, metrics=metrics,
                      callbacks=callbacks, scheduler=scheduler, scheduler_interval=scheduler_interval,
                      clip_grad_norm=clip_grad_norm, progress=progress, checkpoint_dir=checkpoint_dir,
                      generator=generator, distributed=distributed, strategy=strategy, compile=compile)
    return trainer.fit(train_data, epochs=epochs, val_data=val_data, resume=resume)
