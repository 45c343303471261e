"""One stylization: the single code path behind the command line, batch runs and :func:`stylize`.

:func:`run` reads as the algorithm: read the images, choose the sizes to solve at (one, or a coarse-to-fine
pyramid with ``--multires``), and at each size bind the loss network to its style and content targets, start the
image and optimise it; then save the picture. :class:`~nstyle.algorithm.engine.Engine` caches what runs can share.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple

import mxnet as mx
import numpy as np

from .algorithm import losses
from .algorithm.engine import Engine
from .algorithm.loop import Epoch, Loop, make_loop, start_image
from .algorithm.objective import Penalty
from .algorithm.outcome import Result, finish, interrupted, prepare_output, save_final
from .algorithm.pyramid import level_sizes
from .algorithm.regions import bind_regions
from .algorithm.shown import live_picture
from .config import Config, coerce_value, flag_name
from .errors import NStyleError, NumericalFailure
from .files import checkpoint, guard, images, masks
from .files.images import Inputs
from .process import resources
from .process.interrupts import StopRequest, stop_on_signals
from .process.progress import Progress
from .process.watch import Watch, together
from .tiles.level import check_tile_size
from .tiles.run import run_tiled

__all__ = ["Engine", "Inputs", "Result", "run", "stylize"]

log = logging.getLogger("nstyle")

EpochHook = Callable[[Epoch], None]
ImageHook = Callable[[Epoch, mx.nd.NDArray], None]


@dataclass
class Session:
    """One run in progress: what every level needs, and the epochs reported so far."""

    cfg: Config
    engine: Engine
    inputs: Inputs
    ctx: mx.Context
    stop: StopRequest
    progress: Progress
    on_epoch: Optional[EpochHook] = None
    on_image: Optional[ImageHook] = None
    watch: Optional[Watch] = None
    history: List[Epoch] = field(default_factory=list)
    epochs: int = 0  # over all levels, counting epochs restored from a checkpoint
    where: str = ""  # the level being solved, for watchers ("level 2/3"; "" with one level)
    later: int = 0  # the most epochs the levels after this one can take
    start: Optional[np.ndarray] = None  # the start image (network space) instead of --init (a video frame's)
    penalty: Optional[Penalty] = None  # an extra energy term (a video frame's temporal loss)
    min_epochs: int = 0  # the stopping rule ends no level before this epoch (a later video frame's floor)


@dataclass
class Level:
    """One size of the run, bound and started: its loop, the image it updates, and how it ended."""

    size: Tuple[int, int]
    content01: np.ndarray  # the content at this size, HxWx3 on 0..1
    loop: Loop
    img: mx.nd.NDArray
    checkpoint: Optional[str]  # where snapshots and the checkpoint go (None: coarse level or no output dir)
    stopped: str = ""


def run(cfg: Config, on_epoch: Optional[EpochHook] = None, engine: Optional[Engine] = None,
        inputs: Optional[Inputs] = None, on_image: Optional[ImageHook] = None,
        watch: Optional[Watch] = None, start: Optional[np.ndarray] = None,
        penalty: Optional[Penalty] = None, min_epochs: int = 0) -> Result:
    """Stylize as ``cfg`` says; write snapshots, checkpoints and the final image where it says.

    ``on_epoch(epoch)`` is called after every epoch; ``on_image(epoch, image)`` too, with the current
    network-space image (all levels of ``--multires``), for observers such as benchmarks. ``watch`` (a
    :class:`~nstyle.process.watch.Watch`, such as the live page) is told every epoch and may stop the run or ask
    for a snapshot. ``start`` (a ``1x3xHxW`` network-space image at the run's size) replaces ``--init``, and
    ``penalty`` is one more energy term of the objective (both for video frames; untiled single-level runs only).
    ``min_epochs``: the stopping rule ends the run no sooner than this epoch (video frames after the first).
    """
    cfg.validate()
    guard.check_run(cfg)
    started = time.perf_counter()
    engine = engine or Engine()
    inputs = inputs or read_inputs(cfg)
    sizes = level_sizes(inputs.content.shape, cfg, inputs.content_name)
    tile = plan_tile(cfg, sizes[-1])
    if (start is not None or penalty is not None) and (tile or len(sizes) > 1):
        raise NStyleError("a start image or an extra loss term (video frames) needs an untiled run without "
                          "--multires")
    if tile:
        return run_tiled(cfg, tile, engine, inputs, on_epoch, started, watch)
    check_ready(cfg, inputs, sizes[-1])
    ctx = engine.context(cfg.gpu)
    with stop_on_signals() as stop, Progress(cfg.max_num_epochs * len(sizes), quiet=cfg.quiet) as progress:
        session = Session(cfg, engine, inputs, ctx, stop, progress, on_epoch, on_image, watch, start=start,
                          penalty=penalty, min_epochs=min_epochs)
        if watch:
            watch.attach(stop)
        level = solve_levels(session, sizes)
    return conclude(session, level, started)


def read_inputs(cfg: Config) -> Inputs:
    """Read the content and style image files named by ``cfg`` (very large ones reduced to what the run needs)."""
    content = images.read_image(cfg.content_image, cfg.max_long_edge)
    styles = [images.read_image(path, style_long_edge(cfg)) for path in cfg.style_images]
    return masks.attach(Inputs(content, styles, cfg.content_image, cfg.style_images), cfg.content_mask,
                        cfg.style_mask, cfg.content_mask or [], cfg.style_mask or [])


def style_long_edge(cfg: Config) -> int:
    """The longest side a style image is resized to: the content's long edge, times ``--style-scale`` if above 1."""
    return int(cfg.max_long_edge * max(1.0, cfg.style_scale or 1.0))


def plan_tile(cfg: Config, size: Tuple[int, int]) -> Optional[int]:
    """The tile side for a run whose last level is ``size`` (None: untiled, today's path).

    No ``--tile-size``: untiled when the run fits in memory, else the largest tile that fits (logged).
    A tile at least as large as the picture means untiled. ``--resume`` of a tiled run keeps its tile.
    """
    saved = checkpoint.saved_tile(checkpoint.path_for(cfg.output_dir or ".")) if cfg.resume else None
    if saved and cfg.tile_size is not None and cfg.tile_size != saved:
        raise NStyleError(f"--resume: the checkpoint in {cfg.output_dir or '.'} is of {saved}-pixel tiles; run with "
                          f"--tile-size {saved} to continue it (or without --resume to start afresh)")
    if saved:
        return saved
    if cfg.tile_size is not None:
        if cfg.tile_size >= max(size):
            return None
        check_tile_size(cfg)
        return cfg.tile_size
    need, have = resources.estimate_bytes(size), resources.available_bytes()
    if have is None or need <= have:
        return None
    tile = resources.largest_tile(size, have)
    if tile is None:
        return None  # not even a small tile fits: check_ready refuses the run
    log.info("a %dx%d image needs about %.1f GB of memory, more than the %.1f GB available: optimising it in "
             "%d-pixel tiles (--tile-size sets the tile)", size[1], size[0], need / 2**30, have / 2**30, tile)
    return tile


def check_ready(cfg: Config, inputs: Inputs, size: Tuple[int, int]) -> None:
    """Refuse a final ``size`` that would not fit in memory and an unusable output path, before any work."""
    resources.check_memory(size, "--max-long-edge", cfg.max_long_edge)
    log.info("content %s: %dx%d -> %dx%d", inputs.content_name, inputs.content.shape[1], inputs.content.shape[0],
             size[1], size[0])
    prepare_output(cfg)


def solve_levels(session: Session, sizes: List[Tuple[int, int]]) -> Level:
    """Solve at each size in turn, each level starting from the previous one's result; the last level reached."""
    level: Optional[Level] = None
    first = len(sizes) - 1 if session.cfg.resume else 0  # a checkpoint holds the last level's state
    for index, size in enumerate(sizes[first:], start=first):
        if len(sizes) > 1:
            session.progress.log(f"level {index + 1}/{len(sizes)}: {size[1]}x{size[0]}")
            session.where = f"level {index + 1}/{len(sizes)}"
        session.later = (len(sizes) - 1 - index) * session.cfg.max_num_epochs
        level = start_level(session, size, level, last=index == len(sizes) - 1)
        level.stopped = optimise(session, level)
        if level.stopped == "interrupted":
            break
    assert level is not None  # sizes is never empty
    return level


def start_level(session: Session, size: Tuple[int, int], previous: Optional[Level], last: bool) -> Level:
    """Bind the loss network at ``size`` to the style and content targets and start the image there.

    The image starts from ``--init`` (or the previous level's result, upsampled); on the last level of a
    ``--resume`` run the loop continues from the checkpoint.
    """
    cfg, engine, inputs, ctx = session.cfg, session.engine, session.inputs, session.ctx
    content01 = images.resize01(inputs.content, size)
    content_np = images.to_network(content01)
    if inputs.content_masks is not None:
        executor, head, n_style = bind_regions(engine, cfg, inputs, size, content01, content_np)
    else:
        net = engine.loss_net(cfg, size)
        grams = engine.style_targets(cfg, inputs.styles, size, content01)
        executor = net.bind_losses(grams, net.content_targets(content_np))
        head = losses.head_gradients(net.style_shapes, cfg.style_weight, cfg.content_weight, ctx,
                                     cfg.layer_weights(), len(cfg.content_layer_list))
        n_style = net.n_style
    if session.start is not None:
        img = mx.nd.array(session.start, ctx)
    else:
        img = start_image(cfg, inputs, size, content_np, ctx, previous.img if previous else None)
    loop = make_loop(cfg, executor, head, img, ctx, n_style, session.penalty)
    if cfg.resume and last:
        path = checkpoint.path_for(cfg.output_dir or ".")
        checkpoint.restore(loop, path, cfg.hash())
        log.info("resuming from %s at epoch %d", path, loop.epoch)
    snapshots = checkpoint.path_for(cfg.output_dir) if cfg.output_dir and last else None
    return Level(size, content01, loop, img, snapshots)


def optimise(session: Session, level: Level) -> str:
    """Run epochs until the stopping rule, the epoch limit or a signal; snapshots where ``level.checkpoint`` says.

    Returns why it stopped: ``converged``, ``max-epochs`` or ``interrupted``.
    """
    cfg, loop, progress = session.cfg, level.loop, session.progress
    stopped, calm = "max-epochs", 0
    while loop.epoch < cfg.max_num_epochs:
        ep = loop.step()
        session.history.append(ep)
        step = f"lr {ep.lr:.3g}" if math.isfinite(ep.lr) else f"{ep.evaluations} evaluations"
        progress.log(f"epoch {ep.epoch:4d}  change {ep.eps:.5f}  style {ep.style_loss:.4g}  "
                     f"content {ep.content_loss:.4g}  {step}  {ep.seconds:.2f} s/epoch")
        progress.update(len(session.history))
        if session.on_epoch:
            session.on_epoch(ep)
        if session.on_image:
            session.on_image(ep, level.img)
        if session.watch:
            session.watch.epoch(ep, cfg.max_num_epochs, session.where, cfg.max_num_epochs - ep.epoch + session.later,
                                live_picture(cfg, lambda: level.img.asnumpy(), level.size, level.content01))
        if not ep.finite:
            raise numerical_failure(cfg, level, ep)
        calm = calm + 1 if ep.eps < cfg.stop_eps else 0
        if calm >= loop.patience and loop.epoch >= session.min_epochs:
            stopped = "converged"
            break
        if level.checkpoint and (ep.epoch % cfg.save_epochs == 0 or asked_snapshot(session)):
            path = os.path.join(cfg.output_dir, f"e_{ep.epoch}.jpg")
            snapshot = finish(dataclasses.replace(cfg, bit_depth=8), level.img.asnumpy(), level.content01)
            images.save_image(snapshot, path, cfg.remove_noise)  # JPEG snapshots: 8 bits
            checkpoint.save(level.checkpoint, loop.state_dict(), cfg.hash())
            progress.log(f"saved {path} and {level.checkpoint}")
        if session.stop.signum:
            stopped = "interrupted"
            break
    session.epochs += loop.epoch
    return stopped


def asked_snapshot(session: Session) -> bool:
    """Whether a watcher asked for a snapshot now (asked only where one can be saved, so the request waits)."""
    return session.watch is not None and session.watch.snapshot_due()


def numerical_failure(cfg: Config, level: Level, ep: Epoch) -> NumericalFailure:
    """Save the last finite image as the final output and say what happened."""
    _, out = save_final(cfg, level.loop.old_img.asnumpy(), level.content01)
    return NumericalFailure(f"the loss or the image became NaN/infinite at epoch {ep.epoch}; kept the last "
                            f"finite image (epoch {ep.epoch - 1}){' in ' + out if out else ''}; "
                            "try a lower --lr or --style-weight")


def conclude(session: Session, level: Level, started: float) -> Result:
    """Save the final image; after a signal also the checkpoint, then raise :class:`Interrupted`."""
    cfg = session.cfg
    final, out = save_final(cfg, level.img.asnumpy(), level.content01)
    if level.stopped == "interrupted":
        if level.checkpoint:
            checkpoint.save(level.checkpoint, level.loop.state_dict(), cfg.hash())
        raise interrupted(session.stop, f"at epoch {level.loop.epoch}", out, level.checkpoint,
                          "no checkpoint: it was still at a coarse --multires level")
    if not cfg.quiet:
        log.info("wrote %s after %d epochs (%s)", out or "nothing", session.epochs, level.stopped)
    last = session.history[-1] if session.history else None
    return Result(final, out, session.epochs, level.stopped,
                  last.style_loss if last else float("nan"), last.content_loss if last else float("nan"),
                  time.perf_counter() - started, session.history)


def stylize(content: Any, style: Any, **options: Any) -> Result:
    """Repaint ``content`` in the style of ``style`` and return the :class:`Result` (``result.image``: uint8 RGB).

    ``content`` and ``style`` may be paths, PIL images or arrays (``style`` also a list of them, blended).
    ``options`` are the command line's settings by their field names (``style_weight=5``, ``max_long_edge=300``,
    ``preserve_color="luminance"`` ...) with the same defaults and validation, except that nothing is written
    to disk unless ``output_dir`` or ``output`` is given. Besides: ``on_epoch`` (called with each epoch),
    ``web="[HOST:]PORT"`` and ``browser=True`` (the live page, as ``--web`` and ``--browser``), ``show=True``
    (in Jupyter: the picture and the loss curve drawn inline as the run goes). ``content_masks`` (and
    ``style_masks``): one region mask per style image, as paths, PIL images or ``HxW`` arrays (uint8, or floats
    in 0..1); see ``--content-mask``.
    """
    names = {f.name for f in dataclasses.fields(Config)}
    own = set(EXTRAS) | {"content_masks", "style_masks"}
    unknown = sorted(set(options) - (names - {"content_image", "style_image"}) - own)
    if unknown:
        raise NStyleError(f"stylize: unknown option(s) {', '.join(unknown)}")
    extras = {k: options.pop(k, None) for k in EXTRAS}
    region_masks = {flag: options.pop(key, None) for flag, key in (("content_mask", "content_masks"),
                                                                    ("style_mask", "style_masks"))}
    for flag, given in region_masks.items():
        if given is not None:
            region_masks[flag] = list(given) if isinstance(given, (list, tuple)) else [given]
            options[flag] = masks.mask_names(region_masks[flag], flag_name(flag))
    options = {name: coerce_value(name, value) for name, value in options.items()}
    options.setdefault("output_dir", None)
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    sizes = Config(**options)  # for how far very large pictures given by path may be reduced while decoding
    content_rgb = images.as_rgb(content, "content", sizes.max_long_edge)
    style_rgbs = [images.as_rgb(s, "style", style_long_edge(sizes)) for s in styles]

    def label(obj: Any, role: str, rgb: np.ndarray) -> str:
        return os.fspath(obj) if isinstance(obj, (str, os.PathLike)) else f"<{role} {rgb.shape[1]}x{rgb.shape[0]}>"
    content_name = label(content, "content", content_rgb)
    style_names = [label(s, f"style {i + 1}", rgb) for i, (s, rgb) in enumerate(zip(styles, style_rgbs))]
    cfg = Config(content_image=content_name, style_image=style_names[0] if len(styles) == 1 else style_names,
                 **options).validate()
    inputs = masks.attach(Inputs(content_rgb, style_rgbs, content_name, style_names),
                          region_masks["content_mask"] or cfg.content_mask, region_masks["style_mask"] or cfg.style_mask,
                          cfg.content_mask or [], cfg.style_mask or [])
    return watched_run(cfg, inputs, **extras)


#: What :func:`stylize` takes besides :class:`Config`'s fields.
EXTRAS = ("on_epoch", "web", "browser", "show")


def watched_run(cfg: Config, inputs: Inputs, on_epoch: Optional[EpochHook], web: Any, browser: Any,
                show: Any) -> Result:
    """:func:`run` with the live page (``web``, ``browser``) and the notebook drawing (``show``) when asked."""
    from .live.notebook import notebook_watch
    from .live.session import watching

    with watching(None if web is None else str(web), bool(browser)) as live:
        shown = notebook_watch() if show else None
        try:
            result = run(cfg, on_epoch=on_epoch, inputs=inputs, watch=together(live, shown))
        except NStyleError as exc:
            if shown:
                shown.finish(None, str(exc))
            raise
        if shown:
            shown.finish(result.image, f"{result.stopped} after {result.epochs} epochs"
                         f"{', written to ' + result.output if result.output else ''}")
    return result
