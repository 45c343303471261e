"""The batch report kept up to date while its batch runs: ``index.html`` rewritten as each run starts and ends,
reloading itself in the browser until the batch is over (the last write, by :func:`~nstyle.batch.runs.run_batch`,
no longer reloads)."""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional

from ..errors import NStyleError
from ..process.interrupts import StopRequest
from ..process.watch import Picture
from ..report import page as report
from .log import LOG_NAME, read_log


class ReportRefresh:
    """A :class:`~nstyle.process.watch.BatchWatch` that rewrites the report on every change of a run's state."""

    def __init__(self, folder: str, intact: Optional[Callable[[], bool]] = None) -> None:
        self.folder = folder
        self.intact = intact  # whether the batch's folder is still there (nothing is written into a replacement)
        self.runs: List[Dict[str, Any]] = []
        self.states: Dict[str, str] = {}
        self.broken = False  # a write failed: no more until the end

    def plan(self, runs: List[Dict[str, Any]]) -> None:
        self.runs = runs
        self.states = {r["name"]: "waiting" for r in runs}
        self.write()

    def run_state(self, name: str, status: str) -> None:
        self.states[name] = status
        self.write()

    def write(self) -> None:
        """Rewrite the page; if it cannot be written (a full disk), stop trying: the runs matter more, and the
        report's last write, at the end of the batch, says what went wrong."""
        if self.broken or (self.intact is not None and not self.intact()):
            return
        try:
            report.write(self.folder, read_log(os.path.join(self.folder, LOG_NAME)), self.runs, self.states,
                         running=True)
        except NStyleError:
            self.broken = True

    def attach(self, stop: StopRequest) -> None:
        """Nothing: the report changes per run, not per epoch."""

    def epoch(self, ep: Any, of: int, where: str, left: Optional[int], picture: Picture) -> None:
        """Nothing: the report changes per run, not per epoch."""

    def snapshot_due(self) -> bool:
        return False
