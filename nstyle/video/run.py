"""``nstyle video``: a clip stylized frame by frame (Ruder, Dosovitskiy and Brox 2016, short-term consistency).

Everything is checked before any work (:func:`nstyle.video.plan.plan`); then the flows of all neighbouring pairs
are computed and cached (:mod:`nstyle.video.flow`); then frame 1 is stylized as a still, and each later frame starts
from the previous result warped onto it (disoccluded pixels from the frame itself) with the temporal loss added to
its objective (:mod:`nstyle.video.temporal`; with ``--temporal-frames``, also towards the frames ``t-j``). Each
finished frame is written to the work folder at once; the video is
encoded from those files at the end. ``--temporal-weight 0`` stylizes every frame on its own from ``--init``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Tuple

import numpy as np

from ..algorithm.engine import Engine
from ..algorithm.outcome import prepare_output
from ..config import Config
from ..errors import Interrupted, NStyleError
from ..files import images
from ..files.images import Inputs
from ..process.interrupts import stop_on_signals
from ..process.progress import Progress
from . import flow, reading, reliability, warping, work, writing
from .plan import Plan, VideoSettings, plan
from .temporal import TemporalLoss, TemporalSum, closest_first, scaled_weight, term

log = logging.getLogger("nstyle")


@dataclass
class FrameReport:
    """One finished frame: where it is and how its run went."""

    index: int  # 1-based
    path: str
    epochs: int
    stopped: str
    style_loss: float
    content_loss: float
    temporal_loss: float  # at the saved frame (NaN for frame 1 and independent frames)
    seconds: float
    pass_number: int = 1  # which pass of --passes made it (1 for a single pass)


@dataclass
class VideoResult:
    """What a clip run produced."""

    frames: int
    output: Optional[str]  # the video file or frame folder written (None when the API kept only the work folder)
    work_dir: str
    seconds: float
    reports: List[FrameReport] = field(default_factory=list)  # the frames stylized by this run (not resumed ones)

    @property
    def epochs(self) -> int:
        """The epochs of the frames this run stylized, summed."""
        return sum(r.epochs for r in self.reports)

    @property
    def style_loss(self) -> float:
        """The style loss of the frames this run stylized, averaged (NaN when it stylized none)."""
        return _mean([r.style_loss for r in self.reports])

    @property
    def content_loss(self) -> float:
        """The content loss of the frames this run stylized, averaged (NaN when it stylized none)."""
        return _mean([r.content_loss for r in self.reports])


def _mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def write_output(p: Plan, count: int) -> None:
    """Encode the first ``count`` finished frames of the work folder into the video (audio copied), or copy them
    into the output folder."""
    files = [work.frame_path(p.folder, i) for i in range(1, count + 1)]
    if p.kind == "video":
        audio = p.clip.path if p.clip.is_file and p.clip.has_audio else None
        writing.encode(files, p.output, p.clip.rate, p.clip.time_base if p.clip.is_file else None, audio)
    else:
        writing.copy_frames(files, p.output)
    log.info("wrote %s (%d frames at %s fps%s)", p.output, count, float(p.clip.rate),
             ", audio copied" if p.kind == "video" and p.clip.has_audio and p.clip.is_file else "")


def save_clip(cfg: Config, video: VideoSettings, frames: List[np.ndarray]) -> None:
    """Write frames stylized elsewhere (a Dask worker) as this machine's run would: into the work folder
    ``cfg.output_dir``, then the video (the clip's rate, time base and audio) or the frame folder."""
    folder = cfg.output_dir or "output"
    p = plan(cfg, video, folder)
    prepare_output(dataclasses.replace(cfg, output_dir=folder, output=p.output if p.kind == "video" else None))
    work.begin(folder, p.key, False, p.clip.count)
    for index, rgb in enumerate(frames, start=1):
        images.save_image(rgb, work.frame_path(folder, index))
    write_output(p, len(frames))


def begin_clip(cfg: Config, video: VideoSettings, folder: Optional[str] = None) -> List[bytes]:
    """Make the work folder (``folder``, default ``cfg.output_dir``) ready for a clip stylized elsewhere and return
    the PNG files of its finished frames: those of an interrupted run with ``cfg.resume``, else none (the folder
    is emptied)."""
    folder = folder or cfg.output_dir or "output"
    p = plan(cfg, video, folder)
    if p.passes > 1:  # the passes before the last stay on the worker: a multi-pass clip starts again
        work.begin(folder, p.key, False, p.clip.count)
        return []
    done = work.begin(folder, p.key, cfg.resume, p.clip.count)
    return work.finished_frames(folder, done)


def compute_flows(p: Plan, quiet: bool) -> None:
    """The flows of every neighbouring pair (and of the pairs ``--temporal-frames`` adds) at the working size, cached
    in the work folder (before any frame)."""
    computed = []
    with Progress(p.clip.count - 1, quiet=quiet, label="flow") as bar:
        frames01 = (images.resize01(rgb, p.size) for rgb in reading.frames(p.clip))
        try:
            flow.compute(frames01, p.folder, p.size, lambda index, new: (computed.append(new), bar.update(index - 1)),
                         p.steps)
        except NStyleError:  # a broken frame: the frames before it are stylized, then the same error ends the run
            log.warning("flow: stopped at a frame that cannot be read; the frames before it are stylized first")
    log.info("flow: %d pairs at %dx%d (%d computed, %d cached)", len(computed), p.size[1], p.size[0],
             sum(computed), len(computed) - sum(computed))


def stylize_frames(cfg: Config, video: VideoSettings, p: Plan, engine: Engine, done: int,
                   on_frame: Optional[Callable[[FrameReport], None]]) -> List[FrameReport]:
    """Stylize the frames after the first ``done`` ones, in order, each written as soon as it is finished."""
    from ..api import run, style_long_edge

    styles = [images.read_image(path, style_long_edge(cfg)) for path in cfg.style_images]
    # each frame's run writes nothing and logs nothing; its content is given (the name only labels it)
    frame_cfg = dataclasses.replace(cfg, output_dir=None, output=None, resume=False, quiet=True)
    previous = images.read_image(work.frame_path(p.folder, done)) if done and video.temporal_weight > 0 else None
    reports: List[FrameReport] = []
    with stop_on_signals() as stop, Progress(p.clip.count, quiet=cfg.quiet, label="frame") as progress:
        progress.update(done)
        for index, rgb in enumerate(reading.frames(p.clip), start=1):
            if index <= done:
                continue
            name = f"{p.clip.path} frame {index}"
            inputs = Inputs(rgb, styles, name, cfg.style_images)
            start, penalty, floor = None, None, 0
            if previous is not None:
                floor = epoch_floor(cfg.max_num_epochs)
                start, penalty = temporal_start(engine, frame_cfg, p, index, rgb, previous, video.temporal_weight)
            begun = time.perf_counter()
            try:
                with only_warnings():
                    result = run(dataclasses.replace(frame_cfg, content_image=name), engine=engine, inputs=inputs,
                                 start=start, penalty=penalty, min_epochs=floor)
            except Interrupted as exc:
                raise frames_interrupted(p, index, exc.code, signal.Signals(exc.code - 128).name) from None
            path = work.frame_path(p.folder, index)
            images.save_image(result.image, path)
            temporal = penalty.value(images.from_pixels(result.image)) if penalty else float("nan")
            report = FrameReport(index, path, result.epochs, result.stopped, result.style_loss, result.content_loss,
                                 temporal, time.perf_counter() - begun)
            reports.append(report)
            progress.log(frame_line(report, p.clip.count))
            progress.update(index)
            if on_frame:
                on_frame(report)
            previous = result.image if video.temporal_weight > 0 else None
            if stop.signum:
                raise frames_interrupted(p, index + 1, stop.exit_status, stop.name)
    return reports


#: A later frame runs at least this share of ``--max-num-epochs`` before the stopping rule may end it
#: (artistic-videos runs its later frames for half the first frame's iterations, 1000 of 2000).
LATER_FRAME_SHARE = 0.5


def epoch_floor(max_num_epochs: int) -> int:
    """The fewest epochs a frame started from the previous result runs: it starts almost settled, so the
    classic stopping rule would end it after a few epochs while the new content at its edges and behind moving
    objects (started from the plain frame) is still barely stylized."""
    return int(math.ceil(LATER_FRAME_SHARE * max_num_epochs))


#: A later frame starts from this share of the warped previous result plus the rest of the frame's own content (1:
#: Ruder's warped start); ``bench/video.py --warped-shares`` measures others.
WARPED_SHARE = 1.0


def temporal_start(engine: Engine, cfg: Config, p: Plan, index: int, rgb: np.ndarray, previous: np.ndarray,
                   gamma: float) -> Tuple[np.ndarray, TemporalLoss]:
    """Frame ``index``'s start image and temporal loss: the previous result warped onto it, the disoccluded
    pixels taken from the frame itself (network space, ``1x3xHxW``)."""
    to_previous, to_current = cached_flows(p, index, 1)
    warped = images.from_pixels(warping.warp(previous, to_previous, p.interpolation))
    content = images.to_network(images.resize01(rgb, p.size))
    hidden = reliability.disoccluded(to_previous, to_current)[None, None]
    blended = warped if WARPED_SHARE == 1.0 else WARPED_SHARE * warped + (1.0 - WARPED_SHARE) * content
    start = np.where(hidden, content, blended)
    c = reliability.loss_weights(to_previous, to_current)
    weight = scaled_weight(gamma, content_shapes(engine, cfg, p.size), int(np.prod(start.shape)))
    if p.steps == (1,):
        return start, term(warped, c, weight)
    return start, long_term_loss(p, index, warped, c, weight)


def cached_flows(p: Plan, index: int, step: int) -> Tuple[np.ndarray, np.ndarray]:
    """The cached flows between frames ``index - step`` and ``index`` (an error if the cache lost them)."""
    cached = flow.load(p.folder, index, p.size, step)
    if cached is None:
        raise NStyleError(f"the flow of frames {index - step}-{index} is missing from {p.folder}; run again")
    return cached


def long_term_loss(p: Plan, index: int, warped: np.ndarray, c: np.ndarray, weight: float) -> TemporalSum:
    """Frame ``index``'s temporal loss over the earlier frames ``t-j`` of ``p.steps`` that exist: each finished
    frame ``t-j`` (read back from the work folder, so a resumed run sees the same) warped onto this one, with the
    reliability maps made closest first (``warped`` and ``c``: the previous frame's, already at hand)."""
    targets, maps = [], []
    for step in (s for s in p.steps if s < index):
        if step == 1:
            targets.append(warped)
            maps.append(c)
            continue
        to_earlier, to_current = cached_flows(p, index, step)
        earlier = images.read_image(work.frame_path(p.folder, index - step))
        targets.append(images.from_pixels(warping.warp(earlier, to_earlier, p.interpolation)))
        maps.append(reliability.loss_weights(to_earlier, to_current))
    return TemporalSum([term(t, m, weight) for t, m in zip(targets, closest_first(maps))])


def content_shapes(engine: Engine, cfg: Config, size: Tuple[int, int]) -> List[Tuple[int, ...]]:
    """The output shapes of the content layers at ``size`` (for the temporal weight's scale)."""
    import mxnet as mx

    with only_warnings():
        net = engine.loss_net(cfg, size)
    _, shapes, _ = mx.sym.Group(net.contents).infer_shape(data=net.data_shape)
    return [tuple(s) for s in shapes]


def frame_line(r: FrameReport, count: int) -> str:
    """The log line of one finished frame."""
    temporal = "-" if math.isnan(r.temporal_loss) else f"{r.temporal_loss:.4g}"
    return (f"frame {r.index}/{count}: {r.epochs} epochs ({r.stopped})  style {r.style_loss:.4g}  "
            f"content {r.content_loss:.4g}  temporal {temporal}  {r.seconds:.2f} s")


def frames_interrupted(p: Plan, next_index: int, code: int, name: str) -> Interrupted:
    """The error of a clip run stopped by a signal before frame ``next_index``."""
    kept = f"frames 1-{next_index - 1} are in {os.path.join(p.folder, 'frames')}" if next_index > 1 else \
        "no frame was finished"
    return Interrupted(f"{name} at frame {next_index}: {kept}; add --resume to the same command to continue",
                       code=code)


@contextlib.contextmanager
def only_warnings() -> Iterator[None]:
    """Within the block, nstyle logs warnings only (a frame's own run lines; the clip logs one line per frame)."""
    level = log.level
    log.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        log.setLevel(level)


__all__ = ["FrameReport", "VideoResult", "VideoSettings", "save_clip"]
