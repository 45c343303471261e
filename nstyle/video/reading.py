"""Reading a clip: a video file (PyAV) or a folder or glob pattern of frame pictures, upright and in order.

:func:`open_clip` reads the header and decodes the first frame (so a file that is no video, or has no frame, is
refused before any work); :func:`frames` then yields every frame as ``HxWx3`` uint8 RGB, turned upright as the
display matrix of phone videos says.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterator, List, Optional, Tuple

import numpy as np

from ..errors import NStyleError
from ..files import images

#: Frame pictures a folder of frames may hold (read by :func:`nstyle.files.images.read_image`).
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Frames per second of a folder of frames (it has none of its own) unless ``--frame-rate`` says.
DEFAULT_RATE = Fraction(25)
#: FFmpeg demuxers of single pictures: such a file is a picture, not a clip.
PICTURE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "tiff_pipe", "webp_pipe", "gif")


@dataclass
class Clip:
    """What a clip holds, from its header and first frame."""

    path: str  # as given
    count: int  # frames
    size: Tuple[int, int]  # upright (height, width)
    rate: Fraction  # frames per second
    time_base: Fraction  # of the video stream (1/rate for frame folders)
    rotation: int = 0  # degrees counter-clockwise each decoded frame is turned to stand upright
    has_audio: bool = False
    files: Optional[List[str]] = field(default=None, repr=False)  # the frame pictures, for a folder or glob

    @property
    def is_file(self) -> bool:
        """True for a video file, False for frame pictures."""
        return self.files is None


def _bad(path: str, why: str) -> NStyleError:
    return NStyleError(f"--content-video {path}: {why}")


def frame_files(path: str) -> Optional[List[str]]:
    """The frame pictures a folder or glob pattern names, in name order; None for a single file."""
    if os.path.isdir(path):
        names = [os.path.join(path, n) for n in os.listdir(path)]
    elif glob.has_magic(path):
        names = glob.glob(path)
    else:
        return None
    return sorted(n for n in names if os.path.isfile(n) and os.path.splitext(n)[1].lower() in FRAME_EXTENSIONS)


def open_clip(path: str, rate: Optional[float] = None) -> Clip:
    """The clip at ``path`` (file, folder or glob); one-line :class:`NStyleError` for anything that is not one.

    ``rate`` overrides the frame rate (needed for folders, which have none: :data:`DEFAULT_RATE`)."""
    files = frame_files(path)
    if files is not None:
        if not files:
            raise _bad(path, f"no frame pictures ({', '.join(FRAME_EXTENSIONS)}) there")
        first = images.read_image(files[0])
        fps = Fraction(rate).limit_denominator(1001) if rate else DEFAULT_RATE
        return Clip(path, len(files), first.shape[:2], fps, 1 / fps, files=files)
    if not os.path.isfile(path):
        raise _bad(path, "no such file or folder")
    return _open_file(path, rate)


def _open_file(path: str, rate: Optional[float]) -> Clip:
    import av

    try:
        with av.open(path) as container:
            if container.format.name.split(",")[0] in PICTURE_FORMATS:
                raise _bad(path, "is a picture, not a video (nstyle stylizes one picture; a clip needs a video "
                           "file or a folder of frames)")
            if not container.streams.video:
                raise _bad(path, "has no video stream")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise _bad(path, "has no frames")
            count = stream.frames or _count_packets(path)
            fps = Fraction(rate).limit_denominator(1001) if rate else (stream.average_rate or stream.guessed_rate)
            if not fps:
                raise _bad(path, "has no frame rate; give one with --frame-rate")
            shape = upright(first.to_ndarray(format="rgb24"), first.rotation).shape
            return Clip(path, count, shape[:2], Fraction(fps), Fraction(stream.time_base or 1 / fps),
                        rotation=first.rotation, has_audio=bool(container.streams.audio))
    except NStyleError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise _bad(path, f"not a video FFmpeg can read ({str(exc)[:100] or type(exc).__name__})") from None


def _count_packets(path: str) -> int:
    """Frames counted from the video packets, for containers whose header does not say (Matroska, WebM)."""
    import av

    with av.open(path) as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """A decoded frame turned ``rotation`` degrees counter-clockwise (multiples of 90, as phones write them)."""
    turns = int(round(rotation / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def frames(clip: Clip) -> Iterator[np.ndarray]:
    """Every frame of ``clip`` in order, ``HxWx3`` uint8 upright; a frame that cannot be decoded ends the clip with
    an :class:`NStyleError` naming it (the frames before it have been yielded)."""
    if clip.files is not None:
        for index, name in enumerate(clip.files, start=1):
            try:
                rgb = images.read_image(name)
            except NStyleError as exc:
                raise _bad(clip.path, f"frame {index}: {exc}; the frames before it are kept") from None
            if rgb.dtype != np.uint8:
                rgb = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
            if rgb.shape[:2] != clip.size:
                raise _bad(clip.path, f"frame {index} ({name}) is {rgb.shape[1]}x{rgb.shape[0]}, the first "
                           f"{clip.size[1]}x{clip.size[0]}; every frame must have one size")
            yield rgb
        return
    yield from _decode(clip)


def _decode(clip: Clip) -> Iterator[np.ndarray]:
    import av

    index = 0
    try:
        with av.open(clip.path) as container:
            for index, frame in enumerate(container.decode(video=0), start=1):
                yield upright(frame.to_ndarray(format="rgb24"), frame.rotation)
    except av.FFmpegError as exc:
        raise _bad(clip.path, f"frame {index + 1} cannot be decoded ({str(exc)[:100]}); the frames before it "
                   "are kept") from None
