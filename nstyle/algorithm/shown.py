"""What a watcher (the live page, a notebook) is shown of the image being optimised.

The picture is the run's image strided to the watcher's size; with ``--preserve-color luminance`` the content's
chroma is mixed in as :func:`~nstyle.algorithm.outcome.finish` mixes it into the saved pictures, so the live
picture looks like the one the run will write. Only watchers call it, on a copy: the run's own numbers never pass
through here.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from ..config import Config
from ..files import images
from ..process.watch import Picture, stride, strided
from .outcome import finish


def live_picture(cfg: Config, image: Callable[[], np.ndarray], size: Tuple[int, int],
                 content: Optional[np.ndarray]) -> Picture:
    """``picture(long_edge)`` for a watcher: ``image()`` (``1x3xHxW``, ``size`` = ``(H, W)``) strided, with the
    content's chroma when ``cfg`` preserves luminance. ``content`` (``HxWx3``) at ``size`` on the 0..1 scale is
    strided alike (the picture then equals the saved one); otherwise (the image as read: another size, or uint8) it
    is resized to the picture shown, once per size (a print-size canvas needs no content at its full size)."""
    if cfg.preserve_color != "luminance" or content is None:
        return lambda edge: strided(image(), edge)
    resized: Dict[Tuple[int, ...], np.ndarray] = {}
    at_size = content.shape[:2] == tuple(size) and content.dtype.kind == "f"

    def picture(edge: int) -> np.ndarray:
        x = strided(image(), edge)
        if at_size:
            k = stride(size, edge)
            chroma = content[::k, ::k]
        else:
            shown = tuple(x.shape[-2:])
            if shown not in resized:
                resized[shown] = images.resize01(content, shown)
            chroma = resized[shown]
        rgb = finish(dataclasses.replace(cfg, bit_depth=8), x, chroma)
        # the middle of each 8-bit level, so that the watcher's postprocess (which truncates) gives back rgb exactly
        return (images.from_pixels(rgb) + 0.5).astype(np.float32)
    return picture
