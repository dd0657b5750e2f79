"""``--animate``: the frames of descent, lr-triptych, batch-modes and slope, read back with Pillow."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")       # Pillow is a dependency of matplotlib

import gradwise as gw  # noqa: E402
from gradwise import insight  # noqa: E402
from gradwise.cli import main  # noqa: E402
from gradwise.viz import animation  # noqa: E402
from gradwise.viz.animation import AnimationError, check_animation_path, frame_steps, write_frames  # noqa: E402
from gradwise.viz.descent_animations import (  # noqa: E402
    animate_batch_modes,
    animate_descent,
    animate_lr_triptych,
)
from gradwise.viz.figure_files import figure  # noqa: E402
from gradwise.viz.slope_plots import animate_slope  # noqa: E402


def _frames(path):
    """Every frame of a GIF as an RGB array."""
    im = Image.open(path)
    out = []
    for k in range(im.n_frames):
        im.seek(k)
        out.append(np.asarray(im.convert("RGB"), dtype=np.int16))
    return out


def _assert_frames_change(frames, expected):
    assert len(frames) == expected
    assert all(f.shape == frames[0].shape for f in frames)
    # every frame differs from the one before (a GIF would merge identical neighbours anyway)
    for a, b in zip(frames, frames[1:]):
        assert np.abs(a - b).sum() > 0
    assert np.abs(frames[0] - frames[-1]).max() > 100       # the first and last differ visibly


def test_frame_steps_keep_the_ends_and_never_repeat():
    assert frame_steps(5, 60).tolist() == [0, 1, 2, 3, 4, 5]
    for steps, most in ((2000, 60), (61, 60), (100, 7)):
        chosen = frame_steps(steps, most)
        assert chosen[0] == 0 and chosen[-1] == steps and len(chosen) <= most
        assert np.all(np.diff(chosen) > 0)
        assert np.diff(chosen)[0] <= np.diff(chosen)[-1]     # denser at the start, where descent moves most
    with pytest.raises(AnimationError, match="max_frames >= 2"):
        frame_steps(10, 1)


def test_animation_file_names_say_gif_works(tmp_path, monkeypatch):
    assert check_animation_path(tmp_path / "a.GIF").name == "a.GIF"
    with pytest.raises(AnimationError, match=r"--animate: the animation file must end in .gif \(or .mp4"):
        check_animation_path("a.png")
    monkeypatch.setattr(animation, "ffmpeg_available", lambda: False)
    with pytest.raises(AnimationError, match=r"--animate: writing a.mp4 needs the ffmpeg program.*\.gif file"):
        check_animation_path("a.mp4")


def test_write_frames_writes_one_gif_frame_per_step(tmp_path):
    fig = figure(3, 2)
    ax = fig.subplots()
    (line,) = ax.plot([], [], "o-")
    ax.set(xlim=(0, 6), ylim=(0, 40), xlabel="step", ylabel="value")
    out = write_frames(fig, lambda i: line.set_data(range(i + 1), [k * k for k in range(i + 1)]), 7,
                       tmp_path / "sq.gif")
    assert out == tmp_path / "sq.gif" and [p.name for p in tmp_path.iterdir()] == ["sq.gif"]   # no leftovers
    _assert_frames_change(_frames(out), 7)


def test_descent_animation_has_a_frame_per_step_and_a_moving_head(tmp_path):
    race = insight.race("bowl", (-2.5, 1.0), ("sgd", "adam"), lr=0.02, steps=30)
    out = animate_descent(insight.function_grid("bowl", 40), race, tmp_path / "race.gif", max_frames=8)
    frames = _frames(out)
    _assert_frames_change(frames, len(frame_steps(30, 8)))


def test_lr_triptych_animation(tmp_path):
    trip = insight.lr_triptych("bowl", steps=40)
    frames = _frames(animate_lr_triptych(trip, insight.function_grid("bowl", 40), tmp_path / "t.gif",
                                         max_frames=6))
    _assert_frames_change(frames, len(frame_steps(40, 6)))


def test_batch_modes_animation(tmp_path):
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(48, 3, generator=gen)
    y = (x[:, 0] > 0).long()
    model = gw.nn.Linear(3, 2)
    result = insight.compare_batch_modes(model, gw.nn.CrossEntropyLoss(), (x, y), epochs=3, batch_size=8,
                                         lr=0.1, variance_batches=4, generator=gen)
    frames = _frames(animate_batch_modes(result, tmp_path / "b.gif", frames=6))
    _assert_frames_change(frames, 6)


def test_slope_animation(tmp_path):
    from gradwise.insight.slope import slope_view

    view = slope_view("curve", [-1.15, 1.7, 1.0], lr=0.1, steps=20)
    frames = _frames(animate_slope(view, tmp_path / "s.gif", max_frames=6))
    _assert_frames_change(frames, len(frame_steps(20, 6)))


def test_commands_write_the_animation(tmp_path, capsys):
    gif = tmp_path / "d.gif"
    assert main(["descent", "--fn", "bowl", "--optimizers", "sgd", "--lr", "0.02", "--steps", "5",
                 "--out", str(tmp_path / "d.png"), "--animate", str(gif)]) == 0
    assert f"wrote {gif}" in capsys.readouterr().out
    _assert_frames_change(_frames(gif), 6)
    gif = tmp_path / "s.gif"
    assert main(["slope", "--steps", "4", "--out", str(tmp_path / "s.png"), "--animate", str(gif)]) == 0
    _assert_frames_change(_frames(gif), 5)


@pytest.mark.parametrize("command", [["descent"], ["lr-triptych"], ["batch-modes"], ["slope"]])
def test_bad_animation_file_exits_2_naming_gif(command, tmp_path, capsys):
    try:                   # checked while parsing (argparse exits) or by the command (main returns)
        status = main([*command, "--out", str(tmp_path / "x.png"), "--animate", str(tmp_path / "x.avi")])
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--animate" in err[0] and ".gif" in err[0]
    assert not list(tmp_path.iterdir())
