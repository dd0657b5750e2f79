"""The playground's speed: updates per second for a 2-8-8-2 network (the issue asks for >= 10).

    python -m benchmarks.playground [--seconds 3]

Three figures, each on the default run (spirals, 300 points, tanh, Adam, mini-batches of 16):

- engine: updates per second of ``Playground.step`` alone;
- engine + views: one full ``views()`` (the 64x64 boundary, the loss curves, the monitor's verdicts,
  the histograms) after *every* update, the page's worst case (the server sends at most 15 a second);
- over the socket: ``{"type": "step", "n": 1}`` round trips through the real server (uvicorn on
  127.0.0.1, a free port) with the views message each one answers, as the page sees them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time

from gradwise.playground.engine import Playground
from gradwise.playground.settings import parse_settings

NETWORK = {"hidden": [8, 8], "features": ["x", "y"]}      # 2-8-8-2


def rate(fn: object, seconds: float) -> float:
    """Calls of ``fn`` per second over about ``seconds``."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()                                                # type: ignore[operator]
        n += 1
    return n / (time.perf_counter() - start)


def start_server(*extra: str) -> tuple[subprocess.Popen[str], str]:
    """The real ``gradwise playground`` on a free loopback port; returns the process and its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "gradwise", "playground", "--port", "0", "--no-browser", *extra],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", proc.stdout.readline())
    if not match:
        proc.kill()
        raise SystemExit("the playground did not print its address")
    return proc, f"ws://127.0.0.1:{match.group(1)}/ws?token={match.group(2)}"


async def socket_rate(url: str, seconds: float) -> float:
    import websockets

    async with websockets.connect(url, origin=url.replace("ws://", "http://").split("/ws")[0],  # type: ignore[arg-type]
                                  max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        for _ in range(4):
            await ws.recv()
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            await ws.send(json.dumps({"type": "step", "n": 1}))
            reply = json.loads(await ws.recv())
            assert reply["type"] == "views", reply
            n += 1
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per figure (default 3)")
    args = parser.parse_args()
    pg = Playground(parse_settings(NETWORK))
    engine = rate(lambda: pg.step(1), args.seconds)

    def step_and_views() -> None:
        pg.step(1)
        pg.views()

    with_views = rate(step_and_views, args.seconds)
    proc, url = start_server()
    try:
        over_socket = asyncio.run(socket_rate(url, args.seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print("playground, 2-8-8-2 on 240 training points (updates per second; the issue asks for >= 10)")
    for name, value in (("engine", engine), ("engine + views every update", with_views),
                        ("over the socket, views every update", over_socket)):
        print(f"  {name:38s} {value:9.0f} /s  {'ok' if value >= 10 else 'BELOW 10'}")


if __name__ == "__main__":
    main()
