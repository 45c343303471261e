"""Tiled optimisation of one level: a full-size canvas in host memory, optimised window by window.

Each pass visits every tile of a :class:`nstyle.tiles.geometry.Grid` (moved between passes) and runs ``--optimizer``
on the tile's window for a share of ``--max-num-epochs``; only the tile's inner part goes back into the canvas,
feathered (:func:`nstyle.tiles.geometry.blend`). All windows of a level have one size, so one loss network is bound.

- Style targets come from the whole style image at the level's scale: its Grams are summed over the cores of a
  tiling of the style image (exact, by the margin rule) and divided by its positions per layer, the per-position
  normalisation ``--style-scale`` documents. The style loss being optimised is the whole picture's, not each
  window's: at the start of a pass the picture's own Grams are summed over the cores of its tiles the same way, and
  a window's target is its own Gram at the start of its visit minus its share (window positions / picture
  positions) of the whole picture's excess over the style. At the start of a visit the window's style gradient is
  then the whole picture's; each window keeps its own character (sky stays sky) and the windows of a pass together
  close the picture's gap to the style. (Matching every window to the whole style's statistics instead ended at
  2.2x the untiled objective at 1200x800.) A level that fits one window needs none of this and is the untiled run.
  Content targets are the window's own features; they depend only on the window, and the grid moves back and forth
  between two positions (:meth:`nstyle.tiles.geometry.Grid.shift`), so they are computed on a window's first visit
  and kept for its later ones (up to :data:`CONTENT_CACHE_BYTES`; over that, recomputed, to the same bits).
- Optimiser state: NAG's momentum and Adam's two moments are per pixel, so they live in full-size arrays beside
  the canvas (NAG: 1 extra canvas, Adam: 2; float32: 12 and 24 bytes per pixel, 144 / 288 MB at 4000x3000); a
  visit's state is feathered into them (:func:`nstyle.tiles.geometry.feather_in`: a weighted mean with what is there, no
  copy from the start of the pass). The epoch counter (learning-rate schedule, Adam's bias correction) is the
  tile's own count. L-BFGS's curvature pairs are per window (2 x history x window floats, 300 MB at 640 px with
  history 10) and cannot be kept for every tile, so each visit starts a fresh L-BFGS.
- A canvas side longer than the tile is padded (reflected) to a multiple of the network's stride so that every
  window's pooling grid lines up with the whole canvas's; the padding is cut off at the end.
- Interrupts and checkpoints: a signal stops the current visit after its epoch; the canvas and its copy from the
  start of the pass (:func:`nstyle.tiles.geometry.blend` needs it), the optimiser arrays and the unfinished visit's loop
  state are saved in ``checkpoint.npz`` with the pass and tile to continue from, so a resumed run ends at the same
  picture and Ctrl-C never waits for more than one epoch.
"""
from __future__ import annotations

import logging
import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import mxnet as mx
import numpy as np

from ..algorithm import losses
from ..algorithm.loop import Epoch, NAGLoop
from ..config import Config
from ..errors import NStyleError, NumericalFailure
from ..files import images
from ..model_zoo import spec, vgg
from ..process.interrupts import StopRequest
from .geometry import Grid, Tile, blend, feather_for, feather_in, margin_for, padded, split, vgg_context
from .geometry import seam_ratio as seam_ratio_at

log = logging.getLogger("nstyle")

#: Passes over the tiles of a level; each tile visit runs ``max_num_epochs / PASSES`` epochs.
PASSES = 4

#: Prefix of an unfinished visit's loop state in a checkpoint.
PARTIAL = "visit_loop_"

#: Host memory a level may keep its windows' content targets in (beyond it they are recomputed per visit).
CONTENT_CACHE_BYTES = 256 * 2**20


class FeatureNet:
    """Forward-only VGG19 feature maps of ``layers`` for inputs of one ``size`` (no gradient buffers)."""

    def __init__(self, params: Dict[str, np.ndarray], size: Tuple[int, int], ctx: mx.Context,
                 layers: Sequence[str], pooling: str = "avg") -> None:
        built = vgg.build(spec.deepest(list(layers)), pooling)
        out = mx.sym.Group([built[name] for name in layers])
        shape = (1, 3) + tuple(size)
        arg_shapes, _, _ = out.infer_shape(data=shape)
        args = {name: mx.nd.array(params[name], ctx) if name in params else mx.nd.zeros(s, ctx)
                for name, s in zip(out.list_arguments(), arg_shapes)}
        self.executor = out.bind(ctx, args=args, grad_req="null")
        self.forwards = 0  # forward passes so far

    def __call__(self, image_np: np.ndarray) -> List[mx.nd.NDArray]:
        self.forwards += 1
        self.executor.arg_dict["data"][:] = image_np
        self.executor.forward(is_train=False)
        return self.executor.outputs


def window_context(cfg: Config) -> Tuple[int, int, int]:
    """``(margin, align, feather)`` of this run's layers: what every tile window holds around its core."""
    margin, align = margin_for(cfg.style_layer_list + cfg.content_layer_list)
    return margin, align, feather_for(margin, align)


def grid_for(cfg: Config, size: Tuple[int, int], tile: int) -> Grid:
    """The grid of ``tile``-pixel windows for this run's layers over a canvas of content ``size`` (padded)."""
    margin, align, feather = window_context(cfg)
    tile = max(tile // align * align, Grid.smallest_tile(margin, align, feather))
    canvas = tuple(padded(n, align) if n > tile else n for n in size)
    return Grid(canvas, tile, margin, align, feather)


def check_tile_size(cfg: Config) -> None:
    """Refuse a ``--tile-size`` whose windows would be mostly context and feathering (one line, before any work)."""
    margin, align, feather = window_context(cfg)
    least = Grid.least_sensible_tile(margin, align, feather)
    if cfg.tile_size is not None and cfg.tile_size < least:
        raise NStyleError(f"--tile-size {cfg.tile_size}: each tile window holds {margin + feather} px of context and "
                          f"feathering on every side for these layers, so below {least} px most of its work is "
                          f"thrown away; use at least {least} (512 is recommended)")


def pad_to(x: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``...xHxW`` reflected at the bottom and right up to ``size``."""
    extra = [(0, 0)] * (x.ndim - 2) + [(0, size[0] - x.shape[-2]), (0, size[1] - x.shape[-1])]
    return np.pad(x, extra, mode="reflect") if any(e[1] for e in extra) else x


def network_canvas(rgb01: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``pad_to(images.to_network(rgb01).astype(np.float32), size)`` (the same values), one channel at a time, so a
    print-size image needs no full-size float64 copies."""
    out = np.empty((1, 3) + tuple(size), np.float32)
    for c in range(3):
        out[0, c] = pad_to(np.asarray(rgb01[..., c]) * images.SCALE - images.MEAN[c], size)
    return out


def whole_grams(net: Callable[[np.ndarray], List[mx.nd.NDArray]], image_np: np.ndarray, grid: Grid,
                strides: Sequence[int]) -> List[np.ndarray]:
    """Grams of the whole (network-space, grid-sized) image, summed over the cores of ``grid``'s tiles."""
    grams: List[np.ndarray] = []
    for tile in grid.tiles(0):
        outs = net(split(image_np, tile))
        for k, (out, s) in enumerate(zip(outs, strides)):
            f = out.asnumpy()[0]
            r, c = (_cells(span, s, f.shape[1 + i], n) for i, (span, n) in enumerate(zip((tile.rows, tile.cols),
                                                                                          grid.size)))
            core = f[:, r, c].reshape(f.shape[0], -1)
            g = np.dot(core, core.T).astype(np.float64)
            if k < len(grams):
                grams[k] += g
            else:
                grams.append(g)
    return grams


def _cells(span, stride: int, cells: int, length: int) -> slice:
    """The feature cells of ``span``'s core inside its window at a layer of ``stride``."""
    stop = cells if span.b == length else (span.b - span.start) // stride
    return slice((span.a - span.start) // stride, stop)


def layer_strides(cfg: Config) -> List[int]:
    """Cumulative stride of each style layer."""
    return [vgg_context(name)[1] for name in cfg.style_layer_list]


def level_passes(cfg: Config) -> int:
    """Passes over the tiles in each level."""
    return max(1, min(PASSES, cfg.max_num_epochs))


class TiledLevel:
    """One level of a run, optimised tile by tile on a full-size host canvas.

    ``start``: the level's start image, ``1x3xHxW`` network space, float32. ``content``: the content at the
    level's size as :func:`network_canvas` makes it (padded to the grid). ``styles``: each style image
    (0..1 ``HxWx3``) at this level's scale, with its blend weight. ``make_loop(executor, head, img)`` builds the
    optimiser loop on one window.
    """

    def __init__(self, cfg: Config, params: Dict[str, np.ndarray], ctx: mx.Context, grid: Grid,
                 size: Tuple[int, int], content: np.ndarray, styles: Sequence[Tuple[np.ndarray, float]],
                 start: np.ndarray, loss_net, make_loop) -> None:
        self.cfg, self.grid, self.size, self.ctx = cfg, grid, tuple(size), ctx
        self.canvas = pad_to(np.asarray(start, np.float32), grid.size)
        self.content = content
        window = grid.tiles(0)[0].shape
        self.net = loss_net(window)
        # one forward net for both: the style layers' features first, then the content layers'
        self.features = FeatureNet(params, window, ctx, cfg.style_layer_list + cfg.content_layer_list, cfg.pooling)
        self.n_style = len(cfg.style_layer_list)
        self.style_per_position = self._style_targets(params, styles, window)
        self.picture_per_position: Optional[List[np.ndarray]] = None  # the canvas's Grams at the pass's start
        self.head = losses.head_gradients(self.net.style_shapes, cfg.style_weight, cfg.content_weight, ctx,
                                          cfg.layer_weights(), len(cfg.content_layer_list))
        self.make_loop = make_loop
        # also a level that fits in one window runs in PASSES visits: Ctrl-C waits for one visit at most
        self.passes = level_passes(cfg)
        self.per_visit = math.ceil(cfg.max_num_epochs / self.passes) if cfg.max_num_epochs else 0
        self.opt_state: Optional[np.ndarray] = None  # K x 1x3xHxW, created by the first NAG/Adam visit
        self.pass_index, self.tile_index, self.epochs = 0, 0, 0
        self.pass_start = self.canvas.copy()  # the canvas (and optimiser arrays) when the current pass began
        self.calm_tiles = 0  # tiles of the current pass that met the stopping rule
        self.last_epoch: Optional[Epoch] = None
        self.converged = False  # every tile of a pass met the stopping rule
        self.partial: Dict[str, np.ndarray] = {}  # an unfinished visit: its loop's state, step and calm count
        #: each window's content targets by its position, kept for its later visits
        self.content_targets: Dict[Tuple[int, int, int, int], List[mx.nd.NDArray]] = {}
        self.content_cache_bytes = CONTENT_CACHE_BYTES

    @property
    def tiles(self) -> List[Tile]:
        """The tiles of the current pass."""
        return self.grid.tiles(self.pass_index)

    @property
    def visits(self) -> int:
        """Tile visits in the whole level."""
        return sum(len(self.grid.tiles(p)) for p in range(self.passes))

    @property
    def visits_done(self) -> int:
        return sum(len(self.grid.tiles(p)) for p in range(self.pass_index)) + self.tile_index

    def image(self) -> np.ndarray:
        """The canvas without its padding (``1x3xHxW`` float32)."""
        return self.canvas[..., :self.size[0], :self.size[1]]

    def _style_targets(self, params: Dict[str, np.ndarray], styles: Sequence[Tuple[np.ndarray, float]],
                       window: Tuple[int, int]) -> List[np.ndarray]:
        """Blended whole-style Grams per position (float64), one per style layer."""
        cfg = self.cfg
        nets: Dict[Tuple[int, int], FeatureNet] = {tuple(window): self.features}
        blended: List[np.ndarray] = []
        for style01, w in styles:
            grid = grid_for(cfg, style01.shape[:2], self.grid.tile)
            style_np = network_canvas(style01, grid.size)
            shape = grid.tiles(0)[0].shape
            if shape not in nets:
                nets[shape] = FeatureNet(params, shape, self.ctx, cfg.style_layer_list, cfg.pooling)
            grams = [g * w for g in self._per_position(nets[shape], style_np, grid)]
            blended = grams if not blended else [b + g for b, g in zip(blended, grams)]
        return blended

    def _per_position(self, net: "FeatureNet", image_np: np.ndarray, grid: Grid) -> List[np.ndarray]:
        """Grams of a whole grid-sized network-space image divided by its positions, per style layer."""
        strides = layer_strides(self.cfg)
        grams = whole_grams(net, image_np, grid, strides)
        return [g / ((grid.size[0] // s) * (grid.size[1] // s)) for g, s in zip(grams, strides)]

    def _window_targets(self, window: np.ndarray) -> Tuple[List[mx.nd.NDArray], List[mx.nd.NDArray]]:
        """Style targets (see the module's notes) and the window's content targets (from the content image)."""
        content = self._content_targets(self.tiles[self.tile_index])
        positions = [s[2] * s[3] for s in self.net.style_shapes]
        if len(self.tiles) == 1:  # the window is the picture: its share of the excess is all of it
            return [mx.nd.array(t * n, mx.cpu()) for t, n in zip(self.style_per_position, positions)], content
        if self.picture_per_position is None:
            self.picture_per_position = self._per_position(self.features, self.pass_start, self.grid)
        own = [out.asnumpy()[0].reshape(out.shape[1], -1) for out in self.features(window)[:self.n_style]]
        style = [np.dot(f, f.T).astype(np.float64) - n * (p - t) for f, n, p, t in
                 zip(own, positions, self.picture_per_position, self.style_per_position)]
        return [mx.nd.array(g, mx.cpu()) for g in style], content

    def _content_targets(self, tile: Tile) -> List[mx.nd.NDArray]:
        """The content layers' features of ``tile``'s window of the content image (CPU copies), cached per window."""
        key = (tile.rows.start, tile.rows.stop, tile.cols.start, tile.cols.stop)
        if key in self.content_targets:
            return self.content_targets[key]
        content = [out.copyto(mx.cpu()) for out in self.features(split(self.content, tile))[self.n_style:]]
        kept = sum(c.size * 4 for targets in self.content_targets.values() for c in targets)
        if kept + sum(c.size * 4 for c in content) <= self.content_cache_bytes:
            self.content_targets[key] = content
        return content

    # ---- one tile visit --------------------------------------------------------------------------------

    def visit(self, stop: StopRequest, on_epoch: Optional[Callable[[Epoch], None]],
              history: List[Epoch]) -> Epoch:
        """Optimise the next tile for up to ``per_visit`` epochs and blend it back; advance to the next tile."""
        cfg, tile = self.cfg, self.tiles[self.tile_index]
        window = split(self.canvas, tile)
        executor = self.net.bind_losses(*self._window_targets(window))
        img = mx.nd.array(window, self.ctx)
        loop = self.make_loop(executor, self.head, img)
        done_before = self.pass_index * self.per_visit
        carried = isinstance(loop, NAGLoop)  # NAG and Adam: per-pixel state in full-size arrays
        if carried:
            self._load_optimiser(loop, tile, window, done_before)
        first, calm, ep = 1, 0, None
        if self.partial:
            loop.load_state({k[len(PARTIAL):]: v for k, v in self.partial.items() if k.startswith(PARTIAL)})
            first, calm = int(self.partial["visit_step"]) + 1, int(self.partial["visit_calm"])
            self.partial = {}
        for step in range(first, self.per_visit + 1):
            ep = loop.step()
            ep.epoch = done_before + step
            history.append(ep)
            if on_epoch:
                on_epoch(ep)
            if not ep.finite:
                raise NumericalFailure(f"the loss or the image became NaN/infinite in tile {self.tile_index + 1} "
                                       f"of pass {self.pass_index + 1}; try a lower --lr or --style-weight")
            self.epochs += 1
            calm = calm + 1 if ep.eps < cfg.stop_eps else 0
            if calm >= loop.patience:
                self.calm_tiles += 1
                break
            if stop.signum and step < self.per_visit:  # keep the visit's state; the canvas is untouched
                self.partial = {PARTIAL + k: v for k, v in loop.state_dict().items()}
                self.partial.update(visit_step=np.int64(step), visit_calm=np.int64(calm))
                return ep
        blend(self.canvas, self.pass_start, tile, img.asnumpy())
        if carried:
            for k, array in enumerate(loop._state_arrays()):
                feather_in(self.opt_state[k], tile, array.asnumpy())
        self.tile_index += 1
        if self.tile_index == len(self.tiles):
            self._end_pass()
        self.last_epoch = ep
        return ep

    def position(self) -> str:
        """Where the level stands, for messages: ``after tile 3/12 of pass 2/4`` or ``in tile 4/12 ...``."""
        if self.partial:
            return (f"in tile {self.tile_index + 1}/{len(self.tiles)} of pass {self.pass_index + 1}/{self.passes} "
                    f"(epoch {int(self.partial['visit_step'])} of {self.per_visit})")
        return f"after tile {self.tile_index}/{len(self.tiles)} of pass {self.pass_index + 1}/{self.passes}"

    def _load_optimiser(self, loop, tile: Tile, window: np.ndarray, done_before: int) -> None:
        """Give a NAG/Adam loop this tile's part of the full-size state and the tile's epoch count."""
        arrays = loop._state_arrays()
        if self.opt_state is None:
            self.opt_state = np.zeros((len(arrays),) + self.canvas.shape, np.float32)
        loop.load_state({"image": window, "old_image": window,
                         "optimizer_state": np.stack([split(s, tile) for s in self.opt_state]),
                         "epoch": np.int64(done_before), "num_update": np.int64(done_before),
                         "sched_count": np.int64(0), "sched_base_lr": np.float64(self.cfg.learning_rate)})

    def _end_pass(self) -> None:
        all_calm = self.calm_tiles == len(self.tiles)
        self.pass_index, self.tile_index, self.calm_tiles = self.pass_index + 1, 0, 0
        self.pass_start = self.canvas.copy()
        self.picture_per_position = None
        if all_calm:
            self.converged = True
            self.pass_index = self.passes  # every tile met the stopping rule: the level is done

    @property
    def finished(self) -> bool:
        return self.pass_index >= self.passes

    # ---- checkpoints -----------------------------------------------------------------------------------

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Everything needed to continue this level at the next tile."""
        state = {"canvas": self.canvas, "pass_start": self.pass_start, "pass_index": np.int64(self.pass_index),
                 "tile_index": np.int64(self.tile_index), "calm_tiles": np.int64(self.calm_tiles),
                 "tile": np.int64(self.grid.tile), "tiled_epochs": np.int64(self.epochs),
                 "converged": np.int64(self.converged)}
        if self.opt_state is not None:
            state["opt_state"] = self.opt_state
        return dict(state, **self.partial)

    def load_state(self, state: Dict[str, np.ndarray]) -> None:
        """Continue from a :meth:`state_dict`; ValueError for one that does not fit this level."""
        def fitting(key: str, shape: Tuple[int, ...]) -> np.ndarray:
            array = np.array(state[key], np.float32)
            if array.shape != shape:
                raise ValueError(f"{key} is {array.shape}, this level needs {shape}")
            return array

        self.canvas = fitting("canvas", self.canvas.shape)
        self.pass_start = fitting("pass_start", self.canvas.shape)
        self.pass_index, self.tile_index = int(state["pass_index"]), int(state["tile_index"])
        last = len(self.tiles) if self.pass_index < self.passes else 1  # a finished level: pass_index == passes
        if not (0 <= self.pass_index <= self.passes and 0 <= self.tile_index < last):
            raise ValueError(f"no tile {self.tile_index + 1} in pass {self.pass_index + 1}")
        self.calm_tiles, self.epochs = int(state["calm_tiles"]), int(state["tiled_epochs"])
        self.converged = bool(state["converged"])
        if "opt_state" in state:
            self.opt_state = np.array(state["opt_state"], np.float32)
            if self.opt_state.shape[1:] != self.canvas.shape:
                raise ValueError(f"opt_state is {self.opt_state.shape}")
        self.partial = {k: v for k, v in state.items() if k.startswith(("visit_", PARTIAL))}
        self.picture_per_position = None  # recomputed from pass_start


def seam_ratio(rgb: np.ndarray, grid: Grid, passes: int) -> float:
    """The seam metric of a tiled level's output: :func:`nstyle.tiles.geometry.seam_ratio` along each pass's cuts, the
    one furthest from 1 (a seam left by any pass counts)."""
    ratios = [seam_ratio_at(rgb, *grid.cuts(p)) for p in range(passes)]
    return max(ratios, key=lambda r: abs(r - 1))
