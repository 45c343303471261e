"""Region masks in tiled runs: the whole picture's guides on the canvas, cut to each window, and guided Grams.

- :func:`canvas_guides`: each mask resized to the level's size, padded (reflected) to the canvas as the content is,
  and brought to every style layer there (:func:`nstyle.algorithm.guides.pixel_guides`). The normalisation
  ``T~ = T / sqrt(mean(T^2))`` and the areas ``mean(T^2)`` are therefore the whole canvas's, never a window's.
- :func:`window_cells`: a window's cells of a canvas-sized layer array. Windows start on multiples of the deepest
  layer's stride, so at a layer of stride ``s`` the window's feature cells are the canvas's from ``start // s``:
  the guide a window sees is the picture's guide at the same cells.
- :func:`feature_grams`: ``(F o T~)(F o T~)^T`` of one layer's features for each region's guide (or the plain
  Gram). Summed over the cores of a tiling this is the picture's guided Gram, as the plain Grams are
  (:func:`nstyle.tiles.level.whole_grams`).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..algorithm import guides
from .geometry import Tile, pad_to


def canvas_guides(masks: Sequence[np.ndarray], size: Tuple[int, int], canvas: Tuple[int, int],
                  layers: Sequence[str], kind: str = "simple") -> guides.Guides:
    """The regions' guides (float32) for a picture of ``size`` on a ``canvas``-sized (padded) grid (see the
    module)."""
    pixel = [pad_to(guides.exact_resize(m, size), canvas) for m in masks]
    found = guides.pixel_guides(pixel, layers, kind)
    return guides.Guides([[g.astype(np.float32) for g in layer] for layer in found.guides], found.areas)


def window_cells(array: np.ndarray, tile: Tile, stride: int, cells: Tuple[int, int]) -> np.ndarray:
    """The ``cells`` (rows, cols) of a canvas layer ``array`` (``...xhxw``) that ``tile``'s window covers at a
    layer of ``stride``."""
    r0, c0 = tile.rows.start // stride, tile.cols.start // stride
    assert r0 * stride == tile.rows.start and c0 * stride == tile.cols.start, "a window off the stride grid"
    return array[..., r0:r0 + cells[0], c0:c0 + cells[1]]


def window_guides(picture: guides.Guides, tile: Tile, strides: Sequence[int],
                  cells: Sequence[Tuple[int, int]]) -> List[List[np.ndarray]]:
    """``[layer][region]``: the picture's guides that ``tile``'s window sees, at each style layer's ``cells``."""
    return [[window_cells(g, tile, s, c) for g in layer] for layer, s, c in zip(picture.guides, strides, cells)]


def feature_grams(feature: np.ndarray, region_guides: Optional[Sequence[np.ndarray]] = None) -> List[np.ndarray]:
    """``(F o T)(F o T)^T`` of a ``CxHxW`` float32 ``feature`` for each ``HxW`` guide ``T``, or ``[F F^T]`` without
    guides; products in float32 (as the plain tiled Grams), float64 out."""
    grams = []
    for guide in region_guides if region_guides is not None else [None]:
        x = (feature if guide is None else feature * guide).reshape(feature.shape[0], -1)
        grams.append(np.dot(x, x.T).astype(np.float64))
    return grams
