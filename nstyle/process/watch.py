"""What a run tells whoever watches it (the live page, a notebook) between epochs, and what it may ask of the run.

A run calls these on its own thread, between epochs; a watcher must return at once (no socket, no encoding here).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

import numpy as np

from .interrupts import StopRequest

#: ``picture(long_edge)``: the current network-space image (``1x3xHxW`` float32), at most ``long_edge`` pixels
#: on its long side (strided, so a print-size canvas is never copied whole).
Picture = Callable[[int], np.ndarray]


class Watch(Protocol):
    """An observer of one run (:func:`nstyle.api.run`'s ``watch``)."""

    def attach(self, stop: StopRequest) -> None:
        """The run has started; ``stop`` is what Ctrl-C sets (the watcher may set it too)."""

    def epoch(self, ep: Any, of: int, where: str, left: Optional[int], picture: Picture) -> None:
        """Epoch ``ep.epoch`` of at most ``of`` is done at ``where`` (``""``, ``level 2/3``, ``... tile 3/12``);
        at most ``left`` epochs remain in the run (None: unknown). Call ``picture`` only when a picture is wanted."""

    def snapshot_due(self) -> bool:
        """True once after someone asked for a snapshot now: the run saves one (and its checkpoint)."""


class BatchWatch(Watch, Protocol):
    """An observer of a batch: its runs' states too, and each run made in this process as a :class:`Watch`."""

    def plan(self, runs: List[Dict[str, Any]]) -> None:
        """The batch's runs in order (``name``, ``content``, ``style``, ``output``)."""

    def run_state(self, name: str, status: str) -> None:
        """Run ``name`` is ``running`` or ended (``done``, ``skipped``, ``failed``, ``interrupted``)."""


def stride(size: Tuple[int, ...], long_edge: int) -> int:
    """The smallest k for which every k-th row and column of a ``size`` (``H, W``) picture is at most ``long_edge``
    long."""
    return max(1, -(-max(size) // long_edge))


def strided(x: np.ndarray, long_edge: int) -> np.ndarray:
    """A copy of ``x`` (``...xHxW``) keeping every k-th row and column so its long side is at most ``long_edge``."""
    k = stride(x.shape[-2:], long_edge)
    return np.array(x[..., ::k, ::k], np.float32)


class Several:
    """Several watchers as one (the live page and a notebook at once; for a batch, the report and the page)."""

    def __init__(self, *watches: Watch) -> None:
        self.watches = watches

    def attach(self, stop: StopRequest) -> None:
        for w in self.watches:
            w.attach(stop)

    def epoch(self, ep: Any, of: int, where: str, left: Optional[int], picture: Picture) -> None:
        for w in self.watches:
            w.epoch(ep, of, where, left, picture)

    def snapshot_due(self) -> bool:
        return any([w.snapshot_due() for w in self.watches])  # a list: every one's request is taken

    def plan(self, runs: List[Dict[str, Any]]) -> None:
        for w in self.watches:
            w.plan(runs)  # type: ignore[attr-defined]

    def run_state(self, name: str, status: str) -> None:
        for w in self.watches:
            w.run_state(name, status)  # type: ignore[attr-defined]


def together(*watches: Optional[Watch]) -> Optional[Watch]:
    """The given watchers as one (None when there are none)."""
    found = [w for w in watches if w is not None]
    return None if not found else found[0] if len(found) == 1 else Several(*found)
