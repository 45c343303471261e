"""Where the flow can be trusted (Ruder, Dosovitskiy and Brox 2016): the forward-backward consistency check and
motion boundaries, giving the per-pixel weights ``c`` of the temporal loss.

``flow`` is the flow from the current frame to the previous one and ``back`` the flow from the previous frame to
the current one, both ``HxWx2`` ``(dx, dy)`` at the working size. The constants are artistic-videos'.
"""
from __future__ import annotations

import numpy as np

from .warping import leaves_frame, warp

#: Disoccluded where ``|w + ŵ(p+w)|² >= CONSISTENCY * (|w|² + |ŵ(p+w)|²) + CONSISTENCY_OFFSET``.
CONSISTENCY = 0.01
CONSISTENCY_OFFSET = 0.5
#: A motion boundary where ``|∇u|² + |∇v|² > BOUNDARY * |w|² + BOUNDARY_OFFSET``.
BOUNDARY = 0.01
BOUNDARY_OFFSET = 0.002
#: The temporal loss's weights are the map above smoothed by a Gaussian of this many pixels (0: not smoothed);
#: see :func:`loss_weights`.
SMOOTHING = 0.0


def disoccluded(flow: np.ndarray, back: np.ndarray) -> np.ndarray:
    """``HxW`` bool: pixels the previous frame does not show (the two flows disagree) or whose flow leaves it."""
    returned = warp(back, flow)  # ŵ(p + w(p))
    mismatch = np.sum((flow + returned) ** 2, axis=-1)
    size = np.sum(flow ** 2, axis=-1) + np.sum(returned ** 2, axis=-1)
    return (mismatch >= CONSISTENCY * size + CONSISTENCY_OFFSET) | leaves_frame(flow)


def motion_boundaries(flow: np.ndarray) -> np.ndarray:
    """``HxW`` bool: pixels where the flow changes sharply (forward differences, zero at the last row/column)."""
    grad = np.zeros(flow.shape[:2])
    for axis in (0, 1):
        step = np.diff(flow, axis=axis)
        pad = [(0, 1) if a == axis else (0, 0) for a in range(3)]
        grad += np.sum(np.pad(step, pad) ** 2, axis=-1)
    return grad > BOUNDARY * np.sum(flow ** 2, axis=-1) + BOUNDARY_OFFSET


def reliability(flow: np.ndarray, back: np.ndarray) -> np.ndarray:
    """``HxW`` float64 weights ``c``: 0 where disoccluded or on a motion boundary, 1 elsewhere (not smoothed)."""
    return (~(disoccluded(flow, back) | motion_boundaries(flow))).astype(np.float64)


def smoothed(c: np.ndarray, sigma: float) -> np.ndarray:
    """``c`` with soft edges: the lower of ``c`` and its Gaussian blur (``sigma`` pixels), so an unreliable pixel
    stays 0 and its reliable neighbours fade in over about ``2 sigma`` pixels instead of pulling at full weight."""
    if sigma <= 0:
        return c
    import cv2

    blurred = cv2.GaussianBlur(np.asarray(c, np.float64), (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return np.minimum(c, blurred)


def loss_weights(flow: np.ndarray, back: np.ndarray) -> np.ndarray:
    """The temporal loss's ``c``: :func:`reliability` smoothed by :data:`SMOOTHING` (the consistency metric keeps the
    plain map)."""
    return smoothed(reliability(flow, back), SMOOTHING)
