"""HistogramRecorder: per-epoch histograms of weights and gradients against NumPy's."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight import HistogramError, HistogramRecorder, ParameterRecorder
from gradwise.train import Callback


class _LastGrad(Callback):
    """Copies every gradient at the end of each epoch (the oracle for the gradient histograms)."""

    def __init__(self):
        self.grads = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.grads.append({n: p.grad.numpy().copy() for n, p in trainer.model.named_parameters()})


def test_histograms_match_numpy_on_the_recorded_values():
    gen = gw.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6, generator=gen), nn.ReLU(), nn.Linear(6, 2, generator=gen))
    x = gw.randn(40, 4, generator=gen)
    hist, params, grads = HistogramRecorder(bins=7), ParameterRecorder(), _LastGrad()
    gw.train.fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, x[:, :2]), epochs=3,
                 batch_size=8, callbacks=[params, grads, hist], progress=False, generator=gen)
    assert hist.names == ["0.weight", "0.bias", "2.weight", "2.bias"] and hist.epochs == [0, 1, 2, 3]
    for name in hist.names:
        h = hist.histograms(name, "weight")
        assert h.counts.shape == (4, 7) and h.edges.shape == (4, 8)
        for k, snap in enumerate(params.snapshots):
            v = snap[name].astype(np.float64)
            counts, edges = np.histogram(v, bins=7, range=(v.min(), v.max()))
            np.testing.assert_array_equal(h.counts[k], counts)
            np.testing.assert_allclose(h.edges[k], edges)
        g = hist.histograms(name, "grad")
        assert g.counts[0].sum() == 0 and np.isnan(g.edges[0]).all()       # no gradient before training
        for k, gs in enumerate(grads.grads, start=1):
            v = gs[name].astype(np.float64)
            counts, _ = np.histogram(v, bins=7, range=(v.min(), v.max()))
            np.testing.assert_array_equal(g.counts[k], counts)


def test_constant_values_get_a_narrow_bin_around_them():
    model = nn.Linear(3, 1, generator=gw.Generator().manual_seed(0))
    nn.init.zeros_(model.bias)
    rec = HistogramRecorder(bins=4)
    rec.record(model, 0)
    h = rec.histograms("bias")
    assert h.counts[0].sum() == 1 and h.edges[0][0] < 0 < h.edges[0][-1]


def test_errors_name_the_option():
    with pytest.raises(HistogramError, match="bins must be an int >= 1, got 0"):
        HistogramRecorder(bins=0)
    rec = HistogramRecorder()
    rec.record(nn.Linear(2, 1), 0)
    with pytest.raises(HistogramError, match=r"no parameter 'w' recorded; recorded: \['weight', 'bias'\]"):
        rec.histograms("w")
    with pytest.raises(HistogramError, match="kind must be 'weight' or 'grad'"):
        rec.histograms("weight", "update")
