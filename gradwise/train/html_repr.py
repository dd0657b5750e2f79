"""Building blocks for the rich display of records in Jupyter (``_repr_html_``) and their text tables.

Every fragment is self-contained HTML: inline styles only (no stylesheet, no script, no external
file), every user string escaped, and laid out to stay readable in a 420 px wide output: tables
scroll sideways inside their own box instead of widening the page, and the inline SVG charts
scale to the width they get.  ``insight`` builds its displays from the same blocks.

>>> print(text_table(["layer", "params"], [["0 (Linear)", "12"], ["1 (ReLU)", "0"]]))
layer       params
0 (Linear)      12
1 (ReLU)         0
>>> "&lt;b&gt;" in table(["name"], [["<b>"]])
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.4"
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
VERDICT_COLORS = {"healthy": "#2e7d32", "ok": "#2e7d32", "vanishing": "#c62828", "exploding": "#c62828",
                  "dead": "#c62828", "stalled": "#ef6c00", "noisy": "#ef6c00", "saturated": "#ef6c00"}


def esc(value: object) -> str:
    """``str(value)`` with ``& < > " '`` escaped for HTML."""
    return html.escape(str(value), quote=True)


def num(x: float | int | None, digits: int = 4) -> str:
    """A number for people: ``digits`` significant digits, ``nan``/``inf`` spelt out, ``-`` for None."""
    if x is None:
        return "-"
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return f"{int(x):,}"
    v = float(x)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def text_table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A plain-text table: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(str(r[k])) for r in [head, *rows]) for k in range(len(head))]
    lines = []
    for r in [head, *rows]:
        cells = [str(c).ljust(w) if k < left else str(c).rjust(w) for k, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1, raw: bool = False,
          indents: Sequence[int] | None = None, titles: Sequence[str] | None = None,
          wrap: Sequence[int] = ()) -> str:
    """An HTML table in a box that scrolls sideways when narrow.

    Cells are escaped unless ``raw`` (the caller escaped them); ``indents[i]`` indents row ``i``'s
    first cell by that many levels; ``titles[k]`` is a tooltip explaining column ``k``; the columns
    in ``wrap`` (long prose) wrap their text instead of widening the table."""
    cell = "padding:2px 6px;border-bottom:1px solid #e0e0e0;vertical-align:top;"
    space = ["white-space:normal;min-width:12em;" if k in wrap else "white-space:nowrap;" for k in range(len(head))]
    ths = []
    for k, h in enumerate(head):
        tip = f' title="{esc(titles[k])}"' if titles and titles[k] else ""
        align = "left" if k < left else "right"
        ths.append(f'<th style="{cell}{space[k]}text-align:{align};font-weight:600"{tip}>{esc(h)}</th>')
    trs = []
    for i, r in enumerate(rows):
        tds = []
        for k, c in enumerate(r):
            text = str(c) if raw else esc(c)
            pad = f"padding-left:{6 + 14 * indents[i]}px;" if (k == 0 and indents) else ""
            tds.append(f'<td style="{cell}{space[k]}text-align:{"left" if k < left else "right"};{pad}">{text}</td>')
        trs.append("<tr>" + "".join(tds) + "</tr>")
    return ('<div style="overflow-x:auto;max-width:100%"><table style="border-collapse:collapse;font-size:12px;'
            'font-variant-numeric:tabular-nums">'
            f'<thead><tr>{"".join(ths)}</tr></thead><tbody>{"".join(trs)}</tbody></table></div>')


def badge(text: str) -> str:
    """A coloured label for a verdict (green healthy, orange a warning, red a problem)."""
    color = VERDICT_COLORS.get(text.lower(), "#546e7a")
    return (f'<span style="background:{color};color:#fff;border-radius:3px;padding:0 5px;font-size:11px;'
            f'font-weight:600">{esc(text)}</span>')


def box(title: str, body: str, subtitle: str = "") -> str:
    """The frame of one display: a heading (escaped), an optional subtitle (escaped) and ``body`` (HTML)."""
    sub = f'<div style="color:#555;margin-bottom:4px">{esc(subtitle)}</div>' if subtitle else ""
    return (f'<div style="{FONT};max-width:100%;box-sizing:border-box;border:1px solid #d0d7de;border-radius:6px;'
            f'padding:8px 10px;overflow-wrap:anywhere;color:#24292f;background:#fff">'
            f'<div style="font-weight:700;font-size:14px;margin-bottom:2px">{esc(title)}</div>{sub}{body}</div>')


def details(summary: str, body: str, open_: bool = False) -> str:
    """A collapsible section (``<details>``): ``summary`` is escaped, ``body`` is HTML."""
    return (f'<details{" open" if open_ else ""} style="margin-top:6px"><summary style="cursor:pointer;'
            f'font-weight:600">{esc(summary)}</summary><div style="margin-top:4px">{body}</div></details>')


def paragraph(text: str, muted: bool = False) -> str:
    """One escaped paragraph."""
    color = "color:#555;" if muted else ""
    return f'<p style="margin:4px 0;{color}">{esc(text)}</p>'


def svg_chart(series: Sequence[tuple[str, ArrayLike, ArrayLike]], *, logx: bool = False,
              logy: bool = False, marks: Sequence[tuple[float, str]] = (), xlabel: str = "", ylabel: str = "",
              title: str = "") -> str:
    """A small inline SVG line chart that scales to its container's width.

    ``series`` is ``(label, xs, ys)`` per line; non-finite points break the line (a loss that
    went to NaN simply ends).  ``marks`` are vertical dashed lines ``(x, label)``.  Returns ""
    when there is nothing finite to draw."""
    pts = [(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)) for _, xs, ys in series]

    def tx(a: np.ndarray, log: bool) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(np.where(a > 0, a, np.nan)) if log else a

    xs_all = np.concatenate([tx(x, logx) for x, _ in pts]) if pts else np.array([])
    ys_all = np.concatenate([tx(y, logy) for _, y in pts]) if pts else np.array([])
    ok = np.isfinite(xs_all) & np.isfinite(ys_all)
    if not ok.any():
        return ""
    x0, x1 = float(xs_all[ok].min()), float(xs_all[ok].max())
    y0, y1 = float(ys_all[ok].min()), float(ys_all[ok].max())
    x1, y1 = (x1 if x1 > x0 else x0 + 1.0), (y1 if y1 > y0 else y0 + 1.0)
    w, h, left, right, top, bottom = 400.0, 170.0, 46.0, 8.0, 16.0, 30.0

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (w - left - right)

    def py(y: float) -> float:
        return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom)

    parts = [f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="none" '
             'stroke="#ccc"/>']
    for k, (x, y) in enumerate(pts):
        color = COLORS[k % len(COLORS)]
        lx, ly = tx(x, logx), tx(y, logy)
        segment: list[str] = []
        for a, b in [*zip(lx, ly), (math.nan, math.nan)]:
            if math.isfinite(a) and math.isfinite(b):
                segment.append(f"{px(a):.1f},{py(b):.1f}")
                continue
            if len(segment) == 1:
                parts.append(f'<circle cx="{segment[0].split(",")[0]}" cy="{segment[0].split(",")[1]}" r="2" '
                             f'fill="{color}"/>')
            elif segment:
                parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{color}" '
                             'stroke-width="1.5"/>')
            segment = []
    for k, (mark, label) in enumerate(marks):
        v = float(tx(np.array([mark], dtype=np.float64), logx)[0])
        if math.isfinite(v):
            # labels step down one line each, so marks close together stay legible
            parts.append(f'<line x1="{px(v):.1f}" x2="{px(v):.1f}" y1="{top}" y2="{h - bottom}" stroke="#555" '
                         f'stroke-dasharray="3,3"><title>{esc(label)}</title></line>')
            parts.append(f'<text x="{px(v) + 2:.1f}" y="{top + 10 + 10 * k}" font-size="9" fill="#555">{esc(label)}'
                         '</text>')

    def tick(v: float, log: bool) -> str:
        return f"{10 ** v:.2g}" if log else f"{v:.3g}"

    parts += [f'<text x="{left}" y="{h - bottom + 12}" font-size="9">{esc(tick(x0, logx))}</text>',
              f'<text x="{w - right}" y="{h - bottom + 12}" font-size="9" text-anchor="end">{esc(tick(x1, logx))}'
              '</text>',
              f'<text x="{left - 3}" y="{h - bottom}" font-size="9" text-anchor="end">{esc(tick(y0, logy))}</text>',
              f'<text x="{left - 3}" y="{top + 8}" font-size="9" text-anchor="end">{esc(tick(y1, logy))}</text>',
              f'<text x="{(left + w - right) / 2}" y="{h - 4}" font-size="10" text-anchor="middle">{esc(xlabel)}'
              '</text>',
              f'<text x="10" y="{(top + h - bottom) / 2}" font-size="10" text-anchor="middle" '
              f'transform="rotate(-90 10 {(top + h - bottom) / 2})">{esc(ylabel)}</text>']
    legend = " ".join(f'<span style="color:{COLORS[k % len(COLORS)]}">&#9644; {esc(label)}</span>'
                      for k, (label, _, _) in enumerate(series))
    head = f'<div style="font-size:12px">{esc(title)} {legend}</div>' if (title or len(series) > 1) else ""
    return (f'{head}<svg viewBox="0 0 {w:.0f} {h:.0f}" style="width:100%;max-width:520px;height:auto" '
            f'role="img" xmlns="http://www.w3.org/2000/svg"><title>{esc(title or ylabel)}</title>'
            f'{"".join(parts)}</svg>')
