"""Weight and gradient histograms over training, recorded by a fit callback.

TensorBoard's histogram view in NumPy terms: after every epoch (and once at the start, for
the weights) each parameter's values and its latest gradient are binned.  Each snapshot
keeps its own bin edges (the range of the values then), so a distribution that widens or
collapses stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.errors import GradwiseError
from gradwise.insight.weights import named_weights
from gradwise.train.callbacks import Callback


class HistogramError(GradwiseError, ValueError):
    """An option of :class:`HistogramRecorder` that cannot work, or a parameter it did not record."""


@dataclass(frozen=True, eq=False)
class ParameterHistograms:
    """One parameter's histograms: at ``epochs`` (shape ``(S,)``, 0 = before training),
    ``counts`` ``(S, bins)`` and ``edges`` ``(S, bins + 1)``.  Rows with no data (the gradient
    before the first step) are zero counts with NaN edges."""

    name: str
    kind: str               # "weight" or "grad"
    epochs: np.ndarray
    counts: np.ndarray
    edges: np.ndarray


def _histogram(values: np.ndarray | None, bins: int) -> tuple[np.ndarray, np.ndarray]:
    if values is None:
        return np.zeros(bins), np.full(bins + 1, np.nan)
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.zeros(bins), np.full(bins + 1, np.nan)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:        # every value equal: a bin of width 1e-3 relative around it
        pad = max(abs(lo), 1.0) * 1e-3
        lo, hi = lo - pad, hi + pad
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return counts.astype(np.float64), edges


class HistogramRecorder(Callback):
    """Records histograms of every trainable parameter (``kind="weight"``) and of its gradient
    (``kind="grad"``: ``p.grad`` of the epoch's last batch, as the optimizer applied it, i.e.
    after any clipping) at the start and after every ``every`` epochs.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> model = nn.Linear(4, 3, generator=gen)
    >>> rec = HistogramRecorder(bins=10)
    >>> x = gw.randn(32, 4, generator=gen)
    >>> _ = gw.train.fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, x[:, :3]),
    ...                  epochs=2, batch_size=8, callbacks=[rec], progress=False, generator=gen)
    >>> h = rec.histograms("weight", "weight")
    >>> h.epochs.tolist(), h.counts.shape, h.counts.sum(axis=1).tolist()
    ([0, 1, 2], (3, 10), [12.0, 12.0, 12.0])
    """

    def __init__(self, bins: int = 30, every: int = 1) -> None:
        for name, value in (("bins", bins), ("every", every)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise HistogramError(f"HistogramRecorder: {name} must be an int >= 1, got {value!r}")
        self.bins, self.every = bins, every
        self.names: list[str] = []
        self.epochs: list[int] = []
        self._rows: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}

    def record(self, model: Any, epoch: int) -> None:
        """Bin ``model``'s parameters and gradients now, labelled ``epoch``."""
        params = named_weights(model)
        if not self.names:
            self.names = [n for n, _ in params]
        self.epochs.append(int(epoch))
        for name, p in params:
            self._rows.setdefault((name, "weight"), []).append(_histogram(p._data, self.bins))
            grad = None if p.grad is None else p.grad._data
            self._rows.setdefault((name, "grad"), []).append(_histogram(grad, self.bins))

    def on_fit_start(self, trainer: Any) -> None:
        if not self.epochs:
            self.record(trainer.model, trainer.epoch)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        if (epoch + 1) % self.every == 0:
            self.record(trainer.model, epoch + 1)

    def histograms(self, name: str, kind: str = "weight") -> ParameterHistograms:
        """The record of parameter ``name``; ``kind`` is ``"weight"`` or ``"grad"``."""
        if kind not in ("weight", "grad"):
            raise HistogramError(f"HistogramRecorder.histograms: kind must be 'weight' or 'grad', got {kind!r}")
        rows = self._rows.get((name, kind))
        if rows is None:
            raise HistogramError(f"HistogramRecorder.histograms: no parameter {name!r} recorded; recorded: "
                                 f"{self.names}")
        return ParameterHistograms(name, kind, np.array(self.epochs, dtype=np.int64),
                                   np.stack([c for c, _ in rows]), np.stack([e for _, e in rows]))
