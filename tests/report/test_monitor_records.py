"""A gradient monitor's records saved as JSON and read back: the same verdicts, figures and series,
an honest description of the window, and clear errors for damaged files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight import GradientMonitor
from gradwise.insight.monitor_records import (
    MonitorRecordsError,
    load_monitor_records,
    monitor_records,
    save_monitor_records,
)


@pytest.fixture(scope="module")
def monitor():
    gen = gw.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8, generator=gen), nn.Sigmoid(), nn.Linear(8, 8, generator=gen), nn.ReLU(),
                          nn.Linear(8, 2, generator=gen))
    x = gw.randn(60, 3, generator=gen)
    y = (x[:, 0] > 0).long()
    mon = GradientMonitor(model, every=2, window=5)
    gw.train.fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=5,
                 batch_size=10, callbacks=[mon], progress=False, generator=gen)
    return mon


def test_round_trip_keeps_the_report_and_the_series(monitor, tmp_path):
    path = save_monitor_records(monitor, tmp_path / "monitor.json")
    back = load_monitor_records(path)
    assert back.report().to_dict() == monitor.report().to_dict()
    assert back.report().verdict == monitor.report().verdict
    assert [lv.label for lv in back.report().layers] == ["0 (Linear+Sigmoid)", "2 (Linear+ReLU)", "4 (Linear)"]
    assert back.layer_names == monitor.layer_names
    for name in monitor.layer_names:
        live, saved = monitor.layer_history(name), back.layer_history(name)
        np.testing.assert_array_equal(saved.steps, live.steps)
        np.testing.assert_allclose(saved.grad_norm, live.grad_norm, rtol=1e-15)
        assert saved.kind == live.kind and saved.activation == live.activation
    # NaN figures (no dead fraction for a layer without ReLU...) come back as NaN, not None
    assert math.isnan(back.report().layer("4").figures.dead_fraction)
    assert json.loads(path.read_text())["format"] == "gradwise-monitor-records"


def test_the_window_is_described_as_it_is(monitor):
    rec = monitor_records(monitor)
    # 30 steps, every 2nd sampled: 15 samples taken, the window keeps the last 5 (steps 20-28)
    assert rec.samples_total == 15 and rec.samples_in_window == 5 and rec.steps_seen == 30
    assert rec.window_text() == ("sampled every 2 steps: 5 samples, steps 20-28 (15 taken in all; the window keeps "
                                 "the last 5)")


def test_the_report_draws_the_gradient_flow_from_saved_records(monitor, tmp_path):
    pytest.importorskip("matplotlib")
    from gradwise.viz.curves import gradient_flow

    back = load_monitor_records(save_monitor_records(monitor, tmp_path / "m.json"))
    fig = gradient_flow(back)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["0 (Linear+Sigmoid)", "2 (Linear+ReLU)", "4 (Linear)"]


@pytest.mark.parametrize("content, message", [
    ("{broken", "is not valid JSON"),
    ('{"format": "other"}', "is not a gradwise monitor-records file"),
    ('{"format": "gradwise-monitor-records", "version": 99}', "has version 99; this gradwise reads version 1"),
    ('{"format": "gradwise-monitor-records", "version": 1, "layers": []}', "is damaged \\(KeyError"),
])
def test_damaged_files_name_themselves(tmp_path, content, message):
    path = tmp_path / "monitor.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MonitorRecordsError, match=f"load_monitor_records: {path}.*{message}"):
        load_monitor_records(path)
    with pytest.raises(MonitorRecordsError, match="does not exist"):
        load_monitor_records(tmp_path / "missing.json")
