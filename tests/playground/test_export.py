""""Copy as Python": the exported script, run on its own, ends with the playground's parameters
exactly; the ``gradwise train`` line parses with the real command's parser."""

from __future__ import annotations

import runpy

import numpy as np
import pytest

from gradwise.cli import build_parser
from gradwise.playground.engine import Playground
from gradwise.playground.export import python_script, train_command
from gradwise.playground.presets import apply_preset
from gradwise.playground.settings import parse_settings

RUNS = [
    {"dataset": "spirals", "hidden": [6, 5], "activation": "relu", "optimizer": "adam", "batch_mode": "minibatch"},
    {"dataset": "moons", "features": ["x", "y", "x2", "y2", "xy", "sinx", "siny"], "activation": "gelu",
     "init": "xavier", "optimizer": "nesterov", "lr": 0.05, "batch_mode": "stochastic", "l2": 0.001, "seed": 7},
    {"dataset": "circles", "hidden": [5, 5], "activation": "tanh", "dropout": 0.3, "loss": "mse",
     "optimizer": "rmsprop", "lr": 0.01, "batch_mode": "full"},
    {"dataset": "blobs", "hidden": [], "init": "too_small", "optimizer": "adagrad", "batch_size": 7},
    {"dataset": "xor", "activation": "leaky_relu", "init": "kaiming", "optimizer": "adamw", "l2": 0.01},
    {"dataset": "spirals", "activation": "sigmoid", "init": "zeros", "optimizer": "momentum", "val_fraction": 0.0},
]


def run_script(tmp_path, source):
    path = tmp_path / "exported.py"
    path.write_text(source, encoding="utf-8")
    return runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize("values", RUNS)
def test_exported_script_reproduces_the_parameters_exactly(tmp_path, values, capsys):
    s = parse_settings({"n_samples": 120, **values})
    pg = Playground(s)
    pg.step(23)
    env = run_script(tmp_path, python_script(s, pg.steps))
    exported = {k: v.detach().numpy() for k, v in env["model"].state_dict().items()}
    ours = pg.parameters()
    assert exported.keys() == ours.keys()
    for name, value in ours.items():
        np.testing.assert_array_equal(exported[name], value, err_msg=name)
    assert "after 23 updates: train loss" in capsys.readouterr().out


def test_exported_preset_after_pause_and_more_steps(tmp_path, capsys):
    s = apply_preset("local_minimum")
    pg = Playground(s)
    pg.step(10)
    pg.step(7)
    env = run_script(tmp_path, python_script(s, pg.steps))
    for name, value in pg.parameters().items():
        np.testing.assert_array_equal(env["model"].state_dict()[name].detach().numpy(), value)


def test_train_command_parses_and_exists_only_where_it_can():
    s = parse_settings({"dataset": "moons", "hidden": [8, 8], "activation": "relu", "optimizer": "momentum",
                        "lr": 0.1, "batch_mode": "minibatch", "batch_size": 16, "l2": 0.001})
    cmd = train_command(s, steps=100)
    assert cmd is not None
    args = build_parser().parse_args(cmd.split()[1:])
    assert (args.dataset, args.model, args.activation, args.optimizer, args.lr, args.mode, args.batch_size,
            args.weight_decay) == ("moons", "mlp:8,8", "relu", "momentum", 0.1, "minibatch", 16, 0.001)
    assert args.epochs == 4            # 100 updates of 16 of the 480 training points
    for other in ({"dataset": "xor"}, {"features": ["x", "y", "xy"]}, {"init": "kaiming"}, {"dropout": 0.1},
                  {"loss": "mse"}):
        assert train_command(parse_settings({"dataset": "moons", **other}), 10) is None
