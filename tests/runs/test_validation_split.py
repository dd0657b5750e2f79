"""The validation split is carved from the training data, not the test split (issue 15, items 10 and 11)."""

import dataclasses
import json

import numpy as np
import pytest

from gradwise.runs.folders import build_run, evaluate_run, read_config, train_run
from gradwise.runs.recipe import RecipeError, RunConfig, load_task, run_task, validation_split


def _rows(x):
    return {tuple(np.round(r, 6)) for r in np.asarray(x.detach().numpy(), dtype=np.float64)}


@pytest.mark.parametrize("dataset", ["iris", "diabetes"])
def test_the_split_is_disjoint_from_training_and_test_and_covers_the_training_split(dataset):
    cfg = RunConfig(dataset=dataset, seed=3)
    raw, task = load_task(cfg), run_task(cfg)
    assert len(task.x_train) + len(task.x_val) == len(raw.x_train)
    assert len(task.x_val) == round(0.1 * len(raw.x_train)) or dataset == "iris"
    train, val, test = _rows(task.x_train), _rows(task.x_val), _rows(task.x_test)
    assert not train & val and not val & test and not train & test
    assert train | val == _rows(raw.x_train)
    np.testing.assert_array_equal(task.x_test.numpy(), raw.x_test.numpy())     # the test split is untouched


def test_the_split_is_reproducible_from_the_seed_and_stratified():
    a, b = run_task(RunConfig(dataset="iris", seed=1)), run_task(RunConfig(dataset="iris", seed=1))
    np.testing.assert_array_equal(a.x_val.detach().numpy(), b.x_val.detach().numpy())
    np.testing.assert_array_equal(a.y_val.detach().numpy(), b.y_val.detach().numpy())
    np.testing.assert_array_equal(a.x_train.detach().numpy(), b.x_train.detach().numpy())
    other = run_task(RunConfig(dataset="iris", seed=2))
    assert _rows(other.x_val) != _rows(a.x_val)
    assert np.bincount(a.y_val.detach().numpy()).tolist() == [4, 4, 4]       # 40 per class in training: 10% of each
    labels = np.repeat(np.arange(3), [50, 30, 20])
    tr, va = validation_split(labels, 0.2, seed=0, stratify=True)
    assert np.bincount(labels[va]).tolist() == [10, 6, 4] and len(np.intersect1d(tr, va)) == 0


def test_val_fraction_is_checked_and_zero_means_no_validation():
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(RecipeError, match="--val-fraction"):
            RunConfig(val_fraction=bad).validate()
    with pytest.raises(RecipeError, match="'val_fraction' must be a number"):
        RunConfig.from_dict({"val_fraction": "0.1"}, "x.toml")
    task = run_task(RunConfig(dataset="iris", val_fraction=0))
    assert task.x_val is None and len(task.x_train) == len(load_task(RunConfig(dataset="iris")).x_train)


def test_regression_targets_are_standardised_from_the_training_part_and_reported_in_their_units():
    cfg = RunConfig(dataset="diabetes")
    raw, task = load_task(cfg), run_task(cfg)
    assert abs(float(task.y_train.numpy().mean())) < 1e-4 and abs(float(task.y_train.numpy().std()) - 1) < 1e-4
    np.testing.assert_allclose(task.y_test.numpy() * task.target_std + task.target_mean, raw.y_test.numpy(), rtol=1e-5)
    assert task.in_target_units({"loss": 1.0, "mse": 2.0, "mae": 1.0, "r2": 0.5}) == pytest.approx(
        {"loss": task.target_std ** 2, "mse": 2 * task.target_std ** 2, "mae": task.target_std, "r2": 0.5})
    np.testing.assert_array_equal(load_task(cfg).y_train.numpy(), raw.y_train.numpy())     # the loader stays raw


def test_a_run_validates_on_its_own_split_and_evaluate_reproduces_the_test_figures(tmp_path):
    cfg = RunConfig(dataset="iris", model="mlp:8", lr=0.01, epochs=3, batch_size=16, progress=False)
    result = train_run(cfg, tmp_path / "run")
    h = result.trainer.history.epochs
    task = build_run(cfg)[0]
    val = result.trainer.evaluate((task.x_val, task.y_val))
    assert h["val_loss"][-1] == pytest.approx(val["loss"])
    assert h["val_loss"][-1] != pytest.approx(result.test_metrics["loss"])
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_loss"] == pytest.approx(result.test_metrics["loss"])
    assert evaluate_run(tmp_path / "run") == pytest.approx(result.test_metrics)
    assert "held out" in (tmp_path / "run" / "report.md").read_text()


def test_regression_run_reaches_a_positive_r2_with_the_defaults_and_evaluate_agrees(tmp_path):
    cfg = RunConfig(dataset="diabetes", progress=False)
    result = train_run(cfg, tmp_path / "dia")
    assert result.test_metrics["r2"] > 0.3
    assert result.test_metrics["mse"] > 100          # original units (targets range 25..346), not standardised
    assert evaluate_run(tmp_path / "dia") == pytest.approx(result.test_metrics)


def test_a_resumed_run_uses_the_same_split_and_ends_bit_exact(tmp_path):
    cfg = RunConfig(dataset="iris", model="mlp:8", lr=0.01, epochs=4, batch_size=16, progress=False, seed=5)
    whole = train_run(cfg, tmp_path / "whole")
    first = train_run(dataclasses.replace(cfg, epochs=2), tmp_path / "part")
    np.testing.assert_array_equal(first.trainer.history.epochs["val_loss"],
                                  whole.trainer.history.epochs["val_loss"][:2])
    resumed = train_run(cfg, tmp_path / "part", resume=tmp_path / "part" / "final.ckpt")
    np.testing.assert_array_equal(resumed.trainer.history.epochs["val_loss"],
                                  whole.trainer.history.epochs["val_loss"])
    assert resumed.test_metrics == whole.test_metrics
    for a, b in zip(whole.trainer.model.parameters(), resumed.trainer.model.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_an_old_run_folder_without_val_fraction_keeps_its_whole_training_split(tmp_path):
    cfg = RunConfig(dataset="iris", epochs=1, progress=False)
    train_run(cfg, tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    values = json.loads(path.read_text())
    del values["val_fraction"], values["standardize_targets"]      # as written before these settings
    path.write_text(json.dumps(values))
    old = read_config(tmp_path / "old")
    assert old.val_fraction == 0.0 and old.standardize_targets is False
    raw, task = load_task(RunConfig(dataset="diabetes")), run_task(RunConfig(dataset="diabetes",
                                                                              standardize_targets=False))
    np.testing.assert_array_equal(task.y_test.numpy(), raw.y_test.numpy())
