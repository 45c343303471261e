"""The batch report kept up to date while its batch runs: ``index.html`` rewritten as each run starts and ends,
reloading itself in the browser until the batch is over (the last write, by :func:`~nstyle.batch.runs.run_batch`,
no longer reloads)."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from ..process.interrupts import StopRequest
from ..process.watch import Picture
from ..report import page as report
from .log import LOG_NAME, read_log


class ReportRefresh:
    """A :class:`~nstyle.process.watch.BatchWatch` that rewrites the report on every change of a run's state."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.runs: List[Dict[str, Any]] = []
        self.states: Dict[str, str] = {}

    def plan(self, runs: List[Dict[str, Any]]) -> None:
        self.runs = runs
        self.states = {r["name"]: "waiting" for r in runs}
        self.write()

    def run_state(self, name: str, status: str) -> None:
        self.states[name] = status
        self.write()

    def write(self) -> None:
        report.write(self.folder, read_log(os.path.join(self.folder, LOG_NAME)), self.runs, self.states,
                     running=True)

    def attach(self, stop: StopRequest) -> None:
        """Nothing: the report changes per run, not per epoch."""

    def epoch(self, ep: Any, of: int, where: str, left: Optional[int], picture: Picture) -> None:
        """Nothing: the report changes per run, not per epoch."""

    def snapshot_due(self) -> bool:
        return False
