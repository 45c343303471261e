"""Backward warping: a picture of the previous frame seen from the current one, sampled bilinearly (the default)
or with a sharper kernel (bicubic, Lanczos; ``--warp-interpolation``)."""
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


#: The kernels :func:`warp` offers; "bilinear" is Ruder's (and :func:`warp`'s default, used by the consistency
#: check and the error metric).
INTERPOLATIONS = ("bilinear", "bicubic", "lanczos")
#: ``--warp-interpolation`` when not given: the kernel that warps the previous result onto the frame, measured by
#: ``bench/video.py`` (docs/video.md, "A sharper warp": with γ = 10 the only setting that met the target).
WARP_INTERPOLATION = "bicubic"


def keys_cubic(d: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with ``a = -1/2`` (Catmull-Rom): exact for quadratics, support 2 pixels."""
    d = np.abs(d)
    near = (1.5 * d - 2.5) * d * d + 1.0
    far = ((-0.5 * d + 2.5) * d - 4.0) * d + 2.0
    return np.where(d < 1.0, near, np.where(d < 2.0, far, 0.0))


def lanczos3(d: np.ndarray) -> np.ndarray:
    """The Lanczos kernel with 3 lobes: ``sinc(d) sinc(d / 3)``, support 3 pixels."""
    return np.where(np.abs(d) < 3.0, np.sinc(d) * np.sinc(d / 3.0), 0.0)


#: The sharper kernels: (function of the distance in pixels, support radius in pixels).
KERNELS = {"bicubic": (keys_cubic, 2), "lanczos": (lanczos3, 3)}


def taps(points: np.ndarray, size: int, kernel: str) -> Tuple[np.ndarray, np.ndarray]:
    """For each fractional coordinate, the ``2R`` neighbouring indices (clipped to the border: the nearest
    pixel's value outside) and their kernel weights, normalised to sum to 1; shapes ``points.shape + (2R,)``."""
    function, radius = KERNELS[kernel]
    base = np.floor(points)
    offsets = np.arange(1 - radius, radius + 1, dtype=np.float64)
    at = base[..., None] + offsets
    weights = function(points[..., None] - at)
    weights /= weights.sum(axis=-1, keepdims=True)
    return np.clip(at, 0, size - 1).astype(np.intp), weights


def separable(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, kernel: str) -> np.ndarray:
    """``image`` (``HxW`` or ``HxWxC``) sampled at fractional ``rows, cols`` with the separable ``kernel``
    (:data:`KERNELS`), points outside clamped to the border as in :func:`bilinear`."""
    height, width = image.shape[:2]
    rows = np.clip(rows, 0.0, height - 1.0)
    cols = np.clip(cols, 0.0, width - 1.0)
    row_at, row_w = taps(rows, height, kernel)
    col_at, col_w = taps(cols, width, kernel)
    data = np.asarray(image, np.float64)
    out = 0.0
    for i in range(row_at.shape[-1]):
        line = 0.0
        for j in range(col_at.shape[-1]):
            w = col_w[..., j] if data.ndim == 2 else col_w[..., j, None]
            line = line + w * data[row_at[..., i], col_at[..., j]]
        out = out + (row_w[..., i] if data.ndim == 2 else row_w[..., i, None]) * line
    return out


def warp(image: np.ndarray, flow: np.ndarray, interpolation: str = "bilinear") -> np.ndarray:
    """Backward warp: ``out(p) = image(p + flow(p))``, ``flow`` from the current frame to ``image``'s (``HxWx2``,
    ``(dx, dy)``), sampled with ``interpolation`` (one of :data:`INTERPOLATIONS`). ``image`` is ``HxW`` or
    ``HxWxC``; float64 out."""
    rows, cols = sample_points(flow)
    if interpolation == "bilinear":
        return bilinear(image, rows, cols)
    return separable(image, rows, cols, interpolation)


def leaves_frame(flow: np.ndarray) -> np.ndarray:
    """``HxW`` bool: pixels whose flow points outside the picture (nothing there to sample)."""
    height, width = flow.shape[:2]
    rows, cols = sample_points(flow)
    return (rows < 0) | (rows > height - 1) | (cols < 0) | (cols > width - 1)
