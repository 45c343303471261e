"""Image I/O: reading any common file as RGB, the classic pre/post-processing, atomic saving."""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import NStyleError
from .atomic import atomic_path

#: Per-channel RGB mean subtracted before the network (SPEC.md §3).
MEAN = (123.68, 116.779, 103.939)
#: The classic scales the resized 0..1 image by 256 (not 255); kept for fidelity.
SCALE = 256
#: relu5_1 sits after four 2x2 poolings: each side must be at least this long.
MIN_SIDE = 16

#: Pictures with more pixels than this are refused from their header, before any decoding; the environment
#: variable ``NSTYLE_MAX_PIXELS`` raises (or lowers) it. 150 million is above the largest camera files (~100 MP).
MAX_PIXELS = 150_000_000
#: Pictures up to this many pixels (6000x4000) are read in full, exactly as the classic does. Larger ones are decoded
#: reduced when the run needs fewer pixels: their short side is kept at least twice the long edge resized to.
REDUCE_ABOVE = 24_000_000
#: The raster formats nstyle opens; others (EPS, which runs Ghostscript; PSD, FITS, ...) are never handed to Pillow.
#: (JPEG covers the multi-picture MPO files of cameras.)
FORMATS = ("JPEG", "PNG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "PPM", "TGA", "ICO", "PCX", "SGI", "JPEG2000")


@dataclass
class Inputs:
    """The content and style images as RGB arrays, with the names used in messages."""

    content: np.ndarray
    styles: List[np.ndarray]
    content_name: str
    style_names: List[str]
    #: one 0..1 ``HxW`` region mask per style image on the content's frame (None: no regions), see ``masks``
    content_masks: Optional[List[np.ndarray]] = None
    #: one 0..1 mask per style image on its own frame (None: every style image whole)
    style_masks: Optional[List[np.ndarray]] = None


def max_pixels() -> int:
    """The pixel limit: ``NSTYLE_MAX_PIXELS`` if set, else :data:`MAX_PIXELS`."""
    text = os.environ.get("NSTYLE_MAX_PIXELS", "").strip().replace("_", "")
    if not text:
        return MAX_PIXELS
    if not text.isdigit() or int(text) <= 0:
        raise NStyleError(f"NSTYLE_MAX_PIXELS={text!r}: must be a positive whole number of pixels")
    return int(text)


def _too_many(name: str, what: str, limit: int) -> NStyleError:
    return NStyleError(f"image {name}: {what} pixels, more than the limit of {limit:,}; refused without decoding "
                       "it (set NSTYLE_MAX_PIXELS to raise the limit)")


def check_pixels(size: Tuple[int, int], name: str) -> None:
    """Refuse a ``(width, height)`` above :func:`max_pixels` (an image bomb, or a picture too big to be useful)."""
    limit = max_pixels()
    if size[0] * size[1] > limit:
        raise _too_many(name, f"{size[0]}x{size[1]} is {size[0] * size[1]:,}", limit)


def open_image(path: str) -> Image.Image:
    """Open ``path`` reading only its header: a regular file, one of :data:`FORMATS`, within the pixel limit."""
    if not os.path.exists(path):
        raise NStyleError(f"image {path}: no such file")
    if os.path.isdir(path):
        raise NStyleError(f"image {path}: is a directory, not an image file")
    if not os.path.isfile(path):
        raise NStyleError(f"image {path}: not a regular file (a device or a pipe?)")
    if os.path.getsize(path) == 0:
        raise NStyleError(f"image {path}: the file is empty")
    limit = max_pixels()
    if Image.MAX_IMAGE_PIXELS is not None and limit > 2 * Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limit  # the user allowed more than Pillow's own guard does: move it up to ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path, formats=FORMATS)
    except PermissionError:
        raise NStyleError(f"image {path}: permission denied") from None
    except UnidentifiedImageError:
        raise NStyleError(f"image {path}: not an image file (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError as exc:  # Pillow's guard (twice PIL.Image.MAX_IMAGE_PIXELS) came first
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_many(path, f"{int(found.group(1)):,}" if found else "too many", limit) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise NStyleError(f"image {path}: cannot decode it ({str(exc)[:100] or type(exc).__name__}); "
                          "is it truncated or corrupt?") from None
    try:
        check_pixels(im.size, path)
    except NStyleError:
        im.close()
        raise
    return im


def reduction(size: Tuple[int, int], long_edge: Optional[int]) -> int:
    """Integer factor to shrink a ``(width, height)`` picture by while decoding (1: read it whole).

    Only pictures above :data:`REDUCE_ABOVE` pixels shrink, and only so far that the short side stays at least
    ``2 * long_edge`` (``long_edge``: the longest side the run will resize the picture to; None: never shrink).
    """
    if long_edge is None or size[0] * size[1] <= REDUCE_ABOVE:
        return 1
    return max(1, min(size) // (2 * max(1, long_edge)))


def _shrink(im: Image.Image, factor: int) -> Image.Image:
    """``im`` reduced by an integer ``factor`` (box average in its own 8- or 32-bit mode: no float64 copy)."""
    if factor <= 1:
        return im
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "1" or im.mode.startswith("I;16"):
        im = im.convert("L" if im.mode == "1" else "I")
    return im.reduce(factor)


def read_image(path: str, long_edge: Optional[int] = None) -> np.ndarray:
    """Read ``path`` as an ``HxWx3`` RGB array, respecting the EXIF orientation.

    8-bit files give ``uint8`` (bit-identical to ``skimage.io.imread`` for plain RGB files);
    16-bit greyscale gives ``float64`` in 0..1. Transparency is composited on white; greyscale,
    palette, CMYK and bilevel files are converted. Any unreadable file raises :class:`NStyleError`, and so
    does a picture above the pixel limit, from its header (:func:`open_image`). ``long_edge``: the longest side
    the caller resizes the picture to; pictures above :data:`REDUCE_ABOVE` pixels are then decoded reduced
    (JPEG's DCT scaling, else a box filter) as :func:`reduction` says. Without it every picture is read whole.
    """
    im = open_image(path)
    try:
        with im:
            factor = reduction(im.size, long_edge)
            if factor > 1:
                im.draft(None, (im.width // factor, im.height // factor))  # JPEG: decode at 1/2, 1/4 or 1/8
            im.load()
            sixteen_bit = _is_png16(im) or im.mode.startswith("I;16")
            if factor > 1:
                im = _shrink(im, min(im.size) // (2 * max(1, long_edge or 1)))
            im = ImageOps.exif_transpose(im)
            return _to_rgb(im, sixteen_bit)
    except PermissionError:
        raise NStyleError(f"image {path}: permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            MemoryError, Image.DecompressionBombError) as exc:
        raise NStyleError(f"image {path}: cannot decode it ({str(exc)[:100] or type(exc).__name__}); "
                          "is it truncated or corrupt?") from None


def _is_png16(im: Image.Image) -> bool:
    """Pillow 10 opens 16-bit greyscale PNGs as mode ``I``; their scale is 0..65535 even when they are dark."""
    return im.format == "PNG" and im.mode == "I"


def _to_rgb(im: Image.Image, sixteen_bit: bool = False) -> np.ndarray:
    """Convert a loaded Pillow image of any mode to an RGB array (``sixteen_bit``: samples are on 0..65535)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = np.asarray(im, dtype=np.float64)
        top = grey.max(initial=0.0)
        peak = 65535.0 if sixteen_bit or im.mode.startswith("I;16") or top > 255 else 255.0 if top > 1 else 1.0
        grey = np.clip(grey / peak, 0.0, 1.0)
        return np.repeat(grey[:, :, None], 3, axis=2)
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def content_size(shape: Tuple[int, ...], long_edge: int) -> Tuple[int, int]:
    """The classic new size ``(int(h*f), int(w*f))`` with ``f = long_edge / max(h, w)``."""
    h, w = shape[:2]
    factor = float(long_edge) / max(h, w)
    return int(h * factor), int(w * factor)


def check_size(size: Tuple[int, int], path: str) -> None:
    """Refuse sizes too small for the four poolings before relu5_1."""
    if min(size) < MIN_SIDE:
        raise NStyleError(f"image {path}: at this size it becomes {size[1]}x{size[0]} pixels; VGG19 needs "
                          f"at least {MIN_SIDE} on each side (raise --max-long-edge or use a less elongated image)")


def resize01(rgb: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` with skimage's defaults: ``HxWx3`` float64 on the 0..1 scale."""
    from skimage import transform

    return np.asarray(transform.resize(rgb, size))


def preprocess(rgb: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` (skimage defaults), scale by 256, to ``1x3xHxW``, subtract the mean (float64)."""
    return to_network(resize01(rgb, size))


def to_network(resized: np.ndarray) -> np.ndarray:
    """A resized 0..1 ``HxWx3`` image as the network's input: times 256, ``1x3xHxW``, mean subtracted."""
    sample = np.asarray(resized) * SCALE
    sample = np.ascontiguousarray(sample.transpose(2, 0, 1))
    for c in range(3):
        sample[c] -= MEAN[c]
    return sample[None]


def pixel_bounds(shape: Tuple[int, ...]) -> Tuple[np.ndarray, np.ndarray]:
    """The network-space values of pixel levels 0 and 255, broadcast to ``shape`` (``1x3xHxW``)."""
    mean = np.array(MEAN).reshape(1, 3, 1, 1)
    return np.broadcast_to(-mean, shape), np.broadcast_to(255.0 - mean, shape)


def from_pixels(rgb: np.ndarray) -> np.ndarray:
    """A saved ``HxWx3`` image as the network image :func:`postprocess` turns into it (float64 ``1x3xHxW``)."""
    return rgb.astype(np.float64).transpose(2, 0, 1)[None] - np.array(MEAN)[None, :, None, None]


def postprocess(x: np.ndarray) -> np.ndarray:
    """``1x3xHxW`` network image to ``HxWx3`` uint8: add the mean, clip to 0..255, truncate."""
    return unprocess(x).astype(np.uint8)


def unprocess(x: np.ndarray) -> np.ndarray:
    """``1x3xHxW`` network image to ``HxWx3`` on 0..255 (``x``'s float type): add the mean, clip."""
    img = np.array(x, dtype=x.dtype).reshape(x.shape[-3:])
    for c in range(3):
        img[c] += MEAN[c]
    return np.clip(img.transpose(1, 2, 0), 0, 255)


def to_16bit(rgb255: np.ndarray) -> np.ndarray:
    """Float ``0..255`` samples to ``uint16`` (``0..65535``, rounded): keeps what 8 bits would throw away."""
    return np.round(np.clip(rgb255, 0, 255) * (65535.0 / 255.0)).astype(np.uint16)


def denoise(rgb: np.ndarray, weight: float) -> np.ndarray:
    """Chambolle TV denoising over the colour axis, back to uint8 (rounded)."""
    from skimage.restoration import denoise_tv_chambolle

    out = denoise_tv_chambolle(rgb, weight=weight, channel_axis=-1)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def output_format(path: str) -> str:
    """The Pillow format an output ``path`` is written in, from its extension; refuse names that cannot be written."""
    fmt = Image.registered_extensions().get(os.path.splitext(path)[1].lower())
    if fmt is None or fmt not in Image.SAVE:
        raise NStyleError(f"output {path}: unknown image extension (use .jpg or .png)")
    if os.path.isdir(path):
        raise NStyleError(f"output {path}: is a directory; give a file name such as {os.path.join(path, 'final.jpg')}")
    return fmt


def save_image(rgb: np.ndarray, path: str, remove_noise: float = 0.0) -> None:
    """Write ``rgb`` (uint8 HxWx3) to ``path`` atomically; format from the extension (JPEG quality 75).

    A ``uint16`` array is written with 16 bits per channel (``.png`` or ``.tif``; see :func:`save_16bit`).
    """
    if rgb.dtype == np.uint16:
        return save_16bit(rgb, path)
    fmt = output_format(path)
    if remove_noise > 0:
        rgb = denoise(rgb, remove_noise)
    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format=fmt, **({"quality": 75} if fmt == "JPEG" else {}))


def save_16bit(rgb: np.ndarray, path: str) -> None:
    """Write a ``uint16`` ``HxWx3`` image as a 48-bit PNG (OpenCV) or an RGB TIFF (tifffile), atomically.

    Pillow cannot write 16-bit colour; OpenCV (installed with GluonCV) and tifffile (with scikit-image) can.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".png", ".tif", ".tiff"):
        raise NStyleError(f"output {path}: 16-bit images need a .png or .tif file")
    with atomic_path(path) as tmp:
        if ext == ".png":
            import cv2

            ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
            if not ok:
                raise NStyleError(f"output {path}: OpenCV could not encode the image")
            with open(tmp, "wb") as f:
                f.write(data.tobytes())
        else:
            import tifffile

            tifffile.imwrite(tmp, rgb, photometric="rgb", compression="zlib")


def as_rgb(obj: Any, role: str, long_edge: Optional[int] = None) -> np.ndarray:
    """A path, a PIL image or an array (``HxW``, ``HxWx3`` or ``HxWx4``; uint8 or integers in 0..255, or float in
    0..1) as RGB. Empty, non-finite, out-of-range or oddly shaped arrays raise :class:`NStyleError`.
    ``long_edge`` is passed on to :func:`read_image` for paths."""
    if isinstance(obj, (str, os.PathLike)):
        return read_image(os.fspath(obj), long_edge)
    if isinstance(obj, Image.Image):
        check_pixels(obj.size, f"({role})")
        return _to_rgb(ImageOps.exif_transpose(obj), _is_png16(obj))
    return _array_rgb(np.asarray(obj), role)


def _array_rgb(arr: np.ndarray, role: str) -> np.ndarray:
    """Check an array picture and bring it to ``HxWx3`` uint8 or float64 on 0..1 (see :func:`as_rgb`)."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise NStyleError(f"{role} image: expected an HxW, HxWx3 or HxWx4 array, got shape {arr.shape}")
    if arr.size == 0:
        raise NStyleError(f"{role} image: the array is empty (shape {arr.shape})")
    if arr.dtype.kind in "iu" and arr.dtype != np.uint8:
        low, high = arr.min(), arr.max()
        if low < 0 or high > 255:
            raise NStyleError(f"{role} image: integer pixels must be in 0..255, found {low}..{high} "
                              "(pass floats in 0..1 for deeper images)")
        arr = arr.astype(np.uint8)
    if arr.dtype != np.uint8 and arr.dtype.kind != "f":
        raise NStyleError(f"{role} image: expected uint8 or float (0..1) pixels, got {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise NStyleError(f"{role} image: the array holds NaN or infinite values")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:].astype(np.float64) / (255.0 if arr.dtype == np.uint8 else 1.0)
        top = 255.0 if arr.dtype == np.uint8 else 1.0
        arr = (arr[:, :, :3] * alpha + top * (1 - alpha)).astype(arr.dtype)
    if arr.dtype.kind == "f":
        arr = np.clip(arr.astype(np.float64), 0.0, 1.0)
    return np.ascontiguousarray(arr)
