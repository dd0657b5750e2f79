"""Settings are checked by type and by use: a wrong type names the key, the expected type and the
value; an option the run would ignore is refused instead of recorded."""

from __future__ import annotations

import dataclasses
import json

import pytest

import gradwise as gw
from gradwise.cli import main
from gradwise.runs.folders import read_config
from gradwise.runs.recipe import _KINDS, RecipeError, RunConfig, build_optimizer

pytest.importorskip("sklearn")


@pytest.mark.parametrize("line, message", [
    ('seed = "abc"', "setting 'seed' must be an integer, got str 'abc'"),
    ("model = 64", "setting 'model' must be a string, got int 64"),
    ("lr = true", "setting 'lr' must be a number, got bool True"),
    ('progress = "no"', "setting 'progress' must be true or false, got str 'no'"),
    ("epochs = 2.5", "setting 'epochs' must be an integer, got float 2.5"),
])
def test_a_mistyped_config_file_is_named_by_key_type_and_value(tmp_path, capsys, line, message):
    config = tmp_path / "run.toml"
    config.write_text(f'dataset = "iris"\n{line}\n')
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gradwise train: error: {config}: {message}"]
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "sgd", "--momentum", "0.9"], "--momentum: optimizer sgd has no momentum setting"),
    (["--optimizer", "adam", "--momentum", "0.5"], "--momentum: optimizer adam has no momentum setting"),
    (["--mode", "full", "--batch-size", "16"], "--batch-size: mode full uses the whole training set per step"),
    (["--mode", "sgd", "--batch-size", "16"], "--batch-size: mode sgd uses one sample per step"),
])
def test_an_option_the_run_would_ignore_is_refused(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "iris", "--epochs", "1", "--no-progress", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


def test_options_that_apply_are_taken(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "iris", "--epochs", "1", "--no-progress", "--out", str(out),
                 "--optimizer", "nesterov", "--momentum", "0.8", "--mode", "minibatch", "--batch-size", "16"]) == 0
    cfg = read_config(out)
    assert (cfg.optimizer, cfg.momentum, cfg.batch_size) == ("nesterov", 0.8, 16)


def test_the_recipe_claims_momentum_only_for_optimizers_that_use_it(tmp_path):
    """RunConfig itself refuses momentum for an optimizer without it (a script, a TOML file, the CLI);
    a run without --momentum records none, and SGD with momentum gets 0.9."""
    with pytest.raises(RecipeError, match="--momentum: optimizer adam has no momentum setting"):
        RunConfig(optimizer="adam", momentum=0.5).validate()
    assert RunConfig().momentum is None
    opt = build_optimizer(RunConfig(optimizer="momentum"), [gw.nn.Parameter(gw.zeros(1))])
    assert opt.param_groups[0]["momentum"] == 0.9
    # a run folder written when every config.json said momentum 0.9 reads back without the claim
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({**dataclasses.asdict(RunConfig()), "momentum": 0.9}))
    assert read_config(old).momentum is None


def test_every_setting_has_a_checked_type():
    for f in dataclasses.fields(RunConfig):
        assert str(f.type) in _KINDS, f"RunConfig.{f.name}: add its type {f.type} to runs.recipe._KINDS"
    with pytest.raises(RecipeError, match="setting 'batch_size' must be an integer, got bool True"):
        RunConfig(batch_size=True).validate()
