"""Every network figure writes a non-empty PNG and a well-formed SVG; the computation graph
renders (or falls back to DOT source); the HTML report is self-contained."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.data import DataLoader, TensorDataset
from gradwise.insight import (
    GradientMonitor,
    HistogramRecorder,
    ParameterRecorder,
    compare_batch_modes,
    interpolate,
    lr_find,
    snapshot,
    surface,
    trajectory,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def records():
    pytest.importorskip("matplotlib")
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(96, 4, generator=gen)
    y = (x[:, 0] * x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(4, 8, generator=gen), nn.ReLU(), nn.Linear(8, 2, generator=gen))
    init = snapshot(model)
    monitor, hist, path = GradientMonitor(model, window=100), HistogramRecorder(bins=10), ParameterRecorder()
    history = gw.train.fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.2, momentum=0.9),
                           (x, y), epochs=4, batch_size=16, val_data=(x, y), metrics=["accuracy"],
                           callbacks=[monitor, hist, path], progress=False, generator=gen)
    data = (x, y)
    loss = nn.CrossEntropyLoss()
    fresh = nn.Sequential(nn.Linear(4, 8, generator=gen), nn.ReLU(), nn.Linear(8, 2, generator=gen))
    lr = lr_find(fresh, loss, gw.optim.SGD(fresh.parameters(), lr=0.1),
                 DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=gen), num_iter=40)
    modes = compare_batch_modes(fresh, loss, data, epochs=2, batch_size=16, lr={"full": 0.5, "sgd": 0.02,
                                                                                "minibatch": 0.1},
                                variance_batch_sizes=[1, 4, 16], variance_batches=10, generator=gen)
    return {"history": history, "monitor": monitor, "hist": hist, "lr": lr, "modes": modes, "model": model,
            "line": interpolate(model, loss, data, init, snapshot(model), labels=("init", "trained")),
            "surface": surface(model, loss, data, steps=5, generator=gen),
            "trajectory": trajectory(model, loss, data, path.snapshots, steps=5)}


def _figures(r):
    from gradwise import viz

    return {
        "training_curves": lambda p: viz.training_curves(r["history"], p, title="run"),
        "training_curves_from_json_form": lambda p: viz.training_curves(r["history"].state_dict(json_safe=True), p),
        "gradient_flow": lambda p: viz.gradient_flow(r["monitor"], p),
        "weight_histograms": lambda p: viz.weight_histograms(r["hist"], p),
        "lr_finder": lambda p: viz.plot_lr_finder(r["lr"], p, stable_lr=1.0),
        "batch_modes": lambda p: viz.plot_batch_modes(r["modes"], p),
        "interpolation": lambda p: viz.plot_interpolation(r["line"], p),
        "surface": lambda p: viz.plot_surface(r["surface"], p),
        "trajectory": lambda p: viz.plot_surface(r["trajectory"], p, three_d=False),
    }


@pytest.mark.parametrize("name", ["training_curves", "training_curves_from_json_form", "gradient_flow",
                                  "weight_histograms", "lr_finder", "batch_modes", "interpolation", "surface",
                                  "trajectory"])
def test_figure_writes_png_and_svg(records, name, tmp_path):
    draw = _figures(records)[name]
    fig = draw(tmp_path / f"{name}.png")
    assert fig.axes                                       # a matplotlib Figure with something drawn on it
    draw(tmp_path / f"{name}.svg")
    png = (tmp_path / f"{name}.png").read_bytes()
    assert png.startswith(PNG) and len(png) > 5000
    root = ET.parse(tmp_path / f"{name}.svg").getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 50


def test_figure_files_reject_unknown_suffixes(records, tmp_path):
    from gradwise import viz

    with pytest.raises(ValueError, match=r"must end in one of \['.png', '.svg', '.pdf'\], got '.*x.jpg'"):
        viz.training_curves(records["history"], tmp_path / "x.jpg")


def test_figures_need_records():
    pytest.importorskip("matplotlib")
    from gradwise import viz

    with pytest.raises(ValueError, match="the history is empty"):
        viz.training_curves(gw.train.History())
    with pytest.raises(TypeError, match="expected a gradwise.train.History"):
        viz.training_curves([1, 2, 3])
    with pytest.raises(ValueError, match="the monitor has no records yet"):
        viz.gradient_flow(GradientMonitor(nn.Linear(2, 2)))


def test_importing_gradwise_viz_does_not_import_matplotlib():
    code = ("import sys, gradwise, gradwise.insight, gradwise.viz, gradwise.commands.networks; "
            "sys.exit(int('matplotlib' in sys.modules or 'graphviz' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ----------------------------------------------------------------------------------------- graph
def _small_graph():
    gen = gw.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4, generator=gen), nn.Tanh(), nn.Linear(4, 2, generator=gen))
    loss = nn.CrossEntropyLoss()(model(gw.randn(5, 3, generator=gen)), gw.tensor([0, 1, 1, 0, 1]))
    loss.backward()
    return model, loss


def test_graph_is_a_digraph_with_ops_shapes_values_and_grads():
    graphviz = pytest.importorskip("graphviz")
    from gradwise import viz

    model, loss = _small_graph()
    dot = viz.graph(loss, params=dict(model.named_parameters()))
    assert isinstance(dot, graphviz.Digraph)
    src = dot.source
    for text in ("LinearBackward0", "TanhBackward0", "CrossEntropyLossBackward0", "0.weight", "2.bias",
                 r"(5, 4)", r"(4, 3)"):
        assert text in src, text
    assert "value:" not in src and "grad:" not in src
    full = viz.graph(loss, show_values=True, show_grads=True, params=dict(model.named_parameters())).source
    assert "value: " in full and "grad: " in full
    assert f"{loss.item():.4g}"[:4] in full                  # the output's value, printed in full
    assert src.count("->") == 8                               # 4 parameters + 4 links between ops and output


def test_save_graph_renders_svg_and_png(tmp_path):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed (apt-get install graphviz)")
    from gradwise import viz

    model, loss = _small_graph()
    dot = viz.graph(loss, params=dict(model.named_parameters()))
    svg = viz.save_graph(dot, tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and "LinearBackward0" in svg.read_text()
    png = viz.save_graph(dot, tmp_path / "g.png")
    assert png.read_bytes().startswith(PNG) and png.stat().st_size > 1000


def test_save_graph_without_dot_writes_the_source_and_says_how_to_install(tmp_path, monkeypatch):
    pytest.importorskip("graphviz")
    from gradwise import viz
    from gradwise.viz import compgraph

    model, loss = _small_graph()
    dot = viz.graph(loss)
    monkeypatch.setattr(compgraph.shutil, "which", lambda name: None)
    with pytest.warns(viz.GraphvizNotFoundWarning, match="apt-get install graphviz"):
        out = viz.save_graph(dot, tmp_path / "g.svg")
    assert out == tmp_path / "g.dot" and out.read_text() == dot.source
    assert not (tmp_path / "g.svg").exists()
    with pytest.raises(ValueError, match=r"must end in .svg, .png, .pdf or .dot"):
        viz.save_graph(dot, tmp_path / "g.jpg")


# ----------------------------------------------------------------------------------------- report
class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.refs, self.ids = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "poster", "data"):
                self.refs.append(v)
            if k == "id":
                self.ids.append(v)


def test_report_is_one_self_contained_page(records, tmp_path):
    from gradwise import viz

    r = records
    out = viz.report(r["history"], r["monitor"], tmp_path / "run.html", config={"dataset": "toy", "lr": 0.2},
                     test_metrics={"test_accuracy": 0.9}, histograms=r["hist"], lr_finder=r["lr"],
                     landscapes=[r["line"], r["surface"], r["trajectory"]], batch_modes=r["modes"])
    text = out.read_text(encoding="utf-8")
    p = _Refs()
    p.feed(text)
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags
    # only in-page references (#id) and embedded data: nothing to fetch
    assert all(v.startswith(("#", "data:")) for v in p.refs), [v for v in p.refs if not v.startswith("#")][:3]
    assert not re.search(r"url\((?!#)", text)
    assert len(p.ids) == len(set(p.ids))                     # ids unique across the inlined figures
    for section in ("summary", "config", "curves", "health", "histograms", "lr-finder", "landscape", "batch-modes",
                    "epochs"):
        assert f'id="{section}"' in text, section
    assert text.count('<figure class="plot"') == 8
    report = r["monitor"].report()
    for lv in report.layers:
        assert lv.label in text
    assert "test_accuracy" in text and "toy" in text


def test_report_from_a_run_folder(tmp_path):
    pytest.importorskip("matplotlib")
    from gradwise import viz
    from gradwise.runs.folders import train_run
    from gradwise.runs.recipe import RunConfig

    run = train_run(RunConfig(dataset="iris", model="mlp:8", epochs=3, progress=False), tmp_path / "run").run_dir
    out = viz.write_run_report(run)
    assert out == run / "report.html"
    text = out.read_text(encoding="utf-8")
    assert "iris" in text and 'id="verdicts"' in text and "test_accuracy" in text     # monitor.json kept
    history = gw.train.History.from_json(run / "history.json")
    monitor = GradientMonitor(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="the monitor has no records yet"):
        viz.write_run_report(run, history, monitor)
    with pytest.raises(viz.ReportError, match="has no history.json"):
        viz.report(tmp_path)
    with pytest.raises(viz.ReportError, match="path= is required when the source is a History"):
        viz.report(history)
    with pytest.raises(viz.ReportError, match="source must be a run folder or a gradwise.train.History"):
        viz.report(np.zeros(3))
