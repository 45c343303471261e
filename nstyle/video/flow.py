"""Optical flow between neighbouring frames with OpenCV's DIS, computed before stylization and cached.

For each pair ``(t-1, t)`` the cache holds ``flow`` (frame ``t`` to ``t-1``, what warps the previous result onto
frame ``t``) and ``back`` (frame ``t-1`` to ``t``, for the consistency check), ``HxWx2`` float32 ``(dx, dy)`` at the
working size, in ``<work folder>/flow/NNNNN.npz`` (``NNNNN`` = ``t``, 1-based). The long-term terms
(``--temporal-frames``) add the same pair of flows between frame ``t`` and frame ``t-j`` for each ``j > 1``, in
``flow/stepJ/NNNNN.npz``. A file whose size differs is recomputed; each is written atomically, so an interrupted pass
resumes where it stopped.
"""
from __future__ import annotations

import os
from collections import deque
from typing import Callable, Iterable, Optional, Sequence, Tuple

import numpy as np

from ..files.atomic import atomic_path
from ..files.checkpoint import write_npz

#: DIS preset: OpenCV's "ultrafast", "fast" or "medium" (the most accurate of the three).
PRESET = "medium"


def grey(frame01: np.ndarray) -> np.ndarray:
    """An ``HxWx3`` 0..1 frame as the 8-bit grey picture DIS takes (ITU-R 601 luma)."""
    luma = frame01 @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.round(luma * 255.0), 0, 255).astype(np.uint8)


def make_dis():
    """A DIS flow estimator with :data:`PRESET` (one per pass; not thread-safe)."""
    import cv2

    presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    return cv2.DISOpticalFlow_create(presets[PRESET])


def pair_flows(dis, previous: np.ndarray, current: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(flow, back)`` between two grey frames: current -> previous and previous -> current."""
    return dis.calc(current, previous, None), dis.calc(previous, current, None)


def step_folder(folder: str, step: int) -> str:
    """The folder of the cached flows between frames ``step`` apart."""
    return os.path.join(folder, "flow") if step == 1 else os.path.join(folder, "flow", f"step{step}")


def path_for(folder: str, index: int, step: int = 1) -> str:
    """The cache file of the pair (``index - step``, ``index``) (1-based)."""
    return os.path.join(step_folder(folder, step), f"{index:05d}.npz")


def load(folder: str, index: int, size: Optional[Tuple[int, int]] = None,
         step: int = 1) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The cached ``(flow, back)`` of the pair (``index - step``, ``index``), or None (missing, unreadable, other
    size)."""
    path = path_for(folder, index, step)
    try:
        with np.load(path, allow_pickle=False) as data:
            flow, back = data["flow"], data["back"]
    except (OSError, KeyError, ValueError):
        return None
    if size is not None and (flow.shape != tuple(size) + (2,) or back.shape != flow.shape):
        return None
    return flow, back


def compute(frames01: Iterable[np.ndarray], folder: str, size: Tuple[int, int],
            on_pair: Optional[Callable[[int, bool], None]] = None, steps: Sequence[int] = (1,)) -> int:
    """Compute and cache the flows of every neighbouring pair of ``frames01`` (``HxWx3`` 0..1 at ``size``) and, for
    each ``j`` in ``steps`` above 1, of every pair ``j`` frames apart; pairs already cached at this size are kept.
    ``on_pair(index, computed)`` after each frame's pairs (``computed``: any was not cached); returns the frame
    count."""
    steps = sorted(set(steps) | {1})
    for step in steps:
        os.makedirs(step_folder(folder, step), exist_ok=True)
    dis, earlier, count = None, deque(maxlen=steps[-1]), 0  # earlier[-j]: the grey frame j before this one
    for count, frame in enumerate(frames01, start=1):
        current = grey(frame)
        if earlier:
            computed = False
            for step in (s for s in steps if s <= len(earlier)):
                if load(folder, count, size, step) is None:
                    dis, computed = dis or make_dis(), True
                    flow, back = pair_flows(dis, earlier[-step], current)
                    with atomic_path(path_for(folder, count, step)) as tmp:
                        write_npz(tmp, {"flow": flow.astype(np.float32), "back": back.astype(np.float32)})
            if on_pair:
                on_pair(count, computed)
        earlier.append(current)
    return count
