"""One registry per extension point, and everything that offers a choice reads it.

For each registry: every class (or module, or name) of its kind is registered or excluded with a
reason, the ``gradwise`` command offers exactly the registered names, and the other readers
(the descent tools, the gradient monitor, the run recipe) accept every entry.  A failure lists
what is missing.

Adding an optimizer takes exactly three places: its class (exported by ``gradwise.optim``), one
``OptimizerEntry`` in ``gradwise/optim/registry.py`` and one parity case in a test file's
``PARITY_CASES`` (the class first: a NumPy re-implementation, and torch.optim when installed).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn, optim
from gradwise.cli import build_parser, main
from gradwise.commands import registry as commands
from gradwise.data import registry as datasets
from gradwise.nn import registry as activations
from gradwise.optim import lr_scheduler
from gradwise.optim import registry as optimizers
from gradwise.optim.lr_scheduler import registry as schedulers
from gradwise.train.batches import MODES, make_loader

ROOT = Path(__file__).resolve().parent.parent

# optimizer classes the training loop cannot drive (the registry says why); every other one is a
# choice of `gradwise train --optimizer`
NOT_TRAINABLE = {"LBFGS"}


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _choices(command: str, option: str) -> tuple[str, ...]:
    action = next(a for a in _subparser(command)._actions if option in a.option_strings)
    return tuple(action.choices)


def _exported(module, base: type) -> dict[str, type]:
    """The classes ``module`` exports that derive from ``base`` (base itself excluded)."""
    names = getattr(module, "__all__", dir(module))
    found = {n: getattr(module, n) for n in names}
    return {n: c for n, c in found.items() if inspect.isclass(c) and issubclass(c, base) and c is not base}


# ------------------------------------------------------------------------------------------ optimizers
OPTIMIZER_CLASSES = _exported(optim, optim.Optimizer)


def _entries_of(cls: type) -> list[optimizers.OptimizerEntry]:
    return [e for e in optimizers.OPTIMIZERS.values() if e.cls is cls]


def test_every_optimizer_class_has_a_registry_entry():
    missing = sorted(n for n, c in OPTIMIZER_CLASSES.items() if not _entries_of(c))
    assert not missing, f"optimizer classes without an entry in gradwise/optim/registry.py: {missing}"
    assert set(OPTIMIZER_CLASSES) >= {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                                      "RAdam", "Rprop", "Lion", "LBFGS"}


def test_every_optimizer_is_a_choice_of_gradwise_train_unless_the_loop_cannot_drive_it():
    cli = set(_choices("train", "--optimizer"))
    assert cli == set(optimizers.optimizer_names(trainable=True))
    not_trainable = {n for n, c in OPTIMIZER_CLASSES.items() if not any(e.trainable for e in _entries_of(c))}
    assert not_trainable == NOT_TRAINABLE, "update NOT_TRAINABLE only for a class fit() cannot drive"
    for name in NOT_TRAINABLE:
        for entry in _entries_of(OPTIMIZER_CLASSES[name]):
            assert entry.reason and entry.name not in cli
    unreachable = sorted(n for n, c in OPTIMIZER_CLASSES.items()
                         if n not in NOT_TRAINABLE and not any(e.name in cli for e in _entries_of(c)))
    assert not unreachable, f"not offered by gradwise train --optimizer: {unreachable}"
    # the commands that train a fresh model offer the same names
    assert set(_choices("lr-find", "--optimizer")) == cli


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_every_optimizer_name_works_in_the_descent_tools(name):
    from gradwise import insight
    from gradwise.commands.functions import _optimizer

    assert _optimizer(name.upper(), "--optimizers") == name            # gradwise descent --optimizers NAME
    lr = insight.suggest_lr("bowl", name)
    t = insight.descend("bowl", (-2.0, 1.0), name, lr=lr, steps=5)
    assert t.optimizer == name and t.positions.shape == (6, 2) and np.all(np.isfinite(t.positions))
    many = insight.descend_many("bowl", [[-2.0, 1.0], [1.0, 1.5]], name, lr=lr, steps=3)
    np.testing.assert_array_equal(many[0].positions, insight.descend("bowl", (-2.0, 1.0), name, lr=lr,
                                                                       steps=3).positions)
    assert list(insight.race("bowl", None, [name], steps=5).runs) == [name]
    assert list(insight.compare("bowl", None, {"run": (name, {})}, steps=5).runs) == ["run"]


def _parity_modules():
    """Every test module that declares PARITY_CASES (each case a tuple with the optimizer class first)."""
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if "\nPARITY_CASES = " not in path.read_text(encoding="utf-8"):
            continue
        name = "parity_" + "_".join(path.relative_to(ROOT / "tests").with_suffix("").parts)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        yield path, module


def test_every_optimizer_class_has_a_parity_case():
    covered: dict[type, list[str]] = {}
    for path, module in _parity_modules():
        for case in module.PARITY_CASES:
            covered.setdefault(case[0], []).append(path.name)
    assert covered, "no test module declares PARITY_CASES"
    missing = sorted(n for n, c in OPTIMIZER_CLASSES.items() if c not in covered)
    assert not missing, (f"optimizer classes without a parity case (add one to a PARITY_CASES list: a NumPy "
                         f"re-implementation and torch.optim): {missing}")


def test_optimizer_entries_build_with_the_settings_they_take():
    for name, entry in optimizers.OPTIMIZERS.items():
        w = nn.Parameter(gw.tensor([1.0, -2.0]))
        settings = {"momentum": 0.5} if "momentum" in entry.settings else {}
        opt = entry.build([w], 0.01, **settings)
        assert isinstance(opt, entry.cls) and opt.param_groups[0]["lr"] == 0.01, name
        for key, value in {**entry.implied, **settings}.items():
            assert opt.param_groups[0][key] == value, (name, key)
        with pytest.raises(optim.OptimizerError, match="does not take"):
            entry.build([w], 0.01, dampening=0.1)
    with pytest.raises(optim.OptimizerError, match="registered already"):
        optimizers.register_optimizer(optimizers.OptimizerEntry("adam", optim.Adam, "again"))
    with pytest.raises(optim.OptimizerError, match="needs a reason"):
        optimizers.OptimizerEntry("x", optim.LBFGS, "x", trainable=False)


# ------------------------------------------------------------------------------------------ schedulers
def test_every_scheduler_class_is_registered_or_excluded_with_a_reason():
    classes = _exported(lr_scheduler, lr_scheduler.LRScheduler) | {"LRScheduler": lr_scheduler.LRScheduler}
    registered = {e.cls for e in schedulers.SCHEDULERS.values()}
    missing = sorted(n for n, c in classes.items() if c not in registered and c not in schedulers.UNREGISTERED)
    assert not missing, f"scheduler classes neither in SCHEDULERS nor in UNREGISTERED: {missing}"
    assert all(reason.strip() for reason in schedulers.UNREGISTERED.values())
    assert not registered & set(schedulers.UNREGISTERED)


def test_every_scheduler_name_is_a_choice_and_builds():
    assert _choices("train", "--scheduler") == tuple(schedulers.SCHEDULERS)
    for name, entry in schedulers.SCHEDULERS.items():
        opt = optim.SGD([nn.Parameter(gw.zeros(1))], lr=0.1)
        sched, interval = schedulers.build_scheduler(name, opt, epochs=6, steps_per_epoch=4, lr=0.1)
        assert interval == entry.interval
        assert (sched is None) if entry.cls is None else type(sched) is entry.cls, name
    with pytest.raises(lr_scheduler.SchedulerError, match="unknown scheduler 'warm'"):
        schedulers.get_scheduler("warm")


# ------------------------------------------------------------------------------------------ activations
ACTIVATION_CLASSES = {n: c for n, c in _exported(nn, nn.Module).items()
                      if c.__module__ == "gradwise.nn.modules.activation"}


def test_every_activation_class_is_registered():
    assert {"ReLU", "Tanh", "Sigmoid", "GELU", "Softmax"} <= set(ACTIVATION_CLASSES)
    missing = sorted(n for n, c in ACTIVATION_CLASSES.items() if c not in activations.ACTIVATIONS)
    assert not missing, f"activation classes without an entry in gradwise/nn/registry.py: {missing}"


def test_every_elementwise_activation_is_a_choice_and_builds_a_model():
    from gradwise.runs import RunConfig, build_model

    elementwise = tuple(e.name for e in activations.ACTIVATIONS.values() if e.elementwise)
    assert _choices("train", "--activation") == elementwise == activations.activation_names()
    for name in elementwise:
        model = build_model(RunConfig(activation=name, model="mlp:3"), 2, 2)
        assert type(model[1]) is activations.activation_named(name).cls


def test_the_gradient_monitor_finds_every_elementwise_activation_by_class():
    from gradwise.insight import GradientMonitor

    for cls, entry in activations.ACTIVATIONS.items():
        act = cls(1) if not entry.elementwise else cls()        # Softmax and LogSoftmax take a dim
        monitor = GradientMonitor(nn.Sequential(nn.Linear(2, 2), act))
        assert monitor._activations == ([act] if entry.elementwise else []), cls.__name__

    class MyReLU(nn.ReLU):            # a subclass is found by class, whatever its name
        pass

    monitor = GradientMonitor(nn.Sequential(nn.Linear(2, 2), MyReLU()))
    assert len(monitor._activations) == 1


def test_activation_properties_drive_the_statistics():
    from gradwise.insight.stats import activation_stats

    y = np.array([[0.0, 0.5, 6.0], [0.0, 2.0, 6.0]] * 4)
    _, _, dead, sat = activation_stats(nn.ReLU6(), y, 0.01)
    assert dead == pytest.approx(1 / 3) and sat == pytest.approx(1 / 3)
    _, _, dead, sat = activation_stats(nn.Hardtanh(-0.5, 0.5), y, 0.01)
    assert np.isnan(dead) and sat == pytest.approx(4 / 6)      # 0.5, 2 and the 6s are at or beyond 0.5
    _, _, dead, sat = activation_stats(nn.GELU(), y, 0.01)
    assert np.isnan(dead) and np.isnan(sat)


# ------------------------------------------------------------------------------------------ datasets
def test_every_dataset_is_a_choice():
    assert _choices("train", "--dataset") == datasets.dataset_names() == tuple(datasets.DATASETS)
    assert _choices("lr-find", "--dataset") == datasets.dataset_names()


@pytest.mark.parametrize("name", [n for n, e in datasets.DATASETS.items() if e.source != "files"])
def test_every_bundled_or_synthetic_dataset_loads(name):
    if datasets.DATASETS[name].source == "bundled":
        pytest.importorskip("sklearn")
    task = datasets.load_dataset(name, seed=0)
    assert task.x_train.shape[1] == task.x_test.shape[1] == task.in_features
    assert len(task.x_train) == len(task.y_train) > len(task.x_test) == len(task.y_test) > 0
    assert task.kind in ("classification", "regression") and task.out_features >= 1


@pytest.mark.parametrize("name", [n for n, e in datasets.DATASETS.items() if e.source == "files"])
def test_every_file_based_dataset_says_how_to_get_its_files(name, tmp_path):
    entry = datasets.DATASETS[name]
    assert "data_root" in entry.summary and "--download" in entry.summary
    with pytest.raises(gw.data.DatasetNotFoundError, match="download=True"):
        datasets.load_dataset(name, root=str(tmp_path))


# ------------------------------------------------------------------------------------------ descent modes
def test_every_descent_mode_is_a_choice_and_loads():
    from gradwise.runs import RunConfig

    assert _choices("train", "--mode") == MODES
    for mode in MODES:
        RunConfig(mode=mode).validate()
        assert len(make_loader((np.zeros((5, 2)), np.zeros(5)), mode, 2, None)) >= 1


# ------------------------------------------------------------------------------------------ commands
def test_every_command_module_is_registered():
    package = importlib.import_module("gradwise.commands")
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"gradwise.commands.{info.name}")
        if hasattr(module, "register"):
            found.append(module.__name__)
    missing = sorted(set(found) - set(commands.COMMAND_MODULES))
    assert not missing, f"command modules not in gradwise/commands/registry.py COMMAND_MODULES: {missing}"
    assert all(hasattr(importlib.import_module(m), "register") for m in commands.COMMAND_MODULES)


def _command_names() -> list[str]:
    parser = argparse.ArgumentParser(prog="gradwise")
    return commands.register_all(parser.add_subparsers(dest="command"))


@pytest.mark.parametrize("command", _command_names())
def test_every_command_has_help_and_a_handler(command, capsys):
    assert callable(_subparser(command).get_default("handler"))
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0 and f"usage: gradwise {command}" in capsys.readouterr().out
