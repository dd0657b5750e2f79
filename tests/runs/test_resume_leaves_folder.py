"""A refused resume leaves the run folder byte for byte as it was: one line, exit 2, no traceback."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gradwise.cli import main

pytest.importorskip("sklearn")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "iris"
    assert main(["train", "--dataset", "iris", "--model", "mlp:16", "--epochs", "2", "--no-progress",
                 "--out", str(run)]) == 0
    return run


@pytest.mark.parametrize("extra, message", [
    (["--model", "mlp:8", "--epochs", "3"], "was written for a different model"),
    ([], "has already finished 2 epoch(s) and the run asks for 2"),
])
def test_a_refused_resume_changes_nothing(finished_run, capsys, extra, message):
    before = _digest(finished_run)
    capsys.readouterr()
    assert main(["train", "--resume", str(finished_run), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gradwise train: error: resume:") and message in err[0]
    assert "Traceback" not in err[0]
    assert _digest(finished_run) == before
    assert main(["evaluate", str(finished_run)]) == 0          # the run still works


def test_out_naming_a_file_is_refused_before_training(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("keep me")
    assert main(["train", "--dataset", "iris", "--epochs", "1", "--no-progress", "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gradwise train: error: --out: {target} is a file; give a folder for the run (it is created "
                   "if missing)"]
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("command", [["evaluate", "{run}"], ["train", "--resume", "{run}", "--epochs", "5"],
                                     ["landscape", "{run}", "--out", "{run}/x.png"]])
def test_a_truncated_config_json_is_named_not_a_traceback(finished_run, tmp_path, capsys, command):
    import shutil

    run = tmp_path / "damaged"
    shutil.copytree(finished_run, run)
    text = (run / "config.json").read_text()
    (run / "config.json").write_text(text[: len(text) // 3])
    before = _digest(run)
    capsys.readouterr()
    assert main([part.format(run=run) for part in command]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{run / 'config.json'} is not valid JSON" in err[0], err
    assert _digest(run) == before
