"""The temporal loss (Ruder et al. 2016): ``E(x) = weight * sum c * (x - ω)²`` on the network image, short-term
(``ω`` from frame ``t-1``) and long-term (a sum of such terms for frames ``t-j``, :class:`TemporalSum`, with the
weights made "closest first" by :func:`closest_first`).

``ω`` is the previous stylized frame warped onto this one and ``c`` the reliability weights
(:mod:`nstyle.video.reliability`), both at the working size; ``x`` and ``ω`` are in network space (pixel levels
0..255 less the mean). ``weight`` is ``γ/D`` scaled as :func:`scaled_weight` says. The term is a
:class:`~nstyle.algorithm.objective.Penalty`: the loops add its gradient to the network's before clipping (NAG,
Adam) and its value and gradient to the true objective (L-BFGS).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

#: nstyle's content weight (the classic's 10) over artistic-videos' (5): see :func:`scaled_weight`.
CONTENT_WEIGHT_RATIO = 10.0 / 5.0


def scaled_weight(gamma: float, content_shapes: Sequence[Sequence[int]], pixel_values: int) -> float:
    """The factor in front of ``sum c (x - ω)²`` for ``--temporal-weight γ`` in artistic-videos' units.

    artistic-videos adds ``γ * mean c (x - ω)²`` (``D`` = ``pixel_values`` values, pixels on the same x256 scale as
    nstyle's, so no pixel-scale factor) to a content loss ``5 * mean (F - P)²`` over the content layer's ``M``
    values. nstyle's content loss is the classic's ``10 * sum (F - P)²``: ``2M`` times larger for the same features.
    The temporal term gets the same factor, ``γ * 2M / D``, so that it keeps artistic-videos' balance against the
    content loss at every frame size. ``content_shapes``: the content layers' output shapes (their sizes summed).
    """
    values = sum(int(np.prod(shape)) for shape in content_shapes)
    return float(gamma) * CONTENT_WEIGHT_RATIO * values / float(pixel_values)


class TemporalLoss:
    """``weight * sum c (x - ω)²`` and its gradient ``2 weight c (x - ω)`` for ``1x3xHxW`` images.

    ``target`` (ω) is ``1x3xHxW`` in network space, ``weights`` (c) ``HxW`` in 0..1."""

    def __init__(self, target: np.ndarray, weights: np.ndarray, weight: float) -> None:
        self.target = np.asarray(target, np.float64)
        self.c = np.broadcast_to(np.asarray(weights, np.float64)[None, None], self.target.shape)
        self.weight = float(weight)
        self._nd = None  # (target, 2 weight c) on the image's device, made on first use

    def value(self, x: np.ndarray) -> float:
        """``E(x)`` in float64."""
        diff = np.asarray(x, np.float64).reshape(self.target.shape) - self.target
        return self.weight * float(np.sum(self.c * diff * diff))

    def value_and_grad(self, x: np.ndarray) -> Tuple[float, np.ndarray]:
        """``E(x)`` and its gradient (float64, shaped like the target)."""
        diff = np.asarray(x, np.float64).reshape(self.target.shape) - self.target
        weighted = self.c * diff
        return self.weight * float(np.sum(weighted * diff)), 2.0 * self.weight * weighted

    def gradient(self, img):
        """The gradient at the ``mx.nd`` image ``img``, on its device (float32, as the network's)."""
        import mxnet as mx

        if self._nd is None:
            self._nd = (mx.nd.array(self.target, img.context), mx.nd.array(2.0 * self.weight * self.c, img.context))
        target, scale = self._nd
        return (img - target) * scale


#: The Gaussian blur (σ in pixels) of ``x - ω`` in :class:`LowPassTemporalLoss`; 0: Ruder's loss on every
#: frequency (the default). ``bench/video.py --low-pass`` measures others.
LOW_PASS = 0.0


class LowPassTemporalLoss(TemporalLoss):
    """``weight * sum c (G(x - ω))²``, ``G`` a Gaussian blur of ``sigma`` pixels per channel: the term holds only the
    coarse part of the picture to ``ω`` and leaves its fine texture to the style and content losses. Its gradient
    is ``2 weight G(c G(x - ω))`` (``G`` is symmetric)."""

    def __init__(self, target: np.ndarray, weights: np.ndarray, weight: float, sigma: float) -> None:
        super().__init__(target, weights, weight)
        self.sigma = float(sigma)

    def blur(self, image: np.ndarray) -> np.ndarray:
        """``G`` on each channel of a ``1x3xHxW`` array (edges reflected)."""
        from scipy import ndimage

        return ndimage.gaussian_filter(image, (0, 0, self.sigma, self.sigma), mode="reflect")

    def value(self, x: np.ndarray) -> float:
        low = self.blur(np.asarray(x, np.float64).reshape(self.target.shape) - self.target)
        return self.weight * float(np.sum(self.c * low * low))

    def value_and_grad(self, x: np.ndarray) -> Tuple[float, np.ndarray]:
        low = self.blur(np.asarray(x, np.float64).reshape(self.target.shape) - self.target)
        weighted = self.c * low
        return self.weight * float(np.sum(weighted * low)), 2.0 * self.weight * self.blur(weighted)

    def gradient(self, img):
        import mxnet as mx

        _, grad = self.value_and_grad(img.asnumpy())
        return mx.nd.array(grad, img.context, dtype=img.dtype)


def term(target: np.ndarray, weights: np.ndarray, weight: float) -> TemporalLoss:
    """One temporal term: Ruder's, or with :data:`LOW_PASS` > 0 its low-pass form."""
    if LOW_PASS > 0:
        return LowPassTemporalLoss(target, weights, weight, LOW_PASS)
    return TemporalLoss(target, weights, weight)


def closest_first(maps: Sequence[np.ndarray]) -> List[np.ndarray]:
    """The long-term weights (Ruder et al. 2016, eq. 8): ``maps`` are the reliability maps ``c_j`` of the frames
    ``t-j``, closest first; each becomes ``max(c_j - sum of the closer maps' c_k, 0)``, so a pixel is pulled
    towards the closest earlier frame that shows it reliably and the farther ones only where the closer ones cannot
    (the sum is over the plain maps, as in the paper)."""
    out, closer = [], None
    for c in maps:
        c = np.asarray(c, np.float64)
        out.append(c if closer is None else np.maximum(c - closer, 0.0))
        closer = c if closer is None else closer + c
    return out


class TemporalSum:
    """The sum of several :class:`TemporalLoss` terms (one per earlier frame ``t-j``), itself a penalty."""

    def __init__(self, terms: Sequence[TemporalLoss]) -> None:
        self.terms = list(terms)

    def value(self, x: np.ndarray) -> float:
        """The terms' energies summed (float64)."""
        return float(sum(term.value(x) for term in self.terms))

    def value_and_grad(self, x: np.ndarray) -> Tuple[float, np.ndarray]:
        """The energies and gradients summed."""
        parts = [term.value_and_grad(x) for term in self.terms]
        return float(sum(v for v, _ in parts)), sum(g for _, g in parts)

    def gradient(self, img):
        """The gradients at the ``mx.nd`` image ``img`` summed, on its device."""
        total = self.terms[0].gradient(img)
        for term in self.terms[1:]:
            total = total + term.gradient(img)
        return total
