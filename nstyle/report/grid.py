"""The batch report's shape: one row per content, one column per style, the runs of each pair in its cell."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

#: Cell states, in the order the summary line counts them.
STATES = ("done", "skipped", "failed", "interrupted", "missing", "not run", "running", "waiting")
#: States that are bad news when any run is in them (the summary shows them in red).
BAD = ("failed", "interrupted", "missing")


#: The video files nstyle batch takes as contents and writes (:data:`nstyle.video.writing.CONTAINERS`).
CLIP_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv")


def is_clip(path: str) -> bool:
    """Whether ``path`` names a video clip (shown by name and link, not as a thumbnail)."""
    return os.path.splitext(path)[1].lower() in CLIP_EXTENSIONS


def paths(value) -> List[str]:
    """A record's ``content``/``style`` (one path or a list) as a list."""
    return [value] if isinstance(value, str) else [str(v) for v in (value or [])]


@dataclass
class Run:
    """One run as the report shows it: its latest record and the state of its cell."""

    record: dict
    state: str
    reason: str = ""

    @property
    def name(self) -> str:
        return str(self.record.get("name", ""))

    @property
    def picture(self) -> str:
        """The picture that shows the run: its result, or a clip's poster frame (its result is a video)."""
        return str(self.record.get("poster") or self.record.get("output") or "")

    @property
    def has_image(self) -> bool:
        """True when the run left a picture (a finished result, or the image so far of an interrupted run)."""
        out = self.record.get("output") or ""
        return self.state in ("done", "skipped", "interrupted") and os.path.isfile(out) and \
            os.path.isfile(self.picture)


@dataclass
class Grid:
    """``contents[i]`` x ``styles[j]``: ``cells[(i, j)]`` holds that pair's runs in batch order."""

    contents: List[List[str]] = field(default_factory=list)
    styles: List[List[str]] = field(default_factory=list)
    cells: Dict[Tuple[int, int], List[Run]] = field(default_factory=dict)

    @property
    def runs(self) -> List[Run]:
        return [run for key in sorted(self.cells) for run in self.cells[key]]

    def counts(self) -> Dict[str, int]:
        """How many runs are in each state (all of :data:`STATES`, zeros included)."""
        found = [run.state for run in self.runs]
        return {state: found.count(state) for state in STATES}

    def width(self, column: int) -> int:
        """The most runs any cell of ``column`` holds (at least 1)."""
        return max([len(runs) for (_, j), runs in self.cells.items() if j == column] or [1])


def state_of(record: dict, this_time: Optional[str]) -> Tuple[str, str]:
    """The cell state and its reason, from the run's latest record and this invocation's outcome (if any)."""
    status = record.get("status")
    if this_time in ("running", "waiting"):  # the batch is still going
        return this_time, ""
    if status is None:
        return "not run", "the batch stopped before this run"
    if status == "done" and not os.path.isfile(record.get("output") or ""):
        return "missing", f"the result {record.get('output')} is gone; run the batch again to remake it"
    if status == "done" and this_time == "skipped":
        return "skipped", "already done with these settings"
    return str(status), str(record.get("reason") or "")


def arrange(records: Dict[str, dict], planned: Sequence[Union[dict, str]] = (),
            this_time: Optional[Dict[str, str]] = None) -> Grid:
    """The grid of every planned run (batch order) and then every other run in ``records`` (log order).

    ``records`` are the latest ``runs.jsonl`` record per name; ``planned`` the batch's runs as dicts with
    ``name``, ``content``, ``style`` and ``output`` (runs without a record yet show as "not run"), or as bare
    names (those without a record are left out: nothing says where they belong); ``this_time`` maps names to
    this invocation's outcome ("skipped" marks results made earlier).
    """
    this_time = this_time or {}
    plans = {p["name"]: p for p in (records.get(p) if isinstance(p, str) else p for p in planned) if p}
    order = list(plans) + [n for n in records if n not in plans]
    grid = Grid()
    rows: Dict[str, int] = {}
    cols: Dict[str, int] = {}
    for name in order:
        record = records.get(name) or dict(plans[name])
        content, style = paths(record.get("content")), paths(record.get("style"))
        i = rows.setdefault(json.dumps(content), len(rows))
        j = cols.setdefault(json.dumps(style), len(cols))
        if i == len(grid.contents):
            grid.contents.append(content)
        if j == len(grid.styles):
            grid.styles.append(style)
        state, reason = state_of(record, this_time.get(name))
        grid.cells.setdefault((i, j), []).append(Run(record, state, reason))
    return grid


def differences(runs: Sequence[Run]) -> List[str]:
    """For a cell with several runs: per run, the settings in which it differs from the others (``k=v, ...``)."""
    configs = [run.record.get("config") or {} for run in runs]
    keys = sorted({k for c in configs for k in c if not k.endswith("sha256")})
    varying = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in configs}) > 1]
    return [", ".join(f"{k}={c.get(k)}" for k in varying) for c in configs]
