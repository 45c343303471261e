"""One stylization from a :class:`Config`: the single code path behind the command line."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import mxnet as mx
import numpy as np

from . import checkpoint, images, losses, resources, weights
from .config import Config
from .errors import Interrupted, NStyleError, NumericalFailure
from .interrupts import stop_on_signals
from .loop import Epoch, NAGLoop, noise_image
from .model import LossNet
from .progress import Progress

log = logging.getLogger("nstyle")


@dataclass
class Result:
    """What a run produced."""

    image: np.ndarray  # HxWx3 uint8, as saved in the final output
    output: Optional[str]
    epochs: int
    stopped: str  # "converged" or "max-epochs"
    style_loss: float = float("nan")
    content_loss: float = float("nan")
    seconds: float = 0.0
    history: List[Epoch] = field(default_factory=list)


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
    dirs = {cfg.output_dir, os.path.dirname(os.path.abspath(cfg.final_path()))}
    for d in sorted(dirs):
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as exc:
            raise NStyleError(f"cannot create output directory {d}: {exc.strerror}") from None
        if not os.access(d, os.W_OK | os.X_OK):
            raise NStyleError(f"output directory {d} is not writable")


def load_inputs(cfg: Config):
    """Read and preprocess the content and style images: ``(content_np, style_np)``, float64 1x3xHxW."""
    content_rgb = images.read_image(cfg.content_image)
    size = images.content_size(content_rgb.shape, cfg.max_long_edge)
    images.check_size(size, cfg.content_image)
    resources.check_memory(size, cfg.max_long_edge)
    log.info("content %s: %dx%d -> %dx%d", cfg.content_image, content_rgb.shape[1], content_rgb.shape[0],
             size[1], size[0])
    style_rgb = images.read_image(cfg.style_image)
    return images.preprocess(content_rgb, size), images.preprocess(style_rgb, size)


class Engine:
    """What several runs can share: the device, loaded weights and bound loss networks.

    One :class:`Engine` per process is enough; :func:`run` makes a fresh one when none is given.
    """

    def __init__(self) -> None:
        self._ctx: Dict[Optional[int], mx.Context] = {}
        self._params: Dict[str, weights.Params] = {}

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
        """The VGG19 loss network for ``cfg`` at ``size``."""
        return LossNet(self.params(cfg.weights), size, self.context(cfg.gpu), pooling=cfg.pooling)


def run(cfg: Config, on_epoch: Optional[Callable[[Epoch], None]] = None, engine: Optional[Engine] = None) -> Result:
    """Stylize ``cfg.content_image`` with ``cfg.style_image``; write snapshots and the final image."""
    cfg.validate()
    engine = engine or Engine()
    started = time.perf_counter()
    content_np, style_np = load_inputs(cfg)
    prepare_output(cfg)
    ctx = engine.context(cfg.gpu)
    net = engine.loss_net(cfg, content_np.shape[2:])
    grams = net.gram_targets(style_np)
    content = net.content_target(content_np)
    executor = net.bind_losses(grams, content)
    head = losses.head_gradients(net.style_shapes, cfg.style_weight, cfg.content_weight, ctx)
    img = noise_image(content_np.shape, ctx, cfg.seed)
    loop = NAGLoop(executor, head, img, cfg.lr, cfg.lr_sched_delay, cfg.lr_sched_factor, cfg.tv_weight, ctx)
    ckpt = checkpoint.path_for(cfg.output_dir)
    if cfg.resume:
        loop.load_state(checkpoint.load(ckpt, cfg.hash()))
        log.info("resuming from %s at epoch %d", ckpt, loop.epoch)

    progress = Progress(cfg.max_num_epochs, quiet=cfg.quiet)
    history: List[Epoch] = []
    stopped = "max-epochs"
    with stop_on_signals() as stop:
        while loop.epoch < cfg.max_num_epochs:
            ep = loop.step()
            history.append(ep)
            progress.log(f"epoch {ep.epoch:4d}  change {ep.eps:.5f}  style {ep.style_loss:.4g}  "
                         f"content {ep.content_loss:.4g}  lr {ep.lr:.3g}  {ep.seconds:.2f} s/epoch")
            progress.update(ep.epoch)
            if on_epoch:
                on_epoch(ep)
            if not ep.finite:
                progress.close()
                _numerical_failure(cfg, loop, ep)
            if ep.eps < cfg.stop_eps:
                stopped = "converged"
                break
            if ep.epoch % cfg.save_epochs == 0:
                path = os.path.join(cfg.output_dir, f"e_{ep.epoch}.jpg")
                images.save_image(images.postprocess(img.asnumpy()), path, cfg.remove_noise)
                checkpoint.save(ckpt, loop.state_dict(), cfg.hash())
                progress.log(f"saved {path} and {ckpt}")
            if stop.signum:
                stopped = "interrupted"
                break
    progress.close()

    final = images.postprocess(img.asnumpy())
    out = cfg.final_path()
    images.save_image(final, out)
    if stopped == "interrupted":
        checkpoint.save(ckpt, loop.state_dict(), cfg.hash())
        raise Interrupted(f"{stop.name} at epoch {loop.epoch}: saved the image so far to {out} and the state to "
                          f"{ckpt}; add --resume to the same command to continue", code=stop.exit_status)
    if not cfg.quiet:
        log.info("wrote %s after %d epochs (%s)", out, loop.epoch, stopped)
    last = history[-1] if history else None
    return Result(final, out, loop.epoch, stopped,
                  last.style_loss if last else float("nan"), last.content_loss if last else float("nan"),
                  time.perf_counter() - started, history)


def _numerical_failure(cfg: Config, loop: NAGLoop, ep: Epoch) -> None:
    """Save the last finite image as the output and raise :class:`NumericalFailure`."""
    out = cfg.final_path()
    images.save_image(images.postprocess(loop.old_img.asnumpy()), out)
    raise NumericalFailure(f"the loss or the image became NaN/infinite at epoch {ep.epoch}; kept the last finite "
                           f"image (epoch {ep.epoch - 1}) in {out}; try a lower --lr or --style-weight")
