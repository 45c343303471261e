"""Region masks (Gatys et al. 2017, spatial control): mask images read as one 0..1 channel, and their checks.

A mask is a greyscale picture (white = the region, black = outside, grey = a soft edge) or a picture with an alpha
channel (opaque = the region). :func:`read_mask` / :func:`as_mask` give ``HxW`` float64 on 0..1; :func:`check_masks`
refuses, in one line each, a count that does not match the style images, an all-zero mask and a mask whose aspect
ratio differs from its picture's by more than :data:`ASPECT_TOLERANCE`.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageOps

from ..errors import NStyleError
from .images import Inputs, open_image

#: Largest relative difference between a mask's aspect ratio (width / height) and its picture's.
ASPECT_TOLERANCE = 0.01

ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def mask_from_pil(im: Image.Image) -> np.ndarray:
    """A loaded Pillow image as a 0..1 mask: its alpha channel when it has a transparent pixel, else its grey."""
    im = ImageOps.exif_transpose(im)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ALPHA_MODES:
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
        if alpha.min() < 255:
            return alpha.astype(np.float64) / 255.0
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = np.asarray(im, dtype=np.float64)
        top = grey.max(initial=0.0)
        return np.clip(grey / (65535.0 if top > 255 else 255.0 if top > 1 else 1.0), 0.0, 1.0)
    return np.asarray(im.convert("L"), dtype=np.float64) / 255.0


def read_mask(path: str, flag: str) -> np.ndarray:
    """Read the mask file ``path`` (given to ``flag``) as ``HxW`` float64 on 0..1; one-line errors."""
    try:
        im = open_image(path)
    except NStyleError as exc:
        raise NStyleError(f"{flag} {path}: {str(exc).split(': ', 1)[-1]}") from None
    try:
        with im:
            im.load()
            return mask_from_pil(im)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as exc:
        raise NStyleError(f"{flag} {path}: cannot decode it ({str(exc)[:100] or type(exc).__name__})") from None


def as_mask(obj: Any, flag: str) -> np.ndarray:
    """A path, a PIL image or an array (``HxW`` or ``HxWxC``: the last channel if 2 or 4, else the mean; uint8 or
    0..1 floats) as a 0..1 mask."""
    if isinstance(obj, (str, os.PathLike)):
        return read_mask(os.fspath(obj), flag)
    if isinstance(obj, Image.Image):
        return mask_from_pil(obj)
    arr = np.asarray(obj)
    if arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4):
        arr = arr[..., -1] if arr.shape[2] in (2, 4) else arr.mean(axis=2).astype(arr.dtype)
    if arr.ndim != 2 or arr.size == 0 or arr.dtype.kind not in "uif":
        raise NStyleError(f"{flag}: expected an HxW array of numbers (or HxWx1..4), got shape {arr.shape} "
                          f"of {arr.dtype}")
    values = arr.astype(np.float64)
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > (255 if arr.dtype.kind in "ui" else 1):
        raise NStyleError(f"{flag}: mask values must be 0..255 integers or 0..1 floats")
    return values / 255.0 if arr.dtype.kind in "ui" else values


def mask_names(masks: Optional[Sequence[Any]], flag: str) -> List[str]:
    """Names of masks in messages and settings: a path as given, else ``<flag N HxW>``."""
    names = []
    for i, m in enumerate(masks or []):
        if isinstance(m, (str, os.PathLike)):
            names.append(os.fspath(m))
        else:
            shape = np.shape(m) if not isinstance(m, Image.Image) else (m.height, m.width)
            names.append(f"<{flag.lstrip('-')} {i + 1} {shape[1]}x{shape[0]}>")
    return names


def attach(inputs: Inputs, content_masks: Optional[Sequence[Any]], style_masks: Optional[Sequence[Any]],
           content_names: Sequence[str], style_names: Sequence[str]) -> Inputs:
    """``inputs`` with its masks read and checked (paths, PIL images or arrays; None: no masks of that kind).

    Style masks without content masks: each style's region is the whole content."""
    if not content_masks and not style_masks:
        return inputs
    styles = len(inputs.styles)
    content = [as_mask(m, "--content-mask") for m in content_masks] if content_masks else \
        [np.ones(inputs.content.shape[:2])] * styles
    if content_masks:
        check_masks(content, content_names, "--content-mask", [inputs.content.shape] * styles,
                    [f"the content {inputs.content_name}"] * styles)
    style = None
    if style_masks:
        style = [as_mask(m, "--style-mask") for m in style_masks]
        check_masks(style, style_names, "--style-mask", [s.shape for s in inputs.styles],
                    [f"the style {n}" for n in inputs.style_names])
    return dataclasses.replace(inputs, content_masks=content, style_masks=style)


def aspect(shape: Tuple[int, ...]) -> float:
    """Width over height of an ``HxW...`` shape."""
    return shape[1] / shape[0]


def check_masks(masks: Sequence[np.ndarray], names: Sequence[str], flag: str, frames: Sequence[Tuple[int, ...]],
                frame_names: Sequence[str]) -> None:
    """Refuse masks that do not fit: none all zero, each within 1% of its frame's aspect (``frames``: the shape of
    the picture each mask lies on). Their count is :meth:`nstyle.config.Config.validate`'s to check."""
    for mask, name, frame, frame_name in zip(masks, names, frames, frame_names):
        if not mask.any():
            raise NStyleError(f"{flag} {name}: the mask is empty (all black or transparent); its region would "
                              "have no pixels")
        if abs(aspect(mask.shape) / aspect(frame) - 1) > ASPECT_TOLERANCE:
            raise NStyleError(f"{flag} {name}: {mask.shape[1]}x{mask.shape[0]} has aspect ratio "
                              f"{aspect(mask.shape):.3f} but {frame_name} has {aspect(frame):.3f}; a mask must have "
                              "its picture's shape (within 1%)")
