"""The Trainer's strategy: SingleProcess by default, any object with the Strategy hooks, and the older
``distributed=`` keyword (a strategy object, or True once gradwise.distributed is imported)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.train import SingleProcess, Strategy, Trainer, TrainingError, fit
from gradwise.train import strategy as strategy_module


def _data():
    rng = np.random.default_rng(0)
    x = gw.tensor(rng.standard_normal((24, 3)).astype(np.float32))
    y = gw.tensor((rng.standard_normal(24) > 0).astype(np.int64))
    return x, y


def _trainer(**kw):
    model = nn.Linear(3, 2, generator=gw.Generator(1))
    return model, Trainer(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), batch_size=8,
                          metrics=["accuracy"], progress=False, generator=gw.Generator(2), **kw)


HOOKS = ("train_loader", "eval_loader", "start", "synchronize", "any", "reduce_sums", "reduce_metrics",
         "checkpoint_entry", "fail")


class Recording(SingleProcess):
    """A single process that records which hooks the loop called."""

    def __init__(self):
        self.calls: list[str] = []


def _recorded(name):
    def hook(self, *args, **kwargs):
        self.calls.append(name)
        return getattr(SingleProcess, name)(self, *args, **kwargs)
    return hook


for _name in HOOKS:
    setattr(Recording, _name, _recorded(_name))


def test_the_default_is_a_single_process():
    _, trainer = _trainer()
    assert isinstance(trainer.strategy, SingleProcess) and isinstance(trainer.strategy, Strategy)
    assert (trainer.world_size, trainer.is_main) == (1, True)


def test_the_loop_calls_every_hook_and_trains_exactly_as_without_it():
    x, y = _data()
    model_a, plain = _trainer()
    history_a = plain.fit((x, y), epochs=2, val_data=(x, y))
    rec = Recording()
    model_b, trainer = _trainer(strategy=rec)
    history_b = trainer.fit((x, y), epochs=2, val_data=(x, y))
    np.testing.assert_array_equal(model_a.weight.detach().numpy(), model_b.weight.detach().numpy())
    np.testing.assert_array_equal(history_a.epochs["val_accuracy"], history_b.epochs["val_accuracy"])
    assert {"train_loader", "eval_loader", "start", "synchronize", "reduce_sums", "reduce_metrics"} <= set(rec.calls)
    assert rec.calls.count("synchronize") == 2 * 3          # one per step: 24 samples in batches of 8, 2 epochs


def test_the_older_keyword_takes_a_strategy_object_too():
    rec = Recording()
    _, trainer = _trainer(distributed=rec)
    assert trainer.strategy is rec
    with pytest.raises(TrainingError, match="pass the strategy once"):
        _trainer(distributed=rec, strategy=SingleProcess())
    with pytest.raises(TrainingError, match="either distributed=True or strategy"):
        _trainer(distributed=True, strategy=SingleProcess())
    with pytest.raises(TrainingError, match="strategy must be a gradwise.train.Strategy"):
        _trainer(strategy="mpi")


def test_distributed_true_needs_the_distributed_package(monkeypatch):
    x, y = _data()
    monkeypatch.setattr(strategy_module, "_data_parallel", None)
    with pytest.raises(TrainingError, match=r"pass strategy=gradwise.distributed.data_parallel\(\)"):
        fit(nn.Linear(3, 2), nn.CrossEntropyLoss(), gw.optim.SGD(nn.Linear(3, 2).parameters(), lr=0.1), (x, y),
            epochs=1, progress=False, distributed=True)
    import gradwise.distributed as dist

    monkeypatch.setattr(strategy_module, "_data_parallel", dist.data_parallel)
    _, trainer = _trainer(distributed=True)            # no mpiexec: a world of one
    assert isinstance(trainer.strategy, SingleProcess)


def test_an_error_reaches_the_strategy_before_it_propagates():
    seen = []

    class Failing(SingleProcess):
        def fail(self, exc):
            seen.append(type(exc).__name__)

    _, trainer = _trainer(strategy=Failing())
    with pytest.raises(TrainingError, match="epochs must be a positive int"):
        trainer.fit(_data(), epochs=0)
    assert seen == ["TrainingError"]
