"""Resuming a run to more epochs: each schedule's rule, the history of settings in config.json, and
--init-from (a new run from a run's weights)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import gradwise as gw
from gradwise.cli import main
from gradwise.optim import lr_scheduler as sched
from gradwise.optim.lr_scheduler.base import SchedulerError
from gradwise.optim.lr_scheduler.continuation import RESUME_RULES, longer_than_planned, resume_rule
from gradwise.runs.folders import build_run, init_weights, read_config
from gradwise.runs.recipe import RecipeError
from gradwise.runs.record import read_record
from gradwise.train.checkpoint import read_checkpoint

pytest.importorskip("sklearn")      # iris


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _train(out: Path, *args: str) -> int:
    return main(["train", "--dataset", "iris", "--model", "mlp:8", "--batch-size", "16", "--lr", "0.05",
                 "--optimizer", "momentum", "--no-progress", "--out", str(out), *args])


def _lrs(out: Path) -> np.ndarray:
    return np.array(json.loads((out / "history.json").read_text())["epochs"]["lr"])


# ------------------------------------------------------------------ the rule of each scheduler class
def _opt() -> gw.optim.SGD:
    return gw.optim.SGD([gw.nn.Parameter(gw.zeros(1))], lr=1.0, momentum=0.9)


def _steps(s, n: int) -> list[float]:
    out = []
    for _ in range(n):
        s.optimizer.step()
        s.step(1.0) if isinstance(s, sched.ReduceLROnPlateau) else s.step()
        out.append(s.get_last_lr()[0] if hasattr(s, "get_last_lr") else s.optimizer.param_groups[0]["lr"])
    return out


# each class built with a horizon (or period, step) of 4, and what its LR does over steps 5..8
CASES = {
    sched.StepLR: (lambda o: sched.StepLR(o, step_size=4, gamma=0.1), "keeps dropping"),
    sched.MultiStepLR: (lambda o: sched.MultiStepLR(o, milestones=[2, 4], gamma=0.1), "holds"),
    sched.ExponentialLR: (lambda o: sched.ExponentialLR(o, gamma=0.5), "keeps dropping"),
    sched.MultiplicativeLR: (lambda o: sched.MultiplicativeLR(o, lambda e: 0.5), "keeps dropping"),
    sched.LambdaLR: (lambda o: sched.LambdaLR(o, lambda e: 0.5 ** e), "keeps dropping"),
    sched.ReduceLROnPlateau: (lambda o: sched.ReduceLROnPlateau(o, patience=1), "keeps dropping"),
    sched.ConstantLR: (lambda o: sched.ConstantLR(o, factor=0.5, total_iters=4), "holds"),
    sched.LinearLR: (lambda o: sched.LinearLR(o, start_factor=0.5, total_iters=4), "holds"),
    sched.CyclicLR: (lambda o: sched.CyclicLR(o, base_lr=0.1, max_lr=1.0, step_size_up=2), "repeats"),
    sched.CosineAnnealingWarmRestarts: (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=4), "repeats"),
    sched.CosineAnnealingLR: (lambda o: sched.CosineAnnealingLR(o, T_max=4), "rises back"),
    sched.PolynomialLR: (lambda o: sched.PolynomialLR(o, total_iters=4, power=1.0), "stays at 0"),
    sched.OneCycleLR: (lambda o: sched.OneCycleLR(o, max_lr=1.0, total_steps=4), "refuses"),
}


def test_every_scheduler_class_has_a_resume_rule():
    exported = {getattr(sched, n) for n in sched.__all__ if isinstance(getattr(sched, n), type)
                and issubclass(getattr(sched, n), (sched.LRScheduler, sched.ReduceLROnPlateau))}
    assert exported <= set(RESUME_RULES)
    assert set(CASES) | {sched.SequentialLR, sched.ChainedScheduler} >= {c for c in exported
                                                                          if c not in (sched.LRScheduler,
                                                                                       sched._LRScheduler)}
    assert resume_rule(sched.SequentialLR) == "composition"


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
def test_each_schedule_past_its_length_does_what_its_rule_says(cls):
    """The rule is a fact about the schedule: "continues" ones go on sensibly past a length of 4, the
    "horizon" ones do something no one wants (rise back, stay at 0, refuse)."""
    build, behaviour = CASES[cls]
    s = build(_opt())
    if behaviour == "refuses":
        _steps(s, 3)    # OneCycleLR's first value is its step 0
        with pytest.raises(SchedulerError, match="total_steps"):
            _steps(s, 2)
        assert resume_rule(cls) == "horizon"
        return
    lr = np.array(_steps(s, 12))
    first, after = lr[:4], lr[4:]
    if behaviour == "keeps dropping":
        assert np.all(np.diff(lr) <= 0) and after[-1] < first[-1]
    elif behaviour == "holds":
        assert np.all(after == after[0])
    elif behaviour == "repeats":
        assert np.ptp(first) > 0.5 and np.allclose(lr[:4], lr[4:8]) and np.allclose(lr[4:8], lr[8:])
    elif behaviour == "rises back":
        assert after[3] > 0.99 and first[3] < 1e-12
    elif behaviour == "stays at 0":
        assert np.all(after == 0.0)
    rule = "horizon" if behaviour in ("rises back", "stays at 0") else "continues"
    assert resume_rule(cls) == rule


def test_longer_than_planned_compares_the_checkpoint_horizon():
    opt = _opt()
    saved = sched.OneCycleLR(opt, max_lr=1.0, total_steps=40).state_dict()
    assert longer_than_planned(sched.OneCycleLR(_opt(), max_lr=1.0, total_steps=80), saved)[:2] == (40, 80)
    assert longer_than_planned(sched.OneCycleLR(_opt(), max_lr=1.0, total_steps=40), saved) is None
    assert longer_than_planned(sched.StepLR(_opt(), step_size=2), sched.StepLR(_opt(), 1).state_dict()) is None


# ------------------------------------------------------------------ gradwise train --resume --epochs
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("longer")
    done = {}
    for scheduler in ("cosine", "onecycle", "step", "exponential", "plateau", "none"):
        assert _train(root / scheduler, "--epochs", "3", "--scheduler", scheduler) == 0
        done[scheduler] = root / scheduler
    return done


@pytest.mark.parametrize("scheduler, unit", [("cosine", "epochs"), ("onecycle", "steps")])
def test_lengthening_a_run_planned_over_its_length_is_refused(runs, scheduler, unit, capsys):
    folder = runs[scheduler]
    before = _digest(folder)
    capsys.readouterr()
    assert main(["train", "--resume", str(folder), "--epochs", "6", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"gradwise train: error: --epochs: the {scheduler} schedule of ")
    planned = read_checkpoint(folder / "final.ckpt")["scheduler"]["T_max" if unit == "epochs" else "total_steps"]
    assert f"was planned over {planned} {unit} and this resume asks for {2 * planned}" in err[0]
    assert "--init-from" in err[0] and "nothing was changed" in err[0]
    assert _digest(folder) == before


@pytest.mark.parametrize("scheduler", ["step", "exponential", "plateau", "none"])
def test_schedules_that_continue_go_on_where_they_were(runs, scheduler, tmp_path):
    """Resumed from 3 to 6 epochs, the learning rate goes on as the 3-epoch schedule would have gone on
    (StepLR keeps the step size of the original run: one epoch, a third of 3), never back up."""
    out = tmp_path / scheduler
    assert main(["train", "--resume", str(runs[scheduler] / "final.ckpt"), "--out", str(out), "--epochs", "6",
                 "--no-progress"]) == 0
    lr = _lrs(out)
    assert len(lr) == 6 and np.all(np.diff(lr) <= 0)
    # the new folder carries the original settings and names the other folder's checkpoint by its path
    record = read_record(out)
    assert record.original.epochs == 3 and record.history[0]["checkpoint"] == str(runs[scheduler] / "final.ckpt")
    np.testing.assert_array_equal(lr[:3], _lrs(runs[scheduler]))
    # (the lr column is the rate each epoch trained with: before that epoch's scheduler step)
    expected = {"step": 0.05 * 0.1 ** np.arange(6), "exponential": 0.05 * 0.95 ** np.arange(6),
                "none": np.full(6, 0.05)}
    if scheduler in expected:
        np.testing.assert_allclose(lr, expected[scheduler], rtol=1e-12)


def test_config_json_keeps_the_original_settings_and_a_history_of_resumes(tmp_path):
    out = tmp_path / "run"
    assert _train(out, "--epochs", "2", "--scheduler", "exponential") == 0
    assert json.loads((out / "config.json").read_text())["history"] == []
    steps = read_checkpoint(out / "final.ckpt")["counters"]["global_step"]
    assert main(["train", "--resume", str(out), "--epochs", "3", "--no-progress"]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "4", "--checkpoint-every", "0", "--no-progress"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 2 and config["checkpoint_every"] == "1"       # the original settings
    first, second = config["history"]
    assert (first["from_epoch"], first["from_step"], first["checkpoint"]) == (2, steps, "final.ckpt")
    assert first["changed"] == {"epochs": [2, 3]}
    assert second["from_epoch"] == 3 and second["changed"] == {"epochs": [3, 4], "checkpoint_every": ["1", "0"]}
    assert first["time"].endswith("Z") and first["time"] <= second["time"]
    cfg = read_config(out)              # the settings in force
    assert (cfg.epochs, cfg.checkpoint_every) == (4, "0")
    assert read_record(out).original.epochs == 2
    assert main(["evaluate", str(out)]) == 0


@pytest.mark.parametrize("history, message", [
    ("{}", "'history' must be a list of resume entries, got dict"),
    ('[{"time": "t"}]', "history[0] must have the keys"),
    ('[{"time": "t", "from_epoch": -1, "from_step": 0, "checkpoint": "c", "changed": {}}]',
     "history[0].from_epoch must be >= 0"),
    ('[{"time": "t", "from_epoch": 1, "from_step": 0, "checkpoint": "c", "changed": {"speed": [1, 2]}}]',
     "unknown setting 'speed'"),
    ('[{"time": "t", "from_epoch": 1, "from_step": 0, "checkpoint": "c", "changed": {"epochs": 5}}]',
     "must be [before, after]"),
    ('[{"time": "t", "from_epoch": 1, "from_step": 0, "checkpoint": "c", "changed": {"epochs": [1, "x"]}}]',
     "setting 'epochs' must be an integer, got str 'x'"),
])
def test_a_damaged_history_is_refused_by_name(runs, tmp_path, capsys, history, message):
    folder = tmp_path / "copy"
    folder.mkdir()
    values = json.loads((runs["step"] / "config.json").read_text())
    text = json.dumps({k: v for k, v in values.items() if k != "history"})[:-1] + f', "history": {history}}}'
    (folder / "config.json").write_text(text)
    with pytest.raises(RecipeError, match=message.replace("[", r"\[").replace("(", r"\(")):
        read_config(folder)
    capsys.readouterr()
    assert main(["evaluate", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(folder / "config.json") in err[0]


# ------------------------------------------------------------------ --init-from
def test_init_from_starts_a_new_run_from_the_weights_with_a_fresh_schedule(runs, tmp_path):
    source = runs["cosine"]
    cfg = read_config(source)
    _, model, *_ = build_run(cfg)
    assert init_weights(model, source) == source / "final.ckpt"
    saved = read_checkpoint(source / "final.ckpt")["model"]
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.detach().numpy(), saved[name].detach().numpy())
    out = tmp_path / "more"
    assert _train(out, "--init-from", str(source), "--epochs", "3", "--scheduler", "cosine") == 0
    record = read_record(out)
    assert record.original.init_from == str(source) and record.history == ()
    lr = _lrs(out)
    assert lr.tolist() == pytest.approx([0.05, 0.05 * 0.75, 0.05 * 0.25])   # a fresh cosine over 3 epochs
    fresh = json.loads((source / "history.json").read_text())["epochs"]["loss"]
    assert json.loads((out / "history.json").read_text())["epochs"]["loss"][0] < fresh[0]


@pytest.mark.parametrize("args, message", [
    (["--model", "mlp:4"], "--init-from: the weights in"),
    (["--resume", "RUN"], "--init-from: --resume continues a run from its checkpoint"),
])
def test_init_from_refusals_are_one_line(runs, tmp_path, capsys, args, message):
    args = [str(runs["cosine"]) if a == "RUN" else a for a in args]
    out = tmp_path / "x"
    assert main(["train", "--dataset", "iris", "--init-from", str(runs["cosine"]), "--epochs", "1",
                 "--no-progress", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


def test_a_resume_reads_its_checkpoint_once(runs, tmp_path, monkeypatch):
    import gradwise.train.checkpoint as checkpoint

    reads = []
    real = checkpoint.load
    monkeypatch.setattr(checkpoint, "load", lambda path, *a, **k: reads.append(Path(path)) or real(path, *a, **k))
    out = tmp_path / "again"
    assert main(["train", "--resume", str(runs["none"] / "final.ckpt"), "--out", str(out), "--epochs", "4",
                 "--no-progress"]) == 0
    assert reads == [runs["none"] / "final.ckpt"]


def test_a_cosine_run_resumed_to_its_own_length_is_the_uninterrupted_run(tmp_path):
    """The refusal is only for lengthening: from epoch 1 of 3, a cosine run resumes (T_max 3 as built)
    and ends with the uninterrupted run's weights, bit for bit."""
    whole = tmp_path / "whole"
    assert _train(whole, "--epochs", "3", "--scheduler", "cosine", "--keep", "3") == 0
    again = tmp_path / "again"
    assert main(["train", "--resume", str(whole / "epoch-000001.ckpt"), "--out", str(again), "--no-progress"]) == 0
    a, b = read_checkpoint(whole / "final.ckpt")["model"], read_checkpoint(again / "final.ckpt")["model"]
    for name in a:
        np.testing.assert_array_equal(a[name].detach().numpy(), b[name].detach().numpy())
    np.testing.assert_array_equal(_lrs(again), _lrs(whole))
    assert read_record(again).history[0]["changed"] == {}
