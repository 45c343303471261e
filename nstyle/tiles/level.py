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
- Region masks: the same per layer and region with guided Grams (:mod:`nstyle.tiles.guides`): the picture's
  guides, normalised over the whole canvas, cut to each window; the loss weights are the picture's region areas.
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
from ..algorithm.guides import Guides
from ..algorithm.loop import Epoch, NAGLoop
from ..algorithm.regions import region_weights
from ..config import Config
from ..errors import NStyleError, NumericalFailure
from ..files import images
from ..model_zoo import spec, vgg
from ..process.interrupts import StopRequest
from .geometry import Grid, Tile, blend, feather_for, feather_in, margin_for, pad_to, padded, split, vgg_context
from .geometry import seam_ratio as seam_ratio_at
from .guides import canvas_guides, feature_grams, window_cells, window_guides

log = logging.getLogger("nstyle")

#: Passes over the tiles of a level; each tile visit runs ``max_num_epochs / PASSES`` epochs.
PASSES = 4

#: Prefix of an unfinished visit's loop state in a checkpoint.
PARTIAL = "visit_loop_"

#: Keep NAG's / Adam's loop (its total-variation executor and optimiser) from visit to visit of a level.
KEEP_LOOP = True

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
    return Grid(canvas, tile, margin, align, feather, cfg.tile_fit)


def check_tile_size(cfg: Config) -> None:
    """Refuse a ``--tile-size`` whose windows would be mostly context and feathering (one line, before any work)."""
    margin, align, feather = window_context(cfg)
    least = Grid.least_sensible_tile(margin, align, feather)
    if cfg.tile_size is not None and cfg.tile_size < least:
        raise NStyleError(f"--tile-size {cfg.tile_size}: each tile window holds {margin + feather} px of context and "
                          f"feathering on every side for these layers, so below {least} px most of its work is "
                          f"thrown away; use at least {least} (512 is recommended)")


def network_canvas(rgb01: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``pad_to(images.to_network(rgb01).astype(np.float32), size)`` (the same values), one channel at a time, so a
    print-size image needs no full-size float64 copies."""
    out = np.empty((1, 3) + tuple(size), np.float32)
    for c in range(3):
        out[0, c] = pad_to(np.asarray(rgb01[..., c]) * images.SCALE - images.MEAN[c], size)
    return out


def whole_grams(net: Callable[[np.ndarray], List[mx.nd.NDArray]], image_np: np.ndarray, grid: Grid,
                strides: Sequence[int], picture: Optional[Guides] = None) -> List[np.ndarray]:
    """Grams of the whole (network-space, grid-sized) image, summed over the cores of ``grid``'s tiles; with the
    canvas guides ``picture``, its guided Grams, layer by layer and region by region (the loss net's order)."""
    grams: List[np.ndarray] = []
    for tile in grid.tiles(0):
        found = []
        for k, (out, s) in enumerate(zip(net(split(image_np, tile)), strides)):
            f = out.asnumpy()[0]
            r, c = (_cells(span, s, f.shape[1 + i], n) for i, (span, n) in enumerate(zip((tile.rows, tile.cols),
                                                                                          grid.size)))
            cut = None if picture is None else [window_cells(g, tile, s, f.shape[1:])[r, c] for g in picture.guides[k]]
            found += feature_grams(f[:, r, c], cut)
        grams = found if not grams else [g + h for g, h in zip(grams, found)]
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
    optimiser loop on one window. With ``content_masks`` (one region per style, any frame of the content's aspect;
    ``loss_net`` then has guided Grams for as many regions) and ``style_masks`` (one per style, or None), the style
    loss is the regions' guided one (``docs/masks.md``), through tiles as the plain one.
    """

    def __init__(self, cfg: Config, params: Dict[str, np.ndarray], ctx: mx.Context, grid: Grid,
                 size: Tuple[int, int], content: np.ndarray, styles: Sequence[Tuple[np.ndarray, float]],
                 start: np.ndarray, loss_net, make_loop, content_masks: Optional[Sequence[np.ndarray]] = None,
                 style_masks: Optional[Sequence[Optional[np.ndarray]]] = None) -> None:
        self.cfg, self.grid, self.size, self.ctx = cfg, grid, tuple(size), ctx
        self.canvas = pad_to(np.asarray(start, np.float32), grid.size)
        self.content = content
        window = grid.tiles(0)[0].shape
        self.net = loss_net(window)
        # one forward net for both: the style layers' features first, then the content layers'
        self.features = FeatureNet(params, window, ctx, cfg.style_layer_list + cfg.content_layer_list, cfg.pooling)
        self.n_style = len(cfg.style_layer_list)
        self.strides = layer_strides(cfg)
        # the whole picture's guides on the canvas, [layer][region] (None: no regions)
        self.guides = None if content_masks is None else canvas_guides(content_masks, size, grid.size,
                                                                       cfg.style_layer_list, cfg.mask_guide)
        self.style_per_position = self._style_targets(params, styles, window, style_masks)
        self.picture_per_position: Optional[List[np.ndarray]] = None  # the canvas's Grams at the pass's start
        weights = None if self.guides is None else region_weights(cfg, self.guides, [
            [mx.nd.array(t) for t in self._per_layer(self.style_per_position)[i]] for i in range(self.n_style)])
        self.head = losses.head_gradients(self.net.style_shapes, cfg.style_weight, cfg.content_weight, ctx,
                                          cfg.layer_weights(), len(cfg.content_layer_list), weights)
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
        self.loop = None  # NAG's or Adam's loop, kept from the first visit (:meth:`_loop`)
        self.loops_built = 0  # optimiser loops made (each binds a total-variation executor)

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

    @property
    def regions(self) -> int:
        """Style losses per style layer: the number of regions, 1 without masks."""
        return 1 if self.guides is None else len(self.guides.guides[0])

    def _per_layer(self, outputs: Sequence) -> List[List]:
        """The loss net's style outputs (layer by layer, region by region) grouped ``[layer][region]``."""
        n = self.regions
        return [list(outputs[i * n:(i + 1) * n]) for i in range(self.n_style)]

    def _style_targets(self, params: Dict[str, np.ndarray], styles: Sequence[Tuple[np.ndarray, float]],
                       window: Tuple[int, int], style_masks: Optional[Sequence[Optional[np.ndarray]]] = None
                       ) -> List[np.ndarray]:
        """Whole-style Grams per position (float64) in the loss net's order: blended, one per style layer; with
        regions, style ``r``'s own (guided by its style mask, if any) for region ``r`` (the blend weights are
        then the regions' loss weights, as untiled)."""
        cfg = self.cfg
        nets: Dict[Tuple[int, int], FeatureNet] = {tuple(window): self.features}
        per_style: List[List[np.ndarray]] = []
        for (style01, w), mask in zip(styles, style_masks or [None] * len(styles)):
            grid = grid_for(cfg, style01.shape[:2], self.grid.tile)
            style_np = network_canvas(style01, grid.size)
            shape = grid.tiles(0)[0].shape
            if shape not in nets:
                nets[shape] = FeatureNet(params, shape, self.ctx, cfg.style_layer_list, cfg.pooling)
            own = None if mask is None else canvas_guides([mask], style01.shape[:2], grid.size, cfg.style_layer_list,
                                                          cfg.mask_guide)
            grams = self._per_position(nets[shape], style_np, grid, own)
            per_style.append(grams if self.guides is not None else [g * w for g in grams])
        if self.guides is not None:
            return [per_style[r][i] for i in range(self.n_style) for r in range(self.regions)]
        return [sum(layer[1:], layer[0]) for layer in zip(*per_style)]

    def _per_position(self, net: "FeatureNet", image_np: np.ndarray, grid: Grid,
                      picture: Optional[Guides] = None) -> List[np.ndarray]:
        """(Guided) Grams of a whole grid-sized network-space image divided by its positions, in the loss net's
        order."""
        grams = whole_grams(net, image_np, grid, self.strides, picture)
        per_region = 1 if picture is None else len(picture.guides[0])
        return [g / ((grid.size[0] // s) * (grid.size[1] // s))
                for g, s in zip(grams, [s for s in self.strides for _ in range(per_region)])]

    def _window_guides(self, tile: Tile) -> Optional[List[List[np.ndarray]]]:
        """``[layer][region]``: the picture's guides in ``tile``'s window (None without regions)."""
        if self.guides is None:
            return None
        return window_guides(self.guides, tile, self.strides, [s[2:] for s in self.net.style_shapes])

    def _window_targets(self, window: np.ndarray) -> Tuple[List[mx.nd.NDArray], List[mx.nd.NDArray]]:
        """Style targets (see the module's notes) and the window's content targets (from the content image)."""
        tile = self.tiles[self.tile_index]
        content = self._content_targets(tile)
        positions = [s[2] * s[3] for s in self.net.style_shapes for _ in range(self.regions)]
        if len(self.tiles) == 1:  # the window is the picture: its share of the excess is all of it
            return [mx.nd.array(t * n, mx.cpu()) for t, n in zip(self.style_per_position, positions)], content
        if self.picture_per_position is None:
            self.picture_per_position = self._per_position(self.features, self.pass_start, self.grid, self.guides)
        cut = self._window_guides(tile) or [None] * self.n_style
        own = [g for out, guides in zip(self.features(window)[:self.n_style], cut)
               for g in feature_grams(out.asnumpy()[0], guides)]
        style = [g - n * (p - t) for g, n, p, t in zip(own, positions, self.picture_per_position,
                                                       self.style_per_position)]
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
        cut = self._window_guides(tile)
        executor = self.net.bind_losses(*self._window_targets(window),
                                        None if cut is None else [g[None, None] for layer in cut for g in layer])
        loop = self._loop(executor, window)
        img = loop.img
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

    def _loop(self, executor: mx.executor.Executor, window: np.ndarray):
        """The optimiser loop for this visit on ``executor`` (the level's one loss executor): NAG's and Adam's is
        built on the first visit and kept (each visit loads its whole state, :meth:`_load_optimiser`), so a visit
        binds no total-variation executor and makes no optimiser; L-BFGS's history is per window: a new loop."""
        if self.loop is not None:
            return self.loop
        loop = self.make_loop(executor, self.head, mx.nd.array(window, self.ctx))
        self.loops_built += 1
        if KEEP_LOOP and isinstance(loop, NAGLoop):
            self.loop = loop
        return loop

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
