"""A tiled run, coarse to fine: levels that fit in one window run whole, larger ones tile by tile.

The levels are ``--multires``'s halvings, with more added until the coarsest fits in one tile, so every large
picture starts from a whole-picture solution and each level starts from the previous one upsampled.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Callable, List, Optional, Tuple

import mxnet as mx
import numpy as np

from ..algorithm.engine import Engine, style_at_scale
from ..algorithm.loop import Epoch, make_loop, start_image
from ..algorithm.outcome import Result, finish, interrupted, prepare_output, save_final
from ..algorithm.pyramid import tiled_levels
from ..algorithm.shown import live_picture
from ..config import Config
from ..errors import NStyleError, NumericalFailure
from ..files import checkpoint, images
from ..process.interrupts import stop_on_signals
from ..process.progress import Progress
from ..process.watch import Watch
from .level import TiledLevel, grid_for, level_passes, network_canvas

log = logging.getLogger("nstyle")

#: Seconds between checkpoints written while a level runs (also written after every pass and on a signal).
CHECKPOINT_SECONDS = 120.0


#: Entries every tiled checkpoint of this release has besides the level's optional ones (``opt_state``, partial tiles).
TILED_ENTRIES = ("level", "tile", "pass_index", "tile_index", "calm_tiles", "tiled_epochs", "converged", "canvas",
                 "pass_start")


def check_tiled(path: str, state: dict) -> None:
    """Refuse a checkpoint that is not a tiled run's of this release: an untiled run's, or one lacking entries."""
    if not any(key in state for key in TILED_ENTRIES):
        raise NStyleError("--resume: the checkpoint is from an untiled run; run without --tile-size to continue it")
    missing = [key for key in TILED_ENTRIES if key not in state]
    if missing:
        raise checkpoint.other_release(path, f"it has no {missing[0]} entry")


def content_for_finish(cfg: Config, inputs: images.Inputs, size: Tuple[int, int]) -> Optional[np.ndarray]:
    """The content at the output's ``size`` (0..1) if the end needs it (``--preserve-color luminance``), else None:
    at print size it is one more picture-sized float64 array."""
    return images.resize01(inputs.content, size) if cfg.preserve_color == "luminance" else None


def save_snapshot(cfg: Config, inputs: images.Inputs, level: TiledLevel, index: int) -> str:
    """The picture so far as an 8-bit JPEG in the output directory (a snapshot asked for from the live page):
    ``level<L>_visit<V>.jpg``, ``V`` the tile visits done on level ``L``. Its path."""
    path = os.path.join(cfg.output_dir, f"level{index + 1}_visit{level.visits_done}.jpg")
    snapshot = finish(dataclasses.replace(cfg, bit_depth=8), level.image(),
                      content_for_finish(cfg, inputs, level.image().shape[-2:]))
    images.save_image(snapshot, path, cfg.remove_noise)
    return path


def watched(on_epoch: Optional[Callable[[Epoch], None]], watch: Optional[Watch], level: TiledLevel, index: int,
            levels: int, later_visits: int, content: np.ndarray) -> Optional[Callable[[Epoch], None]]:
    """``on_epoch`` for one visit of ``level`` that also tells ``watch`` where the run is and how much may remain
    (``content``: the content image as read, for the colours of ``--preserve-color luminance``)."""
    if watch is None:
        return on_epoch
    picture = live_picture(level.cfg, level.image, level.size, content)
    p, t, per = level.pass_index, level.tile_index, level.per_visit
    where = f"level {index + 1}/{levels} · pass {p + 1}/{level.passes} · tile {t + 1}/{len(level.tiles)}"
    visits_left = level.visits - level.visits_done - 1 + later_visits

    def both(ep: Epoch) -> None:
        if on_epoch:
            on_epoch(ep)
        step = ep.epoch - p * per
        watch.epoch(ep, level.passes * per, where, visits_left * per + per - step, picture)
    return both


def run_tiled(cfg: Config, tile: int, engine: Engine, inputs: images.Inputs,
              on_epoch: Optional[Callable[[Epoch], None]], started: float, watch: Optional[Watch] = None) -> Result:
    """Stylize ``inputs`` as ``cfg`` says with ``tile``-pixel windows; write the final image and checkpoints;
    tell ``watch`` (if any) every epoch."""
    sizes = tiled_levels(cfg, inputs.content.shape, inputs.content_name, tile)
    grids = [grid_for(cfg, size, tile) for size in sizes]
    log.info("content %s: %dx%d -> %dx%d in %d level(s), tiles of %d px with %d px of context", inputs.content_name,
             inputs.content.shape[1], inputs.content.shape[0], sizes[-1][1], sizes[-1][0], len(sizes), grids[-1].tile,
             grids[-1].margin)
    prepare_output(cfg)
    ctx = engine.context(cfg.gpu)
    params = engine.params(cfg.weights)
    ckpt = checkpoint.path_for(cfg.output_dir) if cfg.output_dir else None
    saved = checkpoint.path_for(cfg.output_dir or ".")
    state = checkpoint.load(saved, cfg.hash()) if cfg.resume else None
    if state is not None:
        check_tiled(saved, state)
    first = int(state.get("level", -1)) if state is not None else 0
    if not 0 <= first < len(sizes):
        raise NStyleError(f"--resume: checkpoint {saved} does not fit this run (level {first + 1} of {len(sizes)}); "
                          "delete it to start afresh")

    regions = len(inputs.content_masks) if inputs.content_masks is not None else 0  # masks: guided Grams
    n_style = len(cfg.style_layer_list) * max(1, regions)
    history: List[Epoch] = []
    img: Optional[np.ndarray] = None
    stopped, level = "max-epochs", None
    progress: Optional[Progress] = None
    last_save = time.perf_counter()
    visits = [sum(len(g.tiles(p)) for p in range(level_passes(cfg))) for g in grids]
    with stop_on_signals() as stop:
        if watch:
            watch.attach(stop)
        for index in range(first, len(sizes)):
            size, grid = sizes[index], grids[index]
            level = None  # the previous level's arrays and networks go before this level's are made
            # one print-size array at a time: the start, then the content (kept as the level's float32 canvas),
            # then the styles
            if img is not None:
                start = start_image(cfg, inputs, size, None, ctx, mx.nd.array(img, ctx)).asnumpy()
            content01 = images.resize01(inputs.content, size)
            if img is None:
                start = (start_image(cfg, inputs, size, images.to_network(content01), ctx, None).asnumpy()
                         if state is None else np.zeros((1, 3) + size, np.float32))  # resumed: the checkpoint's
            styles = [(style_at_scale(cfg, s, size, content01, whole=False), w)
                      for s, w in zip(inputs.styles, cfg.blend_weights())]
            content = network_canvas(content01, grid.size)
            del content01  # the end reads the content again
            level = TiledLevel(cfg, params, ctx, grid, size, content, styles, start,
                               lambda window: engine.loss_net(cfg, window, regions),
                               lambda ex, head, x, n=n_style: make_loop(cfg, ex, head, x, ctx, n),
                               inputs.content_masks, inputs.style_masks)
            del content, styles, start
            if state is not None and index == first:
                checkpoint.apply(level, state, saved)
                log.info("resuming level %d at pass %d, tile %d", index + 1, level.pass_index + 1,
                         level.tile_index + 1)
                state = None  # the level holds its own copies (at print size the checkpoint's arrays are GBs)
            if progress is not None:
                progress.close()
            progress = Progress(level.visits, quiet=cfg.quiet, label="tile")
            progress.update(level.visits_done)
            progress.log(f"level {index + 1}/{len(sizes)}: {size[1]}x{size[0]}, {len(level.tiles)} tile(s) of "
                         f"{grid.tiles(0)[0].shape[1]}x{grid.tiles(0)[0].shape[0]}, {level.passes} pass(es) of "
                         f"{level.per_visit} epochs")
            while not level.finished:
                p, t, n = level.pass_index + 1, level.tile_index + 1, len(level.tiles)
                t0 = time.perf_counter()
                try:
                    ep = level.visit(stop, watched(on_epoch, watch, level, index, len(sizes), sum(visits[index + 1:]),
                                                     inputs.content),
                                     history)
                except NumericalFailure as exc:
                    _, out = save_final(cfg, level.image(), content_for_finish(cfg, inputs, size))
                    raise NumericalFailure(f"{exc}; kept the image before that tile{' in ' + out if out else ''}")
                progress.log(f"level {index + 1} pass {p}/{level.passes} tile {t}/{n}: {ep.epoch} epochs  "
                             f"change {ep.eps:.5f}  style {ep.style_loss:.4g}  content {ep.content_loss:.4g}  "
                             f"{time.perf_counter() - t0:.1f} s")
                progress.update(level.visits_done)
                due = level.tile_index == 0 or time.perf_counter() - last_save > CHECKPOINT_SECONDS
                asked = ckpt is not None and watch is not None and watch.snapshot_due()
                if asked:
                    progress.log(f"saved {save_snapshot(cfg, inputs, level, index)}")
                if ckpt and (due or stop.signum or asked):
                    checkpoint.save(ckpt, dict(level.state_dict(), level=np.int64(index)), cfg.hash())
                    last_save = time.perf_counter()
                if stop.signum and not level.finished:
                    stopped = "interrupted"
                    break
            img = level.image()
            if stopped == "interrupted":
                break
            stopped = "converged" if level.converged else "max-epochs"
    if progress:
        progress.close()

    at = level.position()
    level = None  # its networks and print-size arrays go before the end makes its copies of the picture
    final, out = save_final(cfg, img, content_for_finish(cfg, inputs, size))
    if stopped == "interrupted":
        raise interrupted(stop, at, out, ckpt)
    epochs = sum(1 for _ in history)
    if not cfg.quiet:
        log.info("wrote %s after %d tile epochs (%s)", out or "nothing", epochs, stopped)
    last = history[-1] if history else None
    return Result(final, out, epochs, stopped, last.style_loss if last else float("nan"),
                  last.content_loss if last else float("nan"), time.perf_counter() - started, history)
