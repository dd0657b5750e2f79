"""Ctrl-C during training: finish the step, then stop cleanly.

The first SIGINT only sets :attr:`SigintLatch.requested`; the loop checks it between
steps, so parameters are never left half-updated and a checkpoint can be written.
A second SIGINT raises ``KeyboardInterrupt`` at once.  Outside the main thread
(where Python delivers signals) the latch does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class SigintLatch:
    """``with latch.armed():`` installs the handler and restores the previous one on exit.

    >>> latch = SigintLatch()
    >>> with latch.armed():
    ...     latch.requested
    False
    """

    def __init__(self) -> None:
        self.requested = False

    @contextmanager
    def armed(self) -> Iterator[None]:
        self.requested = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
