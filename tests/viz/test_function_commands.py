"""``gradwise descent``, ``lr-triptych`` and ``minima`` through their own parser."""

from __future__ import annotations

import argparse

import pytest

pytest.importorskip("matplotlib")

from gradwise.commands.functions import register  # noqa: E402
from gradwise.errors import GradwiseError  # noqa: E402


def _run(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


def test_descent_writes_the_figure_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "race.png"
    assert _run(["descent", "--fn", "rosenbrock", "--optimizers", "sgd,momentum,adam", "--lr", "1e-3",
                 "--steps", "100", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    text = capsys.readouterr().out
    assert "rosenbrock from (-1.5, 2), 100 steps, tolerance 0.001" in text
    assert all(name in text for name in ("sgd", "momentum", "adam")) and f"wrote {out}" in text
    svg = tmp_path / "surface.svg"
    assert _run(["descent", "--fn", "booth", "--optimizers", "adam", "--steps", "20", "--view", "surface",
                 "--start", "0,0", "--out", str(svg)]) == 0
    assert b"<svg" in svg.read_bytes()


def test_lr_triptych_command(tmp_path, capsys):
    out = tmp_path / "t.svg"
    assert _run(["lr-triptych", "--fn", "bowl", "--steps", "400", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "too small" in text and "converged" in text and "diverging" in text
    assert out.stat().st_size > 1000
    assert _run(["lr-triptych", "--lrs", "0.001,0.02,0.04", "--steps", "50", "--out", str(out)]) == 0


def test_minima_command(tmp_path, capsys):
    out = tmp_path / "m.png"
    assert _run(["minima", "--fn", "himmelblau", "--grid", "9", "--steps", "150", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "global minimum reached: 100.0%" in text
    assert text.count("saddle") == 4 and text.count("maximum") == 1 and text.count("minimum (global)") == 4
    assert _run(["minima", "--fn", "curve", "--grid", "21", "--steps", "100", "--out", str(out)]) == 0
    assert "degenerate" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["descent", "--fn", "nope"], "--fn: unknown test function 'nope'; choose one of bowl, rosenbrock"),
    (["descent", "--optimizers", "sgd,adamm"], "--optimizers: unknown optimizer 'adamm'; choose from sgd"),
    (["descent", "--optimizers", ","], "--optimizers: give at least one optimizer"),
    (["descent", "--lr", "fast"], "--lr: expected a number, got 'fast'"),
    (["descent", "--lr", "0"], "--lr: expected a positive finite number, got 0"),
    (["descent", "--steps", "0"], "--steps: expected a positive integer, got 0"),
    (["descent", "--start", "1,2,3"], "--start: rosenbrock takes 2 coordinate"),
    (["lr-triptych", "--lrs", "0.1,0.2"], "--lrs: expected 3 comma-separated numbers"),
    (["lr-triptych", "--optimizer", "sgdd"], "--optimizer: unknown optimizer 'sgdd'"),
    (["minima", "--fn", "saddle"], "--fn: saddle has no minimum to map basins of"),
    (["minima", "--grid", "1"], "--grid: expected at least 2 points per axis, got 1"),
])
def test_bad_values_name_the_option(tmp_path, argv, message):
    with pytest.raises(GradwiseError, match=message.replace("(", r"\(")):
        _run(argv + ["--out", str(tmp_path / "x.png")])


def test_bad_suffix(tmp_path):
    with pytest.raises(GradwiseError, match=r"--out: the file name must end in \.png, \.svg"):
        _run(["minima", "--out", str(tmp_path / "x.jpg")])
    assert not (tmp_path / "x.jpg").exists()
