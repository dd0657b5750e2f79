"""How a :class:`~gradwise.train.history.History` shows itself: a text table of the epochs for
``repr()`` and, in Jupyter, the same table under a chart of the loss curves (``_repr_html_``).

>>> from gradwise.train.history import History
>>> h = History()
>>> h.log_epoch(epoch=0, loss=0.69, lr=0.1, samples_seen=32, wall_time=0.01, accuracy=0.5)
>>> print(history_text(h))
History: 1 epoch, 0 steps
epoch    loss  accuracy   lr
    1  0.6900    0.5000  0.1
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from gradwise.train.html_repr import box, paragraph, svg_chart, table, text_table

if TYPE_CHECKING:  # pragma: no cover
    from gradwise.train.history import History

MAX_ROWS = 12        # the table shows the first and last epochs of a long run, the chart shows all
_HIDDEN = ("epoch", "lr", "samples_seen", "wall_time")


def _columns(h: History) -> list[str]:
    keys = [k for k in h.epochs if k not in _HIDDEN]
    # the training figures first, then their validation twins, then the learning rate
    return [k for k in keys if not k.startswith("val_")] + [k for k in keys if k.startswith("val_")] + \
        (["lr"] if "lr" in h.epochs else [])


def _fmt(key: str, v: float) -> str:
    if not math.isfinite(v):
        return "-" if math.isnan(v) and key.startswith("val_") else str(v)
    return f"{v:.3g}" if key == "lr" else f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"


def _rows(h: History) -> tuple[list[str], list[list[str]], int]:
    """``(head, rows, skipped)``: one row per shown epoch; long runs skip the middle epochs."""
    cols = _columns(h)
    ep = h.epochs
    n = len(h)
    idx = list(range(n)) if n <= MAX_ROWS else [*range(3), *range(n - (MAX_ROWS - 3), n)]
    rows = [[str(int(ep["epoch"][i]) + 1), *(_fmt(k, float(ep[k][i])) for k in cols)] for i in idx]
    if n > MAX_ROWS:
        rows.insert(3, ["...", *("" for _ in cols)])
    return ["epoch", *cols], rows, n - len(idx)


def _title(h: History) -> str:
    n, steps = len(h), len(h.steps["step"])
    return f"History: {n} epoch{'s' if n != 1 else ''}, {steps} step{'s' if steps != 1 else ''}"


def history_text(h: History) -> str:
    """The title line and one row per epoch (the loss, every metric, the ``val_`` figures and the LR)."""
    if not len(h):
        return _title(h) + " (no epoch recorded yet)"
    head, rows, skipped = _rows(h)
    tail = f"\n({skipped} epochs in the middle not shown)" if skipped else ""
    return f"{_title(h)}\n{text_table(head, rows, left=0)}{tail}"


def history_html(h: History) -> str:
    """A chart of the training loss per step and per epoch (and ``val_loss``), then the epoch table."""
    if not len(h) and not len(h.steps["step"]):
        return box(_title(h), paragraph("no epoch recorded yet", muted=True))
    s, ep = h.steps, h.epochs
    series = []
    if len(s["step"]):
        series.append(("loss per step", s["samples_seen"], s["loss"]))
    if len(h) and "loss" in ep:
        series.append(("epoch mean loss", ep["samples_seen"], ep["loss"]))
    if len(h) and "val_loss" in ep:
        series.append(("val_loss", ep["samples_seen"], ep["val_loss"]))
    chart = svg_chart(series, xlabel="samples seen", ylabel="loss", title="loss")
    body = chart
    if len(h):
        head, rows, skipped = _rows(h)
        body += table(head, rows, left=0, titles=["epoch number, from 1", *("" for _ in head[1:])])
        if skipped:
            body += paragraph(f"{skipped} epochs in the middle not shown (history.epochs has them all)", muted=True)
    last = ", ".join(f"{k} {_fmt(k, float(ep[k][-1]))}" for k in _columns(h) if k != "lr") if len(h) else ""
    return box(_title(h), body, subtitle=f"last epoch: {last}" if last else "")
