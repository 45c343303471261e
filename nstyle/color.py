"""Colour preservation (Gatys et al. 2016, "Preserving colour in neural artistic style transfer").

- ``luminance``: keep the result's luma and the content's chroma (YIQ).
- ``histogram``: before optimising, recolour the style image with the affine map that gives its pixels the
  content's colour mean and covariance: ``x' = A (x - mu_s) + mu_c`` with ``A = C_c^(1/2) C_s^(-1/2)``
  (symmetric square roots), so that ``A C_s A^T = C_c``.
"""
from __future__ import annotations

import numpy as np

#: RGB -> YIQ (NTSC); rows give Y, I, Q.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                       [0.595716, -0.274453, -0.321263],
                       [0.211456, -0.522591, 0.311135]])
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


def to_yiq(rgb: np.ndarray) -> np.ndarray:
    """``HxWx3`` RGB (any scale) to YIQ on the same scale, float64."""
    return np.asarray(rgb, np.float64) @ RGB_TO_YIQ.T


def from_yiq(yiq: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_yiq`."""
    return np.asarray(yiq, np.float64) @ YIQ_TO_RGB.T


def luminance_transfer(result: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The result's Y with the content's I and Q (both ``HxWx3`` on one scale); float64 RGB, unclipped."""
    yiq = to_yiq(content)
    yiq[..., 0] = to_yiq(result)[..., 0]
    return from_yiq(yiq)


def _sqrt_psd(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 1e-10)
    power = -0.5 if inverse else 0.5
    return (vectors * values ** power) @ vectors.T


def match_colors(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Recolour ``style`` so its pixels have ``content``'s mean and covariance (float64, unclipped)."""
    s = np.asarray(style, np.float64).reshape(-1, 3)
    c = np.asarray(content, np.float64).reshape(-1, 3)
    mu_s, mu_c = s.mean(axis=0), c.mean(axis=0)
    a = _sqrt_psd(np.cov(c, rowvar=False)) @ _sqrt_psd(np.cov(s, rowvar=False), inverse=True)
    return ((s - mu_s) @ a.T + mu_c).reshape(np.shape(style))
