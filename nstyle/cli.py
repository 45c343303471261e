"""The command line, ``nstyle``, ``nstyle batch`` and ``nstyle video``: flags in groups, one error handler, exit
statuses.

Single-run flags are generated from :class:`~nstyle.config.Config` (classic flags, SPEC.md §6, plus nstyle's own);
:data:`GROUPS` places each in a ``--help`` section. The work itself is :func:`nstyle.api.run` and
:mod:`nstyle.batch` and :mod:`nstyle.video`, imported only when a command runs, so ``--help`` stays quick.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from .config import Config, field_kind
from .errors import Interrupted, NStyleError
from .files import guard
from .process import cuda, runtime
from .video.plan import PASS_BLEND, TEMPORAL_WEIGHT
from .video.warping import INTERPOLATIONS, WARP_INTERPOLATION

log = logging.getLogger("nstyle")

#: ``--help`` sections, in order, with the :class:`Config` fields each shows. A field named nowhere (and any
#: flag that is not a setting, such as ``--help``) goes under "other".
GROUPS: Dict[str, List[str]] = {
    "batch and cluster": [],  # nstyle batch's own flags
    "video": [],  # nstyle video's own flags
    "basic": ["content_image", "style_image", "max_long_edge", "weights", "gpu"],
    "artistic controls": ["content_weight", "style_weight", "tv_weight", "style_blend_weights", "style_scale",
                          "preserve_color", "content_layers", "style_layers", "style_layer_weights", "pooling"],
    "regions": ["content_mask", "style_mask", "mask_guide"],
    "optimisation": ["optimizer", "lr", "lr_sched_delay", "lr_sched_factor", "lbfgs_history", "init", "multires",
                     "seed", "stop_eps", "max_num_epochs", "tile_size", "tile_fit", "precision"],
    "output": ["output_dir", "output", "bit_depth", "save_epochs", "remove_noise", "resume", "quiet"],
    "watching": [],  # --web and --browser
    "other": ["model", "style_cache"],
}

EXAMPLES = """examples:
  nstyle --content-image photo.jpg --style-image painting.jpg
      the classic run: output/final.jpg, with a snapshot every 50 epochs
  nstyle --content-image photo.jpg --style-image painting.jpg --optimizer lbfgs --init content --max-num-epochs 50
      a good picture much sooner
  nstyle --content-image photo.jpg --style-image a.jpg b.jpg --style-blend-weights 3 1 --preserve-color luminance
      two paintings blended 3:1, the photo's own colours kept
  nstyle --content-image photo.jpg --style-image sky.jpg town.jpg --content-mask sky.png town.png
      the sky painted like one painting, the town like the other (white in each mask: its region)
  nstyle --content-image photo.jpg --style-image painting.jpg --max-long-edge 4000 --tile-size 512 --init content \\
         --output print.tif --bit-depth 16
      print size in 512-pixel tiles (memory set by the tile), 16 bits per channel

For many images at once: nstyle batch --help."""

BATCH_EXAMPLES = """examples:
  nstyle batch --content-image photos/ --style-image 'paintings/*.jpg' --output-dir out --max-long-edge 300
      every photo with every painting; out/index.html and out/sheet.png show them all
  nstyle batch --manifest runs.csv
      one run per row (columns content, style, optional output and any setting, e.g. style_weight)
  nstyle batch --content-image photos/ --style-image paintings/ --workers 2
      the same runs on a local Dask cluster of two worker processes (--scheduler tcp://HOST:8786: an existing one)

Running the same command again skips the runs already done with the same settings and resumes interrupted ones."""

VIDEO_EXAMPLES = """examples:
  nstyle video --content-video clip.mp4 --style-image painting.jpg --output out.mp4 --max-long-edge 320
      each frame from the previous one warped by the optical flow, with the temporal loss; audio copied
  nstyle video --content-video 'frames/*.png' --style-image painting.jpg --output styled/ --frame-rate 24
      a folder of frames in, PNG frames out
  nstyle video --content-video clip.mp4 --style-image painting.jpg --output out.mp4 --resume
      continue after the last finished frame in --output-dir (default output/)

Needs the video extra: pip install 'nstyle[video]'."""

Sections = Dict[str, argparse._ArgumentGroup]


class Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line (no usage dump) on a bad flag."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"nstyle: error: {message} (see --help)\n")


def sections(p: argparse.ArgumentParser) -> Sections:
    """The ``--help`` sections of :data:`GROUPS` on ``p`` (empty ones are not shown), with ``--help`` in "other"."""
    groups = {title: p.add_argument_group(title) for title in GROUPS}
    groups["other"].add_argument("-h", "--help", action="help", help="show this help and exit")
    return groups


def add_config_flags(groups: Sections, skip: Sequence[str] = ()) -> None:
    """One flag per :class:`Config` field (``foo_bar`` -> ``--foo-bar``), default and help from the field."""
    home = {name: title for title, names in GROUPS.items() for name in names}
    listed = [name for names in GROUPS.values() for name in names]
    fields = sorted(dataclasses.fields(Config), key=lambda f: listed.index(f.name) if f.name in listed else len(listed))
    for f in fields:
        if f.name in skip:
            continue
        meta = dict(f.metadata)
        names = ["--" + f.name.replace("_", "-"), *meta.pop("aliases", [])]
        help_ = meta.pop("help", "")
        if f.default is not None and not isinstance(f.default, bool):
            help_ += f" (default: {f.default})"
        group = groups[home.get(f.name, "other")]
        parser, _, is_bool = field_kind(f.name)
        if is_bool:
            group.add_argument(*names, dest=f.name, action="store_true", help=help_)
        else:
            group.add_argument(*names, dest=f.name, type=parser, default=f.default, help=help_, **meta)


def add_process_flags(g: argparse._ArgumentGroup) -> None:
    """Flags about the process rather than the run (acted on in :func:`main` before MXNet loads)."""
    g.add_argument("--reproducible", action="store_true",
                   help=f"the same picture on every run and every x86-64 machine with AVX2: caps oneDNN at "
                   f"{runtime.REPRODUCIBLE_ISA} and runs {runtime.REPRODUCIBLE_THREADS} threads (also "
                   f"{runtime.REPRODUCIBLE_VAR}=1)")
    g.add_argument("--version", action="store_true",
                   help="print nstyle, MXNet, numpy and Python versions, CPU, oneDNN instruction set, threads "
                   "and GPUs, one per line, and exit")


def add_watch_flags(g: argparse._ArgumentGroup) -> None:
    """``--web`` and ``--browser``: the live page (:mod:`nstyle.live`)."""
    g.add_argument("--web", metavar="[HOST:]PORT", help="serve a live page of the run on PORT (127.0.0.1 unless "
                   "HOST is given; another host needs the printed token): the picture, the losses, stop and "
                   "snapshot buttons, GET /state and /image, POST /stop")
    g.add_argument("--browser", action="store_true", help="open the live page in a browser (alone: on a free "
                   "port of 127.0.0.1)")


def command_parser(prog: str, description: str, epilog: str) -> Parser:
    """An empty parser for one command, its examples below the flags as written."""
    return Parser(prog=prog, add_help=False, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter,
                  description=description)


def build_parser() -> argparse.ArgumentParser:
    """``nstyle``: one stylization."""
    p = command_parser("nstyle", "Neural style transfer (Gatys et al. 2015) with MXNet, faithful to the classic "
                       "MXNet example.", EXAMPLES)
    groups = sections(p)
    add_config_flags(groups)
    add_watch_flags(groups["watching"])
    add_process_flags(groups["other"])
    return p


def build_batch_parser() -> argparse.ArgumentParser:
    """``nstyle batch``: many runs; the single-run flags apply to every one."""
    p = command_parser("nstyle batch", "Stylize many contents with many styles, or the rows of a manifest.",
                       BATCH_EXAMPLES)
    groups = sections(p)
    batch = groups["batch and cluster"]
    batch.add_argument("--content-image", dest="contents", nargs="+", default=[], metavar="PATH",
                       help="content files, directories or glob patterns")
    batch.add_argument("--content-video", dest="videos", nargs="+", default=[], metavar="PATH",
                       help="video clip files or glob patterns; each clip with each style is one run (its frames in "
                       "order, on one worker), as nstyle video makes it")
    batch.add_argument("--temporal-weight", type=float, default=TEMPORAL_WEIGHT, metavar="GAMMA",
                       help=f"the clips' temporal loss weight, as for nstyle video (default: {TEMPORAL_WEIGHT:g})")
    batch.add_argument("--temporal-frames", default="1", metavar="J1,J2,...",
                       help="the clips' temporal frames, as for nstyle video (default: 1)")
    batch.add_argument("--warp-interpolation", default=WARP_INTERPOLATION, choices=INTERPOLATIONS,
                       help=f"the clips' warp kernel, as for nstyle video (default: {WARP_INTERPOLATION})")
    add_pass_flags(batch, "the clips' ")
    batch.add_argument("--style-image", dest="styles", nargs="+", default=[], metavar="PATH",
                       help="style files, directories or glob patterns; every content is run with every style")
    batch.add_argument("--manifest", help="CSV with columns content, style, optional output, and any single-run "
                       "setting by its name (style_weight, max_long_edge, seed, ...)")
    batch.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster whose scheduler is at "
                       "ADDRESS (tcp://HOST:8786); needs pip install 'nstyle[cluster]'")
    batch.add_argument("--workers", type=positive_int, metavar="N", help="run on a local Dask cluster of N worker "
                       "processes, each with (available CPUs / N) MXNet threads")
    add_config_flags(groups, skip=["content_image", "style_image", "output", "resume"])
    add_watch_flags(groups["watching"])
    add_process_flags(groups["other"])
    return p


def add_pass_flags(group: Any, whose: str) -> None:
    """``--passes`` and ``--pass-blend`` (Ruder's multi-pass algorithm), for ``nstyle video`` and a batch's clips."""
    group.add_argument("--passes", type=int, default=1, metavar="N",
                       help=f"{whose}passes over the clip in alternating directions (Ruder's multi-pass algorithm), "
                       "each with an even share of --max-num-epochs (default: 1, one pass forward)")
    group.add_argument("--pass-blend", type=float, default=PASS_BLEND, metavar="DELTA",
                       help=f"{whose}share δ (0..1) of the warped neighbour in a later pass's start, times its "
                       f"reliability; the rest is the frame's previous-pass result (default: {PASS_BLEND:g})")


def build_video_parser() -> argparse.ArgumentParser:
    """``nstyle video``: one clip, frame by frame; the single-run flags apply to every frame."""
    p = command_parser("nstyle video", "Stylize a video clip with temporal consistency (Ruder et al. 2016).",
                       VIDEO_EXAMPLES)
    groups = sections(p)
    video = groups["video"]
    video.add_argument("--content-video", required=True, metavar="PATH",
                       help="video file, or a folder or glob pattern of frame pictures (in name order)")
    video.add_argument("--output", dest="video_output", metavar="PATH",
                       help="the stylized clip: .mp4, .mov, .m4v or .mkv (H.264), or a folder for PNG frames "
                       "(default: <output-dir>/final.mp4)")
    video.add_argument("--temporal-weight", type=float, default=TEMPORAL_WEIGHT, metavar="GAMMA",
                       help="weight of the temporal loss, in artistic-videos' units; 0: every frame on its own "
                       f"from --init (default: {TEMPORAL_WEIGHT:g})")
    video.add_argument("--temporal-frames", default="1", metavar="J1,J2,...",
                       help="the earlier frames t-j the temporal loss holds frame t to, closest first "
                       "(1,10,20,40: Ruder's long-term terms; default: 1, the previous frame only)")
    video.add_argument("--warp-interpolation", default=WARP_INTERPOLATION, choices=INTERPOLATIONS,
                       help="the kernel that warps the previous result onto the frame (the start and the temporal "
                       f"loss's target); bilinear is Ruder's, softer (default: {WARP_INTERPOLATION})")
    video.add_argument("--frame-rate", type=float, metavar="FPS",
                       help="frames per second of the output (default: the clip's; 25 for frame folders)")
    add_pass_flags(video, "")
    add_config_flags(groups, skip=["content_image", "output"])
    add_process_flags(groups["other"])
    return p


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def apply_process_flags(argv: Sequence[str]) -> Optional[int]:
    """Act on ``--version`` and ``--reproducible`` before anything loads MXNet; an exit status if done."""
    if "--reproducible" in argv:
        runtime.set_reproducible()
    if "--version" in argv:
        print("\n".join(runtime.machine_lines()))
        return 0
    return None


def config_from_args(ns: argparse.Namespace) -> Config:
    """The :class:`Config` an argparse namespace describes (fields it lacks keep their defaults)."""
    names = {f.name for f in dataclasses.fields(Config)}
    values = {k: v for k, v in vars(ns).items() if k in names}
    if isinstance(values.get("style_image"), list) and len(values["style_image"]) == 1:
        values["style_image"] = values["style_image"][0]
    return Config(**values)


def setup_logging(quiet: bool) -> None:
    """Plain ``nstyle: ...`` lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("nstyle: %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``nstyle`` and ``python -m nstyle``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return guarded(lambda: dispatch(argv))


def dispatch(argv: List[str]) -> int:
    """Act on the process flags, parse the command's flags and run it."""
    status = apply_process_flags(argv)
    if status is not None:
        return status
    command = argv[0] if argv[:1] in (["batch"], ["video"]) else ""
    parser = {"batch": build_batch_parser, "video": build_video_parser}.get(command, build_parser)()
    ns = parser.parse_args(argv[1:] if command else argv)
    setup_logging(ns.quiet)
    cuda.require_libraries()
    return {"batch": batch_command, "video": video_command}.get(command, single_command)(ns)


def guarded(command: Callable[[], int]) -> int:
    """Run a command; errors and interruptions become one line on stderr and an exit status."""
    try:
        return command()
    except Interrupted as exc:
        print(f"nstyle: {exc}", file=sys.stderr)
        return exc.code
    except NStyleError as exc:
        print(f"nstyle: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("nstyle: interrupted", file=sys.stderr)
        return 130


def single_command(ns: argparse.Namespace) -> int:
    """``nstyle``: one stylization (its files checked before MXNet is even loaded)."""
    cfg = config_from_args(ns).validate()
    guard.check_run(cfg)
    from .live.session import watching

    with watching(ns.web, ns.browser) as watch:  # bound before MXNet loads: a port in use is an error at once
        from .api import run

        run(cfg) if watch is None else run(cfg, watch=watch)  # without --web: the very call it always was
    return 0


def video_command(ns: argparse.Namespace) -> int:
    """``nstyle video``: one clip, checked in full before any work."""
    from .video.plan import VideoSettings
    from .video.clip import stylize_clip

    cfg = dataclasses.replace(config_from_args(ns), content_image=ns.content_video)
    stylize_clip(cfg, VideoSettings(ns.content_video, ns.video_output, ns.temporal_weight, ns.frame_rate,
                                    ns.temporal_frames, ns.warp_interpolation, ns.passes, ns.pass_blend))
    return 0


def batch_command(ns: argparse.Namespace) -> int:
    """``nstyle batch``: the jobs the flags or the manifest describe, then the summary and the report's paths."""
    from . import batch
    from .batch import cluster

    started = time.perf_counter()
    if ns.scheduler and ns.workers:
        raise NStyleError("use either --scheduler or --workers, not both")
    if ns.scheduler or ns.workers:
        cluster.require_dask("--scheduler" if ns.scheduler else "--workers")
    base = config_from_args(ns).validate()
    output_dir = base.output_dir or "output"
    if ns.manifest:
        if ns.contents or ns.videos or ns.styles:
            raise NStyleError("use either --manifest or --content-image/--content-video/--style-image, not both")
        jobs = batch.jobs_from_manifest(ns.manifest, base, output_dir, ns.temporal_weight, ns.temporal_frames,
                                        ns.warp_interpolation, ns.passes, ns.pass_blend)
    else:
        if not (ns.contents or ns.videos) or not ns.styles:
            raise NStyleError("batch needs --content-image (or --content-video) and --style-image (or --manifest)")
        jobs = batch.jobs_from_args(ns.contents, ns.styles, base, output_dir, ns.videos, ns.temporal_weight,
                                    ns.temporal_frames, ns.warp_interpolation, ns.passes, ns.pass_blend)
    if any(j.is_video for j in jobs):
        from .video.plan import require_video

        require_video()
    from .live.session import watching

    on_cluster = cluster.connect(ns.scheduler, ns.workers) if ns.scheduler or ns.workers else None
    # the page's port is bound, and the cluster connected, before anything is written
    with watching(ns.web, ns.browser) as watch, on_cluster or contextlib.nullcontext() as client:
        outcomes = batch.run_batch(jobs, output_dir, ns.quiet, client=client, manifest=ns.manifest, watch=watch)
        if watch:
            watch.finish("interrupted" if batch.exit_status(outcomes) > 1 else "done",
                         batch.summary(outcomes, time.perf_counter() - started).rsplit("\n", 1)[-1])
    print(batch.summary(outcomes, time.perf_counter() - started), file=sys.stderr)
    print(f"report: {os.path.join(output_dir, 'index.html')} and {os.path.join(output_dir, 'sheet.png')}",
          file=sys.stderr)
    return batch.exit_status(outcomes)
