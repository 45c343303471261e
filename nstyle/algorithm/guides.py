"""Guides: region masks brought to each layer's size (Gatys, Ecker, Bethge, Hertzmann and Shechtman, "Controlling
Perceptual Factors in Neural Style Transfer", CVPR 2017, section 4), and the guided Gram matrix they define.

- :func:`layer_guide`: a pixel mask at a VGG19 layer's size, through the layers in graph order. ``simple``: each
  2x2 pooling averages (a resize aligned with the network's cells); ``inside``: a neuron's value is the smallest
  mask value in its receptive field (erosion by every 3x3 convolution and pooling window); ``all``: the largest
  (dilation). Pooling is MXNet's ``valid`` convention: an odd last row or column is dropped.
- :func:`region_guides`: the guides ``T_r`` of several regions at one layer. Soft edges (``blend="share"``): each
  region gets the square root of its share of the masks, ``T_r = sqrt(M_r / max(1, sum_s M_s))``, so that the
  squares, which weight a position in a Gram and in its gradient, add up to the mask total there (1 inside a
  partition): a soft edge is painted by both styles at full strength together, with no band left to neither.
  ``blend="plain"`` uses ``T_r = M_r``, the paper's (a 50/50 edge then gets only a quarter of each style).
- :func:`normalise`: ``T~ = T / sqrt(mean(T^2))`` and the region's area ``a = mean(T^2)``, so the guided Gram
  :func:`guided_gram` ``G = (F o T~)(F o T~)^T / N`` is a guide-weighted average over the region's positions and
  does not change with its area; the region's style loss is weighted by ``a`` so that a pixel's style gradient
  does not either.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..files import images
from ..model_zoo.spec import LAYER_ORDER

KINDS = ("simple", "inside", "all")


def _pool(x: np.ndarray, reduce) -> np.ndarray:
    """2x2, stride 2, no padding, odd edges dropped (MXNet's ``valid`` pooling) with ``reduce`` over each block."""
    h, w = x.shape[0] // 2, x.shape[1] // 2
    blocks = x[:2 * h, :2 * w].reshape(h, 2, w, 2)
    return reduce(reduce(blocks, axis=3), axis=1)


def _conv(x: np.ndarray, kind: str) -> np.ndarray:
    """A 3x3, pad-1 convolution's effect on a guide: none (simple), erosion (inside) or dilation (all).

    The zero padding is outside the picture, not outside the region: a border neuron looks at its in-picture
    neighbours only."""
    if kind == "simple":
        return x
    from scipy import ndimage

    pick = ndimage.minimum_filter if kind == "inside" else ndimage.maximum_filter
    return pick(x, size=3, mode="nearest")


def layer_guide(mask: np.ndarray, layer: str, kind: str = "simple") -> np.ndarray:
    """``mask`` (``HxW``, 0..1, at the network input's size) brought to ``layer``'s ``hxw`` (see the module)."""
    x = np.asarray(mask, np.float64)
    reduce = {"simple": np.mean, "inside": np.min, "all": np.max}[kind]
    for name in LAYER_ORDER[: LAYER_ORDER.index(layer) + 1]:
        if name.startswith("conv"):
            x = _conv(x, kind)
        elif name.startswith("pool"):
            x = _pool(x, reduce)
    return x


def region_guides(masks: Sequence[np.ndarray], blend: str = "share") -> List[np.ndarray]:
    """The guides ``T_r`` of regions whose masks (at one layer) are ``masks`` (see the module for ``blend``)."""
    if blend == "plain":
        return [np.asarray(m, np.float64) for m in masks]
    total = np.maximum(1.0, np.sum(masks, axis=0))
    return [np.sqrt(np.asarray(m, np.float64) / total) for m in masks]


def normalise(guide: np.ndarray) -> Tuple[np.ndarray, float]:
    """``(T~, a)``: ``T / sqrt(mean(T^2))`` and ``a = mean(T^2)``; an empty guide gives zeros and 0."""
    area = float(np.mean(np.square(guide)))
    if area <= 0.0:
        return np.zeros_like(guide), 0.0
    return guide / np.sqrt(area), area


def guided_gram(feature: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """``(F o T)(F o T)^T / N`` of a ``CxHxW`` feature and an ``HxW`` guide (normalised or not), in float64."""
    f = (np.asarray(feature, np.float64) * guide).reshape(feature.shape[0], -1)
    return f @ f.T / f.shape[1]


@dataclass
class Guides:
    """The normalised guides of a picture's regions per style layer, and each region's area there."""

    guides: List[List[np.ndarray]]  # [layer][region]: T~ at the layer's size, float64 (float32 on a tiled canvas)
    areas: List[List[float]]  # [layer][region]: mean(T^2); 0 is an empty guide (its loss is skipped)

    def arrays(self) -> List[np.ndarray]:
        """Every guide as a ``1x1xhxw`` float32 array, layer by layer, region by region (the graph's order)."""
        return [g.astype(np.float32)[None, None] for layer in self.guides for g in layer]


def picture_guides(masks: Sequence[np.ndarray], size: Tuple[int, int], layers: Sequence[str], kind: str = "simple",
                   blend: str = "share") -> Guides:
    """:class:`Guides` of the regions ``masks`` (each ``HxW`` on any frame of the picture's aspect) for a picture
    of ``size`` and the style ``layers``."""
    return pixel_guides([exact_resize(m, size) for m in masks], layers, kind, blend)


def pixel_guides(pixel: Sequence[np.ndarray], layers: Sequence[str], kind: str = "simple",
                 blend: str = "share") -> Guides:
    """:class:`Guides` of regions whose masks ``pixel`` are already at the network input's size."""
    guides, areas = [], []
    for layer in layers:
        normalised = [normalise(t) for t in region_guides([layer_guide(m, layer, kind) for m in pixel], blend)]
        guides.append([g for g, _ in normalised])
        areas.append([a for _, a in normalised])
    return Guides(guides, areas)


def exact_resize(mask: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``mask`` resized to ``size`` as images are (0..1); an all-ones mask stays exactly ones."""
    if mask.shape == tuple(size):
        return np.asarray(mask, np.float64)
    if mask.min() == mask.max():
        return np.full(size, float(mask.flat[0]))
    return np.clip(images.resize01(mask, size), 0.0, 1.0)


def whole(size: Tuple[int, int]) -> np.ndarray:
    """The mask of a whole picture of ``size``."""
    return np.ones(size)


def style_guides(mask: Optional[np.ndarray], size: Tuple[int, int], layers: Sequence[str],
                 kind: str = "simple") -> Guides:
    """One style image's own guide (its ``--style-mask``, else the whole image) at ``size``."""
    return picture_guides([whole(size) if mask is None else mask], size, layers, kind)
