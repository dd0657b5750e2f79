"""A diverged run stops with one line and exit 3 (its folder kept for inspection); a new run does
not silently replace an existing one."""

from __future__ import annotations

import pytest

from gradwise.cli import main

pytest.importorskip("sklearn")

DIVERGING = ["train", "--dataset", "iris", "--optimizer", "sgd", "--lr", "10", "--epochs", "5", "--no-progress"]


def test_a_diverging_run_stops_with_exit_3_and_says_why(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*DIVERGING, "--out", str(out)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gradwise train: error: diverged at step ")
    assert "learning rate 10 is probably too large for sgd: try --lr 1" in err[0]
    assert "--allow-divergence" in err[0] and (out / "final.ckpt").is_file()      # kept for inspection
    import json

    steps = json.loads((out / "history.json").read_text())["steps"]["loss"]
    assert len(steps) < 5 * 4                        # stopped early, not after the 5 epochs


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy's overflow warnings, as before
def test_allow_divergence_keeps_the_old_behaviour(tmp_path):
    assert main([*DIVERGING, "--out", str(tmp_path / "run"), "--allow-divergence"]) == 0


def test_a_healthy_run_is_not_called_diverged(tmp_path):
    assert main(["train", "--dataset", "iris", "--epochs", "3", "--no-progress", "--out", str(tmp_path / "ok")]) == 0


def test_a_new_run_does_not_replace_an_existing_one(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--dataset", "iris", "--epochs", "1", "--no-progress", "--out", str(out)]
    assert main(args) == 0
    before = (out / "config.json").read_bytes(), (out / "final.ckpt").read_bytes()
    capsys.readouterr()
    assert main([*args[:-2], "--lr", "0.05", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gradwise train: error: --out: {out} already holds a run; continue it with --resume {out}, "
                   "choose another --out, or pass --overwrite to replace it"]
    assert ((out / "config.json").read_bytes(), (out / "final.ckpt").read_bytes()) == before
    assert main([*args[:-2], "--lr", "0.05", "--out", str(out), "--overwrite"]) == 0
    assert '"lr": 0.05' in (out / "config.json").read_text()
