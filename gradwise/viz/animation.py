"""Animations: a figure redrawn step by step and written as frames of a GIF or MP4 file.

Every ``--animate`` picture (``descent``, ``lr-triptych``, ``batch-modes``, ``slope``) builds
its figure once and passes a ``draw(frame)`` function that updates the artists for one frame;
:func:`write_frames` calls it for each frame and hands the figure to matplotlib's animation
writers: ``PillowWriter`` for ``.gif`` (Pillow comes with matplotlib) and ``FFMpegWriter`` for
``.mp4`` where the ``ffmpeg`` program is installed.  The file is written atomically (a
temporary file renamed over the target).  :func:`frame_steps` picks which steps become frames.

>>> frame_steps(1000, 6).tolist()
[0, 40, 160, 360, 640, 1000]
>>> frame_steps(3, 60).tolist()
[0, 1, 2, 3]
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.atomic_files import write_bytes_atomic
from gradwise.errors import GradwiseError

ANIMATION_SUFFIXES = (".gif", ".mp4")


class AnimationError(GradwiseError, ValueError):
    """A file name or setting an animation cannot be written with; the message says what works."""


def ffmpeg_available() -> bool:
    """Whether matplotlib finds the ``ffmpeg`` program (needed for ``.mp4``)."""
    from matplotlib.animation import FFMpegWriter

    return bool(FFMpegWriter.isAvailable())


def check_animation_path(text: str | os.PathLike[str], option: str = "--animate") -> Path:
    """``text`` as an animation file: ``.gif`` always, ``.mp4`` when ffmpeg is installed; the
    error names ``option`` and the valid suffixes."""
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix not in ANIMATION_SUFFIXES:
        raise AnimationError(f"{option}: the animation file must end in .gif (or .mp4 where ffmpeg is installed), "
                             f"got {str(text)!r}")
    if suffix == ".mp4" and not ffmpeg_available():
        raise AnimationError(f"{option}: writing {path.name} needs the ffmpeg program, which was not found; name a "
                             ".gif file instead (written with Pillow), or install ffmpeg")
    return path


def frame_steps(steps: int, max_frames: int = 60) -> np.ndarray:
    """Which of the steps ``0..steps`` become frames: all of them when there are at most
    ``max_frames``; else ``max_frames`` steps spaced on a square-root scale (descent moves most
    in its first steps, so those get more frames), always the first and the last, no repeats."""
    if steps < 0 or max_frames < 2:
        raise AnimationError(f"frame_steps: need steps >= 0 and max_frames >= 2, got {steps} and {max_frames}")
    if steps + 1 <= max_frames:
        return np.arange(steps + 1)
    picked = np.unique(np.round(steps * np.linspace(0.0, 1.0, max_frames) ** 2).astype(int))
    return picked


def _writer(suffix: str, fps: int) -> Any:
    from matplotlib.animation import FFMpegWriter, PillowWriter

    return PillowWriter(fps=fps) if suffix == ".gif" else FFMpegWriter(fps=fps)


def write_frames(fig: Any, draw: Callable[[int], None], frames: int, path: str | os.PathLike[str], *,
                 fps: int = 8, dpi: int = 80, hold_last: int = 0) -> Path:
    """Call ``draw(i)`` for ``i = 0 .. frames - 1`` and write each state of ``fig`` as one frame
    of ``path`` (``.gif`` or ``.mp4``); ``hold_last`` repeats the last frame that many times
    (a GIF merges identical frames into one longer frame).  Returns the path.

    >>> import os, tempfile
    >>> from gradwise.viz.figure_files import figure
    >>> fig = figure(2, 2)
    >>> ax = fig.subplots()
    >>> (line,) = ax.plot([], [])
    >>> ax.set(xlim=(0, 4), ylim=(0, 16))
    [(0.0, 4.0), (0.0, 16.0)]
    >>> out = write_frames(fig, lambda i: line.set_data(range(i + 1), [k * k for k in range(i + 1)]), 5,
    ...                    os.path.join(tempfile.mkdtemp(), "squares.gif"))
    >>> from PIL import Image
    >>> Image.open(out).n_frames
    5
    """
    target = check_animation_path(path, "write_frames")
    if frames < 1:
        raise AnimationError(f"write_frames: need at least one frame, got {frames}")
    # whole pixels: the writers expect width * dpi and height * dpi to be integers
    w, h = fig.get_size_inches()
    fig.set_size_inches(round(w * dpi) / dpi, round(h * dpi) / dpi)
    writer = _writer(target.suffix.lower(), fps)
    with tempfile.TemporaryDirectory(prefix="gradwise-frames-") as tmp:
        # the writers write a file by name (its suffix picks the format); it then replaces the
        # target in one rename, so a failed or interrupted run leaves no half-written file
        scratch = Path(tmp) / f"frames{target.suffix.lower()}"
        with writer.saving(fig, str(scratch), dpi):
            for i in range(frames):
                draw(i)
                writer.grab_frame()
            for _ in range(hold_last):
                writer.grab_frame()
        write_bytes_atomic(target, scratch.read_bytes())
    return target
