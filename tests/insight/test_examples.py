"""examples/vanishing_gradients.py runs and shows what it claims: the deep sigmoid net's early
layers vanish, the ReLU + He net is healthy and learns, the RNN's gradient vanishes through time."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vanishing_gradients.py"


def test_vanishing_gradients_example(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    sigmoid, relu = out.split("=== ")[1:3]
    assert sigmoid.startswith("10 sigmoid layers") and "Gradient health: VANISHING" in sigmoid
    assert re.search(r"^0\s+0 \(Linear\+Sigmoid\)\s+vanishing", sigmoid, re.MULTILINE)
    ratio = float(re.search(r"first/last layer gradient norm: (\S+)", sigmoid).group(1))
    assert ratio < 1e-6
    assert relu.startswith("10 ReLU layers, He init") and "Gradient health: HEALTHY" in relu
    accuracies = [float(a) for a in re.findall(r"accuracy (\S+) -> (\S+)", relu)[0]]
    assert accuracies[1] > accuracies[0] + 0.2
    assert "RNN gradient through time: VANISHING over 50 steps" in out
    assert "LSTM gradient through time: HEALTHY" in out
