"""Thumbnails for the batch report: small JPEGs in ``<output-dir>/thumbs``, remade only when their image changes."""
from __future__ import annotations

import hashlib
import os
from typing import Optional, Tuple

from PIL import Image, ImageOps

from ..errors import NStyleError
from ..files.atomic import atomic_path
from ..files.images import open_image

FOLDER = "thumbs"
RESULT_EDGE = 320  # long edge of a result's thumbnail (shown at 240 CSS pixels)
INPUT_EDGE = 160  # long edge of a content's or style's thumbnail (shown at 112)
QUALITY = 82


def thumb_path(folder: str, source: str, edge: int) -> str:
    """Where the thumbnail of ``source`` goes: a name from its absolute path, so odd file names stay harmless."""
    key = hashlib.sha1(f"{os.path.abspath(source)}|{edge}".encode()).hexdigest()[:16]
    return os.path.join(folder, FOLDER, f"{key}.jpg")


def thumbnail(folder: str, source: str, edge: int, make: bool = True) -> Optional[Tuple[str, int, int]]:
    """``(path, width, height)`` of an up-to-date thumbnail of ``source`` (long edge <= ``edge``), or None.

    None when ``source`` is missing or unreadable: the report then shows the run's reason instead. ``make=False``
    (the report while its batch runs: the runs' disk space comes first): no thumbnail is written; without an
    up-to-date one, ``source`` itself with the size its thumbnail would have.
    """
    if not os.path.isfile(source):
        return None
    target = thumb_path(folder, source, edge)
    try:
        if os.path.isfile(target) and os.path.getmtime(target) >= os.path.getmtime(source):
            with Image.open(target) as im:
                return target, im.width, im.height
        if not make:
            with open_image(source) as im:  # its header only
                scale = min(1.0, edge / max(im.size))
                return source, max(1, round(im.width * scale)), max(1, round(im.height * scale))
        with open_image(source) as im:  # nstyle's formats and pixel limit: no bomb, no Ghostscript for a thumbnail
            im.draft("RGB", (edge, edge))  # JPEG: decode at a reduced scale, much faster for big photos
            small = ImageOps.exif_transpose(im).convert("RGB")
            small.thumbnail((edge, edge), Image.LANCZOS)
    except (OSError, ValueError, Image.DecompressionBombError, NStyleError):
        return None
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with atomic_path(target) as tmp:  # an unwritable folder is the report's error, not the run's
        small.save(tmp, format="JPEG", quality=QUALITY)
    return target, small.width, small.height
