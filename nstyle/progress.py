"""Per-epoch log lines and, on a terminal, a progress bar kept under them."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class Progress:
    """Print log lines to ``stream``; on a TTY redraw a one-line bar below the latest line."""

    def __init__(self, total: int, quiet: bool = False, stream: Optional[TextIO] = None,
                 label: str = "epoch") -> None:
        self.total, self.quiet, self.label = total, quiet, label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.offset = 0  # units done before the current stage (e.g. coarser --multires levels)
        self.start = time.perf_counter()
        self.first = 0  # units already done when timing started (see restart)

    def log(self, line: str) -> None:
        """Print one line (above the bar when there is one)."""
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(line + "\n")
        self._bar()
        self.stream.flush()

    def update(self, done: int, note: str = "") -> None:
        """Set how many units are done and redraw the bar."""
        self.done = done
        self.note = note
        if not self.quiet:
            self._bar()
            self.stream.flush()

    def _bar(self) -> None:
        if not self.tty or self.total <= 0:
            return
        width = 30
        filled = int(width * min(self.done, self.total) / self.total)
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {self.label} "
                          f"{self.done}/{self.total} {elapsed:6.0f}s{self.eta(elapsed)} {getattr(self, 'note', '')}")

    def eta(self, elapsed: float) -> str:
        """`` ETA 12m`` from the pace since :meth:`restart` (empty before the first unit)."""
        units = self.done - self.first
        if units <= 0 or self.done >= self.total:
            return ""
        left = elapsed / units * (self.total - self.done)
        return f" ETA {left / 60:.0f}m" if left >= 60 else f" ETA {left:.0f}s"

    def restart(self, total: int, done: int) -> None:
        """A new stage of ``total`` units of which ``done`` are done (e.g. resumed); the ETA counts from here."""
        self.total, self.done, self.first, self.start = total, done, done, time.perf_counter()

    def close(self) -> None:
        """End the bar's line."""
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
