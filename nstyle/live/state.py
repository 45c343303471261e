"""The live state of a run or a batch: filled in by the run between epochs, read by the server's threads.

The run's side (:meth:`LiveState.epoch`) only stores numbers under a lock and, at most once per
``frame_seconds`` and only while someone watches, copies a small picture; encoding is left to whoever asks.
"""
from __future__ import annotations

import io
import math
import threading
import time
from typing import Any, Dict, List, Optional

import numpy as np
from PIL import Image

from ..files import images
from ..process.interrupts import StopRequest
from ..process.watch import Picture

#: Longest side of the live picture (a print-size canvas is shown strided to this).
PICTURE_EDGE = 1200
#: Epochs whose mean gives the seconds per epoch shown (and the ETA).
RECENT = 10


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """``HxWx3`` uint8 as JPEG bytes."""
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


class LiveState:
    """What the page shows, thread-safe: the current run's epochs, losses and picture, and a batch's runs.

    Implements :class:`~nstyle.process.watch.Watch` (single runs) and the batch calls :meth:`plan` and
    :meth:`run_state`. ``version`` grows with every change; :meth:`wait` blocks a reader until it does.
    """

    def __init__(self, frame_seconds: float = 1.0) -> None:
        self.changed = threading.Condition()
        self.version = 0
        self.frame_seconds = frame_seconds
        self.status = "starting"  # running, then done / interrupted / failed
        self.message = ""
        self.run_serial = 0  # grows when a new run starts (its losses start afresh)
        self.at, self.of, self.where = 0, 0, ""  # the last epoch done, of at most ``of``, at ``where``
        self.left: Optional[int] = None  # the most epochs the run may still take
        self.losses: Dict[str, List[float]] = {"style": [], "content": [], "total": []}
        self.seconds: List[float] = []
        self.stop: Optional[StopRequest] = None
        self.stop_asked = ""  # who asked to stop before the run could be told
        self.snapshot_asked = False
        self.viewers = 0  # pages connected (their event streams)
        self.picture_asked = False  # a script asked GET /image since the last copy
        self.frame: Optional[np.ndarray] = None
        self.frame_serial = 0
        self.frame_time = -math.inf
        self.frame_at = 0.0  # when the picture was taken (Unix time), for measuring the delay to the page
        self._encoded: tuple = (0, b"")
        self.runs: List[Dict[str, Any]] = []  # a batch's runs: name, content, style, output, status
        self.current = ""  # the batch run going on

    # ---- the run's side (between epochs: never blocks on a client, never encodes) -----------------------

    def _bump(self) -> None:
        self.version += 1
        self.changed.notify_all()

    def attach(self, stop: StopRequest) -> None:
        """A run starts: keep its stop request (a stop asked before now applies at once); its losses start afresh."""
        with self.changed:
            self.stop, self.status = stop, "running"
            if self.stop_asked:
                stop.request(self.stop_asked)
            self.run_serial += 1
            self.losses = {k: [] for k in self.losses}
            self.seconds, self.at, self.where, self.left = [], 0, "", None
            self.frame, self.frame_time = None, -math.inf
            self._bump()

    def epoch(self, ep: Any, of: int, where: str, left: Optional[int], picture: Picture) -> None:
        """Record epoch ``ep``; copy the picture when a page or a script wants one and the last is old enough."""
        now = time.monotonic()
        wanted = (self.viewers or self.picture_asked) and now - self.frame_time >= self.frame_seconds
        frame = picture(PICTURE_EDGE) if wanted else None  # outside the lock: a copy, no encoding
        with self.changed:
            self.at, self.of, self.where, self.left = int(ep.epoch), int(of), where, left
            style, content = float(ep.style_loss), float(ep.content_loss)
            for key, value in (("style", style), ("content", content), ("total", style + content)):
                self.losses[key].append(value)
            self.seconds = (self.seconds + [float(ep.seconds)])[-RECENT:]
            if frame is not None:
                self.frame, self.frame_time, self.picture_asked = frame, now, False
                self.frame_at = time.time()
                self.frame_serial += 1
            self._bump()

    def snapshot_due(self) -> bool:
        """True once after the snapshot button."""
        with self.changed:
            due, self.snapshot_asked = self.snapshot_asked, False
            return due

    def plan(self, runs: List[Dict[str, Any]]) -> None:
        """A batch's runs, in order (``name``, ``content``, ``style``, ``output``), all waiting."""
        with self.changed:
            self.runs = [dict(r, status="waiting") for r in runs]
            self._bump()

    def run_state(self, name: str, status: str) -> None:
        """A batch run is ``running``, or ended ``done`` / ``skipped`` / ``failed`` / ``interrupted``."""
        with self.changed:
            for r in self.runs:
                if r["name"] == name:
                    r["status"] = status
            self.current = name if status == "running" else ("" if self.current == name else self.current)
            self._bump()

    def finish(self, status: str, message: str = "") -> None:
        """The run (or batch) is over: ``done``, ``interrupted`` or ``failed``."""
        with self.changed:
            self.status, self.message, self.current = status, message, ""
            self._bump()

    # ---- the clients' side --------------------------------------------------------------------------------

    def ask_stop(self, by: str) -> None:
        """Stop as Ctrl-C does: the run saves its picture and checkpoint and ends with status 130."""
        with self.changed:
            self.stop_asked = self.stop_asked or by
            if self.stop is not None:
                self.stop.request(by)
            self._bump()

    def ask_snapshot(self) -> None:
        """Save a snapshot (and the checkpoint) after the current epoch."""
        with self.changed:
            self.snapshot_asked = True

    def wait(self, seen: int, timeout: float) -> int:
        """Block until ``version`` passes ``seen`` (or ``timeout`` seconds); the version now."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != seen, timeout)
            return self.version

    def picture(self, timeout: float) -> Optional[bytes]:
        """The latest picture as JPEG (encoded here, once per picture). One older than ``frame_seconds`` is
        replaced at the next epoch's end: wait for that up to ``timeout`` seconds (or the run's end)."""
        with self.changed:
            serial = self.frame_serial
            if time.monotonic() - self.frame_time >= self.frame_seconds:
                self.picture_asked = True
                self.changed.wait_for(lambda: self.frame_serial != serial or self.status not in ("starting", "running"),
                                      timeout)
            frame, serial = self.frame, self.frame_serial
            if frame is None:
                return None
            if self._encoded[0] == serial:
                return self._encoded[1]
        data = jpeg(images.postprocess(frame))
        with self.changed:
            if self.frame_serial == serial:
                self._encoded = (serial, data)
        return data

    def snapshot(self, since: int = 0) -> Dict[str, Any]:
        """The state as JSON-able data; ``since``: leave out the first ``since`` epochs' losses (the page's
        event stream sends only what is new)."""
        with self.changed:
            spe = sum(self.seconds) / len(self.seconds) if self.seconds else None
            return {"version": self.version, "status": self.status, "message": self.message,
                    "run_serial": self.run_serial, "epoch": self.at, "of": self.of, "where": self.where,
                    "seconds_per_epoch": spe,
                    "eta_seconds": spe * self.left if spe is not None and self.left is not None else None,
                    "losses_from": since, "losses": {k: v[since:] for k, v in self.losses.items()},
                    "frame": self.frame_serial, "frame_at": self.frame_at, "current": self.current,
                    "stopping": bool(self.stop_asked),
                    "runs": [{k: r[k] for k in ("name", "content", "style", "status")} for r in self.runs]}

    def run_output(self, index: int) -> Optional[str]:
        """The picture batch run ``index`` made (a clip's poster frame; None unless it is done or skipped)."""
        with self.changed:
            if 0 <= index < len(self.runs) and self.runs[index]["status"] in ("done", "skipped"):
                return self.runs[index].get("poster") or self.runs[index]["output"]
            return None
