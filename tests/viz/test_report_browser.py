"""The HTML report in a real browser: headless Chromium loads it with no console errors and no
network requests, every figure has a non-zero size, and a full-page screenshot is saved.

The browser is driven over the Chrome DevTools Protocol through ``--remote-debugging-pipe``
(file descriptors 3 and 4, NUL-separated JSON): no Python package, no port, no download.
Skipped when no Chromium/Chrome binary is found (Debian: ``apt-get install chromium``; or
set ``GRADWISE_CHROMIUM`` to the binary).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import pytest

import gradwise as gw
from gradwise import nn

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def _binary() -> str | None:
    env = os.environ.get("GRADWISE_CHROMIUM")
    if env:
        return env
    return next((p for p in map(shutil.which, BINARIES) if p), None)


class Chromium:
    """A headless Chromium and one page, spoken to over the DevTools pipe."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="gradwise-chromium-")
        cmd_r, self.cmd_w = os.pipe()           # commands: we write, the browser reads on its fd 3
        self.resp_r, resp_w = os.pipe()         # answers: the browser writes on its fd 4
        # lift the browser's ends above fd 10 so that moving them onto 3 and 4 cannot clobber each other
        child_r, child_w = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(resp_w, fcntl.F_DUPFD, 10)
        os.close(cmd_r)
        os.close(resp_w)

        def onto_3_and_4() -> None:
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
                "--hide-scrollbars", f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=onto_3_and_4, close_fds=False, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(child_r)
        os.close(child_w)
        self.buf, self.last_id, self.events = b"", 0, []
        self.session: str | None = None

    def send(self, method: str, params: dict | None = None, page: bool = True, timeout: float = 60) -> dict:
        self.last_id += 1
        msg = {"id": self.last_id, "method": method, "params": params or {}}
        if page and self.session:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read(timeout)
            if m.get("id") == self.last_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
            self.events.append(m)

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            if select.select([self.resp_r], [], [], left)[0]:
                chunk = os.read(self.resp_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\0")
        return json.loads(raw)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(max(deadline - time.monotonic(), 0.01))
            self.events.append(m)
            if m.get("method") == method:
                return m

    def open(self, url: str, width: int = 1280, height: int = 900) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 page=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> object:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, width: int = 1280) -> bytes:
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def close(self) -> None:
        try:
            self.send("Browser.close", page=False, timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.cmd_w)
        os.close(self.resp_r)
        shutil.rmtree(self.profile, ignore_errors=True)


def _console_errors(events: list[dict]) -> list[str]:
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(json.dumps(params.get("args"))[:300])
        elif method == "Runtime.exceptionThrown":
            out.append(json.dumps(params.get("exceptionDetails"))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            out.append(params["entry"].get("text", "")[:300])
    return out


def _requests(events: list[dict], page_url: str) -> list[str]:
    """Every URL the page asked for, apart from the page itself and data: URIs (embedded bytes)."""
    urls = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    return [u for u in urls if u != page_url and not u.startswith("data:")]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    pytest.importorskip("matplotlib")
    from gradwise import viz
    from gradwise.data import DataLoader, TensorDataset
    from gradwise.insight import GradientMonitor, HistogramRecorder, ParameterRecorder, lr_find, snapshot, trajectory
    from gradwise.insight import interpolate as interp

    gen = gw.Generator().manual_seed(0)
    x = gw.randn(80, 3, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(3, 8, generator=gen), nn.Sigmoid(), nn.Linear(8, 2, generator=gen))
    init = snapshot(model)
    monitor, hist, path = GradientMonitor(model), HistogramRecorder(bins=12), ParameterRecorder()
    history = gw.train.fit(model, nn.CrossEntropyLoss(), gw.optim.Adam(model.parameters(), lr=0.05), (x, y),
                           epochs=4, batch_size=16, val_data=(x, y), metrics=["accuracy"],
                           callbacks=[monitor, hist, path], progress=False, generator=gen)
    loss = nn.CrossEntropyLoss()
    fresh = nn.Sequential(nn.Linear(3, 8, generator=gen), nn.Sigmoid(), nn.Linear(8, 2, generator=gen))
    lr = lr_find(fresh, loss, gw.optim.SGD(fresh.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=80),
                 start_lr=1e-3, end_lr=100.0, num_iter=60)
    scapes = [interp(model, loss, (x, y), init, snapshot(model), labels=("init", "trained")),
              trajectory(model, loss, (x, y), path.snapshots, steps=7)]
    out = tmp_path_factory.mktemp("report") / "report.html"
    viz.report(history, monitor, out, config={"dataset": "toy", "model": "mlp:8"}, histograms=hist,
               lr_finder=lr, landscapes=scapes)
    return out


def test_report_renders_in_headless_chromium(report_file):
    binary = _binary()
    if binary is None:
        pytest.skip("no Chromium or Chrome binary found (Debian: apt-get install chromium; or set GRADWISE_CHROMIUM)")
    url = report_file.resolve().as_uri()
    browser = Chromium(binary)
    try:
        browser.open(url)
        sizes = browser.evaluate(
            "JSON.stringify(Array.from(document.querySelectorAll('figure.plot')).map(function (f) {"
            " var r = f.querySelector('svg').getBoundingClientRect(); return [f.id, r.width, r.height]; }))")
        title = browser.evaluate("document.title")
        verdicts = browser.evaluate("document.querySelectorAll('#verdicts tr').length")
        shot = browser.screenshot()
    finally:
        browser.close()
    figures = json.loads(sizes)
    assert [f[0] for f in figures] == ["fig-training-curves", "fig-gradient-flow", "fig-histograms", "fig-lr-finder",
                                       "fig-landscape-0", "fig-landscape-1"]
    assert all(w > 100 and h > 100 for _, w, h in figures), figures
    assert "toy" in title and verdicts == 3                   # a header row and one row per layer
    assert _console_errors(browser.events) == []
    assert _requests(browser.events, url) == []
    shot_path = report_file.parent / "report.png"
    shot_path.write_bytes(shot)
    assert shot.startswith(b"\x89PNG\r\n\x1a\n") and len(shot) > 50_000


def test_the_checks_catch_console_errors_and_requests(tmp_path):
    """The two checks above are not vacuous: a page that logs an error and fetches an image fails both."""
    binary = _binary()
    if binary is None:
        pytest.skip("no Chromium or Chrome binary found (Debian: apt-get install chromium; or set GRADWISE_CHROMIUM)")
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("broken figure")</script>'
                    '<img src="http://127.0.0.1:9/missing.png"></body></html>', encoding="utf-8")
    browser = Chromium(binary)
    try:
        browser.open(page.as_uri())
        time.sleep(0.2)
        browser.evaluate("1")
    finally:
        browser.close()
    assert any("broken figure" in e for e in _console_errors(browser.events))
    assert "http://127.0.0.1:9/missing.png" in _requests(browser.events, page.as_uri())
