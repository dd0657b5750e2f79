"""The classification section of a run's report: the test split's confusion matrix (an HTML table
shaded by the share of each true class) and the worst-misclassified samples (as small images for
image data sets such as digits and MNIST, else as a table).

It draws ``facts["classification"]`` as :func:`gradwise.runs.run_facts.classification_facts`
saves it: ``classes``, ``confusion`` (rows true, columns predicted), ``worst`` (each with
``index``, ``true``, ``predicted``, ``loss``, ``confidence`` and ``pixels`` or ``None``),
``image_shape``, ``misclassified``, ``samples``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gradwise.viz.figure_files import figure
from gradwise.viz.report_page import Page, e, num, table, term


def classification_section(page: Page, facts: Mapping[str, Any]) -> None:
    data = facts.get("classification")
    if not isinstance(data, Mapping) or not data.get("confusion"):
        return
    classes = [str(c) for c in data.get("classes", [])]
    confusion = np.asarray(data["confusion"], dtype=np.int64)
    split = data.get("split", "test")
    page.add('<section id="classification"><h2>Classification: where the mistakes are</h2>')
    page.add(f"<h3>{term('confusion matrix', 'Confusion matrix')} ({e(split)} split, {num(data.get('samples'))} "
             f"samples, {num(data.get('misclassified'))} wrong)</h3>")
    page.add(confusion_table(confusion, classes))
    worst = data.get("worst") or []
    if worst:
        page.add(f"<h3>{term('worst misclassified', 'Worst misclassified')} samples (highest loss first)</h3>")
        shape = data.get("image_shape")
        if shape and all(w.get("pixels") for w in worst):
            page.figure(worst_images(worst, classes, (int(shape[0]), int(shape[1])), data.get("pixel_range")),
                        "worst-misclassified",
                        "Each image: the true class, what the model predicted with its probability, and the loss.")
        rows = [[num(w["index"]), e(_name(classes, w["true"])), e(_name(classes, w["predicted"])),
                 f"{w['confidence']:.1%}" if isinstance(w.get("confidence"), (int, float)) else "-", num(w.get("loss"))]
                for w in worst]
        head = ["sample", "true", "predicted", term("confidence"),
                '<abbr title="This sample\'s cross-entropy: -log of the probability given to the true class.">'
                "loss</abbr>"]
        page.add(table(head, rows, table_id="worst-table", raw_head=True))
    page.add("</section>")


def _name(classes: Sequence[str], k: int) -> str:
    return classes[k] if 0 <= k < len(classes) else str(k)


def confusion_table(confusion: np.ndarray, classes: Sequence[str]) -> str:
    """Rows true, columns predicted; a cell's blue shade is its share of the row (the true class),
    off-diagonal mistakes are shaded red."""
    k = confusion.shape[0]
    names = [_name(classes, i) for i in range(k)]
    totals = confusion.sum(axis=1)
    head = ["true \\ predicted"] + names + ["recall"]
    rows = []
    for i in range(k):
        cells = [f"<b>{e(names[i])}</b>"]
        for j in range(k):
            share = confusion[i, j] / totals[i] if totals[i] else 0.0
            colour = "33,102,172" if i == j else "198,40,40"
            alpha = min(0.85, max(0.15, share)) if confusion[i, j] else 0.0   # any mistake stays visible
            ink = "#fff" if alpha > 0.5 else "inherit"
            cells.append(f'<span class="cm-cell" style="background:rgba({colour},{alpha:.2f});color:{ink};'
                         f'display:block">{int(confusion[i, j])}</span>')
        cells.append(f"{confusion[i, i] / totals[i]:.0%}" if totals[i] else "-")
        rows.append(cells)
    return table(head, rows, table_id="confusion", cls="confusion", raw_head=True)


def worst_images(worst: Sequence[Mapping[str, Any]], classes: Sequence[str], shape: tuple[int, int],
                 pixel_range: Sequence[float] | None = None) -> Any:
    """A grid of the samples as grey images (ink dark), each titled with its true class, the
    prediction with its probability and its loss.  ``pixel_range`` is the data set's ink range
    (digits 0-16, MNIST 0-1); without it each image is scaled to its own 2-98th percentiles."""
    n = len(worst)
    cols = min(6, n)
    rows = math.ceil(n / cols)
    fig = figure(1.45 * cols, 1.75 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for ax in axes:
        ax.set_axis_off()
    for ax, w in zip(axes, worst):
        img = np.asarray(w["pixels"], dtype=np.float64).reshape(shape)
        if pixel_range is not None:
            lo, hi = float(pixel_range[0]), float(pixel_range[1])
        else:       # a robust range keeps one extreme pixel from washing out the rest
            lo, hi = (float(v) for v in np.percentile(img, [2, 98]))
        ax.set_axis_on()
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#b0b6c0")
        ax.imshow(img, cmap="gray_r", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
        conf = w.get("confidence")
        pred = _name(classes, w["predicted"]) + (f" ({conf:.0%})" if isinstance(conf, (int, float)) else "")
        ax.set_title(f"true {_name(classes, w['true'])}\npred {pred}\nloss {num(w.get('loss'))}", fontsize=8)
    fig.suptitle("Worst-misclassified test samples", fontsize=10)
    return fig
