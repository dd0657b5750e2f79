"""The ``--animate FILE`` option that ``descent``, ``lr-triptych`` and ``batch-modes`` share
(``slope`` has its own): the option, checked while parsing, and the call that writes the
animation from the records the command computed.

A ``.gif`` is always possible (Pillow comes with matplotlib); ``.mp4`` needs the ``ffmpeg``
program, and without it the option fails at once, before any computing, naming ``.gif``.

>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_animate_option(p)
>>> p.parse_args(["--animate", "race.gif"]).animate.name
'race.gif'
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

ANIMATIONS = ("descent", "lr-triptych", "batch-modes")


def _animation_file(text: str) -> Path:
    from gradwise.viz.animation import AnimationError, check_animation_path

    try:
        return check_animation_path(text, "the animation file")
    except AnimationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("the animation file: ")) from None


def add_animate_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--animate FILE`` to a picture command's parser."""
    parser.add_argument("--animate", metavar="FILE", type=_animation_file,
                        help="also write the steps as an animation: .gif (or .mp4 where ffmpeg is installed)")


def maybe_animate(args: argparse.Namespace, kind: str, **records: Any) -> None:
    """Write ``args.animate`` (when given) for the command ``kind`` from its ``records``:
    ``descent``: ``grid``, ``runs`` and ``title``; ``lr-triptych``: ``triptych`` and ``grid``;
    ``batch-modes``: ``comparison``."""
    path = getattr(args, "animate", None)
    if path is None:
        return
    from gradwise.viz import descent_animations as anim

    if kind == "descent":
        out = anim.animate_descent(records["grid"], records["runs"], path, title=records.get("title"))
    elif kind == "lr-triptych":
        out = anim.animate_lr_triptych(records["triptych"], records["grid"], path)
    elif kind == "batch-modes":
        out = anim.animate_batch_modes(records["comparison"], path)
    else:
        raise ValueError(f"maybe_animate: unknown kind {kind!r}; one of {', '.join(ANIMATIONS)}")
    print(f"wrote {out}")
