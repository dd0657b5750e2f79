"""Progress while :func:`~gradwise.train.fit` runs, and the one-line summary at its end.

:class:`ProgressBar` draws with ``tqdm.auto`` (``pip install 'gradwise[progress]'``), so each
place gets the bar it can show:

- a terminal (standard error is a TTY): one text bar per epoch, showing the running loss, the
  first metric and the learning rate, then one line per finished epoch;
- a Jupyter kernel: one widget bar for the whole run (``ipywidgets`` installed; tqdm falls back
  to text otherwise), kept after the run, with the same figures and one line per epoch;
- anything else (a pipe, a file, CI logs): nothing while training, so a log never fills with
  redrawn bars; the loop's summary line (:func:`fit_summary`) is all that prints.

:func:`fit_summary` keeps every figure of the last epoch, NaN and infinities included once the
run has gone non-finite, and says at which step the loss (or the gradient norm) first stopped
being finite: a silent ``fit: 3 epochs, 15 steps`` hid exactly the runs that most need a look.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

from gradwise.train.callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from gradwise.train.loop import Trainer

_NOT_FIGURES = ("epoch", "lr", "samples_seen", "wall_time")


def _tqdm() -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's kernel app), where bars are widgets.

    Only looks at IPython if something already imported it, so it never imports IPython.

    >>> in_notebook()
    False
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:       # an IPython too old or half torn down: not a kernel we can draw in
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class ProgressBar(Callback):
    """Progress bars for a terminal or a notebook (see the module docstring); ``force=True`` draws
    a text bar even when standard error is neither a terminal nor a notebook."""

    def __init__(self, force: bool = False) -> None:
        self.force = force
        self.bar: Any = None
        self.active = False
        self.notebook = False

    def on_fit_start(self, trainer: Trainer) -> None:
        self.notebook = in_notebook()
        self.active = (self.force or self.notebook or sys.stderr.isatty()) and _tqdm() is not None
        if self.active and self.notebook:
            # one bar for the whole run: a widget per epoch would stack up in the cell's output
            per_epoch = getattr(trainer, "batches_per_epoch", 0) or 0
            done = trainer.epoch * per_epoch + trainer.batch_in_epoch
            self.bar = _tqdm()(total=trainer.epochs * per_epoch or None, initial=done, unit="step",
                               desc=self._desc(trainer, trainer.epoch), leave=True, file=sys.stderr)

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        if not self.active:
            return
        if self.notebook:
            if self.bar is not None:
                self.bar.set_description(self._desc(trainer, epoch), refresh=False)
            return
        loader_len = getattr(trainer, "batches_per_epoch", None)
        self.bar = _tqdm()(total=loader_len, initial=trainer.batch_in_epoch, desc=self._desc(trainer, epoch),
                           unit="step", leave=False, dynamic_ncols=True, file=sys.stderr)

    def on_batch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        per_epoch = getattr(trainer, "batches_per_epoch", None)
        if trainer.batch_in_epoch % 5 == 0 or trainer.batch_in_epoch == per_epoch:
            self.bar.set_postfix(self._postfix(trainer, logs["loss"]), refresh=False)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if not self.active:
            return
        if not self.notebook and self.bar is not None:
            self.bar.close()
            self.bar = None
        figures = " ".join(f"{k}={v:.4g}" for k, v in logs.items() if k not in ("epoch", "samples_seen", "wall_time"))
        _tqdm().write(f"epoch {epoch + 1}/{trainer.epochs}: {figures}", file=sys.stderr)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        self.on_fit_end(trainer)

    @staticmethod
    def _desc(trainer: Trainer, epoch: int) -> str:
        return f"epoch {min(epoch + 1, trainer.epochs)}/{trainer.epochs}"

    @staticmethod
    def _postfix(trainer: Trainer, loss: float) -> dict[str, str]:
        post = {"loss": f"{loss:.4g}"}
        if trainer.metrics:
            m = trainer.metrics[0]
            value = m.compute()
            if isinstance(value, float):
                post[m.name] = f"{value:.4g}"
        post["lr"] = f"{trainer.optimizer.param_groups[0]['lr']:.3g}"
        return post


def first_non_finite(steps: dict[str, Any]) -> str | None:
    """Where a run's per-step records first stop being finite: the loss, else the gradient norm.

    ``steps`` is :attr:`History.steps` (arrays ``step``, ``epoch``, ``loss``, ``grad_norm``...).

    >>> import numpy as np
    >>> first_non_finite({"step": np.array([1, 2, 3]), "epoch": np.array([0, 0, 1]),
    ...                   "loss": np.array([0.5, np.inf, np.nan]), "grad_norm": np.array([1.0, 2.0, 3.0])})
    'loss became inf at step 2, epoch 1'
    >>> first_non_finite({"step": np.array([1]), "epoch": np.array([0]), "loss": np.array([0.5]),
    ...                   "grad_norm": np.array([1.0])}) is None
    True
    """
    for key, what in (("loss", "loss"), ("grad_norm", "gradient norm")):
        col = steps.get(key)
        if col is None or len(col) == 0:
            continue
        bad = [i for i, v in enumerate(col) if not math.isfinite(float(v))]
        if bad:
            i = bad[0]
            return f"{what} became {float(col[i])} at step {int(steps['step'][i])}, epoch {int(steps['epoch'][i]) + 1}"
    return None


def fit_summary(trainer: Trainer) -> str:
    """One line: epochs, steps, time and the last epoch's figures.

    Figures that are NaN because they were not computed in the last epoch (validation every few
    epochs) are left out while the run is healthy; once the loss or the gradient norm has gone
    non-finite, every figure is shown as it is (``loss nan``) and the line says where it started.
    """
    h = trainer.history
    parts = [f"{len(h)} epochs", f"{trainer.global_step} steps", f"{trainer._elapsed():.1f} s"]
    where = first_non_finite(h.steps)
    if len(h):
        epochs = h.epochs
        broken = where is not None or not math.isfinite(float(epochs.get("loss", [0.0])[-1]))
        for key, col in epochs.items():
            value = float(col[-1])
            if key not in _NOT_FIGURES and (broken or not math.isnan(value)):
                parts.append(f"{key} {value:.4g}")
    line = "fit: " + ", ".join(parts)
    notes = [f"stopped: {trainer.stop_reason}"] if trainer.stop_reason else []
    if where is not None:
        notes.append(where)
    return line + (f" ({'; '.join(notes)})" if notes else "")
