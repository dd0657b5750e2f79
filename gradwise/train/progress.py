"""A tqdm progress bar per epoch, showing the running loss, the first metric and the learning rate.

It draws only when standard error is a terminal (not in CI logs or pipes) and tqdm
is installed (``pip install 'gradwise[progress]'``); otherwise it stays silent and
the loop's one-line summary is all that prints.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from gradwise.train.callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from gradwise.train.loop import Trainer


def _tqdm() -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class ProgressBar(Callback):
    """One bar per epoch; ``force=True`` draws even when standard error is not a terminal."""

    def __init__(self, force: bool = False) -> None:
        self.force = force
        self.bar: Any = None
        self.active = False

    def on_fit_start(self, trainer: Trainer) -> None:
        self.active = (self.force or sys.stderr.isatty()) and _tqdm() is not None

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        if not self.active:
            return
        loader_len = getattr(trainer, "batches_per_epoch", None)
        self.bar = _tqdm()(total=loader_len, initial=trainer.batch_in_epoch, desc=f"epoch {epoch + 1}/{trainer.epochs}",
                           unit="step", leave=False, dynamic_ncols=True, file=sys.stderr)

    def on_batch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        if trainer.batch_in_epoch % 5 == 0 or trainer.batch_in_epoch == self.bar.total:
            self.bar.set_postfix(self._postfix(trainer, logs["loss"]), refresh=False)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.bar is None:
            return
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
    def _postfix(trainer: Trainer, loss: float) -> dict[str, str]:
        post = {"loss": f"{loss:.4g}"}
        if trainer.metrics:
            m = trainer.metrics[0]
            value = m.compute()
            if isinstance(value, float):
                post[m.name] = f"{value:.4g}"
        post["lr"] = f"{trainer.optimizer.param_groups[0]['lr']:.3g}"
        return post
