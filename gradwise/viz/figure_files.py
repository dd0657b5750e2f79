"""Matplotlib without pyplot: a fresh :class:`~matplotlib.figure.Figure` per picture, saved to PNG,
SVG or PDF by the file's suffix, or rendered to an SVG string for the HTML report.

No global state is touched (no ``pyplot``, no backend switch), so drawing is safe in
threads, under Agg and in notebooks alike.  matplotlib is an optional dependency:
a missing one raises ``ImportError`` naming the extra to install.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

FORMATS = (".png", ".svg", ".pdf")


def figure(width: float, height: float, **kwargs: Any) -> Any:
    """A new ``matplotlib.figure.Figure`` of ``width x height`` inches (constrained layout)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("gradwise.viz needs matplotlib: pip install 'gradwise[viz]'") from None
    return Figure(figsize=(width, height), layout="constrained", **kwargs)


def save(fig: Any, path: str | os.PathLike[str], dpi: int = 90) -> Path:
    """Write ``fig`` to ``path`` (``.png``, ``.svg`` or ``.pdf``), creating the folder; returns the path."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise ValueError(f"save: the file name must end in one of {list(FORMATS)}, got {str(path)!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    # no date stamp in SVG files: rerunning a script does not change them for nothing
    fig.savefig(p, dpi=dpi, metadata={"Date": None} if p.suffix.lower() == ".svg" else None)
    return p


def finish(fig: Any, path: str | os.PathLike[str] | None, dpi: int = 90) -> Any:
    """Save ``fig`` when ``path`` is given; return the figure either way."""
    if path is not None:
        save(fig, path, dpi)
    return fig


_ID = re.compile(r'\bid="([^"]+)"')


def to_svg(fig: Any, prefix: str) -> str:
    """``fig`` as an ``<svg>`` element for inlining in HTML: text kept as text, and every ``id``
    (and every reference to one) prefixed with ``prefix`` so several figures can share a page."""
    from matplotlib import rc_context

    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": prefix}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    ids = set(_ID.findall(text))
    for name in sorted(ids, key=len, reverse=True):
        new = f"{prefix}-{name}"
        text = text.replace(f'id="{name}"', f'id="{new}"').replace(f"#{name})", f"#{new})") \
            .replace(f'href="#{name}"', f'href="#{new}"')
    return text
