"""``gradwise gradient``: the gradient, its negative and the fan of directions, checked on the figure."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from picture_checks import check_picture  # noqa: E402

from gradwise.cli import main  # noqa: E402
from gradwise.insight import function_grid  # noqa: E402
from gradwise.insight.direction_fan import direction_fan, neighbourhood  # noqa: E402
from gradwise.insight.functions import FUNCTIONS, DescentError  # noqa: E402
from gradwise.viz.gradient_plots import plot_gradient  # noqa: E402


def _picture(fn="himmelblau", at=(1.0, 1.0), n=24):
    fan = direction_fan(fn, at, n=n)
    return fan, plot_gradient(fan, function_grid(fn, 60, neighbourhood(fn, at)))


def _quivers(ax):
    from matplotlib.quiver import Quiver

    return [c for c in ax.collections if isinstance(c, Quiver)]


def test_fan_rates_are_the_gradient_dotted_with_each_direction():
    fan = direction_fan("rosenbrock", (0.5, 1.5), n=16)
    g = FUNCTIONS["rosenbrock"].gradient((0.5, 1.5))
    np.testing.assert_allclose(fan.gradient, g)
    np.testing.assert_allclose(np.linalg.norm(fan.directions, axis=1), 1.0)
    np.testing.assert_allclose(fan.rates, fan.directions @ g, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(fan.rates, fan.grad_norm * np.cos(fan.angles), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fan.fd_rates, fan.rates, rtol=1e-5, atol=1e-4)     # finite differences agree
    # theta = 0 is the gradient's own direction, +-pi/2 run along the contour, pi against the gradient
    assert fan.angles[0] == 0.0 and fan.rates[0] == pytest.approx(fan.grad_norm)
    assert fan.rates[4] == pytest.approx(0.0, abs=1e-9) and fan.rates[12] == pytest.approx(0.0, abs=1e-9)
    assert fan.rates[8] == pytest.approx(-fan.grad_norm) and fan.rates.min() == pytest.approx(-fan.grad_norm)
    np.testing.assert_allclose(fan.contour_direction @ g, 0.0, atol=1e-9)


def test_picture_has_both_gradient_arrows_the_coloured_fan_and_a_colour_bar():
    fan, fig = _picture()
    left, right = fig.axes[0], fig.axes[1]
    quivers = _quivers(left)
    assert len(quivers) == 3                                  # the fan, grad f, -grad f
    fan_q = max(quivers, key=lambda q: len(q.U))
    assert len(fan_q.U) == 24
    np.testing.assert_allclose(fan_q.get_array(), fan.rates)  # each arrow coloured by its grad f . u
    assert fan_q.norm.vmin == pytest.approx(-fan.grad_norm) and fan_q.norm.vmax == pytest.approx(fan.grad_norm)
    labels = left.get_legend_handles_labels()[1]
    up = next(q for q in quivers if q.get_label().startswith("∇f"))
    down = next(q for q in quivers if q.get_label().startswith("−∇f"))
    g = fan.gradient / fan.grad_norm
    assert np.dot([up.U[0], up.V[0]], g) > 0 and np.dot([down.U[0], down.V[0]], g) < 0
    assert abs(up.U[0] * g[1] - up.V[0] * g[0]) < 1e-9 * math.hypot(up.U[0], up.V[0])    # parallel to grad f
    assert any("steepest ascent" in t for t in labels) and any("steepest descent" in t for t in labels)
    assert any("along the contour" in t for t in labels)
    bars = [ax for ax in fig.axes if "directional derivative" in ax.get_ylabel()]
    assert len(bars) == 1 and "cos θ" in bars[0].get_ylabel()           # the colour bar, labelled
    for ax in (left, right):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    check_picture(fig)      # labelled axes, legends off the data, titles unclipped


def test_rate_panel_plots_cos_theta_and_marks_the_three_special_angles():
    fan, fig = _picture()
    right = fig.axes[1]
    curve = right.get_lines()[0]
    theta, rate = curve.get_data()
    np.testing.assert_allclose(rate, fan.grad_norm * np.cos(theta))
    texts = " | ".join(t.get_text() for t in right.texts)
    assert "steepest ascent\nθ = 0" in texts and "steepest descent\nθ = π" in texts
    assert texts.count("no change") == 2 and "θ = +π/2" in texts and "θ = −π/2" in texts
    ascent = next(t for t in right.texts if t.get_text().startswith("steepest ascent"))
    assert ascent.xy == pytest.approx((0.0, fan.grad_norm))
    no_change = [t.xy for t in right.texts if t.get_text().startswith("no change")]
    np.testing.assert_allclose(sorted(no_change), [(-math.pi / 2, 0.0), (math.pi / 2, 0.0)])
    assert [t.get_text() for t in right.get_xticklabels()] == ["−π", "−π/2", "0", "π/2", "π"]
    assert any(ax.get_ylabel() == "cos θ" for ax in right.child_axes)       # the right axis: cos theta


def test_zero_gradient_says_so_instead_of_naming_directions():
    fan, fig = _picture("bowl", (0.0, 0.0), n=8)
    assert fan.grad_norm == 0 and np.all(fan.rates == 0)
    assert "critical point" in fig.get_suptitle()
    assert len(_quivers(fig.axes[0])) == 1 and not fig.axes[1].texts


def test_command_writes_the_figure(tmp_path, capsys):
    out = tmp_path / "g.png"
    assert main(["gradient", "--fn", "bowl", "--at", "2,0.5", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    text = capsys.readouterr().out
    assert "grad f = (2, 25)" in text and "steepest descent" in text and f"wrote {out}" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["--fn", "nope"], "--fn: unknown test function 'nope'; choose one of bowl, "),
    (["--fn", "curve"], "--fn: curve is a function of 1 variable(s); this command needs 2"),
    (["--at", "1,a"], "--at: expected comma-separated numbers x,y"),
    (["--at", "1,2,3"], "--at: expected 2 comma-separated numbers x,y"),
    (["--at", "nan,1"], "--at: expected finite numbers"),
    (["--out", "g.jpg"], "--out: the file name must end in .png, .svg, .pdf"),
    (["--directions", "10"], "--directions: expected a multiple of 4"),
])
def test_bad_options_exit_2_with_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["gradient", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gradwise gradient: error: ") and message in err[0]
    assert not list(tmp_path.iterdir())


def test_fan_rejects_bad_arguments():
    with pytest.raises(DescentError, match="needs a function of 2"):
        direction_fan("curve", (0.0,))
    with pytest.raises(DescentError, match="n must be an integer >= 4"):
        direction_fan("bowl", (1.0, 1.0), n=2)
