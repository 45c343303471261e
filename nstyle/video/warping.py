"""Backward warping with bilinear sampling: a picture of the previous frame seen from the current one."""
from __future__ import annotations

from typing import Tuple

import numpy as np


def sample_points(flow: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Where each pixel ``p`` of the current frame looks in the other one: ``p + w(p)`` as (rows, columns).

    ``flow`` is ``HxWx2`` with ``(dx, dy)`` per pixel, OpenCV's layout."""
    height, width = flow.shape[:2]
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    return rows + flow[..., 1], cols + flow[..., 0]


def bilinear(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``image`` (``HxW`` or ``HxWxC``) sampled at fractional ``rows, cols`` (float64), bilinearly; points outside the
    picture take the nearest border pixel's value."""
    height, width = image.shape[:2]
    rows = np.clip(rows, 0.0, height - 1.0)
    cols = np.clip(cols, 0.0, width - 1.0)
    top, left = np.floor(rows).astype(np.intp), np.floor(cols).astype(np.intp)
    bottom, right = np.minimum(top + 1, height - 1), np.minimum(left + 1, width - 1)
    dy, dx = rows - top, cols - left
    if image.ndim == 3:
        dy, dx = dy[..., None], dx[..., None]
    data = np.asarray(image, np.float64)
    upper = data[top, left] * (1.0 - dx) + data[top, right] * dx
    lower = data[bottom, left] * (1.0 - dx) + data[bottom, right] * dx
    return upper * (1.0 - dy) + lower * dy


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``out(p) = image(p + flow(p))``, bilinear, ``flow`` from the current frame to ``image``'s
    (``HxWx2``, ``(dx, dy)``). ``image`` is ``HxW`` or ``HxWxC``; float64 out."""
    rows, cols = sample_points(flow)
    return bilinear(image, rows, cols)


def leaves_frame(flow: np.ndarray) -> np.ndarray:
    """``HxW`` bool: pixels whose flow points outside the picture (nothing there to sample)."""
    height, width = flow.shape[:2]
    rows, cols = sample_points(flow)
    return (rows < 0) | (rows > height - 1) | (cols < 0) | (cols > width - 1)
