"""examples/derive_by_hand.py runs and shows the agreement and the caught transposition."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "derive_by_hand.py"


def test_derive_by_hand_example_runs(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "x^T (3, 4) @ delta1 (4, 2) -> (3, 2) == shape of W1 (3, 2)" in out
    assert out.count("e-1") + out.count("0.00e+00") >= 6          # six tiny differences
    assert "with W1 transposed: step u1 = x @ W1" in out


def test_gradwise_derive_command_prints_the_trace(capsys):
    from gradwise.cli import main

    assert main(["derive", "two_layer_1hidden", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("two_layer_1hidden: 2 layers with a 1-node hidden layer")
    assert "shapes: x (1, 3) @ W1 (3, 1) -> (1, 1)" in out and "closed form vs autograd" in out
    assert main(["derive", "two_layer_batch", "--no-values"]) == 0
    assert "[[" not in capsys.readouterr().out
