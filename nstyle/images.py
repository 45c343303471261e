"""Image I/O: reading any common file as RGB, the classic pre/post-processing, atomic saving."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Tuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .atomic import atomic_path
from .errors import NStyleError

#: Per-channel RGB mean subtracted before the network (SPEC.md §3).
MEAN = (123.68, 116.779, 103.939)
#: The classic scales the resized 0..1 image by 256 (not 255); kept for fidelity.
SCALE = 256
#: relu5_1 sits after four 2x2 poolings: each side must be at least this long.
MIN_SIDE = 16

Image.MAX_IMAGE_PIXELS = None  # size is checked by us against the requested long edge


@dataclass
class Inputs:
    """The content and style images as RGB arrays, with the names used in messages."""

    content: np.ndarray
    styles: List[np.ndarray]
    content_name: str
    style_names: List[str]


def read_image(path: str) -> np.ndarray:
    """Read ``path`` as an ``HxWx3`` RGB array, respecting the EXIF orientation.

    8-bit files give ``uint8`` (bit-identical to ``skimage.io.imread`` for plain RGB files);
    16-bit greyscale gives ``float64`` in 0..1. Transparency is composited on white; greyscale,
    palette, CMYK and bilevel files are converted. Any unreadable file raises :class:`NStyleError`.
    """
    if not os.path.exists(path):
        raise NStyleError(f"image {path}: no such file")
    if os.path.isdir(path):
        raise NStyleError(f"image {path}: is a directory, not an image file")
    if os.path.getsize(path) == 0:
        raise NStyleError(f"image {path}: the file is empty")
    try:
        with Image.open(path) as im:
            im.load()
            sixteen_bit = _is_png16(im)
            im = ImageOps.exif_transpose(im)
            return _to_rgb(im, sixteen_bit)
    except PermissionError:
        raise NStyleError(f"image {path}: permission denied") from None
    except UnidentifiedImageError:
        raise NStyleError(f"image {path}: not an image file (or a format Pillow cannot read)") from None
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


def save_image(rgb: np.ndarray, path: str, remove_noise: float = 0.0) -> None:
    """Write ``rgb`` (uint8 HxWx3) to ``path`` atomically; format from the extension (JPEG quality 75).

    A ``uint16`` array is written with 16 bits per channel (``.png`` or ``.tif``; see :func:`save_16bit`).
    """
    if rgb.dtype == np.uint16:
        return save_16bit(rgb, path)
    if remove_noise > 0:
        rgb = denoise(rgb, remove_noise)
    fmt = Image.registered_extensions().get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise NStyleError(f"output {path}: unknown image extension (use .jpg or .png)")
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


def as_rgb(obj: Any, role: str) -> np.ndarray:
    """A path, a PIL image or an array (``HxW``, ``HxWx3`` or ``HxWx4``; uint8, or float in 0..1) as RGB."""
    if isinstance(obj, (str, os.PathLike)):
        return read_image(os.fspath(obj))
    if isinstance(obj, Image.Image):
        return _to_rgb(ImageOps.exif_transpose(obj), _is_png16(obj))
    arr = np.asarray(obj)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise NStyleError(f"{role} image: expected an HxW, HxWx3 or HxWx4 array, got shape {arr.shape}")
    if arr.dtype != np.uint8 and not np.issubdtype(arr.dtype, np.floating):
        raise NStyleError(f"{role} image: expected uint8 or float (0..1) pixels, got {arr.dtype}")
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:].astype(np.float64) / (255.0 if arr.dtype == np.uint8 else 1.0)
        top = 255.0 if arr.dtype == np.uint8 else 1.0
        arr = (arr[:, :, :3] * alpha + top * (1 - alpha)).astype(arr.dtype)
    if np.issubdtype(arr.dtype, np.floating):
        arr = np.clip(arr.astype(np.float64), 0.0, 1.0)
    return np.ascontiguousarray(arr)
