"""``gradwise slope``: tangents whose slope is the gradient, descent steps, and the local minimum that traps."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from picture_checks import check_picture  # noqa: E402

from gradwise.cli import main  # noqa: E402
from gradwise.insight.functions import FUNCTIONS, DescentError  # noqa: E402
from gradwise.insight.slope import minima_1d, slope_view, tiny_model_slice  # noqa: E402
from gradwise.viz.slope_plots import plot_slope  # noqa: E402


def _fd(obj, x, h=1e-6):
    return (obj.value([x + h]) - obj.value([x - h])) / (2 * h)


def _line_slope(line):
    x, y = (np.asarray(a, dtype=float) for a in line.get_data())
    return (y[-1] - y[0]) / (x[-1] - x[0])


@pytest.fixture(scope="module")
def curve_view():
    return slope_view("curve", [-1.15, 1.7, 1.0], lr=0.1, steps=200)


def test_view_signs_steps_and_trap(curve_view):
    v = curve_view
    t = v.tangents
    assert v.labels == ("A", "B", "C") and t.signs.tolist() == [-1, 1, 0]
    for i, x in enumerate(t.x):
        assert t.slopes[i] == pytest.approx(_fd(FUNCTIONS["curve"], x), abs=1e-6)
    np.testing.assert_allclose(t.next_x, t.x - 0.1 * t.slopes)          # the step descent takes
    assert [m.point[0] for m in v.minima] == pytest.approx([-1.0, 1.0])
    assert v.paths[0].reached_global                                    # A rolls into the global minimum
    assert v.trapped == {"B": 1, "C": 1} and v.traps == (1,)            # B and C stop at the local one
    assert v.paths[2].positions[-1, 0] == 1.0                           # C never moves: the gradient is 0


def test_picture_tangent_slopes_equal_the_gradient_and_the_trap_is_marked(curve_view):
    fig = plot_slope(curve_view)
    top, bottom = fig.axes[:2]
    t = curve_view.tangents
    tangents = {ln.get_label()[0]: ln for ln in top.get_lines() if "tangent" in ln.get_label()}
    assert sorted(tangents) == ["A", "B", "C"]
    for i, label in enumerate(curve_view.labels):
        assert _line_slope(tangents[label]) == pytest.approx(t.slopes[i], rel=1e-9, abs=1e-12)
    letters = [a for a in top.texts if a.get_text() in ("A", "B", "C")]
    assert [a.xy[0] for a in letters] == pytest.approx(t.x.tolist())
    # the step arrows: from each moving point to x - lr f'(x), none from C
    arrows = [a for a in top.texts if a.arrowprops is not None and not a.get_text()]
    assert len(arrows) == 2
    assert sorted(a.xy[0] for a in arrows) == pytest.approx(sorted(t.next_x[:2].tolist()))
    signs = " | ".join(a.get_text() for a in top.texts)
    assert "< 0: step right" in signs and "> 0: step left" in signs and "(lr 0.1)" in signs
    # the local minimum: a ring at a zero-gradient point, labelled as the place descent stops
    rings = [ln for ln in top.get_lines() if ln.get_label().startswith("local minimum")]
    assert len(rings) == 1 and "(a trap)" in rings[0].get_label()
    rx = float(rings[0].get_xdata()[0])
    assert rx == pytest.approx(1.0) and _fd(FUNCTIONS["curve"], rx) == pytest.approx(0.0, abs=1e-6)
    note = next(a for a in top.texts if a.get_text().startswith("local minimum"))
    assert "descent stops here" in note.get_text() and "trapped: B, C" in note.get_text()
    assert any(ln.get_label().startswith("global minimum") for ln in top.get_lines())
    for ax in (top, bottom):
        assert ax.get_ylabel() and ax.get_title()
    assert bottom.get_xlabel() == "x"
    check_picture(fig)      # labelled axes, legends off the data, titles unclipped


def test_tiny_model_slice_has_a_global_and_a_local_minimum():
    obj = tiny_model_slice()
    assert obj.dim == 1 and len(obj.minima) == 2
    best, local = sorted(obj.minima, key=lambda m: m.value)
    assert best.is_global and not local.is_global and local.value > best.value + 0.5
    for m in obj.minima:
        assert _fd(obj, m.point[0]) == pytest.approx(0.0, abs=1e-6)
    assert best.point[0] == pytest.approx(obj.start[0], abs=1e-2)        # the trained weight is the best one
    assert minima_1d(obj) == obj.minima


def test_command_default_and_tiny_model(tmp_path, capsys):
    out = tmp_path / "s.png"
    assert main(["slope", "--steps", "100", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "A: x = -1.15" in text and "< 0: step right" in text and "C: x = 1," in text
    assert "local minimum at x = 1 (trapped)" in text and f"wrote {out}" in text
    assert main(["slope", "--model", "tiny", "--steps", "50", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "slope: tiny model" in text and "dL/dw" in text and "(trapped)" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["--fn", "bowl"], "--fn: bowl is a function of 2 variable(s); this command needs 1: curve"),
    (["--fn", "nope"], "--fn: unknown test function 'nope'; choose one of curve"),
    (["--at", "1,x"], "--at: expected comma-separated numbers"),
    (["--lr", "-1"], "--lr: expected a positive learning rate"),
    (["--steps", "0"], "--steps: expected a positive integer"),
    (["--out", "s.txt"], "--out: the file name must end in .png"),
    (["--animate", "s.avi"], "--animate: the animation file must end in .gif"),
])
def test_bad_options_exit_2_with_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["slope", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gradwise slope: error: ") and message in err[0]


def test_fn_and_model_exclude_each_other(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["slope", "--fn", "curve", "--model", "tiny"])
    assert info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_view_rejects_2d_functions():
    with pytest.raises(DescentError, match="needs a 1-D loss"):
        slope_view("bowl", [0.0])
