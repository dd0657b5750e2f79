"""The playground page in headless Chromium (playwright, Debian's /usr/bin/chromium): the real
command serves it on a free port; spirals + ReLU learn, the deep-sigmoid preset shows vanishing
gradients, bad input shows its message, and nothing leaves localhost or logs an error.

Screenshots (laptop width and 420 px) go to ``tmp_path``, and to the folder named by
``GRADWISE_PLAYGROUND_SCREENSHOTS`` when set (``docs/figures`` for docs/playground.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    log = tmp_path_factory.mktemp("playground") / "server.log"       # a file: a full pipe would block it
    with open(log, "w", encoding="utf-8") as err:
        proc = subprocess.Popen([sys.executable, "-m", "gradwise", "playground", "--port", "0", "--no-browser"],
                                stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
        assert match, f"no address printed: {line!r} {log.read_text(encoding='utf-8')}"
        yield match.group(0)
        assert "Traceback" not in log.read_text(encoding="utf-8"), log.read_text(encoding="utf-8")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server_url):
    """A fresh tab that records console errors and aborts (and records) any request off localhost."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    tab.problems = []
    tab.outside = []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            tab.outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab.on("console", lambda m: tab.problems.append(m.text) if m.type in ("error", "warning") else None)
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    tab.on("websocket", lambda ws: None if urlparse(ws.url).hostname == "127.0.0.1" else tab.outside.append(ws.url))
    tab.goto(server_url)
    tab.wait_for_function("() => document.querySelectorAll('[data-preset]').length > 0 && "
                          "document.getElementById('loss-text').dataset.trainLoss !== undefined")
    yield tab
    assert tab.problems == [], tab.problems
    assert tab.outside == [], tab.outside
    context.close()


def train_loss(tab):
    return float(tab.get_attribute("#loss-text", "data-train-loss"))


def step_of(tab):
    return int(re.search(r"step (\d+)", tab.inner_text("#status")).group(1))


def play_until(tab, steps):
    tab.click("#play")
    tab.wait_for_function(f"() => /step (\\d+)/.exec(document.getElementById('status').textContent)[1] >= {steps}",
                          timeout=60_000)
    tab.click("#play")
    tab.wait_for_function("() => !document.getElementById('play').classList.contains('active')")


def set_speed(tab, value):
    tab.eval_on_selector("#speed", f"(el) => {{ el.value = {value}; el.dispatchEvent(new Event('change')); }}")
    tab.wait_for_function(f"() => document.getElementById('speed-out').textContent == '{value}'")


def test_spirals_relu_learns_and_the_boundary_changes(page, tmp_path):
    page.select_option("#dataset", "spirals")
    page.select_option("#activation", "relu")
    page.wait_for_function("() => document.getElementById('activation').value === 'relu' && "
                           "document.getElementById('status').textContent.startsWith('step 0')")
    set_speed(page, 200)
    before_loss = train_loss(page)
    before_image = page.eval_on_selector("#boundary", "(c) => c.toDataURL()")
    play_until(page, 400)
    assert step_of(page) >= 400
    assert train_loss(page) < 0.8 * before_loss
    assert page.eval_on_selector("#boundary", "(c) => c.toDataURL()") != before_image
    shots = [tmp_path / "playground_laptop.png"]
    page.screenshot(path=str(shots[0]), full_page=True)
    page.set_viewport_size({"width": 420, "height": 900})
    shots.append(tmp_path / "playground_420.png")
    page.screenshot(path=str(shots[1]), full_page=True)
    page.click("#triptych-button")
    page.wait_for_selector("#triptych:not([hidden])", timeout=60_000)
    page.wait_for_timeout(1100)                 # one on-demand view per second per session
    page.click("#landscape-path")
    page.wait_for_selector("#landscape:not([hidden])", timeout=60_000)
    page.wait_for_timeout(1100)
    page.click("#contour-button")
    page.wait_for_selector("#contour:not([hidden])", timeout=60_000)
    cos = float(page.get_attribute("#contour-text", "data-cos"))
    assert -1.0 <= cos <= 1.0 and "steepest descent" in page.inner_text("#contour-text")
    shots.append(tmp_path / "playground_on_demand.png")
    page.locator("#on-demand").screenshot(path=str(shots[2]))
    page.screenshot(path=str(shots[1]), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 420, f"the page scrolls sideways at 420 px: {width} px wide"
    keep = os.environ.get("GRADWISE_PLAYGROUND_SCREENSHOTS")
    if keep:
        for shot in shots:
            Path(keep, shot.name).write_bytes(shot.read_bytes())


def test_deep_sigmoid_preset_shows_vanishing_on_early_layers(page, tmp_path):
    page.click("[data-preset=deep_sigmoid]")
    page.wait_for_function("() => document.getElementById('activation').value === 'sigmoid'")
    assert "stop learning" in page.inner_text("#preset-sentence")
    set_speed(page, 200)
    play_until(page, 60)
    verdicts = page.eval_on_selector_all("#gradients tbody tr", "(rows) => rows.map((r) => r.dataset.verdict)")
    assert len(verdicts) == 7 and verdicts[0] == "vanishing" and verdicts[-1] == "healthy"
    assert "vanishing" in page.inner_text("#gradients")
    keep = os.environ.get("GRADWISE_PLAYGROUND_SCREENSHOTS")
    if keep:
        page.screenshot(path=str(Path(keep, "playground_deep_sigmoid.png")), full_page=True)


def test_bad_input_shows_its_message_and_export_fills_the_script(page):
    page.fill("#hidden", "8, -2")
    page.dispatch_event("#hidden", "change")
    page.wait_for_selector("#error:not([hidden])")
    assert "hidden: layer 2 has width -2" in page.inner_text("#error")
    page.fill("#hidden", "8, 8")
    page.dispatch_event("#hidden", "change")
    page.wait_for_selector("#error", state="hidden")
    page.fill("#lr", "abc")
    page.dispatch_event("#lr", "change")
    page.wait_for_function("() => document.getElementById('error').textContent.includes('lr: must be a finite')")
    page.click("#step")
    page.click("#export")
    page.wait_for_selector("#export-panel:not([hidden])")
    script = page.input_value("#export-python")
    assert "import gradwise as gw" in script and "STEPS = " in script
    assert page.input_value("#export-command").startswith("(no gradwise train") or "gradwise train" in \
        page.input_value("#export-command")
