"""Colour preservation (Gatys et al. 2016, "Preserving colour in neural artistic style transfer").

- ``luminance``: keep the result's luma and the content's chroma (YIQ).
- ``histogram``: before optimising, recolour the style image with the affine map that gives its pixels the
  content's colour mean and covariance: ``x' = A (x - mu_s) + mu_c`` with ``A = C_c^(1/2) C_s^(-1/2)``
  (symmetric square roots), so that ``A C_s A^T = C_c``.
"""
from __future__ import annotations

import numpy as np


def luminance_transfer(result: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The result's Y with the content's I and Q (both ``HxWx3`` on one scale); float64 RGB, unclipped."""
    from skimage.color import rgb2yiq, yiq2rgb

    yiq = rgb2yiq(np.asarray(content, np.float64))
    yiq[..., 0] = rgb2yiq(np.asarray(result, np.float64))[..., 0]
    return yiq2rgb(yiq)


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
