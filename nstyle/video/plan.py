"""Checking a clip run before any work: the settings, the clip, the sizes, the output names (:func:`plan`)."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

from ..config import Config
from ..errors import NStyleError
from ..files import images
from ..process import resources
from . import flow, reading, warping, work, writing

#: ``--temporal-weight`` when not given, in artistic-videos' units (see :func:`nstyle.video.temporal.scaled_weight`):
#: a hundredth of artistic-videos' 1000, measured by ``bench/video.py`` at 30 epochs with the bicubic warp
#: (docs/video.md, "A sharper warp": E 0.21 of independent frames', style and content losses within 10%).
TEMPORAL_WEIGHT = 10.0
#: ``--pass-blend`` when not given: Ruder's δ.
PASS_BLEND = 0.5


@dataclass
class VideoSettings:
    """What ``nstyle video`` takes besides a still run's :class:`~nstyle.config.Config`."""

    content_video: str
    output: Optional[str] = None  # video file or folder for PNG frames (default: <output-dir>/final.mp4)
    temporal_weight: float = TEMPORAL_WEIGHT
    frame_rate: Optional[float] = None  # frames per second (default: the clip's; 25 for frame folders)
    #: the earlier frames ``t-j`` the temporal loss holds frame ``t`` to: ``(1,)`` short-term (Ruder's default),
    #: more for the long-term terms; a list or its text ``"1,10,20,40"``
    temporal_frames: Union[str, Sequence[int]] = (1,)
    #: the kernel that warps earlier results onto frame ``t`` (the start and ``ω``): one of
    #: :data:`nstyle.video.warping.INTERPOLATIONS`; "bilinear" is Ruder's, "bicubic" the default
    warp_interpolation: str = warping.WARP_INTERPOLATION
    #: Ruder's multi-pass algorithm: the clip is stylized this many times, in alternating directions (1: one pass
    #: forward, the default); see :mod:`nstyle.video.passes`
    passes: int = 1
    #: δ of the multi-pass start: a later pass starts frame ``i`` from ``δc`` of the warped neighbour and
    #: ``1 - δc`` of its own previous-pass result
    pass_blend: float = PASS_BLEND


@dataclass
class Plan:
    """A checked clip run: the clip, the working size, where everything goes."""

    clip: reading.Clip
    size: Tuple[int, int]
    folder: str
    output: Optional[str]
    kind: str  # "video" or "frames"
    key: str
    steps: Tuple[int, ...] = (1,)  # the temporal frames j, checked and sorted (closest first)
    interpolation: str = warping.WARP_INTERPOLATION  # the warp's kernel (--warp-interpolation)
    passes: int = 1  # --passes, checked
    blend: float = PASS_BLEND  # --pass-blend, checked


def plan(cfg: Config, video: VideoSettings, folder: str) -> Plan:
    """Check the settings, the clip, the sizes and the output names; nothing is written."""
    require_video()
    cfg.validate()
    if cfg.bit_depth != 8:
        raise NStyleError("--bit-depth 16: not available for video (H.264 yuv420p holds 8 bits)")
    if not (math.isfinite(video.temporal_weight) and video.temporal_weight >= 0):
        raise NStyleError(f"--temporal-weight {video.temporal_weight}: must be a finite number >= 0")
    steps = temporal_frames(video.temporal_frames)
    interpolation = warp_interpolation(video.warp_interpolation)
    passes, blend = pass_settings(video, cfg, steps)
    if video.frame_rate is not None and not (math.isfinite(video.frame_rate) and video.frame_rate > 0):
        raise NStyleError(f"--frame-rate {video.frame_rate}: must be > 0")
    if cfg.multires:
        raise NStyleError("--multires: not available for video yet (each frame is solved at one size)")
    if cfg.masked:
        raise NStyleError("--content-mask/--style-mask: not available for video yet")
    clip = reading.open_clip(video.content_video, video.frame_rate)
    size = images.content_size(clip.size + (3,), cfg.max_long_edge)
    images.check_size(size, f"{video.content_video} (its frames)")
    if cfg.tile_size is not None and cfg.tile_size < max(size):
        raise NStyleError(f"--tile-size {cfg.tile_size}: tiled frames are not available for video yet; use a "
                          f"--tile-size of at least {max(size)} or a smaller --max-long-edge")
    resources.check_memory(size, "--max-long-edge", cfg.max_long_edge)
    output = video.output if video.output is not None else os.path.join(folder, "final.mp4")
    kind = writing.output_kind(output)
    for path in cfg.style_images:
        if os.path.exists(path):
            images.open_image(path).close()
    work.check_outputs(cfg, clip, folder, output)
    work.check_space(clip, folder, size, steps, output, kind == "frames", passes)
    run_key = work.key(cfg, clip, size, video.temporal_weight, flow.PRESET, steps, interpolation, passes, blend)
    return Plan(clip, size, folder, output, kind, run_key, steps, interpolation, passes, blend)


def pass_settings(video: VideoSettings, cfg: Config, steps: Tuple[int, ...]) -> Tuple[int, float]:
    """``--passes`` and ``--pass-blend`` checked (:func:`pass_count`, :func:`pass_blend`); more than one pass only
    with the temporal loss and short-term terms, and at most ``--max-num-epochs`` (each pass runs a share)."""
    passes, blend = pass_count(video.passes), pass_blend(video.pass_blend)
    if passes > 1:
        if video.temporal_weight == 0:
            raise NStyleError(f"--passes {passes}: needs the temporal loss (--temporal-weight above 0)")
        if steps != (1,):
            raise NStyleError(f"--passes {passes}: not available with --temporal-frames yet (use 1)")
        if passes > cfg.max_num_epochs:
            raise NStyleError(f"--passes {passes}: each pass runs a share of --max-num-epochs "
                              f"{cfg.max_num_epochs}; use at most that many passes")
    return passes, blend


def pass_count(value: Union[int, str]) -> int:
    """``--passes`` checked: a whole number >= 1."""
    text = str(value).strip()
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not text.isdigit() or int(text) < 1:
        raise NStyleError(f"--passes {value}: must be a whole number >= 1")
    return int(text)


def pass_blend(value: Union[float, str]) -> float:
    """``--pass-blend`` checked: a number from 0 to 1."""
    try:
        blend = float(value)
    except (TypeError, ValueError):
        blend = float("nan")
    if isinstance(value, bool) or not (math.isfinite(blend) and 0.0 <= blend <= 1.0):
        raise NStyleError(f"--pass-blend {value}: must be a number from 0 to 1")
    return blend


def warp_interpolation(value: str) -> str:
    """``--warp-interpolation`` checked: one of :data:`nstyle.video.warping.INTERPOLATIONS`."""
    text = str(value).strip().lower()
    if text not in warping.INTERPOLATIONS:
        raise NStyleError(f"--warp-interpolation {value}: must be one of {', '.join(warping.INTERPOLATIONS)}")
    return text


def temporal_frames(value: Union[str, Sequence[int]]) -> Tuple[int, ...]:
    """``--temporal-frames`` checked: whole numbers >= 1 (text ``"1,10,20,40"`` or a list), sorted closest first,
    without repeats."""
    items = value.split(",") if isinstance(value, str) else list(value)
    steps = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit() or int(text) < 1:
            shown = value if isinstance(value, str) else ",".join(str(i) for i in items)
            raise NStyleError(f"--temporal-frames {shown}: must be whole numbers >= 1 separated by commas "
                              f"(such as 1,10,20,40); {text!r} is not")
        steps.append(int(text))
    return tuple(sorted(set(steps)))


def require_video() -> None:
    """Refuse in one line when PyAV (the ``video`` extra) is not installed."""
    try:
        import av  # noqa: F401
    except ImportError:
        raise NStyleError("nstyle video needs PyAV: pip install 'nstyle[video]'") from None
