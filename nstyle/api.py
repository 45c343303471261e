"""One stylization: the single code path behind the command line, batch runs and :func:`stylize`."""
from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import mxnet as mx
import numpy as np

from . import checkpoint, color, images, losses, resources, weights
from .config import Config, coerce_value
from .errors import Interrupted, NStyleError, NumericalFailure
from .interrupts import StopRequest, stop_on_signals
from .loop import AdamLoop, Epoch, LBFGSLoop, NAGLoop, noise_image
from .model import LossNet
from .objective import Objective
from .progress import Progress

log = logging.getLogger("nstyle")

Loop = Union[NAGLoop, LBFGSLoop]


@dataclass
class Result:
    """What a run produced. ``np.asarray(result)`` is the final image."""

    image: np.ndarray  # HxWx3 uint8, as saved in the final output
    output: Optional[str]
    epochs: int  # over all --multires levels
    stopped: str  # "converged", "max-epochs" or "interrupted"
    style_loss: float = float("nan")
    content_loss: float = float("nan")
    seconds: float = 0.0
    history: List[Epoch] = field(default_factory=list)

    def __array__(self, dtype=None) -> np.ndarray:
        return self.image if dtype is None else self.image.astype(dtype)


@dataclass
class Inputs:
    """The content and style images as RGB arrays, with the names used in messages and cache keys."""

    content: np.ndarray
    styles: List[np.ndarray]
    content_name: str
    style_names: List[str]


def select_context(gpu: Optional[int]) -> mx.Context:
    """``None``: GPU 0 when this MXNet build sees one, else the CPU. ``-1``: CPU. ``N``: GPU N or an error."""
    try:
        available = mx.context.num_gpus()
    except mx.base.MXNetError:
        available = 0
    if gpu is None:
        ctx = mx.gpu(0) if available > 0 else mx.cpu()
    elif gpu < 0:
        ctx = mx.cpu()
    elif gpu >= available:
        raise NStyleError(f"--gpu {gpu}: this MXNet build sees {available} GPU(s); install a CUDA build of "
                          "MXNet (e.g. pip install mxnet-cu112) or run on the CPU with --gpu -1")
    else:
        ctx = mx.gpu(gpu)
    log.info("computing on %s", "the CPU" if ctx.device_type == "cpu" else f"GPU {ctx.device_id}")
    return ctx


def prepare_output(cfg: Config) -> None:
    """Create the output directory (and the ``--output`` file's) now, so a bad path fails before any work."""
    dirs = {d for d in (cfg.output_dir, cfg.output and os.path.dirname(os.path.abspath(cfg.output))) if d}
    for d in sorted(dirs):
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as exc:
            raise NStyleError(f"cannot create output directory {d}: {exc.strerror}") from None
        if not os.access(d, os.W_OK | os.X_OK):
            raise NStyleError(f"output directory {d} is not writable")


def read_inputs(cfg: Config) -> Inputs:
    """Read the content and style image files named by ``cfg``."""
    content = images.read_image(cfg.content_image)
    styles = [images.read_image(path) for path in cfg.style_images]
    return Inputs(content, styles, cfg.content_image, cfg.style_images)


def level_sizes(shape: Tuple[int, ...], cfg: Config, name: str) -> List[Tuple[int, int]]:
    """Content sizes to solve at, coarsest first: the long edge halved ``--multires`` times, then doubled."""
    sizes = [images.content_size(shape, max(1, cfg.max_long_edge >> k)) for k in range(cfg.multires, -1, -1)]
    images.check_size(sizes[-1], name)
    if min(sizes[0]) < images.MIN_SIDE:
        raise NStyleError(f"--multires {cfg.multires}: the coarsest level would be {sizes[0][1]}x{sizes[0][0]} "
                          f"pixels; VGG19 needs at least {images.MIN_SIDE} on each side (use a smaller --multires)")
    return sizes


def style_at_scale(cfg: Config, style: np.ndarray, size: Tuple[int, int], content01: np.ndarray,
                   whole: bool = True) -> np.ndarray:
    """One style image (0..1 ``HxWx3``) as used for content size ``size``: stretched to it (the classic) or at
    ``--style-scale`` with its aspect kept, recoloured for ``--preserve-color histogram``.

    ``whole``: it will go through the network in one piece, so refuse a size that would not fit in memory.
    """
    style_size = size
    if cfg.style_scale is not None:
        style_size = images.content_size(style.shape, int(round(cfg.style_scale * max(size))))
        images.check_size(style_size, "style image at --style-scale")
        if whole:
            resources.check_memory(style_size, "--style-scale", cfg.style_scale)
    style01 = images.resize01(style, style_size)
    if cfg.preserve_color == "histogram":
        style01 = color.match_colors(style01, content01)
    return style01


class Engine:
    """What several runs can share: the device, loaded weights, bound loss networks and style targets.

    One :class:`Engine` per process is enough; :func:`run` makes a fresh one when none is given.
    ``gram_computations`` counts style images actually passed through the network.
    """

    def __init__(self) -> None:
        self._ctx: Dict[Optional[int], mx.Context] = {}
        self._params: Dict[str, weights.Params] = {}
        self._nets: Dict[tuple, LossNet] = {}
        self._grams: Dict[tuple, List[mx.nd.NDArray]] = {}
        self.gram_computations = 0

    def context(self, gpu: Optional[int]) -> mx.Context:
        """The device for ``--gpu`` (see :func:`select_context`), chosen once per value."""
        if gpu not in self._ctx:
            self._ctx[gpu] = select_context(gpu)
        return self._ctx[gpu]

    def params(self, spec: str) -> weights.Params:
        """Weights for ``--weights``, loaded once per spec."""
        if spec not in self._params:
            self._params[spec] = weights.load(spec)
        return self._params[spec]

    def loss_net(self, cfg: Config, size: Tuple[int, int]) -> LossNet:
        """The VGG19 loss network for ``cfg`` at ``size``, built once per (weights, size, layers, pooling)."""
        key = (cfg.weights, cfg.gpu, tuple(size), cfg.pooling, cfg.style_layers, cfg.content_layers)
        if key not in self._nets:
            self._nets[key] = LossNet(self.params(cfg.weights), size, self.context(cfg.gpu),
                                      cfg.style_layer_list, cfg.content_layer_list, cfg.pooling)
        else:
            log.info("reusing the %dx%d network", size[1], size[0])
        return self._nets[key]

    def style_targets(self, cfg: Config, inputs: Inputs, size: Tuple[int, int],
                      content01: np.ndarray) -> List[mx.nd.NDArray]:
        """Per-layer style targets at content size ``size``: the blend of each style image's Grams."""
        blended: List[mx.nd.NDArray] = []
        for k, (style, name, w) in enumerate(zip(inputs.styles, inputs.style_names, cfg.blend_weights())):
            key = (name, id(style) if not isinstance(name, str) else name, style.shape, tuple(size),
                   cfg.style_scale, cfg.weights, cfg.gpu, cfg.pooling, cfg.style_layers, cfg.content_layers,
                   inputs.content_name if cfg.preserve_color == "histogram" else None)
            if key in self._grams:
                log.info("style targets for %s at %dx%d: reused", name, size[1], size[0])
            else:
                self._grams[key] = self._compute_grams(cfg, style, size, content01)
                self.gram_computations += 1
            grams = self._grams[key]
            blended = [g * w for g in grams] if k == 0 else [b + g * w for b, g in zip(blended, grams)]
        return blended

    def _compute_grams(self, cfg: Config, style: np.ndarray, size: Tuple[int, int],
                       content01: np.ndarray) -> List[mx.nd.NDArray]:
        """Grams of one style image; rescaled to the content's position counts when ``--style-scale`` is set."""
        style01 = style_at_scale(cfg, style, size, content01)
        style_size = style01.shape[:2]
        net = self.loss_net(cfg, style_size)
        grams = net.gram_targets(images.to_network(style01))
        net.release_features()
        if style_size != size:
            content_net = self.loss_net(cfg, size)
            ratios = [np.prod(c[2:]) / np.prod(s[2:]) for c, s in zip(content_net.style_shapes, net.style_shapes)]
            grams = [g * float(r) for g, r in zip(grams, ratios)]
        return grams


def start_image(cfg: Config, inputs: Inputs, size: Tuple[int, int], content_np: np.ndarray,
                ctx: mx.Context, previous: Optional[mx.nd.NDArray]) -> mx.nd.NDArray:
    """The first image of a level: ``--init`` on the first level, the previous level's result upsampled after."""
    shape = (1, 3) + tuple(size)
    if previous is not None:
        from skimage.transform import resize

        up = resize(previous.asnumpy()[0].transpose(1, 2, 0), size, order=1, preserve_range=True,
                    anti_aliasing=False)
        return mx.nd.array(up.transpose(2, 0, 1)[None], ctx)
    if cfg.init == "noise":
        return noise_image(shape, ctx, cfg.seed)
    if cfg.init == "content":
        return mx.nd.array(content_np, ctx)
    source = inputs.styles[0] if cfg.init == "style" else images.read_image(cfg.init)
    return mx.nd.array(images.preprocess(source, size), ctx)


def make_loop(cfg: Config, executor: mx.executor.Executor, head: List[mx.nd.NDArray], img: mx.nd.NDArray,
              ctx: mx.Context, n_style: int) -> Loop:
    """The optimiser loop for ``--optimizer``."""
    if cfg.optimizer == "lbfgs":
        mean = np.array(images.MEAN).reshape(1, 3, 1, 1)
        return LBFGSLoop(Objective(executor, head, cfg.tv_weight, ctx, n_style), img, cfg.lbfgs_history,
                         bounds=(np.broadcast_to(-mean, img.shape), np.broadcast_to(255.0 - mean, img.shape)))
    kind = AdamLoop if cfg.optimizer == "adam" else NAGLoop
    return kind(executor, head, img, cfg.learning_rate, cfg.lr_sched_delay, cfg.lr_sched_factor, cfg.tv_weight,
                ctx, n_style)


def finish(cfg: Config, x: np.ndarray, content01: np.ndarray) -> np.ndarray:
    """Network image -> uint8 RGB (uint16 with ``--bit-depth 16``), with the content's chroma when
    ``--preserve-color luminance``."""
    if cfg.bit_depth == 16:
        rgb = images.unprocess(np.asarray(x, np.float64))
        if cfg.preserve_color == "luminance":
            rgb = color.luminance_transfer(rgb, content01 * 255.0)
        return images.to_16bit(rgb)
    rgb = images.postprocess(x)
    if cfg.preserve_color == "luminance":
        mixed = color.luminance_transfer(rgb.astype(np.float64), content01 * 255.0)
        rgb = np.clip(np.round(mixed), 0, 255).astype(np.uint8)
    return rgb


#: Consecutive epochs below --stop-eps that stop the adam and lbfgs optimisers.
PATIENCE = 5

EpochHook = Callable[[Epoch], None]
ImageHook = Callable[[Epoch, mx.nd.NDArray], None]


def _optimise(cfg: Config, loop: Loop, img: mx.nd.NDArray, stop: StopRequest, progress: Progress,
              hooks: Tuple[Optional[EpochHook], Optional[ImageHook]], history: List[Epoch], content01: np.ndarray,
              last_level: bool) -> str:
    """Run epochs until the stopping rule, the epoch limit or a signal; snapshots on the last level."""
    ckpt = checkpoint.path_for(cfg.output_dir) if cfg.output_dir and last_level else None
    done_before = len(history)
    # The classic stops at the first small change; L-BFGS and Adam take an occasional short step on their way,
    # so they stop only after PATIENCE small changes in a row.
    patience, calm = (1 if cfg.optimizer == "nag" else PATIENCE), 0
    while loop.epoch < cfg.max_num_epochs:
        ep = loop.step()
        history.append(ep)
        progress.log(f"epoch {ep.epoch:4d}  change {ep.eps:.5f}  style {ep.style_loss:.4g}  "
                     f"content {ep.content_loss:.4g}  lr {ep.lr:.3g}  {ep.seconds:.2f} s/epoch")
        progress.update(len(history) - done_before + progress.offset)
        on_epoch, on_image = hooks
        if on_epoch:
            on_epoch(ep)
        if on_image:
            on_image(ep, img)
        if not ep.finite:
            progress.close()
            out = cfg.final_path()
            if out:
                images.save_image(finish(cfg, loop.old_img.asnumpy(), content01), out)
            raise NumericalFailure(f"the loss or the image became NaN/infinite at epoch {ep.epoch}; kept the last "
                                   f"finite image (epoch {ep.epoch - 1}){' in ' + out if out else ''}; "
                                   "try a lower --lr or --style-weight")
        calm = calm + 1 if ep.eps < cfg.stop_eps else 0
        if calm >= patience:
            return "converged"
        if ckpt and ep.epoch % cfg.save_epochs == 0:
            path = os.path.join(cfg.output_dir, f"e_{ep.epoch}.jpg")
            snapshot = finish(dataclasses.replace(cfg, bit_depth=8), img.asnumpy(), content01)  # JPEG: 8 bits
            images.save_image(snapshot, path, cfg.remove_noise)
            checkpoint.save(ckpt, loop.state_dict(), cfg.hash())
            progress.log(f"saved {path} and {ckpt}")
        if stop.signum:
            return "interrupted"
    return "max-epochs"


def plan_tile(cfg: Config, size: Tuple[int, int]) -> Optional[int]:
    """The tile side for a run whose last level is ``size`` (None: untiled, today's path, memory checked).

    No ``--tile-size``: untiled when the run fits in memory, else the largest tile that fits (logged).
    A tile at least as large as the picture means untiled. ``--resume`` of a tiled run keeps its tile.
    """
    saved = checkpoint.saved_tile(checkpoint.path_for(cfg.output_dir or ".")) if cfg.resume else None
    if saved:
        return saved
    if cfg.tile_size is not None and cfg.tile_size < max(size):
        return cfg.tile_size
    need, have = resources.estimate_bytes(size), resources.available_bytes()
    if cfg.tile_size is not None or have is None or need <= have:
        resources.check_memory(size, "--max-long-edge", cfg.max_long_edge)
        return None
    tile = resources.largest_tile(size, have)
    if tile is None:
        resources.check_memory(size, "--max-long-edge", cfg.max_long_edge)  # not even a small tile fits: refuse
    log.info("a %dx%d image needs about %.1f GB of memory, more than the %.1f GB available: optimising it in "
             "%d-pixel tiles (--tile-size sets the tile)", size[1], size[0], need / 2**30, have / 2**30, tile)
    return tile


def run(cfg: Config, on_epoch: Optional[EpochHook] = None, engine: Optional[Engine] = None,
        inputs: Optional[Inputs] = None, on_image: Optional[ImageHook] = None) -> Result:
    """Stylize as ``cfg`` says; write snapshots, checkpoints and the final image where it says.

    ``on_epoch(epoch)`` is called after every epoch; ``on_image(epoch, image)`` too, with the current
    network-space image (all levels of ``--multires``), for observers such as benchmarks.
    """
    cfg.validate()
    engine = engine or Engine()
    started = time.perf_counter()
    inputs = inputs or read_inputs(cfg)
    sizes = level_sizes(inputs.content.shape, cfg, inputs.content_name)
    tile = plan_tile(cfg, sizes[-1])
    if tile:
        from .tiledrun import run_tiled

        return run_tiled(cfg, tile, engine, inputs, on_epoch, started)
    log.info("content %s: %dx%d -> %dx%d", inputs.content_name, inputs.content.shape[1], inputs.content.shape[0],
             sizes[-1][1], sizes[-1][0])
    prepare_output(cfg)
    ctx = engine.context(cfg.gpu)

    progress = Progress(cfg.max_num_epochs * len(sizes), quiet=cfg.quiet)
    history: List[Epoch] = []
    img: Optional[mx.nd.NDArray] = None
    epochs = 0
    with stop_on_signals() as stop:
        for level, size in enumerate(sizes):
            last_level = level == len(sizes) - 1
            if len(sizes) > 1:
                progress.log(f"level {level + 1}/{len(sizes)}: {size[1]}x{size[0]}")
            net = engine.loss_net(cfg, size)
            content01 = images.resize01(inputs.content, size)
            content_np = images.to_network(content01)
            grams = engine.style_targets(cfg, inputs, size, content01)
            executor = net.bind_losses(grams, net.content_targets(content_np))
            head = losses.head_gradients(net.style_shapes, cfg.style_weight, cfg.content_weight, ctx,
                                         cfg.layer_weights(), len(cfg.content_layer_list))
            img = start_image(cfg, inputs, size, content_np, ctx, img)
            loop = make_loop(cfg, executor, head, img, ctx, net.n_style)
            if cfg.resume and last_level:
                ckpt = checkpoint.path_for(cfg.output_dir or ".")
                loop.load_state(checkpoint.load(ckpt, cfg.hash()))
                log.info("resuming from %s at epoch %d", ckpt, loop.epoch)
            if cfg.resume and not last_level:
                continue  # the checkpoint holds the last level's state
            progress.offset = len(history)
            stopped = _optimise(cfg, loop, img, stop, progress, (on_epoch, on_image), history, content01,
                                last_level)
            epochs += loop.epoch
            if stopped == "interrupted":
                break
    progress.close()

    final = finish(cfg, img.asnumpy(), content01)
    out = cfg.final_path()
    if out:
        images.save_image(final, out)
    if stopped == "interrupted":
        where = f"saved the image so far to {out}" if out else "nothing saved (no output set)"
        if cfg.output_dir and last_level:
            ckpt = checkpoint.path_for(cfg.output_dir)
            checkpoint.save(ckpt, loop.state_dict(), cfg.hash())
            where += f" and the state to {ckpt}; add --resume to the same command to continue"
        else:
            where += " (no checkpoint: it was still at a coarse --multires level)"
        raise Interrupted(f"{stop.name} at epoch {loop.epoch}: {where}", code=stop.exit_status)
    if not cfg.quiet:
        log.info("wrote %s after %d epochs (%s)", out or "nothing", epochs, stopped)
    last = history[-1] if history else None
    return Result(final, out, epochs, stopped,
                  last.style_loss if last else float("nan"), last.content_loss if last else float("nan"),
                  time.perf_counter() - started, history)


def stylize(content: Any, style: Any, **options: Any) -> Result:
    """Repaint ``content`` in the style of ``style`` and return the :class:`Result` (``result.image``: uint8 RGB).

    ``content`` and ``style`` may be paths, PIL images or arrays (``style`` also a list of them, blended).
    ``options`` are the command line's settings by their field names (``style_weight=5``, ``max_long_edge=300``,
    ``preserve_color="luminance"`` ...) with the same defaults and validation, except that nothing is written
    to disk unless ``output_dir`` or ``output`` is given.
    """
    names = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(options) - (names - {"content_image", "style_image"}) - {"on_epoch"})
    if unknown:
        raise NStyleError(f"stylize: unknown option(s) {', '.join(unknown)}")
    on_epoch = options.pop("on_epoch", None)
    options = {name: coerce_value(name, value) for name, value in options.items()}
    options.setdefault("output_dir", None)
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    content_rgb = images.as_rgb(content, "content")
    style_rgbs = [images.as_rgb(s, "style") for s in styles]

    def label(obj: Any, role: str, rgb: np.ndarray) -> str:
        return os.fspath(obj) if isinstance(obj, (str, os.PathLike)) else f"<{role} {rgb.shape[1]}x{rgb.shape[0]}>"
    content_name = label(content, "content", content_rgb)
    style_names = [label(s, f"style {i + 1}", rgb) for i, (s, rgb) in enumerate(zip(styles, style_rgbs))]
    cfg = Config(content_image=content_name, style_image=style_names[0] if len(styles) == 1 else style_names,
                 **options)
    return run(cfg, on_epoch=on_epoch, inputs=Inputs(content_rgb, style_rgbs, content_name, style_names))
