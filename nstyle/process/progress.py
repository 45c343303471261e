"""Log lines and, on a terminal, a progress bar (tqdm) kept below them."""
from __future__ import annotations

import sys
from typing import Optional, TextIO

from tqdm import tqdm


class Progress:
    """Print log lines to ``stream``; on a TTY a tqdm bar of ``total`` units stays below the latest line.

    ``quiet`` prints nothing. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, total: int, quiet: bool = False, stream: Optional[TextIO] = None,
                 label: str = "epoch") -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        # leave=None: a bar at position 0 stays on screen when done; a nested one (a run inside a batch) goes away
        self.bar = tqdm(total=total, desc=label, unit=label, file=self.stream, leave=None, dynamic_ncols=True,
                        disable=quiet or not tty or total <= 0)

    def log(self, line: str) -> None:
        """Print one line (above the bar when there is one)."""
        if not self.quiet:
            tqdm.write(line, file=self.stream)
            self.stream.flush()

    def update(self, done: int) -> None:
        """Set how many units are done."""
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        """End the bar."""
        self.bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
