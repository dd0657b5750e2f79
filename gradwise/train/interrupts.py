"""Ctrl-C, SIGTERM and SIGHUP during training: finish the step, then stop cleanly.

The first of these signals only records which one came (:attr:`StopLatch.signum`); the loop
checks :attr:`StopLatch.requested` between steps, so parameters are never left half-updated
and a checkpoint can be written.  A second signal raises ``KeyboardInterrupt`` at once.
SIGTERM is how ``timeout``, schedulers and containers stop a job and SIGHUP comes when a
terminal closes: both get the same clean stop as Ctrl-C.  Outside the main thread (where
Python delivers signals) the latch does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# the signals that stop a run cleanly (SIGHUP does not exist on Windows)
STOP_SIGNALS: tuple[int, ...] = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                                      if hasattr(signal, name))


def exit_status(signum: int) -> int:
    """The shell's exit status for a process ended by ``signum``: 128 + its number (130 for SIGINT,
    143 for SIGTERM, 129 for SIGHUP)."""
    return 128 + int(signum)


class StopLatch:
    """``with latch.armed():`` installs the handlers and restores the previous ones on exit.

    >>> latch = StopLatch()
    >>> with latch.armed():
    ...     latch.requested
    False
    """

    def __init__(self) -> None:
        self.requested = False
        self.signum: int | None = None

    @contextmanager
    def armed(self) -> Iterator[None]:
        self.requested, self.signum = False, None
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}

        def handler(signum: int, frame: Any) -> None:
            if self.requested:
                raise KeyboardInterrupt
            self.requested, self.signum = True, signum

        for s in STOP_SIGNALS:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


SigintLatch = StopLatch   # the name before SIGTERM and SIGHUP were handled too
