"""Small pictures of a batch's finished runs for the live page's grid (made in memory, never written)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import NStyleError
from ..files import images

#: Longest side of a run's picture in the live grid.
EDGE = 240


def run_thumbnail(path: str, edge: int = EDGE) -> Optional[np.ndarray]:
    """``path`` (a picture a run wrote) as ``HxWx3`` uint8 at most ``edge`` pixels long, or None if unreadable."""
    try:
        with images.open_image(path) as im:
            im.draft("RGB", (edge, edge))
            small = im.convert("RGB")
            small.thumbnail((edge, edge))
            return np.asarray(small)
    except (OSError, NStyleError):
        return None
