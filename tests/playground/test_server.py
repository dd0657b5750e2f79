"""The playground's web app through Starlette's TestClient: the token, Host and Origin checks, the
session isolation and limits, the protocol, and a clear message for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("starlette.testclient")   # needs httpx2 (or httpx)

from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from gradwise.playground.server import Limits, create_app  # noqa: E402

TOKEN = "test-token-123"
WS = f"/ws?token={TOKEN}"


@pytest.fixture
def client():
    app = create_app(TOKEN, {"testserver"}, Limits(max_sessions=3, idle_seconds=60))
    with TestClient(app) as c:
        c.sessions = app.state.sessions
        yield c


def wait_until_freed(sessions):
    deadline = time.monotonic() + 5
    while sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(sessions)


def hello(ws):
    """Open the session; returns the messages up to and including the first views."""
    ws.send_text(json.dumps({"type": "hello"}))
    got = [ws.receive_json() for _ in range(4)]
    assert [m["type"] for m in got] == ["hello", "settings", "data", "views"]
    return got


def ask(ws, msg):
    ws.send_text(msg if isinstance(msg, str) else json.dumps(msg))
    return ws.receive_json()


def test_page_and_assets_need_the_token(client):
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and f"app.js?token={TOKEN}" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get(f"/app.js?token={TOKEN}").headers["content-type"].startswith("text/javascript")
    for url in ("/", "/?token=wrong", "/app.js", "/app.css?token=", f"/?tok={TOKEN}"):
        r = client.get(url)
        assert r.status_code == 403 and "token" in r.text, url
    assert client.get(f"/secret.py?token={TOKEN}").status_code == 404


def test_page_is_fully_offline():
    from importlib.resources import files

    for name in ("index.html", "app.js", "app.css"):
        text = files("gradwise.playground").joinpath("static", name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name


def test_foreign_origin_and_host_are_rejected(client):
    assert client.get(f"/?token={TOKEN}", headers={"origin": "http://evil.example"}).status_code == 403
    assert client.get(f"/?token={TOKEN}", headers={"origin": "http://testserver"}).status_code == 200
    assert client.get(f"/?token={TOKEN}", headers={"host": "evil.example"}).status_code == 403
    with pytest.raises(WebSocketDisconnect) as err:
        with client.websocket_connect(WS, headers={"origin": "http://evil.example"}):
            pass
    assert err.value.code == 1008
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws"):
            pass
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws?token=nope"):
            pass


def test_two_sessions_do_not_interfere(client):
    with client.websocket_connect(WS) as a, client.websocket_connect(WS) as b:
        hello(a)
        hello(b)
        replies = [ask(a, {"type": "settings", "settings": {"dataset": "xor", "lr": 0.5}})]
        replies += [a.receive_json() for _ in range(2)]
        assert replies[0]["settings"]["dataset"] == "xor"
        assert ask(a, {"type": "step", "n": 5})["step"] == 5
        b_views = ask(b, {"type": "step", "n": 1})
        assert b_views["step"] == 1
        assert ask(b, {"type": "export"})["python"].count("from gradwise.data import spirals") == 1
        assert ask(a, {"type": "step", "n": 1})["step"] == 6
        assert "from gradwise.data import xor" in ask(a, {"type": "export"})["python"]
    assert wait_until_freed(client.sessions) == 0


BAD = [
    ("not json", "malformed message: not JSON"),
    ("[1, 2]", "malformed message: expected a JSON object with a 'type', got list"),
    ('{"type": "launch"}', "malformed message: unknown type 'launch'; valid: hello, settings"),
    ('{"kind": "play"}', "malformed message: unknown type None"),
    ({"type": "settings", "settings": {"hidden": [8, -3]}}, "hidden: layer 2 has width -3"),
    ({"type": "settings", "settings": {"hidden": [10000]}}, "hidden: layer 1 has width 10000"),
    ({"type": "settings", "settings": {"lr": "abc"}}, "lr: must be a finite number, got 'abc'"),
    ({"type": "settings", "settings": "lr=0.1"}, "settings: must be an object"),
    ({"type": "settings", "settings": {"optimiser": "adam"}}, "unknown setting(s) ['optimiser']"),
    ({"type": "preset", "name": "magic"}, "preset: 'magic' is not a preset"),
    ({"type": "step", "n": -1}, "step: n must be an integer from 1 to 100, got -1"),
    ({"type": "step", "n": "5"}, "step: n must be an integer from 1 to 100, got '5'"),
    ({"type": "speed", "value": 1e9}, "speed: must be in (0, 200]"),
    ({"type": "play", "fast": True}, "play: unknown field(s) ['fast']"),
    ({"type": "landscape", "kind": "3d"}, "landscape: kind '3d' is not valid; valid: random, path"),
    ({"type": "landscape", "kind": "path"}, "landscape: the path plane needs at least 3 recorded points"),
    ({"type": "contour", "i": 0, "j": 1}, "contour: take at least one update first"),
    ("x" * 20_000, "malformed message: 20000 characters, at most 16000"),
]


@pytest.mark.parametrize("msg, message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_every_bad_input_gets_its_message_and_the_session_lives_on(client, msg, message):
    with client.websocket_connect(WS) as ws:
        hello(ws)
        reply = ask(ws, msg)
        assert reply["type"] == "error" and message in reply["message"]
        assert "Traceback" not in reply["message"]
        assert ask(ws, {"type": "step", "n": 1})["step"] == 1           # still alive, state unchanged


def test_binary_frames_get_a_message(client):
    with client.websocket_connect(WS) as ws:
        hello(ws)
        ws.send_bytes(b"\x00\xff")
        assert ws.receive_json()["message"] == "malformed message: expected JSON text, got binary data"


def test_an_internal_error_is_reported_without_a_traceback(client, monkeypatch):
    from gradwise.playground.engine import Playground

    def broken(self, n=1):
        raise ZeroDivisionError("secret detail")

    monkeypatch.setattr(Playground, "step", broken)
    with client.websocket_connect(WS) as ws:
        hello(ws)
        reply = ask(ws, {"type": "step", "n": 1})
        assert reply["type"] == "error" and "internal error" in reply["message"]
        assert "secret detail" not in reply["message"] and "Traceback" not in reply["message"]


def test_play_streams_views_and_pause_stops(client):
    with client.websocket_connect(WS) as ws:
        hello(ws)
        assert ask(ws, {"type": "speed", "value": 200})["speed"] == 200
        assert ask(ws, {"type": "play"}) == {"type": "status", "playing": True}
        steps = [ws.receive_json()["step"] for _ in range(4)]
        assert steps == sorted(steps) and steps[0] >= 1
        ws.send_text(json.dumps({"type": "pause"}))
        while (m := ws.receive_json())["type"] != "status":
            assert m["type"] == "views"
        assert m == {"type": "status", "playing": False}
        paused_at = ask(ws, {"type": "export"})["steps"]
        time.sleep(0.3)                                  # paused: no more updates arrive
        assert ask(ws, {"type": "step", "n": 1})["step"] == paused_at + 1


def test_on_demand_views_over_the_socket(client, monkeypatch):
    from gradwise.playground import session

    monkeypatch.setattr(session, "ON_DEMAND_SECONDS", 0.0)
    with client.websocket_connect(WS) as ws:
        hello(ws)
        ask(ws, {"type": "step", "n": 20})
        land = ask(ws, {"type": "landscape", "kind": "random"})
        assert land["type"] == "landscape" and len(land["losses"]) == 21 and len(land["path"]) == 21
        view = ask(ws, {"type": "contour", "i": 0, "j": 2})
        assert view["type"] == "contour" and view["labels"] == ["0.weight[0, 0]", "0.weight[1, 0]"]
        trip = ask(ws, {"type": "triptych"})
        assert trip["type"] == "triptych" and len(trip["runs"]) == 3
        assert ask(ws, {"type": "step", "n": 1})["step"] == 21        # the run itself went on untouched


def test_hand_steps_and_on_demand_views_are_rate_limited(monkeypatch):
    import types

    from gradwise.playground import session

    clock = [100.0]
    monkeypatch.setattr(session, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    s = session.Session()

    def ask_session(msg):
        (reply,) = s.handle(json.dumps(msg))
        return reply

    assert ask_session({"type": "step", "n": 100})["step"] == 100
    assert ask_session({"type": "step", "n": 100})["step"] == 200
    reply = ask_session({"type": "step", "n": 100})
    assert reply["type"] == "error" and "step: too fast; at most 200 updates per second" in reply["message"]
    clock[0] += 0.5                                       # half a second refills 100
    assert ask_session({"type": "step", "n": 100})["step"] == 300
    assert ask_session({"type": "landscape"})["type"] == "landscape"
    reply = ask_session({"type": "triptych"})
    assert reply["type"] == "error" and "triptych: busy; at most one on-demand view every 1 s" in reply["message"]
    clock[0] += 1.0
    assert ask_session({"type": "contour"})["type"] == "contour"


def test_preset_and_reset(client):
    with client.websocket_connect(WS) as ws:
        hello(ws)
        settings = ask(ws, {"type": "preset", "name": "deep_sigmoid"})
        assert settings["settings"]["activation"] == "sigmoid" and len(settings["settings"]["hidden"]) == 6
        assert ws.receive_json()["type"] == "data"
        assert ws.receive_json()["step"] == 0
        views = ask(ws, {"type": "step", "n": 60})
        assert views["gradients"]["layers"][0]["verdict"] == "vanishing"
        assert ask(ws, {"type": "reset"})["step"] == 0


def test_max_sessions_and_idle_sessions_are_freed():
    app = create_app(TOKEN, {"testserver"}, Limits(max_sessions=1, idle_seconds=0.5))
    with TestClient(app) as c:
        with c.websocket_connect(WS) as a:
            hello(a)
            with c.websocket_connect(WS) as b:
                msg = b.receive_json()
                assert msg["type"] == "error" and "too many sessions: at most 1" in msg["message"]
            assert len(app.state.sessions) == 1
            time.sleep(0.7)
            msg = a.receive_json()
            assert msg["type"] == "error" and "session closed after 0.5 s without input" in msg["message"]
        assert wait_until_freed(app.state.sessions) == 0
        with c.websocket_connect(WS) as again:         # a freed slot serves a new tab
            hello(again)


def test_a_closed_session_is_garbage(client):
    import gc
    import weakref

    with client.websocket_connect(WS) as ws:
        hello(ws)
        ask(ws, {"type": "step", "n": 30})
        (session,) = client.sessions
        refs = [weakref.ref(session), weakref.ref(session.playground), weakref.ref(session.playground.model)]
        del session
    assert wait_until_freed(client.sessions) == 0
    deadline = time.monotonic() + 5          # the socket's task ends just after it leaves the set
    while any(r() is not None for r in refs) and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    assert [r() for r in refs] == [None, None, None]


def test_import_gradwise_imports_no_web_code():
    code = ("import sys, gradwise, gradwise.playground.engine, gradwise.commands.playground; "
            "assert not {'starlette', 'uvicorn'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_extra_names_the_install_command(monkeypatch):
    from gradwise.commands import playground

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(playground.PlaygroundCommandError, match=r'pip install "gradwise\[playground\]"'):
        playground._import_server()


def test_non_loopback_host_warns_and_hosts_are_checked(monkeypatch, capsys):
    import uvicorn

    from gradwise.cli import main
    from gradwise.commands.playground import allowed_hosts

    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.setdefault("port", sockets[0]
                                                                                            .getsockname()[1]))
    assert main(["playground", "--host", "0.0.0.0", "--port", "0", "--no-browser"]) == 0
    out = capsys.readouterr()
    assert "WARNING: listening on 0.0.0.0" in out.err and f":{seen['port']}/?token=" in out.out
    assert main(["playground", "--port", "0", "--no-browser"]) == 0
    assert "WARNING" not in capsys.readouterr().err
    assert "evil.example:8765" not in allowed_hosts("0.0.0.0", 8765)
    assert allowed_hosts("::1", 9) >= {"[::1]:9", "localhost:9"}


def test_many_sessions_play_at_once_and_are_all_freed():
    """A small, bounded version of benchmarks/playground_load.py (20 sessions x 30 s)."""
    import contextlib

    app = create_app(TOKEN, {"testserver"}, Limits(max_sessions=6, idle_seconds=60))
    with TestClient(app) as c, contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(c.websocket_connect(WS)) for _ in range(6)]
        for ws in sockets:
            hello(ws)
            ask(ws, {"type": "speed", "value": 200})
            assert ask(ws, {"type": "play"})["playing"] is True
        assert len(app.state.sessions) == 6
        first = [ws.receive_json()["step"] for ws in sockets]
        later = []
        for ws in sockets:
            for _ in range(3):
                msg = ws.receive_json()
            later.append(msg["step"])
        assert all(b > a > 0 for a, b in zip(first, later))
        stack.close()
        assert wait_until_freed(app.state.sessions) == 0
