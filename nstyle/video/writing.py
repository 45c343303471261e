"""Writing the result: an H.264 ``yuv420p`` video at the input's frame rate with the input's audio copied through
(packets as they are, not re-encoded), or a folder of PNG frames. Both are made from the finished frame files."""
from __future__ import annotations

import os
import shutil
from fractions import Fraction
from typing import List, Optional, Sequence

import numpy as np

from ..errors import NStyleError
from ..files import images
from ..files.atomic import atomic_path

#: Output extensions that hold H.264 video, with their FFmpeg muxer.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
#: x264's constant rate factor: 17 is close to visually lossless (23 is x264's own default).
CRF = 17


def output_kind(path: str) -> str:
    """``"video"`` for a video file name, ``"frames"`` for a folder (no extension, or an existing folder); a name
    with another extension is refused in one line."""
    ext = os.path.splitext(path)[1].lower()
    if os.path.isdir(path) or not ext:
        return "frames"
    if ext not in CONTAINERS:
        raise NStyleError(f"--output {path}: a {ext} file cannot hold a video; use {', '.join(CONTAINERS)}, or a "
                          "folder name (no extension) for PNG frames")
    return "video"


def even(size: int) -> int:
    """``yuv420p`` halves the colour planes, so each side is cut to an even length (one pixel at most)."""
    return size - size % 2


def encode(frame_files: Sequence[str], out: str, rate: Fraction, time_base: Optional[Fraction] = None,
           audio_from: Optional[str] = None) -> None:
    """Encode the PNG ``frame_files`` into ``out`` (atomically) as H.264 ``yuv420p`` at ``rate`` frames per second;
    the first audio stream of ``audio_from`` (a video file) is copied into it packet by packet."""
    import av

    with atomic_path(out) as tmp:
        with av.open(tmp, "w", format=CONTAINERS[os.path.splitext(out)[1].lower()]) as container:
            stream = container.add_stream("libx264", rate=rate, options={"crf": str(CRF)})
            stream.pix_fmt = "yuv420p"
            if time_base:
                stream.time_base = time_base
            source = av.open(audio_from) if audio_from else None
            try:
                audio_in = source.streams.audio[0] if source and source.streams.audio else None
                audio_out = container.add_stream_from_template(audio_in) if audio_in else None
                for index, name in enumerate(frame_files):
                    rgb = images.read_image(name)
                    if index == 0:
                        stream.height, stream.width = even(rgb.shape[0]), even(rgb.shape[1])
                    rgb = np.ascontiguousarray(rgb[:stream.height, :stream.width])
                    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                    frame.pts, frame.time_base = index, 1 / rate
                    container.mux(stream.encode(frame))
                container.mux(stream.encode(None))
                if audio_in is not None:
                    for packet in source.demux(audio_in):
                        if packet.dts is None:
                            continue
                        packet.stream = audio_out
                        container.mux(packet)
            finally:
                if source is not None:
                    source.close()


def copy_frames(frame_files: Sequence[str], folder: str) -> List[str]:
    """Copy the PNG frames into ``folder`` (made if needed), each atomically, keeping their names."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise NStyleError(f"--output {folder}: cannot create the folder ({exc.strerror or exc})") from None
    written = []
    for name in frame_files:
        target = os.path.join(folder, os.path.basename(name))
        with atomic_path(target) as tmp:
            shutil.copyfile(name, tmp)
        written.append(target)
    return written
