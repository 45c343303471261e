"""Turning SIGINT/SIGTERM into a request to stop after the current epoch."""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator, Optional


class StopRequest:
    """Set by the signal handler; the loop polls :attr:`signum` between epochs."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self.by = ""  # who asked, when not a signal (the live page)

    def request(self, by: str) -> None:
        """Ask to stop as Ctrl-C does (SIGINT's exit status), for ``by`` (say, "the stop button")."""
        if self.signum is None:
            self.by, self.signum = by, signal.SIGINT

    @property
    def exit_status(self) -> int:
        """The shell convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + (self.signum or 0)

    @property
    def name(self) -> str:
        """``SIGINT`` or ``SIGTERM`` (or who asked, when it was not a signal)."""
        return self.by or (signal.Signals(self.signum).name if self.signum else "")


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Within the block, the first SIGINT/SIGTERM only sets the request; a second one interrupts at once."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request.signum is not None:
            raise KeyboardInterrupt
        request.signum = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
