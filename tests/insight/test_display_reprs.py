"""The records' text repr and Jupyter HTML: GradientReport, History, the LR range test, the dimension
audit and the hand derivation (the notebook test runs them in a real kernel)."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.data import DataLoader, TensorDataset
from gradwise.insight.derivations import derive
from gradwise.insight.lr_finder import lr_find
from gradwise.insight.monitor import GradientMonitor
from gradwise.insight.shapes import shapes
from gradwise.train import fit
from gradwise.train.history import History
from gradwise.train.html_repr import svg_chart, table

FORBIDDEN = ("<script", "<link", "<style", "<img", "<iframe", "href=", "src=")


def _self_contained(page: str) -> None:
    for tag in FORBIDDEN:
        assert tag not in page, tag
    assert page.count("<div") == page.count("</div>")
    assert page.count("<table") == page.count("</table>")


@pytest.fixture(scope="module")
def trained() -> tuple[nn.Module, History, GradientMonitor]:
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(48, 4, generator=gen)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(4, 6, generator=gen), nn.Sigmoid(), nn.Linear(6, 2, generator=gen))
    monitor = GradientMonitor(model)
    h = fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.5), (x, y), epochs=4,
            batch_size=16, metrics=["accuracy"], val_data=(x[:8], y[:8]), callbacks=[monitor], progress=False,
            generator=gen)
    return model, h, monitor


def test_gradient_report_repr_is_its_table_and_html_shows_every_layer(trained) -> None:
    _, _, monitor = trained
    report = monitor.report()
    assert repr(report) == report.to_text() and not repr(report).startswith("GradientReport(")
    page = report._repr_html_()
    _self_contained(page)
    assert f"Gradient health: {report.verdict}" in page
    for lv in report.layers:
        assert lv.label in page
        assert f"{lv.figures.grad_norm:.3g}" in page
    assert 'title="coefficient of variation' in page          # the cv column explained in place
    odd = dataclasses.replace(report, advice=("use <b>less</b> & more",))
    assert "use &lt;b&gt;less&lt;/b&gt; &amp; more" in odd._repr_html_()


def test_history_repr_and_html(trained) -> None:
    _, h, _ = trained
    text = repr(h)
    assert text.splitlines()[0] == "History: 4 epochs, 12 steps"
    assert text.splitlines()[1].split() == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert f"{h.last('loss'):.4f}" in text.splitlines()[-1]
    page = h._repr_html_()
    _self_contained(page)
    assert "History: 4 epochs, 12 steps" in page and "<polyline" in page
    assert f"val_loss {h.last('val_loss'):.4f}" in page


def test_history_of_a_long_and_a_non_finite_run() -> None:
    h = History()
    for e in range(30):
        h.log_epoch(epoch=e, loss=math.nan if e >= 28 else 1.0 / (e + 1), lr=0.1, samples_seen=10 * (e + 1),
                    wall_time=0.1 * e)
    lines = repr(h).splitlines()
    assert lines[-1] == "(18 epochs in the middle not shown)"
    assert lines[2].split()[0] == "1" and "..." in repr(h) and lines[-2].split()[:2] == ["30", "nan"]
    assert History().__repr__() == "History: 0 epochs, 0 steps (no epoch recorded yet)"
    _self_contained(History()._repr_html_())


def test_lr_finder_repr_and_html() -> None:
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(128, 4, generator=gen)
    y = x @ gw.randn(4, 1, generator=gen)
    model = nn.Linear(4, 1, generator=gen)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=gen)
    result = lr_find(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=40)
    assert repr(result) == result.to_text()
    page = result._repr_html_()
    _self_contained(page)
    assert "LR range test" in page and f"{len(result.lrs)} iterations" in page
    for s in result.suggestions:
        assert f"<b>{s.name}</b>" in page and f"{s.lr:.3g}" in page
    assert len(re.findall(r'stroke-dasharray="3,3"', page)) == 3      # one dashed mark per suggestion


def test_shape_audit_html_with_a_failure() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(7, 2))
    audit = shapes(model, gw.zeros(5, 4))
    assert repr(audit) == audit.to_text() and not audit.ok
    page = audit._repr_html_()
    _self_contained(page)
    assert "Dimension audit: FAILED" in page and "failed at layer 2 (Linear)" in page
    assert "Linear(in_features=8" in page                 # the suggested fix


def test_derivation_repr_and_html() -> None:
    d = derive("two_layer_batch", seed=0)
    assert repr(d) == d.to_text()
    page = d._repr_html_()
    _self_contained(page)
    for s in d.steps:
        assert f"<b>{s.name}</b>" in page
    for g in d.gradients:
        assert f"{g.max_abs_difference:.3e}" in page


def test_svg_chart_breaks_lines_at_non_finite_points() -> None:
    page = svg_chart([("loss", [1, 2, 3, 4, 5], [1.0, 0.5, np.nan, 0.4, 0.3])])
    assert page.count("<polyline") == 2
    assert svg_chart([("loss", [1, 2], [np.nan, np.inf])]) == ""


def test_table_escapes_and_wraps() -> None:
    page = table(["a", "b"], [["<x>", "1"]], wrap=(0,))
    assert "&lt;x&gt;" in page and "white-space:normal" in page
