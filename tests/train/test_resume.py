"""Exact resume: a run stopped mid-epoch (an exception, Ctrl-C) and continued from its checkpoint
ends with the same parameters and history, bit for bit, as a run that was never stopped."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.serialization import CheckpointError
from gradwise.train import Callback, ModelCheckpoint, Trainer, TrainingInterrupted


class Boom(RuntimeError):
    pass


class FailAt(Callback):
    """Raise at global step ``step``, in the hook ``where``."""

    def __init__(self, step, where="on_batch_end"):
        self.step, self.where = step, where

    def on_batch_start(self, trainer, batch_index):
        if self.where == "on_batch_start" and trainer.global_step + 1 == self.step:
            raise Boom("before the step")

    def on_after_backward(self, trainer):
        if self.where == "on_after_backward" and trainer.global_step + 1 == self.step:
            raise Boom("after backward")

    def on_batch_end(self, trainer, logs):
        if self.where == "on_batch_end" and trainer.global_step == self.step:
            raise Boom("after the step")


class CtrlCAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_after_backward(self, trainer):   # the signal lands mid-step: the step must still finish
        if trainer.global_step + 1 == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def data(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)).astype(dtype)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)
    return gw.tensor(x), gw.tensor(y)


def build(dtype, own_generators, scheduler=False):
    """A model with dropout, Adam, and either its own generators or gradwise's default one everywhere."""
    gw.manual_seed(7)
    gen = gw.Generator().manual_seed(1) if own_generators else None
    drop_gen = gw.Generator().manual_seed(2) if own_generators else None
    model = nn.Sequential(nn.Linear(4, 16, generator=gen, dtype=dtype), nn.ReLU(),
                          nn.Dropout(0.25, generator=drop_gen), nn.Linear(16, 2, generator=gen, dtype=dtype))
    opt = gw.optim.Adam(model.parameters(), lr=0.01)
    sched = gw.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if scheduler else None
    loader_gen = gw.Generator().manual_seed(3) if own_generators else None
    return model, opt, sched, loader_gen


def train(dtype, own, callbacks=(), resume=None, ckpt_dir=None, scheduler=False, epochs=4):
    model, opt, sched, loader_gen = build(dtype, own, scheduler)
    t = Trainer(model, nn.CrossEntropyLoss(), opt, batch_size=8, metrics=["accuracy"], callbacks=list(callbacks),
                scheduler=sched, progress=False, checkpoint_dir=ckpt_dir, generator=loader_gen)
    t.fit(data(dtype), epochs=epochs, val_data=data(dtype), resume=resume)
    return t


def assert_same_run(a, b):
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    for k, v in a.history.steps.items():
        if k != "wall_time":
            np.testing.assert_array_equal(v, b.history.steps[k], err_msg=k)
    for k, v in a.history.epochs.items():
        if k != "wall_time":
            np.testing.assert_array_equal(v, b.history.epochs[k], err_msg=k)
    assert a.global_step == b.global_step and a.epoch == b.epoch


# 50 samples in batches of 8: 7 steps per epoch; step 10 is mid-way through the second epoch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("own", [True, False], ids=["own-generators", "default-generator"])
@pytest.mark.parametrize("where", ["on_batch_end", "on_batch_start", "on_after_backward"])
def test_resume_after_an_exception_is_bit_exact(tmp_path, dtype, own, where):
    straight = train(dtype, own)
    with pytest.raises(Boom) as info:
        train(dtype, own, callbacks=[FailAt(10, where)], ckpt_dir=tmp_path)
    path = tmp_path / "interrupted.ckpt"
    assert path.is_file() and str(path) in "".join(getattr(info.value, "__notes__", [str(path)]))
    resumed = train(dtype, own, resume=path)
    assert_same_run(straight, resumed)


def test_resume_with_a_scheduler_and_at_an_epoch_boundary(tmp_path):
    straight = train(np.float32, True, scheduler=True)
    with pytest.raises(Boom):
        train(np.float32, True, callbacks=[FailAt(14)], ckpt_dir=tmp_path, scheduler=True)  # last step of epoch 2
    assert_same_run(straight, train(np.float32, True, resume=tmp_path / "interrupted.ckpt", scheduler=True))
    # a ModelCheckpoint written at the end of epoch 2 resumes the same way
    train(np.float32, True, callbacks=[ModelCheckpoint(tmp_path / "mc", monitor=None)], scheduler=True, epochs=2)
    assert_same_run(straight, train(np.float32, True, resume=tmp_path / "mc" / "last.ckpt", scheduler=True))


def test_ctrl_c_finishes_the_step_saves_and_resumes_exactly(tmp_path):
    straight = train(np.float32, True)
    with pytest.raises(TrainingInterrupted) as info:
        train(np.float32, True, callbacks=[CtrlCAt(10)], ckpt_dir=tmp_path)
    assert info.value.checkpoint_path == tmp_path / "interrupted.ckpt"
    ckpt = gw.train.read_checkpoint(info.value.checkpoint_path)
    assert ckpt["counters"]["global_step"] == 10     # the step in flight when Ctrl-C came was completed
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert_same_run(straight, train(np.float32, True, resume=info.value.checkpoint_path))


def test_ctrl_c_without_a_checkpoint_dir_still_stops_cleanly():
    with pytest.raises(TrainingInterrupted) as info:
        train(np.float32, True, callbacks=[CtrlCAt(3)])
    assert info.value.checkpoint_path is None


def test_checkpoint_from_another_model_is_refused_and_touches_nothing(tmp_path):
    with pytest.raises(Boom):
        train(np.float32, True, callbacks=[FailAt(3)], ckpt_dir=tmp_path)
    gen = gw.Generator().manual_seed(0)
    other = nn.Sequential(nn.Linear(4, 32, generator=gen), nn.ReLU(), nn.Linear(32, 2, generator=gen))
    before = [p.detach().numpy().copy() for p in other.parameters()]
    opt = gw.optim.Adam(other.parameters())
    t = Trainer(other, nn.CrossEntropyLoss(), opt, progress=False)
    with pytest.raises(CheckpointError, match=r"different model.*0.weight: checkpoint \(16, 4\) vs model \(32, 4\)"):
        t.fit(data(np.float32), epochs=2, resume=tmp_path / "interrupted.ckpt")
    for p, q in zip(other.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), q)
    assert opt.state == {} and len(t.history) == 0


def test_corrupted_and_foreign_files_give_clear_errors(tmp_path):
    with pytest.raises(Boom):
        train(np.float32, True, callbacks=[FailAt(3)], ckpt_dir=tmp_path)
    good = (tmp_path / "interrupted.ckpt").read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="cut.ckpt is not a readable checkpoint"):
        train(np.float32, True, resume=tmp_path / "cut.ckpt")
    gw.save({"model": {}}, tmp_path / "plain.ckpt")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        train(np.float32, True, resume=tmp_path / "plain.ckpt")


def _interrupted(tmp_path):
    with pytest.raises(Boom):
        train(np.float32, True, callbacks=[FailAt(10)], ckpt_dir=tmp_path)
    return gw.train.read_checkpoint(tmp_path / "interrupted.ckpt")


def _fresh_trainer():
    model, opt, sched, loader_gen = build(np.float32, True)
    t = Trainer(model, nn.CrossEntropyLoss(), opt, batch_size=8, metrics=["accuracy"], progress=False,
                generator=loader_gen)
    return t, [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("damage", ["no counters", "no history", "counters.epoch is text", "no rng",
                                    "callbacks not pairs", "optimizer without groups"])
def test_a_partial_training_checkpoint_is_refused_before_anything_changes(tmp_path, damage):
    ckpt = _interrupted(tmp_path)
    if damage == "no counters":
        del ckpt["counters"]
    elif damage == "no history":
        del ckpt["history"]
    elif damage == "counters.epoch is text":
        ckpt["counters"]["epoch"] = "two"
    elif damage == "no rng":
        del ckpt["rng"]
    elif damage == "callbacks not pairs":
        ckpt["callbacks"] = [3]
    else:
        del ckpt["optimizer"]["param_groups"]
    gw.save(ckpt, tmp_path / "damaged.ckpt")
    t, before = _fresh_trainer()
    with pytest.raises(CheckpointError, match="not a complete training checkpoint.*nothing was loaded"):
        t.fit(data(np.float32), epochs=2, resume=tmp_path / "damaged.ckpt")
    for p, q in zip(t.model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), q)
    assert t.optimizer.state == {} and len(t.history) == 0 and t.global_step == 0


def test_a_resume_that_fails_half_way_puts_everything_back(tmp_path):
    ckpt = _interrupted(tmp_path)
    ckpt["history"] = {"broken": True}          # well-formed up to here: fails after the model was loaded
    gw.save(ckpt, tmp_path / "late.ckpt")
    t, before = _fresh_trainer()
    with pytest.raises(CheckpointError, match="could not be loaded.*nothing was changed"):
        t.fit(data(np.float32), epochs=2, resume=tmp_path / "late.ckpt")
    for p, q in zip(t.model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), q)
    assert t.optimizer.state == {} and t.global_step == 0 and t.epoch == 0
