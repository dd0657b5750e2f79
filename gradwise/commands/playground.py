"""``gradwise playground``: train a small network live in the browser and watch its gradients.

Serves the page and one WebSocket per tab from ``--host`` (127.0.0.1 by default) on ``--port``
(8765; 0 picks a free one), with a random token in the printed address; opens a browser tab unless
``--no-browser``.  Needs the ``[playground]`` extra (Starlette and uvicorn), imported only here,
when the command runs.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
import webbrowser
from typing import Any

from gradwise.commands import positive_float, positive_int
from gradwise.errors import GradwiseError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
EXTRA_HINT = 'pip install "gradwise[playground]"'


class PlaygroundCommandError(GradwiseError, ValueError):
    """A ``gradwise playground`` option that cannot work, or the missing extra."""


def register(subparsers: Any) -> None:
    """Add ``playground`` to the ``gradwise`` command's subparsers."""
    p = subparsers.add_parser("playground", help="train a network live in the browser and watch its gradients",
                              description="Start a local web app: pick 2-D data, a network and an optimizer, press "
                                          "play, and watch the decision boundary, the losses and every layer's "
                                          f"gradient health live.  Needs the [playground] extra ({EXTRA_HINT}).")
    p.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; any other address lets other "
                        "machines reach the playground and prints a warning)")
    p.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")
    p.add_argument("--max-sessions", type=positive_int, default=8, help="browser tabs served at once (default 8)")
    p.add_argument("--idle-timeout", type=positive_float, default=900.0,
                   help="seconds without input before a tab's session is freed (default 900)")
    p.set_defaults(handler=_playground)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def allowed_hosts(host: str, port: int) -> set[str]:
    """The ``Host`` header values the server accepts: the loopback names, and ``host`` itself (with the
    machine's name when listening on every interface).

    >>> sorted(allowed_hosts("127.0.0.1", 8765))
    ['127.0.0.1:8765', '[::1]:8765', 'localhost:8765']
    """
    names = {*LOOPBACK, host}
    if host in ("0.0.0.0", "::"):
        names.add(socket.gethostname())
    return {f"{_url_host(n)}:{port}" for n in names if n not in ("0.0.0.0", "::")}


def _import_server() -> Any:
    try:
        import uvicorn

        from gradwise.playground import server
    except ImportError as e:
        raise PlaygroundCommandError(f"gradwise playground needs the [playground] extra (Starlette and uvicorn), "
                                     f"missing: {e.name}; install it with: {EXTRA_HINT}") from None
    return uvicorn, server


def _playground(args: argparse.Namespace) -> int:
    uvicorn, server = _import_server()
    if not 0 <= args.port <= 65535:
        raise PlaygroundCommandError(f"--port: must be from 0 to 65535, got {args.port}")
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        sock.listen(128)            # connections queue from now on: the printed address works at once
    except OSError as e:
        sock.close()
        raise PlaygroundCommandError(f"--host/--port: cannot listen on {args.host}:{args.port}: {e.strerror}; "
                                     "choose another --port (0 picks a free one)") from None
    port = sock.getsockname()[1]
    if args.host not in LOOPBACK:
        print(f"WARNING: listening on {args.host}, not only on this machine: anyone who can reach this address and "
              "has the token can use the playground and its CPU. Use the default --host 127.0.0.1 unless you mean "
              "it.", file=sys.stderr)
    token = secrets.token_urlsafe(24)
    app = server.create_app(token, allowed_hosts(args.host, port),
                            server.Limits(max_sessions=args.max_sessions, idle_seconds=args.idle_timeout))
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else _url_host(args.host)
    url = f"http://{shown}:{port}/?token={token}"
    print(f"gradwise playground: {url}\n(Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", ws_max_size=64 * 1024, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
