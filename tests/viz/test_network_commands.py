"""``gradwise lr-find``, ``batch-modes`` and ``landscape`` through their own parser (``report``:
tests/report/test_report_command.py)."""

from __future__ import annotations

import argparse

import pytest

from gradwise.commands.networks import CommandError, register

PNG = b"\x89PNG\r\n\x1a\n"


def _run(argv):
    parser = argparse.ArgumentParser(prog="gradwise")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    pytest.importorskip("matplotlib")
    from gradwise.runs.folders import train_run
    from gradwise.runs.recipe import RunConfig

    return train_run(RunConfig(dataset="iris", model="mlp:6", epochs=3, batch_size=16, progress=False),
                     tmp_path_factory.mktemp("runs") / "iris").run_dir


def test_lr_find_writes_the_figure_and_prints_the_suggestions(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "lr.png"
    assert _run(["lr-find", "--dataset", "iris", "--model", "mlp:8", "--num-iter", "30", "--batch-size", "32",
                 "--start-lr", "1e-4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.read_bytes().startswith(PNG)
    for name in ("steepest", "valley", "minimum/10"):
        assert name in text


def test_batch_modes_writes_the_figure_and_the_variance_table(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "modes.svg"
    assert _run(["batch-modes", "--dataset", "iris", "--model", "mlp:4", "--epochs", "2", "--variance-batches", "10",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.read_text().lstrip().startswith("<?xml")
    assert "minibatch" in text and "B x measured" in text and "lr" in text


@pytest.mark.parametrize("kind", ["surface", "interpolation", "trajectory"])
def test_landscape_of_a_run_folder(run_dir, kind, tmp_path, capsys):
    out = tmp_path / f"{kind}.png"
    assert _run(["landscape", str(run_dir), "--kind", kind, "--steps", "5", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(PNG)
    text = capsys.readouterr().out
    assert "landscape:" in text and "note:" not in text      # a trajectory replay ends at final.ckpt exactly


def test_bad_values_give_one_line_errors(run_dir, tmp_path):
    with pytest.raises(CommandError, match=r"--out: the figure file must end in .png, .svg, .pdf, got '.*x.jpg'"):
        _run(["lr-find", "--out", str(tmp_path / "x.jpg")])
    with pytest.raises(CommandError, match=r"--end-lr: must be greater than --start-lr \(1.0\), got 0.5"):
        _run(["lr-find", "--start-lr", "1", "--end-lr", "0.5", "--out", str(tmp_path / "x.png")])
    with pytest.raises(CommandError, match=r"--smooth: must be in \[0, 1\), got 1.5"):
        _run(["lr-find", "--smooth", "1.5", "--out", str(tmp_path / "x.png")])
    with pytest.raises(CommandError, match="is not a run folder \\(no config.json\\)"):
        _run(["landscape", str(tmp_path), "--out", str(tmp_path / "x.png")])
    from gradwise.runs.recipe import RecipeError

    with pytest.raises(RecipeError, match="--model: invalid spec 'cnn'"):
        _run(["batch-modes", "--model", "cnn", "--out", str(tmp_path / "x.png")])


def test_bad_choices_are_rejected_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _run(["batch-modes", "--dataset", "cifar", "--out", str(tmp_path / "x.png")])
    assert exc.value.code == 2 and "invalid choice: 'cifar'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run(["lr-find", "--num-iter", "0", "--out", str(tmp_path / "x.png")])
    assert "expected a positive integer, got 0" in capsys.readouterr().err
