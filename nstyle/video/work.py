"""The work folder of a clip (``--output-dir``): finished frames, cached flows and what they belong to.

``frames/NNNNN.png`` (1-based) are the finished frames, each written atomically, so a crash loses at most the
frame in progress; ``flow/`` (and ``flow/stepJ/``) holds the flows (:mod:`nstyle.video.flow`); ``video.json`` names
the settings and the clip the folder's contents belong to, so that ``--resume`` never mixes two runs.
"""
from __future__ import annotations

import json
import os
import shutil
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ..config import Config, digest
from ..errors import NStyleError
from ..files import guard
from ..files.atomic import atomic_path
from .reading import Clip

STATE = "video.json"


def frame_path(folder: str, index: int) -> str:
    """The finished frame ``index`` (1-based)."""
    return os.path.join(folder, "frames", f"{index:05d}.png")


def pass_path(folder: str, number: int, index: int, passes: int) -> str:
    """Frame ``index`` (1-based) as pass ``number`` of ``passes`` leaves it: the last pass's in ``frames/``, the
    others' in ``passes/K/``."""
    if number == passes:
        return frame_path(folder, index)
    return os.path.join(folder, "passes", str(number), f"{index:05d}.png")


def frames_done(folder: str, count: int) -> int:
    """How many frames from the first on are finished (the first missing one is where a run continues)."""
    done = 0
    while done < count and os.path.isfile(frame_path(folder, done + 1)):
        done += 1
    return done


def key(cfg: Config, clip: Clip, size: Tuple[int, int], temporal_weight: float, flow_preset: str,
        temporal_frames: Sequence[int] = (1,), interpolation: str = "bilinear", passes: int = 1,
        pass_blend: float = 0.5) -> str:
    """What the folder's frames depend on: the settings, the clip and the working size (the long-term frames and
    the passes only when there are any, so a short-term single-pass run's key is what it always was)."""
    source = clip.files or [clip.path]
    stamp = [(os.path.abspath(p), os.path.getsize(p), os.stat(p).st_mtime_ns) for p in (source[0], source[-1])]
    record = {"settings": cfg.hash(), "temporal_weight": temporal_weight, "flow": flow_preset,
              "clip": stamp, "count": clip.count, "size": list(size)}
    if list(temporal_frames) != [1]:
        record["temporal_frames"] = list(temporal_frames)
    if interpolation != "bilinear":
        record["warp_interpolation"] = interpolation
    if passes > 1:
        record["passes"], record["pass_blend"] = passes, pass_blend
    return digest(record)


def save_frame(folder: str, index: int, png: bytes) -> None:
    """Write a finished frame's PNG file as it came from elsewhere (a Dask worker), atomically."""
    with atomic_path(frame_path(folder, index)) as tmp:
        with open(tmp, "wb") as f:
            f.write(png)


def finished_frames(folder: str, count: int) -> List[bytes]:
    """The PNG files of the finished frames, from the first on (what a worker resumes from)."""
    out = []
    for index in range(1, frames_done(folder, count) + 1):
        with open(frame_path(folder, index), "rb") as f:
            out.append(f.read())
    return out


def saved_key(folder: str) -> Optional[str]:
    """The key ``video.json`` holds (None: no readable one)."""
    try:
        with open(os.path.join(folder, STATE)) as f:
            return str(json.load(f)["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def begin(folder: str, run_key: str, resume: bool, count: int) -> int:
    """Make the folder ready and return how many frames are already done: with ``resume`` those of the same key
    (another key is refused), otherwise none (earlier frames and flows are removed)."""
    if resume:
        saved = saved_key(folder)
        if saved is None:
            raise NStyleError(f"--resume: no {STATE} in {folder}; nothing to continue")
        if saved != run_key:
            raise NStyleError(f"--resume: {folder} holds the frames of another clip or other settings; run without "
                              "--resume to start again, or use another --output-dir")
        return frames_done(folder, count)
    for name in _work_files(folder):
        os.unlink(name)
    for sub in ("frames", "flow"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    with atomic_path(os.path.join(folder, STATE)) as tmp:
        with open(tmp, "w") as f:
            json.dump({"key": run_key, "frames": count}, f)
    return 0


def _flow_files(folder: str) -> List[str]:
    """The cached flows in the work folder: ``flow/NNNNN.npz`` and the long-term ``flow/stepJ/NNNNN.npz``."""
    flow = os.path.join(folder, "flow")
    steps = [os.path.join(flow, n) for n in sorted(os.listdir(flow))
             if n.startswith("step") and n[4:].isdigit()] if os.path.isdir(flow) else []
    return [name for sub in [flow] + steps for name in _own_files(sub, ".npz")]


def _work_files(folder: str) -> List[str]:
    """Every file a clip's run writes in its work folder but ``video.json``: finished frames, flows, pass frames."""
    return _own_files(os.path.join(folder, "frames"), ".png") + _flow_files(folder) + _pass_files(folder)


def _pass_files(folder: str) -> List[str]:
    """The frames of the passes before the last (``passes/K/NNNNN.png``)."""
    root = os.path.join(folder, "passes")
    subs = [os.path.join(root, n) for n in sorted(os.listdir(root)) if n.isdigit()] if os.path.isdir(root) else []
    return [name for sub in subs for name in _own_files(sub, ".png")]


def _own_files(folder: str, ext: str) -> List[str]:
    """The numbered files nstyle writes in ``folder`` (``NNNNN`` + ``ext``)."""
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder))
            if n.endswith(ext) and n[:-len(ext)].isdigit() and len(n) == 5 + len(ext)]


#: Bytes of one cached flow file per picture pixel: two float32 flows (both ways) of two components, uncompressed.
FLOW_BYTES_PER_PIXEL = 16
#: Bytes of one finished frame (PNG) per picture pixel, at most: RGB, 8 bits (stylized frames compress below it).
FRAME_BYTES_PER_PIXEL = 3
#: Room kept for ``video.json`` and the files' overhead (the encoded video, a fraction of the frames, is not counted).
SPARE_BYTES = 2**20


def work_bytes(count: int, size: Tuple[int, int], steps: Sequence[int], passes: int = 1) -> int:
    """What the work folder of a clip of ``count`` frames at ``size`` (H, W) holds when it is finished: every
    cached flow (``count - j`` files for each temporal frame ``j``) and every finished frame of every pass."""
    pixels = size[0] * size[1]
    flows = sum(max(count - step, 0) for step in steps)
    return flows * FLOW_BYTES_PER_PIXEL * pixels + passes * count * FRAME_BYTES_PER_PIXEL * pixels


def free_bytes(path: str) -> int:
    """The free bytes of the file system that holds ``path`` (or would hold it: its nearest existing folder)."""
    path = os.path.abspath(path)
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free


def check_space(clip: Clip, folder: str, size: Tuple[int, int], steps: Sequence[int], output: str,
                frames_out: bool, passes: int = 1) -> None:
    """Refuse, before any work, a clip whose work files (flows and frames, counted from the header's frame count)
    and its PNG output frames (``frames_out``) would not fit on their disks; files of an earlier run there count as
    room."""
    kept = sum(os.path.getsize(p) for p in _work_files(folder))
    need = {(folder, "work files (flows and frames)"): work_bytes(clip.count, size, steps, passes) - kept
            + SPARE_BYTES}
    if frames_out:
        pixels = clip.count * FRAME_BYTES_PER_PIXEL * size[0] * size[1]
        need[(output, "output frames")] = pixels - sum(os.path.getsize(p) for p in _own_files(output, ".png"))
    for (path, what), wanted in need.items():
        free = free_bytes(path)
        if wanted > free:
            raise NStyleError(f"{clip.path}: {clip.count} frames at {size[1]}x{size[0]} need about "
                              f"{_gigabytes(wanted)} of {what} in {path}, which has {_gigabytes(free)} free; free "
                              "some space, choose another folder or a smaller --max-long-edge")


def _gigabytes(n: int) -> str:
    """``n`` bytes, for a message."""
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{max(n, 0) / 2**20:.1f} MB"


def check_outputs(cfg: Config, clip: Clip, folder: str, output: str) -> None:
    """Refuse, before any work, a run whose video, copied frames or work files would replace one of its inputs
    (the clip, its frames, the style images, the weights, an ``--init`` picture)."""
    named: List[Tuple[str, str]] = [("content video", p) for p in (clip.files or [clip.path])]
    named += [item for item in guard.inputs_of(cfg) if item[0] != "content image"]
    inputs: Dict[Any, str] = {}
    for what, path in named:
        fid = guard.file_id(path)
        if fid is not None:
            inputs.setdefault(fid, f"the {what} {path}")
    written: Iterable[Tuple[str, str]] = [("--output", output), ("--output-dir", os.path.join(folder, STATE))]
    written = list(written) + [("--output-dir", p) for p in _work_files(folder)]
    if os.path.isdir(output):
        written += [("--output", p) for p in _own_files(output, ".png")]
    if clip.files and os.path.realpath(output) in {os.path.realpath(os.path.dirname(p)) for p in clip.files}:
        raise NStyleError(f"--output {output}: is the folder of the input frames; nstyle never writes among its "
                          "inputs (choose another --output)")
    for flag, path in written:
        hit = inputs.get(guard.file_id(path))
        if hit:
            raise NStyleError(f"{flag} {path} would replace {hit}; nstyle never writes over its inputs (choose "
                              f"another {flag})")
