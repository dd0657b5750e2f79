"""The fit loop: updates per epoch in each mode, descent in each mode, reproducibility,
history, callbacks and validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.data.dataset import TensorDataset
from gradwise.data.loader import DataLoader
from gradwise.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    ModelCheckpoint,
    TerminateOnNaN,
    Trainer,
    TrainingError,
    fit,
    read_checkpoint,
)


def blobs(n=60, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    x = centers[y] + 0.6 * rng.standard_normal((n, 2))
    return gw.tensor(x.astype(dtype)), gw.tensor(y)


def mlp(seed=0, dtype=None, dropout=0.0):
    gen = gw.Generator().manual_seed(seed)
    layers = [nn.Linear(2, 16, generator=gen, dtype=dtype), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout, generator=gw.Generator().manual_seed(seed + 100)))
    return nn.Sequential(*layers, nn.Linear(16, 3, generator=gen, dtype=dtype))


class CountSteps(Callback):
    def __init__(self):
        self.per_epoch = {}
        self.events = []

    def on_fit_start(self, trainer):
        self.events.append("fit_start")

    def on_epoch_start(self, trainer, epoch):
        self.events.append(f"epoch_start {epoch}")

    def on_after_backward(self, trainer):
        assert all(p.grad is not None for p in trainer.model.parameters())

    def on_batch_end(self, trainer, logs):
        self.per_epoch[logs["epoch"]] = self.per_epoch.get(logs["epoch"], 0) + 1

    def on_epoch_end(self, trainer, epoch, logs):
        self.events.append(f"epoch_end {epoch}")

    def on_fit_end(self, trainer):
        self.events.append("fit_end")


@pytest.mark.parametrize("mode, batch_size, updates", [("full", 32, 1), ("sgd", 32, 60), ("minibatch", 8, 8),
                                                       ("minibatch", 32, 2), ("minibatch", 60, 1)])
def test_updates_per_epoch_in_each_mode(mode, batch_size, updates):
    x, y = blobs(60)
    model = mlp()
    counter = CountSteps()
    h = fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.05), (x, y), epochs=3, mode=mode,
            batch_size=batch_size, callbacks=[counter], progress=False)
    assert counter.per_epoch == {0: updates, 1: updates, 2: updates}
    assert len(h.steps["step"]) == 3 * updates
    np.testing.assert_array_equal(h.steps["step"], np.arange(1, 3 * updates + 1))
    # every sample is seen once per epoch, in every mode
    assert h.steps["samples_seen"][-1] == 180
    np.testing.assert_array_equal(h.epochs["samples_seen"], [60, 120, 180])
    assert counter.events[0] == "fit_start" and counter.events[-1] == "fit_end"
    assert counter.events[1:-1] == [e for k in range(3) for e in (f"epoch_start {k}", f"epoch_end {k}")]


def test_all_three_modes_reduce_the_loss():
    x, y = blobs(90, seed=1)
    loss_fn = nn.CrossEntropyLoss()
    for mode, lr in (("full", 0.5), ("sgd", 0.02), ("minibatch", 0.1)):
        model = mlp(seed=2)
        before = loss_fn(model(x), y).item()
        fit(model, loss_fn, gw.optim.SGD(model.parameters(), lr=lr), (x, y), epochs=15, mode=mode,
            batch_size=16, progress=False, generator=gw.Generator().manual_seed(3))
        after = loss_fn(model(x), y).item()
        assert after < 0.5 * before, (mode, before, after)


def test_full_batch_step_equals_one_gradient_descent_step_by_hand():
    x, y = blobs(30)
    model, ref = mlp(seed=4, dtype=gw.float64), mlp(seed=4, dtype=gw.float64)
    x = x.to(gw.float64)
    fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.3), (x, y), epochs=1, mode="full",
        progress=False)
    loss = nn.CrossEntropyLoss()(ref(x), y)
    loss.backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        step = q.detach().numpy() - 0.3 * q.grad.numpy()
        np.testing.assert_allclose(p.detach().numpy(), step, rtol=1e-13, atol=1e-15)


def run_params(seed_loader, epochs=2):
    x, y = blobs(40)
    model = mlp(seed=5)
    fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=epochs,
        batch_size=8, progress=False, generator=gw.Generator().manual_seed(seed_loader))
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_shuffling_is_reproducible_under_a_seed_and_differs_across_seeds():
    a, b, c = run_params(11), run_params(11), run_params(12)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert any(not np.array_equal(p, r) for p, r in zip(a, c))


def test_manual_seed_makes_runs_with_default_generators_reproducible():
    def run():
        gw.manual_seed(123)
        x, y = blobs(40)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3))
        fit(model, nn.CrossEntropyLoss(), gw.optim.Adam(model.parameters(), lr=0.01), (x, y), epochs=2,
            batch_size=8, progress=False)
        return [p.detach().numpy().copy() for p in model.parameters()]

    for p, q in zip(run(), run()):
        np.testing.assert_array_equal(p, q)


def test_history_records_and_exports(tmp_path):
    x, y = blobs(40)
    xv, yv = blobs(20, seed=9)
    model = mlp()
    h = fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, y), val_data=(xv, yv),
            epochs=3, batch_size=16, metrics=["accuracy", "top2_accuracy"], progress=False)
    e = h.epochs
    assert set(e) >= {"epoch", "loss", "lr", "samples_seen", "wall_time", "accuracy", "top2_accuracy", "val_loss",
                      "val_accuracy", "val_top2_accuracy"}
    np.testing.assert_array_equal(e["epoch"], [0, 1, 2])
    assert np.all(np.diff(h.steps["wall_time"]) >= 0) and np.all(h.steps["grad_norm"] > 0)
    assert np.all(h.steps["lr"] == pytest.approx(0.1))
    # the epoch loss is the batch-size-weighted mean of its steps' losses (16, 16, 8)
    first = h.steps["loss"][:3]
    assert e["loss"][0] == pytest.approx((16 * first[0] + 16 * first[1] + 8 * first[2]) / 40)
    # the validation figures are those of evaluate() on the final model
    final = Trainer(model, nn.CrossEntropyLoss(), None, metrics=["accuracy"], progress=False).evaluate((xv, yv))
    assert e["val_loss"][-1] == pytest.approx(final["loss"], rel=1e-6)
    assert e["val_accuracy"][-1] == final["accuracy"]
    h.to_csv(tmp_path / "h.csv")
    h.to_csv(tmp_path / "s.csv", level="step")
    h.to_json(tmp_path / "h.json")
    rows = (tmp_path / "h.csv").read_text().strip().splitlines()
    assert rows[0].split(",")[:2] == ["epoch", "loss"] and len(rows) == 4
    assert len((tmp_path / "s.csv").read_text().strip().splitlines()) == 1 + 9
    back = History.from_json(tmp_path / "h.json")
    np.testing.assert_array_equal(back.epochs["val_accuracy"], e["val_accuracy"])
    assert json.loads((tmp_path / "h.json").read_text())["steps"]["step"] == list(range(1, 10))


def test_validation_does_not_change_training_or_mode():
    x, y = blobs(40)
    m1, m2 = mlp(dropout=0.2), mlp(dropout=0.2)
    for m, val in ((m1, None), (m2, blobs(10, seed=3))):
        fit(m, nn.CrossEntropyLoss(), gw.optim.SGD(m.parameters(), lr=0.1), (x, y), val_data=val, epochs=2,
            batch_size=8, progress=False, generator=gw.Generator().manual_seed(0))
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_early_stopping_stops_and_restores_best_weights():
    x, y = blobs(40)
    model = mlp()
    seen = []
    script = [1.0, 3.0, 2.0, 2.5, 2.9, 5.0, 6.0]

    class Score(Callback):      # a scripted figure, so the stopping epoch is known in advance
        def on_epoch_end(self, trainer, epoch, logs):
            logs["score"] = script[epoch]
            seen.append([p.detach().numpy().copy() for p in trainer.model.parameters()])

    stopper = EarlyStopping(monitor="score", mode="max", patience=2, restore_best_weights=True)
    t = Trainer(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), batch_size=8,
                callbacks=[Score(), stopper], progress=False)
    h = t.fit((x, y), epochs=7)
    # best at epoch 1; epochs 2, 3, 4 bring no improvement: stop after epoch 4
    assert len(h) == 5 and stopper.best_epoch == 1 and stopper.stopped_epoch == 4
    assert "score did not improve" in t.stop_reason
    for p, q in zip(model.parameters(), seen[1]):
        np.testing.assert_array_equal(p.detach().numpy(), q)


def test_terminate_on_nan_and_clear_message():
    rng = np.random.default_rng(0)
    x = gw.tensor(rng.standard_normal((40, 2)).astype(np.float32))
    y = x @ gw.tensor([[1.0], [2.0]])
    model = nn.Linear(2, 1)
    # a learning rate far past 2 / (largest curvature): every step multiplies the error, until overflow
    t = Trainer(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=50.0), batch_size=8,
                callbacks=[TerminateOnNaN()], progress=False)
    with np.errstate(over="ignore", invalid="ignore"):     # NumPy's overflow warnings are expected here
        h = t.fit((x, y), epochs=200)
    assert not math.isfinite(h.steps["loss"][-1]) and len(h) < 200
    assert np.all(np.isfinite(h.steps["loss"][:-1]))
    assert "non-finite loss" in t.stop_reason and "learning rate" in t.stop_reason


def test_terminate_on_nan_with_max_growth_stops_before_the_overflow():
    x, labels = blobs(40)
    y = labels[:, None].float()                    # the class numbers as a regression target
    model = nn.Linear(2, 1)
    watch = TerminateOnNaN(max_growth=1e3)
    t = Trainer(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=50.0), batch_size=8,
                callbacks=[watch], progress=False)
    with np.errstate(over="ignore", invalid="ignore"):
        h = t.fit((x, y), epochs=200)
    losses = h.steps["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] > 1e3 * losses[0]      # stopped on growth, not on inf
    assert watch.diverged == (t.global_step, losses[-1]) and "times the first step's" in t.stop_reason
    with pytest.raises(gw.train.CallbackError, match="max_growth must be > 1"):
        TerminateOnNaN(max_growth=0.5)


def test_model_checkpoint_writes_best_and_last(tmp_path):
    x, y = blobs(40)
    model = mlp()
    ckpt = ModelCheckpoint(tmp_path, monitor="val_accuracy")
    fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, y), val_data=blobs(20, 2),
        epochs=3, metrics=["accuracy"], callbacks=[ckpt, CSVLogger(tmp_path / "log.csv")], progress=False)
    last = read_checkpoint(tmp_path / "last.ckpt")
    assert last["counters"]["epoch"] == 3 and last["counters"]["batch_in_epoch"] == 0
    for v, p in zip(last["model"].values(), model.parameters()):
        np.testing.assert_array_equal(v.detach().numpy(), p.detach().numpy())
    assert (tmp_path / "best.ckpt").is_file()
    assert len((tmp_path / "log.csv").read_text().strip().splitlines()) == 4


def test_tensorboard_logger_writes_events(tmp_path):
    pytest.importorskip("tensorboardX")
    from gradwise.train import TensorBoardLogger

    x, y = blobs(20)
    model = mlp()
    fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=2,
        callbacks=[TensorBoardLogger(tmp_path)], progress=False)
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 200


def test_accepts_datasets_and_loaders():
    x, y = blobs(24)
    model = mlp()
    ds = TensorDataset(x, y)
    h1 = fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), ds, epochs=1, batch_size=5,
             progress=False)
    loader = DataLoader(ds, batch_size=7)
    h2 = fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), loader, epochs=1,
             progress=False)
    assert len(h1.steps["step"]) == 5 and len(h2.steps["step"]) == 4


def test_bad_options_are_named():
    x, y = blobs(10)
    model = mlp()
    opt = gw.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TrainingError, match=r"mode must be one of \['full', 'sgd', 'minibatch'\], got 'batch'"):
        fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=1, mode="batch")
    with pytest.raises(TrainingError, match="batch_size must be a positive int, got 0"):
        fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=1, batch_size=0)
    with pytest.raises(TrainingError, match="epochs must be a positive int, got 0"):
        fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=0)
    with pytest.raises(TrainingError, match=r"loss_fn must return a scalar tensor, got \(10,\)"):
        fit(model, nn.CrossEntropyLoss(reduction="none"), opt, (x, y), epochs=1, mode="full", progress=False)
    with pytest.raises(TrainingError, match="mode='sgd' chooses the batch size"):
        fit(model, nn.CrossEntropyLoss(), opt, DataLoader(TensorDataset(x, y)), epochs=1, mode="sgd")
    with pytest.raises(ValueError, match="val_loss.*not in the epoch record"):
        fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=1, callbacks=[EarlyStopping()], progress=False)


def test_summary_line_is_printed_when_progress_is_on(capsys):
    x, y = blobs(16)
    model = mlp()
    fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=2,
        metrics=["accuracy"], progress=True)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("fit: 2 epochs, 2 steps") and "accuracy" in out[0]


def test_a_failing_fit_calls_on_exception_and_releases_monitor_hooks():
    from gradwise.insight import GradientMonitor

    x, y = blobs(24)
    model = mlp()
    seen = []

    class Fail(Callback):
        def on_batch_end(self, trainer, logs):
            raise KeyError("boom")

        def on_exception(self, trainer, exc):
            seen.append(type(exc).__name__)

        def on_fit_end(self, trainer):
            seen.append("fit_end")

    monitor = GradientMonitor(model)
    with pytest.raises(KeyError):
        fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=1,
            callbacks=[monitor, Fail()], progress=False)
    assert seen == ["KeyError"] and not monitor.attached
