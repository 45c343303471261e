"""The sizes a run solves at, coarsest first (the coarse-to-fine pyramid of ``--multires``)."""
from __future__ import annotations

import dataclasses
from typing import List, Tuple

from ..config import Config
from ..errors import NStyleError
from ..files import images

#: Most halvings a tiled run adds to reach a level that fits in one tile.
MAX_LEVELS = 12


def level_sizes(shape: Tuple[int, ...], cfg: Config, name: str) -> List[Tuple[int, int]]:
    """Content sizes to solve at, coarsest first: the long edge halved ``--multires`` times, then doubled."""
    sizes = [images.content_size(shape, max(1, cfg.max_long_edge >> k)) for k in range(cfg.multires, -1, -1)]
    images.check_size(sizes[-1], name)
    if min(sizes[0]) < images.MIN_SIDE:
        raise NStyleError(f"--multires {cfg.multires}: the coarsest level would be {sizes[0][1]}x{sizes[0][0]} "
                          f"pixels; VGG19 needs at least {images.MIN_SIDE} on each side (use a smaller --multires)")
    return sizes


def tiled_levels(cfg: Config, shape: Tuple[int, ...], name: str, tile: int) -> List[Tuple[int, int]]:
    """``--multires``'s level sizes, with more halvings until the coarsest level fits in one ``tile`` window, so
    every large picture starts from a whole-picture solution."""
    k = cfg.multires
    sizes = level_sizes(shape, cfg, name)
    while max(sizes[0]) > tile and min(sizes[0]) >= 2 * images.MIN_SIDE and k < MAX_LEVELS:
        k += 1
        sizes = level_sizes(shape, dataclasses.replace(cfg, multires=k), name)
    return sizes
