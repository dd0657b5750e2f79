"""One browser tab's session: its :class:`~gradwise.playground.engine.Playground`, whether it is
playing and how fast, and the handling of every message the page sends.

Web-free (the server only moves text), so the protocol is tested without a socket.  A message is a
JSON object with a ``"type"``; :meth:`Session.handle` returns the replies, also JSON-ready dicts.
Every bad message gets one ``{"type": "error", "message": ...}`` reply naming what was wrong and
what is valid; nothing the page sends can raise out of :meth:`Session.handle`.

>>> s = Session()
>>> [r["type"] for r in s.handle('{"type": "step", "n": 2}')]
['views']
>>> s.handle('{"type": "settings", "settings": {"lr": "abc"}}')[0]["message"]
"lr: must be a finite number, got 'abc'"
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

from gradwise.errors import GradwiseError
from gradwise.playground import contour, export, on_demand, presets, settings
from gradwise.playground.engine import Playground
from gradwise.playground.settings import PlaygroundError, Settings

MAX_MESSAGE_CHARS = 16_000
MAX_STEPS_PER_MESSAGE = 100
ON_DEMAND_SECONDS = 1.0
MESSAGE_TYPES = ("hello", "settings", "preset", "play", "pause", "step", "reset", "speed", "export", "landscape",
                 "triptych", "contour")

log = logging.getLogger("gradwise.playground")


def choices() -> dict[str, Any]:
    """Every option the page offers, and the limits, for building its controls."""
    return {
        "datasets": settings.DATASETS, "features": settings.FEATURES, "feature_labels": settings.FEATURE_LABELS,
        "activations": settings.ACTIVATIONS, "inits": settings.INITS, "losses": settings.LOSSES,
        "optimizers": settings.OPTIMIZERS, "batch_modes": settings.BATCH_MODES,
        "limits": {"max_layers": settings.MAX_LAYERS, "max_width": settings.MAX_WIDTH,
                   "min_samples": settings.MIN_SAMPLES, "max_samples": settings.MAX_SAMPLES,
                   "lr": settings.LR_RANGE, "max_steps_per_second": settings.MAX_STEPS_PER_SECOND},
        "presets": [p.to_dict() for p in presets.PRESETS.values()],
    }


def error(message: str) -> dict[str, Any]:
    return {"type": "error", "message": message}


class Session:
    """The state of one tab.  ``playing`` and ``speed`` (updates per second) drive the server's
    frame loop, which calls :meth:`advance`; ``last_active`` is the time of the last message."""

    def __init__(self) -> None:
        self.playground = Playground(Settings())
        self.playing = False
        self.last_active = time.monotonic()
        # "step" messages draw on a bucket refilled at MAX_STEPS_PER_SECOND (one second's worth at
        # most), so stepping by hand is held to the same cap as playing; on-demand views (each a few
        # hundred updates' worth of work) are spaced by ON_DEMAND_SECONDS.
        self._bucket, self._bucket_time = settings.MAX_STEPS_PER_SECOND, time.monotonic()
        self._last_on_demand = -math.inf

    def _take_steps(self, n: int) -> None:
        now = time.monotonic()
        cap = settings.MAX_STEPS_PER_SECOND
        self._bucket = min(cap, self._bucket + (now - self._bucket_time) * cap)
        self._bucket_time = now
        if n > self._bucket:
            raise PlaygroundError(f"step: too fast; at most {cap:g} updates per second (asked {n} with "
                                  f"{int(self._bucket)} left this second)")
        self._bucket -= n

    def _on_demand(self, kind: str) -> None:
        now = time.monotonic()
        if now - self._last_on_demand < ON_DEMAND_SECONDS:
            raise PlaygroundError(f"{kind}: busy; at most one on-demand view every {ON_DEMAND_SECONDS:g} s")
        self._last_on_demand = now
        self.playing = False

    @property
    def speed(self) -> float:
        return self.playground.settings.speed

    # ---------------------------------------------------------------- replies
    def full_state(self) -> list[dict[str, Any]]:
        """What the page needs after a (re)build: the settings, the points and the views."""
        pg = self.playground
        return [{"type": "settings", "settings": pg.settings.to_dict()},
                {"type": "data", **pg.points()}, self.views()]

    def views(self) -> dict[str, Any]:
        return {"type": "views", "playing": self.playing, **self.playground.views()}

    def advance(self, n: int) -> dict[str, Any]:
        """Take ``n`` updates (the frame loop's call) and return the views; stops playing once the loss
        diverged, and on an internal error (logged here, reported to the page without a traceback)."""
        try:
            self.playground.step(n)
            if self.playground.diverged:
                self.playing = False
            return self.views()
        except Exception:
            log.exception("playground: %d updates failed", n)
            self.playing = False
            return error("internal error while training; playing stopped; the details are in the server's log")

    # --------------------------------------------------------------- messages
    def handle(self, text: Any) -> list[dict[str, Any]]:
        """The replies to one message from the page (never raises)."""
        self.last_active = time.monotonic()
        try:
            return self._dispatch(parse_message(text))
        except PlaygroundError as e:
            return [error(str(e))]
        except GradwiseError as e:          # a setting gradwise itself refused
            return [error(f"{type(e).__name__}: {e}")]
        except Exception:                   # a bug: log it here, tell the page without a traceback
            log.exception("playground: message %r failed", str(text)[:200])
            self.playing = False
            return [error("internal error while handling the message; the details are in the server's log")]

    def _dispatch(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        kind = msg["type"]
        pg = self.playground
        if kind == "hello":
            return [{"type": "hello", "choices": choices()}, *self.full_state()]
        if kind == "settings":
            _only(msg, "settings")
            pg.configure(settings.parse_settings(msg.get("settings"), pg.settings))
            self.playing = False
            return self.full_state()
        if kind == "preset":
            _only(msg, "name")
            pg.configure(presets.apply_preset(msg.get("name")))
            self.playing = False
            return self.full_state()
        if kind == "reset":
            _only(msg)
            pg.reset()
            self.playing = False
            return [self.views()]
        if kind == "step":
            _only(msg, "n")
            n = msg.get("n", 1)
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_STEPS_PER_MESSAGE:
                raise PlaygroundError(f"step: n must be an integer from 1 to {MAX_STEPS_PER_MESSAGE}, got {n!r}")
            self._take_steps(n)
            self.playing = False
            return [self.advance(n)]
        if kind == "play":
            _only(msg)
            if pg.diverged:
                raise PlaygroundError("play: the loss diverged (inf/NaN); lower the learning rate or change the "
                                      "initialisation, then reset")
            self.playing = True
            return [{"type": "status", "playing": True}]
        if kind == "pause":
            _only(msg)
            self.playing = False
            return [{"type": "status", "playing": False}]
        if kind == "speed":
            _only(msg, "value")
            new = settings.parse_settings({"speed": msg.get("value")}, pg.settings)
            pg.settings = new              # the speed changes nothing in the run itself: no reset
            return [{"type": "status", "playing": self.playing, "speed": new.speed}]
        if kind == "landscape":
            _only(msg, "kind")
            self._on_demand(kind)
            return [{"type": "landscape", **on_demand.landscape(pg, msg.get("kind", "random"))}]
        if kind == "contour":
            _only(msg, "i", "j")
            self._on_demand(kind)
            return [{"type": "contour", **contour.contour(pg, msg.get("i"), msg.get("j"))}]
        if kind == "triptych":
            _only(msg)
            self._on_demand(kind)
            return [{"type": "triptych", **on_demand.triptych(pg)}]
        _only(msg)
        return [{"type": "export", "python": export.python_script(pg.settings, pg.steps),
                 "command": export.train_command(pg.settings, pg.steps), "steps": pg.steps}]


def parse_message(text: Any) -> dict[str, Any]:
    """The JSON object in ``text`` with a known ``"type"``; :class:`PlaygroundError` otherwise."""
    if not isinstance(text, str):
        raise PlaygroundError("malformed message: expected JSON text, got binary data")
    if len(text) > MAX_MESSAGE_CHARS:
        raise PlaygroundError(f"malformed message: {len(text)} characters, at most {MAX_MESSAGE_CHARS}")
    try:
        msg = json.loads(text)
    except ValueError:
        raise PlaygroundError(f"malformed message: not JSON: {text[:80]!r}") from None
    if not isinstance(msg, dict):
        raise PlaygroundError(f"malformed message: expected a JSON object with a 'type', got {type(msg).__name__}")
    kind = msg.get("type")
    if kind not in MESSAGE_TYPES:
        raise PlaygroundError(f"malformed message: unknown type {kind!r}; valid: {', '.join(MESSAGE_TYPES)}")
    return msg


def _only(msg: dict[str, Any], *keys: str) -> None:
    extra = sorted(set(msg) - {"type", *keys})
    if extra:
        raise PlaygroundError(f"{msg['type']}: unknown field(s) {extra}; valid: {sorted(keys) or 'none'}")
