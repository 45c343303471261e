"""Optical flow between neighbouring frames with OpenCV's DIS, computed before stylization and cached.

For each pair ``(t-1, t)`` the cache holds ``flow`` (frame ``t`` to ``t-1``, what warps the previous result onto
frame ``t``) and ``back`` (frame ``t-1`` to ``t``, for the consistency check), ``HxWx2`` float32 ``(dx, dy)`` at the
working size, in ``<work folder>/flow/NNNNN.npz`` (``NNNNN`` = ``t``, 1-based). A file whose size differs is
recomputed; each is written atomically, so an interrupted pass resumes where it stopped.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable, Optional, Tuple

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


def path_for(folder: str, index: int) -> str:
    """The cache file of the pair ending at frame ``index`` (1-based)."""
    return os.path.join(folder, "flow", f"{index:05d}.npz")


def load(folder: str, index: int, size: Optional[Tuple[int, int]] = None) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The cached ``(flow, back)`` of the pair ending at frame ``index``, or None (missing, unreadable, other size)."""
    path = path_for(folder, index)
    try:
        with np.load(path, allow_pickle=False) as data:
            flow, back = data["flow"], data["back"]
    except (OSError, KeyError, ValueError):
        return None
    if size is not None and (flow.shape != tuple(size) + (2,) or back.shape != flow.shape):
        return None
    return flow, back


def compute(frames01: Iterable[np.ndarray], folder: str, size: Tuple[int, int],
            on_pair: Optional[Callable[[int, bool], None]] = None) -> int:
    """Compute and cache the flows of every neighbouring pair of ``frames01`` (``HxWx3`` 0..1 at ``size``); pairs
    already cached at this size are kept. ``on_pair(index, computed)`` after each pair; returns the frame count."""
    os.makedirs(os.path.join(folder, "flow"), exist_ok=True)
    dis, previous, count = None, None, 0
    for count, frame in enumerate(frames01, start=1):
        current = grey(frame)
        if previous is not None:
            cached = load(folder, count, size) is not None
            if not cached:
                dis = dis or make_dis()
                flow, back = pair_flows(dis, previous, current)
                with atomic_path(path_for(folder, count)) as tmp:
                    write_npz(tmp, {"flow": flow.astype(np.float32), "back": back.astype(np.float32)})
            if on_pair:
                on_pair(count, not cached)
        previous = current
    return count
