"""Checks on a drawn matplotlib figure: what every gradwise picture must satisfy.

Each check renders the figure on an Agg canvas first, so window extents are real:

- :func:`axes_labelled`: every data axes has an x and a y label (and a z label in 3-D);
- :func:`paths_inside_or_marked`: every drawn path point (lines whose gid role is ``path``) lies
  inside its axes' limits; a path that leaves is drawn up to the edge and the edge point is
  marked (a line of role ``path-exit`` at that point);
- :func:`legends_off_data`: no legend box covers a plotted point of any axes, nor the
  plotting area of an axes whose whole area is data (contour maps, images);
- :func:`titles_unclipped`: every title lies inside the figure and off other axes' titles;
- :func:`texts`: the titles, suptitle and labels of a figure, for checks on their words.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D

# one pixel of slack for points that sit exactly on an edge
SLACK = 1.0


def role(artist):
    """What an artist shows, from its gid (``"path.17"`` -> ``"path"``; gids are unique per SVG id)."""
    return (artist.get_gid() or "").split(".")[0]


def render(fig):
    """Draw ``fig`` on an Agg canvas; returns the renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def data_axes(fig):
    """The figure's axes without colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def is_3d(ax):
    return ax.name == "3d"


def axes_labelled(fig):
    """``[(axes title, missing label)]`` for every data axes lacking an x, y (or z) label."""
    missing = []
    for ax in data_axes(fig):
        names = ["x", "y", "z"] if is_3d(ax) else ["x", "y"]
        for name in names:
            if not getattr(ax, f"get_{name}label")().strip():
                missing.append((ax.get_title(), name))
    return missing


def _drawn_points(line):
    """A line's points in display coordinates, NaNs dropped; empty for 3-D and axis-spanning lines."""
    xy = np.column_stack([np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)])
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if not len(xy):
        return xy
    return line.get_transform().transform(xy)


def paths_inside_or_marked(fig):
    """``[(title, reason)]`` for every path point outside its axes' limits that is not an exit mark."""
    render(fig)
    problems = []
    for ax in data_axes(fig):
        if is_3d(ax):
            continue
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        box = ax.transData.transform([[x0, y0], [x1, y1]])
        lo, hi = box.min(axis=0) - SLACK, box.max(axis=0) + SLACK
        exits = [_drawn_points(line) for line in ax.lines if role(line) == "path-exit"]
        exits_xy = np.concatenate(exits) if exits else np.zeros((0, 2))
        for line in ax.lines:
            if role(line) != "path":
                continue
            pts = _drawn_points(line)
            outside = pts[np.any((pts < lo) | (pts > hi), axis=1)]
            for p in outside:
                if not len(exits_xy) or np.min(np.linalg.norm(exits_xy - p, axis=1)) > SLACK:
                    problems.append((ax.get_title(), f"point {p} outside {lo}..{hi} and not marked"))
        for coll in ax.collections:
            if role(coll) == "band":
                for path in coll.get_paths():
                    pts = coll.get_transform().transform(path.vertices)
                    if np.any((pts < lo) | (pts > hi)):
                        problems.append((ax.get_title(), "a band runs off the axes"))
    return problems


def _covers_area(ax):
    """Whether the axes' whole plotting area is data (filled contours, a colour mesh, an image)."""
    return any(type(c).__name__ in ("QuadContourSet", "QuadMesh") for c in ax.collections) or bool(ax.images)


def legends_off_data(fig):
    """``[(legend, what it covers)]`` for every legend box that covers a plotted point (any line's
    marker or vertex, any scatter point) or the area of a contour map."""
    renderer = render(fig)
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    problems = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in data_axes(fig):
            if is_3d(ax):
                if box.overlaps(ax.get_window_extent(renderer)) and ax.get_legend() is not legend:
                    problems.append((legend, f"the 3-D axes {ax.get_title()!r}"))
                continue
            if _covers_area(ax) and box.overlaps(ax.get_window_extent(renderer)):
                problems.append((legend, f"the map {ax.get_title()!r}"))
                continue
            for line in ax.lines:
                if not isinstance(line, Line2D) or not line.get_visible():
                    continue
                pts = _drawn_points(line)
                inside = (pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)
                if inside.any():
                    problems.append((legend, f"line {line.get_label()!r} in {ax.get_title()!r}"))
            for coll in ax.collections:
                offsets = coll.get_offsets()
                if len(offsets) and role(coll) != "band":
                    pts = coll.get_offset_transform().transform(offsets)
                    if np.any((pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0)
                              & (pts[:, 1] <= box.y1)):
                        problems.append((legend, f"points of {coll!r} in {ax.get_title()!r}"))
    return problems


def titles_unclipped(fig):
    """``[title]`` for every axes title outside the figure or overlapping another axes' title."""
    renderer = render(fig)
    page = fig.bbox
    boxes = [(ax.get_title(), ax.title.get_window_extent(renderer)) for ax in data_axes(fig) if ax.get_title()]
    bad = [t for t, b in boxes if b.x0 < page.x0 - SLACK or b.x1 > page.x1 + SLACK or b.y1 > page.y1 + SLACK]
    for i, (t, b) in enumerate(boxes):
        bad += [t for u, c in boxes[i + 1:] if b.overlaps(c)]
    return bad


def texts(fig):
    """The suptitle, every axes title and every axis label of ``fig``, one string each."""
    out = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    return [t for t in out if t]


def check_picture(fig):
    """All the generic properties at once; an assertion names the first failure of each."""
    assert not axes_labelled(fig), axes_labelled(fig)
    assert not paths_inside_or_marked(fig), paths_inside_or_marked(fig)
    assert not legends_off_data(fig), legends_off_data(fig)
    assert not titles_unclipped(fig), titles_unclipped(fig)
