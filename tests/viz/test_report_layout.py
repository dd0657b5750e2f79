"""The report fits a phone: at 420 CSS px wide nothing makes the page wider than the screen; wide
tables scroll inside their box.  Checked on the style sheet's rules and in headless Chromium
(the DevTools-pipe driver of ``test_report_browser.py``), on a run report and a comparison page."""

from __future__ import annotations

import json

import pytest
from test_report_browser import Chromium, _binary

from gradwise.viz.report_page import CSS

WIDTH = 420


def test_the_style_sheet_has_the_responsive_rules():
    compact = " ".join(CSS.split())
    assert ".scroll { overflow-x: auto; max-width: 100%;" in compact
    assert "figure.plot svg, figure.plot img { max-width: 100%; height: auto;" in compact
    assert "@media (max-width: 600px)" in compact
    assert "overflow-wrap: anywhere" in compact


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    pytest.importorskip("matplotlib")
    from gradwise.runs.folders import train_run
    from gradwise.runs.recipe import RunConfig
    from gradwise.viz.report_compare import compare_runs

    root = tmp_path_factory.mktemp("layout")
    a = train_run(RunConfig(dataset="digits", model="mlp:16", epochs=2, batch_size=64, progress=False),
                  root / "digits-a").run_dir
    b = train_run(RunConfig(dataset="digits", model="mlp:8", optimizer="sgd", lr=0.1, epochs=2, batch_size=64,
                            progress=False), root / "digits-b").run_dir
    return {"report": a / "report.html", "compare": compare_runs([a, b], root / "compare.html")}


_MEASURE = """JSON.stringify({
  page: document.documentElement.scrollWidth,
  boxes: Array.from(document.querySelectorAll('section, figure, .scroll, .card, pre, h1')).map(function (el) {
    var r = el.getBoundingClientRect(); return [el.id || el.className || el.tagName, r.left, r.right]; }),
  scrolled: Array.from(document.querySelectorAll('.scroll')).filter(function (el) {
    return el.scrollWidth > el.clientWidth; }).map(function (el) { var t = el.querySelector('table');
    return t ? t.id : ''; })
})"""


@pytest.mark.parametrize("which", ["report", "compare"])
def test_nothing_overflows_at_420_px(pages, which):
    binary = _binary()
    if binary is None:
        pytest.skip("no Chromium or Chrome binary found (Debian: apt-get install chromium; or set GRADWISE_CHROMIUM)")
    path = pages[which]
    browser = Chromium(binary)
    try:
        browser.open(path.resolve().as_uri(), width=WIDTH, height=900)
        measured = json.loads(browser.evaluate(_MEASURE))
        shot = browser.screenshot(width=WIDTH)
    finally:
        browser.close()
    (path.parent / f"{which}-{WIDTH}.png").write_bytes(shot)
    assert measured["page"] <= WIDTH, measured["page"]
    outside = [b for b in measured["boxes"] if b[1] < -0.5 or b[2] > WIDTH + 0.5]
    assert outside == [], outside
    if which == "report":
        # the wide tables are there and scroll inside their box instead of widening the page
        assert "confusion" in measured["scrolled"] or "verdicts" in measured["scrolled"], measured["scrolled"]


def test_the_measure_catches_an_overflowing_table(tmp_path):
    """Not vacuous: the same page style with a wide table outside a ``.scroll`` box is wider than 420 px."""
    binary = _binary()
    if binary is None:
        pytest.skip("no Chromium or Chrome binary found (Debian: apt-get install chromium; or set GRADWISE_CHROMIUM)")
    from gradwise.viz.report_page import Page

    page = Page()
    cells = "".join(f"<td>column {i}</td>" for i in range(40))
    page.add(f'<section id="wide"><table id="wide-table"><tr>{cells}</tr></table></section>')
    path = tmp_path / "wide.html"
    path.write_text(page.html("wide"), encoding="utf-8")
    browser = Chromium(binary)
    try:
        browser.open(path.resolve().as_uri(), width=WIDTH, height=900)
        measured = json.loads(browser.evaluate(_MEASURE))
    finally:
        browser.close()
    assert measured["page"] > WIDTH
