"""The playground's web app (Starlette; needs the ``[playground]`` extra): the page and one
WebSocket per browser tab, each with its own :class:`~gradwise.playground.session.Session`.

Security: every request and socket must carry the random ``token`` in its URL; the ``Host`` header
must name the address the server was started on, and an ``Origin`` header, when sent, that same
address (a page on another site, or a DNS-rebound name, is refused); responses forbid framing,
sniffing, referrers and every source but the app itself.  Limits: at most ``max_sessions`` sockets
at once, ``MAX_STEPS_PER_SECOND`` updates per second per session, and a session without a message
for ``idle_seconds`` is closed and freed.

Threads: every session's training and views run on one worker thread, in turn.  gradwise's grad
mode (``no_grad``) is one flag for the whole process, so a session evaluating under ``no_grad`` on
one thread would stop another from recording its graph on a second thread; one engine thread also
keeps the server to one core's worth of training, however many tabs play.

Protocol: the page sends ``{"type": ...}`` messages (see :mod:`gradwise.playground.session`); the
server answers each, and while a session plays it sends a ``views`` message every frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib.resources
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gradwise.playground.session import Session, error

FRAME_SECONDS = 1 / 15          # at most 15 views per second per session
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
T = TypeVar("T")
# One lock for every app in the process: gradwise's grad mode is a process-wide flag, so two
# engines (two apps in one process, as in tests) must never train at the same time either.
ENGINE_LOCK = threading.Lock()
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Limits:
    """``max_sessions`` open at once; a session is closed after ``idle_seconds`` without a message."""

    max_sessions: int = 8
    idle_seconds: float = 900.0


def _asset(name: str) -> str:
    return importlib.resources.files("gradwise.playground").joinpath("static", name).read_text(encoding="utf-8")


class Guard:
    """ASGI middleware: refuses any HTTP request or WebSocket without the token, with a foreign
    ``Host``, or with a foreign ``Origin`` (403, or a refused socket), before the app sees it."""

    def __init__(self, app: Any, token: str, hosts: frozenset[str]) -> None:
        self.app, self.token, self.hosts = app, token, hosts
        self.origins = frozenset(f"http://{h}" for h in hosts)

    def refusal(self, scope: dict[str, Any]) -> str | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if headers.get("host", "") not in self.hosts:
            return "forbidden: unknown Host header"
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return "forbidden: foreign Origin"
        query = dict(p.partition("=")[::2] for p in scope.get("query_string", b"").decode("latin-1").split("&"))
        if not hmac.compare_digest(query.get("token", "").encode(), self.token.encode()):
            return "forbidden: missing or wrong token; open the address 'gradwise playground' printed"
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = self.refusal(scope)
        if reason is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await PlainTextResponse(reason, status_code=403, headers=SECURITY_HEADERS)(scope, receive, send)
        else:
            await receive()                                             # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})


def create_app(token: str, hosts: set[str] | frozenset[str], limits: Limits | None = None) -> Starlette:
    """The app: ``GET /?token=...`` (the page), ``/app.js``, ``/app.css`` and the socket ``/ws``.

    ``hosts``: the ``Host`` header values accepted, e.g. ``{"127.0.0.1:8765", "localhost:8765"}``.
    """
    limits = limits or Limits()
    sessions: set[Session] = set()
    page = _asset("index.html").replace("{{TOKEN}}", token)
    engine = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradwise-playground")

    def locked(fn: Callable[..., T], *args: Any) -> T:
        with ENGINE_LOCK:
            return fn(*args)

    async def run(fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(engine, locked, fn, *args)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # let the update in flight finish: no engine work outlives the app
        await asyncio.get_running_loop().run_in_executor(None, lambda: engine.shutdown(wait=True,
                                                                                       cancel_futures=True))

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return PlainTextResponse("not found", status_code=404, headers=SECURITY_HEADERS)
        return Response(_asset(name), media_type=STATIC[name], headers=SECURITY_HEADERS)

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        if len(sessions) >= limits.max_sessions:
            await ws.send_json(error(f"too many sessions: at most {limits.max_sessions} tabs at once; close "
                                     "another playground tab and reload"))
            await ws.close(code=1013)
            return
        session = await run(Session)
        sessions.add(session)
        try:
            await _serve(ws, session, limits, run)
        finally:
            sessions.discard(session)

    app = Starlette(routes=[Route("/", index), Route("/{name}", static), WebSocketRoute("/ws", socket)],
                    lifespan=lifespan)
    app.state.sessions = sessions
    app.add_middleware(Guard, token=token, hosts=frozenset(hosts))
    return app


async def _serve(ws: WebSocket, session: Session, limits: Limits, run: Any) -> None:
    """Read messages into a queue; answer them; while playing, send a frame every FRAME_SECONDS."""
    inbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=32)

    async def read() -> None:
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                await inbox.put(msg.get("text") if msg.get("text") is not None else "\x00binary")
        except (WebSocketDisconnect, RuntimeError):
            pass
        await inbox.put(None)

    reader = asyncio.create_task(read())
    owed = 0.0                              # updates due but not yet taken (fractions carry over)
    last_frame = time.monotonic()
    try:
        while True:
            idle_left = limits.idle_seconds - (time.monotonic() - session.last_active)
            if idle_left <= 0:
                await ws.send_json(error(f"session closed after {limits.idle_seconds:g} s without input; reload "
                                         "the page to start again"))
                await ws.close(code=1000)
                return
            wait = min(FRAME_SECONDS, idle_left) if session.playing else idle_left
            try:
                text = await asyncio.wait_for(inbox.get(), timeout=max(wait, 0.0))
            except asyncio.TimeoutError:
                text = ""
            if text is None:
                return
            if text:
                replies = await run(session.handle, None if text == "\x00binary" else text)
                for reply in replies:
                    await ws.send_json(reply)
                last_frame = time.monotonic()
                continue
            now = time.monotonic()
            if session.playing:
                # The speed is a rate: updates owed since the last frame.  When the engine thread is
                # busy (many tabs) frames come less often and each takes more updates, so the speed
                # holds; at most half a second's worth, so a stall does not end in a long burst.
                owed = min(owed + session.speed * (now - last_frame), 0.5 * session.speed + 1)
                n, owed = int(owed), owed - int(owed)
                last_frame = now
                if n > 0:
                    await ws.send_json(await run(session.advance, n))
    except WebSocketDisconnect:
        return
    finally:
        reader.cancel()
