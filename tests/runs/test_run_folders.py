"""gradwise.runs.folders: train_run writes a run folder; build_run and evaluate_run rebuild it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradwise.runs import RunConfig, build_run, evaluate_run, train_run
from gradwise.train import SingleProcess


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pytest.importorskip("sklearn")
    cfg = RunConfig(dataset="iris", model="mlp:8", optimizer="nadam", lr=0.01, epochs=2, batch_size=16,
                    progress=False)
    return cfg, train_run(cfg, tmp_path_factory.mktemp("runs") / "iris")


def test_train_run_writes_the_folder(run):
    cfg, result = run
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.json", "history.csv", "history_steps.csv", "history.json", "final.ckpt", "metrics.json",
            "report.md"} <= names
    assert json.loads((result.run_dir / "config.json").read_text())["optimizer"] == "nadam"
    assert set(result.test_metrics) == {"loss", "accuracy"}
    # the report's gradient monitor went in first, found the model's ReLU by its class
    monitor = result.trainer.callbacks[0]
    assert type(monitor).__name__ == "GradientMonitor" and len(monitor._activations) == 1
    assert "nadam lr=0.01" in (result.run_dir / "report.md").read_text()


def test_build_run_is_single_process_unless_distributed(run):
    cfg, _ = run
    *_, trainer = build_run(cfg)
    assert isinstance(trainer.strategy, SingleProcess) and trainer.world_size == 1
    *_, trainer = build_run(cfg, distributed=True)     # no mpiexec: a world of one, trained as usual
    assert isinstance(trainer.strategy, SingleProcess)


def test_evaluate_run_reproduces_the_test_figures(run):
    _, result = run
    figures = evaluate_run(result.run_dir)
    assert figures.keys() == result.test_metrics.keys()
    np.testing.assert_allclose(list(figures.values()), list(result.test_metrics.values()), rtol=1e-6)


def test_evaluate_run_needs_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a run folder"):
        evaluate_run(tmp_path)
