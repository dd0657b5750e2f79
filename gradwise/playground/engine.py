"""The training engine of the playground: one :class:`Playground` per browser tab, pure gradwise and
NumPy (no web code), so it is tested on its own.

It builds the run from :class:`~gradwise.playground.settings.Settings` (see
:mod:`gradwise.playground.recipe`), takes one update per :meth:`Playground.step`, watches the
gradients with a :class:`~gradwise.insight.GradientMonitor`, and :meth:`Playground.views` returns
plain JSON-ready data for the page (see :mod:`gradwise.playground.views`).

>>> from gradwise.playground.settings import Settings
>>> pg = Playground(Settings(dataset="moons", n_samples=100, hidden=(4,), lr=0.1))
>>> pg.step(5)
5
>>> v = pg.views()
>>> v["step"], len(v["train_loss"]), v["boundary"]["size"]      # the loss before the first update too
(5, 6, 64)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.api.creation import from_numpy
from gradwise.api.random import Generator
from gradwise.autograd.grad_mode import enable_grad, no_grad
from gradwise.insight.monitor import GradientMonitor
from gradwise.playground import recipe, views
from gradwise.playground.settings import Settings

# Loss curves keep at most this many points: beyond it every other point is dropped (the
# stride doubles), so a long run keeps its whole shape in bounded memory.
MAX_CURVE_POINTS = 2000
MONITOR_WINDOW = 30
# The optimizer's path (for the landscape view): the flattened parameters every ``path_stride``
# updates, thinned the same way beyond this many points (float32: at most ~2.6 MB a session).
MAX_PATH_POINTS = 100


class Playground:
    """One live run: the data, the model, the optimizer, the batch order and the records.

    ``step(n)`` takes ``n`` updates (stopping early if the loss becomes inf/NaN); ``reset()`` rebuilds
    the run from the settings (the same seed gives the same run); ``configure(settings)`` changes them
    and resets.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.reset()

    # ------------------------------------------------------------------ setup
    def configure(self, settings: Settings) -> None:
        """Replace the settings and rebuild the run."""
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        """Rebuild data, model and optimizer from the settings and forget every record."""
        s = self.settings
        gen = Generator().manual_seed(s.seed)
        self.data = recipe.make_data(s, gen)
        self.model = recipe.make_model(s, gen)
        self.optimizer = recipe.make_optimizer(s, self.model)
        self.batches = recipe.Batches(len(self.data.y_train), recipe.batch_size(s, len(self.data.y_train)), s.seed)
        self.x_train, self.y_train = from_numpy(self.data.x_train), from_numpy(self.data.y_train)
        self.x_val, self.y_val = from_numpy(self.data.x_val), from_numpy(self.data.y_val)
        self.monitor = GradientMonitor(self.model, window=MONITOR_WINDOW).attach()
        self.steps = 0
        self.diverged = False
        self.curve_steps: list[int] = []
        self.train_loss: list[float] = []
        self.val_loss: list[float] = []
        self.stride = 1
        self.batch_loss = math.nan
        self.grid = views.grid_features(s.features)
        self.path: list[np.ndarray] = []
        self.path_steps: list[int] = []
        self.path_stride = 1
        self.last_before: np.ndarray | None = None
        self.last_step: np.ndarray | None = None
        self._record()
        self._record_path()

    # --------------------------------------------------------------- training
    def step(self, n: int = 1) -> int:
        """Take up to ``n`` updates; returns how many were taken (fewer once the loss diverged)."""
        taken = 0
        for _ in range(n):
            if self.diverged:
                break
            self._update()
            taken += 1
        return taken

    def _update(self) -> None:
        s = self.settings
        idx = self.batches.next()
        self.model.train()
        with enable_grad():             # a step records its graph whatever mode the caller is in
            out = self.model(from_numpy(self.data.x_train[idx]))
            loss = recipe.loss_of(s.loss, out, from_numpy(self.data.y_train[idx]))
        self.optimizer.zero_grad()
        loss.backward()
        self.monitor.observe_gradients()
        before = self.flat_parameters()
        self.optimizer.step()
        self.monitor.observe_update()
        # the last step, for the contour view: where it started and where it went
        self.last_before, self.last_step = before, self.flat_parameters() - before
        self.steps += 1
        self.batch_loss = float(loss.item())
        if self.steps % self.stride == 0:
            self._record()
        if self.steps % self.path_stride == 0:
            self._record_path()

    def flat_parameters(self) -> np.ndarray:
        """Every parameter, raveled and joined in ``model.parameters()`` order: shape ``(P,)``, float64."""
        return np.concatenate([p._data.ravel() for p in self.model.parameters()]).astype(np.float64)

    def _record_path(self) -> None:
        self.path.append(self.flat_parameters().astype(np.float32))
        self.path_steps.append(self.steps)
        if len(self.path) > MAX_PATH_POINTS:
            self.path_stride *= 2
            del self.path[1::2]
            del self.path_steps[1::2]

    def _record(self) -> None:
        """Append the full train and validation losses (model in eval mode: no dropout)."""
        train, val = self.evaluate()
        if not (math.isfinite(train) and abs(train) < 1e30):
            self.diverged = True
        self.curve_steps.append(self.steps)
        self.train_loss.append(train)
        self.val_loss.append(val)
        if len(self.curve_steps) > MAX_CURVE_POINTS:
            self.stride *= 2
            for lst in (self.curve_steps, self.train_loss, self.val_loss):
                del lst[1::2]

    def evaluate(self) -> tuple[float, float]:
        """``(train loss, validation loss)`` on the whole split (NaN for an empty validation part)."""
        s = self.settings
        self.model.eval()
        with no_grad(), np.errstate(all="ignore"):
            train = float(recipe.loss_of(s.loss, self.model(self.x_train), self.y_train).item())
            val = (float(recipe.loss_of(s.loss, self.model(self.x_val), self.y_val).item())
                   if len(self.data.y_val) else math.nan)
        self.model.train()
        return train, val

    def accuracy(self) -> tuple[float, float]:
        """``(train accuracy, validation accuracy)`` in [0, 1] (NaN for an empty part)."""
        self.model.eval()
        with no_grad():
            acc = [float((self.model(from_numpy(x)).numpy().argmax(axis=1) == y).mean()) if len(y) else math.nan
                   for x, y in ((self.data.x_train, self.data.y_train), (self.data.x_val, self.data.y_val))]
        self.model.train()
        return acc[0], acc[1]

    # ------------------------------------------------------------------ views
    @property
    def epoch(self) -> float:
        """Passes over the training data so far."""
        n = len(self.data.y_train)
        return self.steps * recipe.batch_size(self.settings, n) / n

    def parameters(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, by name."""
        return {k: np.array(v.detach().numpy()) for k, v in self.model.state_dict().items()}

    def points(self) -> dict[str, Any]:
        """The data points for the page (sent once per reset)."""
        d = self.data
        return {"box": recipe.BOX,
                "train": {"xy": np.round(d.xy_train, 4).tolist(), "label": d.y_train.tolist()},
                "val": {"xy": np.round(d.xy_val, 4).tolist(), "label": d.y_val.tolist()}}

    def views(self) -> dict[str, Any]:
        """Everything the page draws after an update, JSON-ready."""
        train_acc, val_acc = self.accuracy()
        return {
            "step": self.steps, "epoch": round(self.epoch, 3), "diverged": self.diverged,
            "batch_loss": views.finite_or_none(self.batch_loss),
            "train_accuracy": views.finite_or_none(train_acc), "val_accuracy": views.finite_or_none(val_acc),
            "curve_steps": list(self.curve_steps),
            "train_loss": [views.finite_or_none(v) for v in self.train_loss],
            "val_loss": [views.finite_or_none(v) for v in self.val_loss],
            "boundary": views.boundary(self.model, self.grid, self.settings.loss),
            "gradients": views.gradient_health(self.monitor, self.steps),
            "histograms": views.histograms(self.model),
        }
