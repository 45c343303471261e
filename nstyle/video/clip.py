"""A whole clip: plan, flows, the frames in one pass or several (:mod:`nstyle.video.passes`), the video; and
:func:`stylize_video`, the API's entry."""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from typing import Any, Callable, Optional

from ..algorithm.engine import Engine
from ..algorithm.outcome import prepare_output
from ..config import Config, coerce_value
from ..errors import NStyleError
from . import work
from .passes import stylize_passes
from .plan import VideoSettings, plan
from .run import FrameReport, VideoResult, compute_flows, log, stylize_frames, write_output


def stylize_clip(cfg: Config, video: VideoSettings, engine: Optional[Engine] = None,
                 on_frame: Optional[Callable[[FrameReport], None]] = None) -> VideoResult:
    """Stylize ``video.content_video`` as ``cfg`` and ``video`` say, in the work folder ``cfg.output_dir``."""
    started = time.perf_counter()
    folder = cfg.output_dir or "output"
    p = plan(cfg, video, folder)
    prepare_output(dataclasses.replace(cfg, output_dir=folder, output=p.output if p.kind == "video" else None))
    done = work.begin(folder, p.key, cfg.resume, p.clip.count)
    log.info("clip %s: %d frames, %dx%d -> %dx%d, %s fps%s", p.clip.path, p.clip.count, p.clip.size[1],
             p.clip.size[0], p.size[1], p.size[0], float(p.clip.rate), f"; resuming after frame {done}" if done else "")
    if video.temporal_weight > 0 and p.clip.count > 1:
        compute_flows(p, cfg.quiet)
    engine = engine or Engine()
    if p.passes > 1:
        reports = stylize_passes(cfg, video, p, engine, on_frame)
        count = p.clip.count
    else:
        reports = stylize_frames(cfg, video, p, engine, done, on_frame)
        count = max(done, reports[-1].index if reports else 0)
    write_output(p, count)
    return VideoResult(count, p.output, folder, time.perf_counter() - started, reports)


#: What :func:`stylize_video` takes besides :class:`Config`'s fields.
VIDEO_OPTIONS = ("temporal_weight", "frame_rate", "temporal_frames", "warp_interpolation", "passes", "pass_blend")
#: Those of :data:`VIDEO_OPTIONS` that are numbers.
NUMBER_OPTIONS = ("temporal_weight", "frame_rate", "pass_blend")


def stylize_video(content_video: str, style: Any, output: Optional[str] = None, **options: Any) -> VideoResult:
    """Stylize the clip ``content_video`` (a video file, or a folder or glob of frames) with ``style`` (a path or a
    list of paths) into ``output`` (a video file, or a folder for PNG frames).

    ``options``: the command line's settings by their field names (``max_long_edge=320``, ``optimizer="lbfgs"``,
    ...), ``temporal_weight``, ``frame_rate``, ``temporal_frames`` (``[1, 10, 20, 40]`` or ``"1,10,20,40"``),
    ``warp_interpolation`` (``"bilinear"``, ``"bicubic"`` or ``"lanczos"``), ``passes`` and ``pass_blend`` (Ruder's
    multi-pass algorithm, :mod:`nstyle.video.passes`), and ``on_frame`` (called with each :class:`FrameReport`, of
    every pass). The frames are kept in ``output_dir`` (default: a temporary folder, removed at the end);
    ``resume=True`` continues there. Without ``output`` and ``output_dir`` nothing would be kept, which is refused.
    """
    on_frame = options.pop("on_frame", None)
    names = {f.name for f in dataclasses.fields(Config)} - {"content_image", "style_image", "output"}
    unknown = sorted(set(options) - names - set(VIDEO_OPTIONS))
    if unknown:
        raise NStyleError(f"stylize_video: unknown option(s) {', '.join(unknown)}")
    video = VideoSettings(os.fspath(content_video), None if output is None else os.fspath(output),
                          **{k: float(options.pop(k)) for k in NUMBER_OPTIONS if options.get(k) is not None})
    for name in (n for n in VIDEO_OPTIONS if n not in NUMBER_OPTIONS):
        value = options.pop(name, None)
        if value is not None:
            setattr(video, name, value)
    if output is None and not options.get("output_dir"):
        raise NStyleError("stylize_video: give output= (a video file or a folder) or output_dir=")
    styles = [os.fspath(s) for s in (style if isinstance(style, (list, tuple)) else [style])]
    settings = {name: coerce_value(name, value) for name, value in options.items()}
    scratch = None if settings.get("output_dir") else tempfile.mkdtemp(prefix="nstyle-video-")
    settings["output_dir"] = settings.get("output_dir") or scratch
    cfg = Config(content_image=video.content_video, style_image=styles[0] if len(styles) == 1 else styles,
                 **settings)
    try:
        return stylize_clip(cfg, video, on_frame=on_frame)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["stylize_clip", "stylize_video"]
