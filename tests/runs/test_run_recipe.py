"""gradwise.runs.recipe: run settings by name, each name read from its registry."""

from __future__ import annotations

import json

import pytest

import gradwise as gw
from gradwise import nn, optim
from gradwise.optim.registry import OPTIMIZERS, optimizer_names
from gradwise.runs import (
    RecipeError,
    RunConfig,
    build_model,
    build_optimizer,
    build_scheduler,
    hidden_sizes,
    load_task,
    steps_per_epoch,
)


def _params():
    return nn.Linear(3, 2, generator=gw.Generator(0)).parameters()


@pytest.mark.parametrize("name", optimizer_names(trainable=True))
def test_every_trainable_optimizer_builds_from_a_config(name):
    entry = OPTIMIZERS[name]
    opt = build_optimizer(RunConfig(optimizer=name, lr=0.01, momentum=0.7), _params())
    group = opt.param_groups[0]
    assert type(opt) is entry.cls and group["lr"] == 0.01
    if "momentum" in entry.settings:           # momentum/nesterov: SGD with the config's momentum
        assert group["momentum"] == 0.7
    elif "momentum" in group:                  # rmsprop's own momentum is left at its default
        assert group["momentum"] == 0.0


def test_momentum_names_and_weight_decay_keep_their_meaning():
    sgd = build_optimizer(RunConfig(optimizer="nesterov", lr=0.1), _params())
    assert isinstance(sgd, optim.SGD) and sgd.param_groups[0]["nesterov"] and sgd.param_groups[0]["momentum"] == 0.9
    assert build_optimizer(RunConfig(optimizer="adamw"), _params()).param_groups[0]["weight_decay"] == 0.01
    assert build_optimizer(RunConfig(optimizer="adamw", weight_decay=0.0), _params()).param_groups[0][
        "weight_decay"] == 0.0
    assert build_optimizer(RunConfig(optimizer="lion", weight_decay=0.5), _params()).param_groups[0][
        "weight_decay"] == 0.5


def test_invalid_choices_name_the_option_and_the_valid_values():
    with pytest.raises(RecipeError, match=r"--optimizer: invalid choice 'adamm'; valid: sgd, momentum"):
        RunConfig(optimizer="adamm").validate()
    with pytest.raises(RecipeError, match="--optimizer: lbfgs cannot train a run: its step\\(closure\\)"):
        RunConfig(optimizer="lbfgs").validate()
    with pytest.raises(RecipeError, match="--weight-decay: rprop has no weight decay"):
        RunConfig(optimizer="rprop", weight_decay=0.1).validate()
    with pytest.raises(RecipeError, match="--activation: invalid choice 'softmax'"):
        RunConfig(activation="softmax").validate()
    with pytest.raises(RecipeError, match="--dataset: invalid choice 'cifar'"):
        RunConfig(dataset="cifar").validate()
    with pytest.raises(RecipeError, match="--scheduler: invalid choice 'warm'"):
        RunConfig(scheduler="warm").validate()
    with pytest.raises(RecipeError, match="--mode: invalid choice 'batch'; valid: full, sgd, minibatch"):
        RunConfig(mode="batch").validate()
    with pytest.raises(RecipeError, match="--model: invalid spec 'cnn'"):
        hidden_sizes("cnn")
    with pytest.raises(RecipeError, match=r"unknown setting\(s\) \['optimiser'\]"):
        RunConfig.from_dict({"optimiser": "adam"}, "x.toml")


def test_model_task_and_scheduler_from_names():
    cfg = RunConfig(dataset="moons", model="mlp:5,4", activation="leaky_relu", scheduler="onecycle", epochs=3,
                    lr=0.1)
    task = load_task(cfg)
    assert (task.in_features, task.out_features, task.kind) == (2, 2, "classification")
    assert len(task.x_train) == 480 and len(task.x_test) == 120
    model = build_model(cfg, task.in_features, task.out_features)
    assert [type(m).__name__ for m in model] == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear"]
    opt = build_optimizer(cfg, model.parameters())
    steps = steps_per_epoch(cfg, len(task.x_train))
    sched, interval = build_scheduler(cfg, opt, steps)
    assert type(sched).__name__ == "OneCycleLR" and interval == "step" and sched.total_steps == 3 * steps
    assert build_scheduler(RunConfig(), opt, steps) == (None, "epoch")


def test_a_config_round_trips_through_json():
    cfg = RunConfig(dataset="iris", optimizer="radam", activation="mish", weight_decay=0.01)
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.__dict__)), "config.json").validate()
    assert again == cfg
