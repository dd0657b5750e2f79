"""Load test of the playground server: N concurrent sessions playing for S seconds, on loopback only.

    python -m benchmarks.playground_load [--sessions 20] [--seconds 30] [--speed 30]

Starts the real ``gradwise playground`` (``--max-sessions N``) on a free 127.0.0.1 port, opens N
WebSockets that each press play at ``--speed`` updates per second, counts the views every session
receives, checks that one session more is refused ("too many sessions"), closes them all, and reads
the server's resident memory (``/proc/PID/status``) before, at the peak, and after they closed; then
does it all again (``--waves``): memory that stays flat from one round to the next means closed
sessions were freed (CPython keeps freed pages for reuse, so it does not fall back to the start).
Every session must be served (views arriving throughout); the speeds are capped per session, so the
total is bounded by N x 200 updates per second whatever the clients ask.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks.playground import start_server


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def session(url: str, origin: str, seconds: float, speed: float) -> dict[str, float]:
    import websockets

    async with websockets.connect(url, origin=origin, max_size=2**22) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "hello"}))
        for _ in range(4):
            await ws.recv()
        await ws.send(json.dumps({"type": "speed", "value": speed}))
        await ws.recv()
        await ws.send(json.dumps({"type": "play"}))
        start = time.perf_counter()
        views, last_step, gaps = 0, 0, 0.0
        previous = start
        while (now := time.perf_counter()) - start < seconds:
            try:
                msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=max(0.05, seconds - (now - start))))
            except asyncio.TimeoutError:
                break
            if msg["type"] == "views":
                views += 1
                last_step = msg["step"]
                gaps = max(gaps, time.perf_counter() - previous)
                previous = time.perf_counter()
        await ws.send(json.dumps({"type": "pause"}))
        return {"views": views, "steps": last_step, "longest_gap_s": gaps}


async def refused(url: str, origin: str) -> str:
    import websockets

    async with websockets.connect(url, origin=origin) as ws:  # type: ignore[arg-type]
        return str(json.loads(await ws.recv()).get("message", ""))


async def run(url: str, n: int, seconds: float, speed: float, pid: int) -> None:
    origin = url.replace("ws://", "http://").split("/ws")[0]
    tasks = [asyncio.create_task(session(url, origin, seconds, speed)) for _ in range(n)]
    await asyncio.sleep(min(3.0, seconds / 2))
    extra = await refused(url, origin)
    peak = rss_mib(pid)
    results = await asyncio.gather(*tasks)
    await asyncio.sleep(2.0)
    after = rss_mib(pid)
    steps = [r["steps"] for r in results]
    print(f"{n} sessions x {seconds:g} s at {speed:g} updates/s each")
    print(f"  views per session: min {min(r['views'] for r in results)}, max {max(r['views'] for r in results)}")
    print(f"  updates per session: min {min(steps)}, max {max(steps)} (asked {speed * seconds:.0f})")
    print(f"  longest wait between two views: {max(r['longest_gap_s'] for r in results):.2f} s")
    print(f"  session {n + 1}: {extra!r}")
    print(f"  server memory: peak {peak:.0f} MiB, 2 s after closing {after:.0f} MiB")
    assert all(r["views"] > 0 for r in results), "a session was not served"
    assert "too many sessions" in extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--speed", type=float, default=30.0)
    parser.add_argument("--waves", type=int, default=2,
                        help="rounds of N sessions one after the other (default 2): memory after the second "
                             "round shows whether closed sessions were freed")
    args = parser.parse_args()
    proc, url = start_server("--max-sessions", str(args.sessions))
    try:
        time.sleep(0.5)
        before = rss_mib(proc.pid)
        print(f"server memory before: {before:.0f} MiB")
        for wave in range(args.waves):
            print(f"round {wave + 1}: ", end="")
            asyncio.run(run(url, args.sessions, args.seconds, args.speed, proc.pid))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
