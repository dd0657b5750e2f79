"""Each diagnosis on a real tiny run built to show it, through the HTML report: the report's first
finding is the one the run was built for, with its evidence."""

from __future__ import annotations

import re

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight import GradientMonitor
from gradwise.insight.diagnosis import chance_level

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def digits():
    from gradwise.data import digits as load

    x_tr, y_tr, _, _ = load(seed=0, standardize=True)
    return x_tr, y_tr


def _mlp(sizes, act=nn.ReLU, seed=0):
    gen = gw.Generator().manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, generator=gen))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers), gen


def _report(tmp_path, model, gen, opt, train, val, epochs, batch_size, monitor=False):
    """Train, write the report, return ``(finding kinds in order, page)``."""
    from gradwise import viz

    callbacks = [GradientMonitor(model)] if monitor else []
    history = gw.train.fit(model, nn.CrossEntropyLoss(), opt, train, epochs=epochs, batch_size=batch_size,
                           val_data=val, metrics=["accuracy"], callbacks=callbacks, progress=False, generator=gen)
    facts = {"task": "classification", "chance": chance_level(train[1].detach().numpy())}
    path = viz.report(history, callbacks[0] if monitor else None, tmp_path / "report.html", facts=facts)
    page = path.read_text(encoding="utf-8")
    return re.findall(r'class="finding \w+" id="finding-(\w+)"', page), page


def test_overfitting_big_mlp_on_30_samples(digits, tmp_path):
    x, y = digits
    model, gen = _mlp([64, 256, 256, 10])
    kinds, page = _report(tmp_path, model, gen, gw.optim.Adam(model.parameters(), lr=1e-3), (x[:30], y[:30]),
                          (x[1000:1200], y[1000:1200]), epochs=40, batch_size=30)
    assert kinds[0] == "overfitting"
    assert re.search(r"Overfitting since epoch \d+", page) and "early stopping" in page


def test_did_not_learn_with_lr_0(digits, tmp_path):
    x, y = digits
    model, gen = _mlp([64, 32, 10])
    kinds, page = _report(tmp_path, model, gen, gw.optim.SGD(model.parameters(), lr=0.0), (x[:300], y[:300]),
                          (x[1000:1200], y[1000:1200]), epochs=3, batch_size=32)
    assert kinds[0] == "did_not_learn" and "is at chance level" in page


def test_did_not_learn_with_shuffled_labels(digits, tmp_path):
    x, y = digits
    shuffled = gw.tensor(y.numpy()[:300][np.random.default_rng(0).permutation(300)])
    model, gen = _mlp([64, 128, 10])
    kinds, page = _report(tmp_path, model, gen, gw.optim.Adam(model.parameters(), lr=3e-3), (x[:300], shuffled),
                          (x[1000:1200], y[1000:1200]), epochs=30, batch_size=32)
    assert kinds[0] == "did_not_learn" and "memorised its training samples" in page


def test_underfitting_two_hidden_units(digits, tmp_path):
    x, y = digits
    model, gen = _mlp([64, 2, 10])
    kinds, page = _report(tmp_path, model, gen, gw.optim.Adam(model.parameters(), lr=1e-2), (x[:600], y[:600]),
                          (x[1000:1200], y[1000:1200]), epochs=15, batch_size=32)
    assert kinds[0] == "underfitting" and "is below 90%" in page


def test_learned_well(digits, tmp_path):
    x, y = digits
    model, gen = _mlp([64, 32, 10])
    kinds, page = _report(tmp_path, model, gen, gw.optim.Adam(model.parameters(), lr=3e-3), (x[:1000], y[:1000]),
                          (x[1000:1400], y[1000:1400]), epochs=8, batch_size=32, monitor=True)
    assert kinds == ["learned_well"] and "no sign of overfitting" in page


def test_gradient_problem_in_a_deep_sigmoid_net(digits, tmp_path):
    x, y = digits
    model, gen = _mlp([64] + [32] * 8 + [10], act=nn.Sigmoid)
    kinds, page = _report(tmp_path, model, gen, gw.optim.SGD(model.parameters(), lr=0.1), (x[:300], y[:300]),
                          (x[1000:1200], y[1000:1200]), epochs=3, batch_size=32, monitor=True)
    assert "gradient" in kinds
    finding = page[page.index('id="finding-gradient"'):]
    assert re.search(r"Gradient problem \(vanishing\) in layers 0 \(Linear\+Sigmoid\), 2 \(Linear\+Sigmoid\)", finding)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # the run overflows on purpose
def test_diverged_run_folder_with_allow_divergence(tmp_path):
    from gradwise.runs.folders import train_run
    from gradwise.runs.recipe import RunConfig

    result = train_run(RunConfig(dataset="iris", model="mlp:8", optimizer="sgd", lr=1e4, epochs=2, batch_size=16,
                                 progress=False), tmp_path / "div", allow_divergence=True)
    page = (result.run_dir / "report.html").read_text(encoding="utf-8")
    kinds = re.findall(r'class="finding \w+" id="finding-(\w+)"', page)
    assert kinds[0] == "diverged"
    assert "Diverged at step 1" in page and "Lower the learning rate" in page
