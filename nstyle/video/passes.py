"""Ruder's multi-pass algorithm (``--passes N``): the clip is stylized ``N`` times, in alternating directions, each
pass with its share of ``--max-num-epochs``.

Pass 1 is the single pass of :func:`nstyle.video.run.stylize_frames` (forward, each frame from its predecessor
warped onto it). A later pass visits the frames the other way round (pass 2 backward, pass 3 forward, ...): the
first frame it visits starts from its own previous-pass result; every other frame ``i`` starts from a blend of its
neighbour in the pass's direction (``i-1`` forward, ``i+1`` backward), as this pass left it, warped onto frame ``i``,
and frame ``i``'s previous-pass result: ``δc·warp(x_nb) + (1 - δc)·x_prev`` per pixel, ``c`` the pair's reliability
map and ``δ`` ``--pass-blend`` (Ruder's 0.5), so unreliable pixels keep the previous pass's value. The temporal loss
holds frame ``i`` to the same warped neighbour with the same ``c``. Information thus flows both ways along the
clip: a later frame can pull an earlier one back, which a single forward pass cannot.

Every pass's frames are written atomically as they are finished: pass ``K`` of ``N`` into ``passes/K/`` of the
work folder, the last pass into ``frames/``, so ``--resume`` continues the first unfinished pass after its last
finished frame (in its direction).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import signal
import time
from typing import Callable, List, Optional, Tuple

import numpy as np

from ..algorithm.engine import Engine
from ..config import Config
from ..errors import Interrupted
from ..files import images
from ..files.images import Inputs
from ..process.interrupts import stop_on_signals
from ..process.progress import Progress
from . import reading, reliability, warping, work
from .plan import Plan, VideoSettings
from .run import FrameReport, cached_flows, content_shapes, epoch_floor, frame_line, only_warnings, temporal_start
from .temporal import TemporalLoss, scaled_weight, term

log = logging.getLogger("nstyle")


def pass_epochs(total: int, passes: int) -> List[int]:
    """``--max-num-epochs`` split over the passes: ``total // passes`` each, the remainder one more to each of the
    first passes (30 over 3: 10, 10, 10; 31 over 3: 11, 10, 10)."""
    base, extra = divmod(total, passes)
    return [base + (1 if k < extra else 0) for k in range(passes)]


def forward(number: int) -> bool:
    """Whether pass ``number`` (1-based) runs forward: the odd ones do."""
    return number % 2 == 1


def visiting_order(number: int, count: int) -> List[int]:
    """The frames (1-based) in the order pass ``number`` visits them."""
    frames = list(range(1, count + 1))
    return frames if forward(number) else frames[::-1]


def blended_start(warped: np.ndarray, c: np.ndarray, previous: np.ndarray, blend: float) -> np.ndarray:
    """A later pass's start: ``δc·warped + (1 - δc)·previous`` per pixel (``1x3xHxW`` images, ``c`` ``HxW``)."""
    share = blend * np.asarray(c, np.float64)[None, None]
    return share * warped + (1.0 - share) * previous


def neighbour_flows(p: Plan, index: int, ahead: bool) -> Tuple[np.ndarray, np.ndarray]:
    """``(to_neighbour, to_current)`` between frame ``index`` and its neighbour in the pass's direction
    (``ahead``: forward, the neighbour ``index - 1``; else ``index + 1``), from the cached pairs."""
    if ahead:
        return cached_flows(p, index, 1)
    to_current, to_neighbour = cached_flows(p, index + 1, 1)  # the pair (index, index+1): flow index+1 -> index
    return to_neighbour, to_current


def pass_start(p: Plan, index: int, ahead: bool, neighbour: np.ndarray, previous: np.ndarray,
               weight: float) -> Tuple[np.ndarray, TemporalLoss]:
    """Frame ``index``'s start and temporal loss in a later pass: ``neighbour`` (this pass's result, ``HxWx3``
    uint8) warped onto it, blended with ``previous`` (its previous-pass result, network space) by δc."""
    to_neighbour, to_current = neighbour_flows(p, index, ahead)
    warped = images.from_pixels(warping.warp(neighbour, to_neighbour, p.interpolation))
    c = reliability.loss_weights(to_neighbour, to_current)
    return blended_start(warped, c, previous, p.blend), term(warped, c, weight)


def resume_point(folder: str, count: int, passes: int) -> Tuple[int, int]:
    """``(pass, done)``: the first pass not finished and how many of its frames are (in its visiting order);
    ``(passes + 1, 0)`` when all are."""
    for number in range(1, passes + 1):
        done = 0
        for index in visiting_order(number, count):
            if not os.path.isfile(work.pass_path(folder, number, index, passes)):
                break
            done += 1
        if done < count:
            return number, done
    return passes + 1, 0


def stylize_passes(cfg: Config, video: VideoSettings, p: Plan, engine: Engine,
                   on_frame: Optional[Callable[[FrameReport], None]] = None) -> List[FrameReport]:
    """Run the passes from the first unfinished one (``cfg.resume``: after its finished frames); return the last
    pass's reports in frame order, each frame's ``epochs`` summed over the passes this run made of it.
    ``on_frame`` is called for every frame of every pass (``FrameReport.pass_number`` tells which)."""
    from ..api import run, style_long_edge

    count, passes = p.clip.count, p.passes
    shares = pass_epochs(cfg.max_num_epochs, passes)
    first, done = resume_point(p.folder, count, passes) if cfg.resume else (1, 0)
    if cfg.resume and first <= passes:
        log.info("multi-pass: resuming pass %d/%d after %d of its frames", first, passes, done)
    for number in range(1, passes):
        os.makedirs(os.path.dirname(work.pass_path(p.folder, number, 1, passes)), exist_ok=True)
    contents = list(reading.frames(p.clip)) if first <= passes else []
    styles = [images.read_image(path, style_long_edge(cfg)) for path in cfg.style_images]
    base_cfg = dataclasses.replace(cfg, output_dir=None, output=None, resume=False, quiet=True)
    weight = scaled_weight(video.temporal_weight, content_shapes(engine, base_cfg, p.size), 3 * p.size[0] * p.size[1])
    reports: List[FrameReport] = []
    with stop_on_signals() as stop, Progress(count * passes, quiet=cfg.quiet, label="frame") as progress:
        progress.update((first - 1) * count + done)
        for number in range(first, passes + 1):
            frame_cfg = dataclasses.replace(base_cfg, max_num_epochs=shares[number - 1])
            order = visiting_order(number, count)
            skip = done if number == first else 0
            neighbour = images.read_image(work.pass_path(p.folder, number, order[skip - 1], passes)) if skip else None
            for position, index in enumerate(order):
                if position < skip:
                    continue
                rgb = contents[index - 1]
                name = f"{p.clip.path} frame {index}"
                start, penalty, floor = None, None, epoch_floor(shares[number - 1])
                if number == 1:
                    if neighbour is None:
                        floor = 0  # frame 1 of pass 1: a still run from --init, as in a single pass
                    else:
                        start, penalty = temporal_start(engine, frame_cfg, p, index, rgb, neighbour,
                                                        video.temporal_weight)
                else:
                    previous = images.from_pixels(images.read_image(work.pass_path(p.folder, number - 1, index,
                                                                                   passes)))
                    if neighbour is None:
                        start = previous
                    else:
                        start, penalty = pass_start(p, index, forward(number), neighbour, previous, weight)
                begun = time.perf_counter()
                try:
                    with only_warnings():
                        result = run(dataclasses.replace(frame_cfg, content_image=name), engine=engine,
                                     inputs=Inputs(rgb, styles, name, cfg.style_images), start=start,
                                     penalty=penalty, min_epochs=floor)
                except Interrupted as exc:
                    raise interrupted(p, number, index, exc.code, signal.Signals(exc.code - 128).name) from None
                path = work.pass_path(p.folder, number, index, passes)
                images.save_image(result.image, path)
                temporal = penalty.value(images.from_pixels(result.image)) if penalty else float("nan")
                report = FrameReport(index, path, result.epochs, result.stopped, result.style_loss,
                                     result.content_loss, temporal, time.perf_counter() - begun, number)
                reports.append(report)
                progress.log(f"pass {number}/{passes} {frame_line(report, count)}")
                progress.update((number - 1) * count + position + 1)
                if on_frame:
                    on_frame(report)
                neighbour = result.image
                if stop.signum and (number < passes or position + 1 < count):
                    following = order[position + 1] if position + 1 < count else visiting_order(number + 1, count)[0]
                    raise interrupted(p, number + (position + 1 == count), following, stop.exit_status, stop.name)
    return final_reports(reports, passes)


def final_reports(reports: List[FrameReport], passes: int) -> List[FrameReport]:
    """The last pass's reports in frame order, each with the epochs of all of ``reports`` for its frame."""
    epochs: dict = {}
    for r in reports:
        epochs[r.index] = epochs.get(r.index, 0) + r.epochs
    last = sorted((r for r in reports if r.pass_number == passes), key=lambda r: r.index)
    return [dataclasses.replace(r, epochs=epochs[r.index]) for r in last]


def interrupted(p: Plan, number: int, index: int, code: int, name: str) -> Interrupted:
    """The error of a multi-pass run stopped by a signal before frame ``index`` of pass ``number``."""
    return Interrupted(f"{name} in pass {number}/{p.passes} at frame {index}: the finished frames of each pass are "
                       f"in {p.folder}; add --resume to the same command to continue", code=code)
