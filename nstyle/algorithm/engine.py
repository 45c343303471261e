"""What several runs can share: the device, loaded weights, bound loss networks and style targets (a cache)."""
from __future__ import annotations

import hashlib
import logging
import os
from typing import Dict, List, Optional, Sequence, Tuple

import mxnet as mx
import numpy as np

from ..config import Config
from ..errors import NStyleError
from ..files import checksums, images, style_cache, weights
from ..process import cuda, resources, runtime
from ..version import __version__
from . import color, guides, precision
from .lossnet import LossNet, device_weights

log = logging.getLogger("nstyle")


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
        raise NStyleError(cuda.no_cuda_message(gpu, available))
    else:
        ctx = mx.gpu(gpu)
    log.info("computing on %s", "the CPU" if ctx.device_type == "cpu" else f"GPU {ctx.device_id}")
    return ctx


def array_digest(array: np.ndarray) -> str:
    """A digest of an array's dtype, shape and values: equal digests mean equal pixels."""
    array = np.ascontiguousarray(array)
    hasher = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    hasher.update(memoryview(array).cast("B"))
    return hasher.hexdigest()


class Engine:
    """What several runs can share: the device, loaded weights, bound loss networks and style targets.

    One :class:`Engine` per process is enough; :func:`nstyle.api.run` makes a fresh one when none is given.
    Style targets are cached by the style image's pixels (a digest), never by its name, so two different
    images under one name never share Grams; with ``--style-cache`` they are also kept on disk between processes
    (:mod:`nstyle.files.style_cache`). ``gram_computations`` counts style images actually passed through the
    network, ``cache_hits`` those read from that disk cache. Every network of one device binds one copy of the
    weights (:meth:`weights`).
    """

    def __init__(self) -> None:
        self._ctx: Dict[Optional[int], mx.Context] = {}
        self._params: Dict[str, weights.Params] = {}
        self._weights: Dict[tuple, Dict[str, mx.nd.NDArray]] = {}
        self._nets: Dict[tuple, LossNet] = {}
        self._grams: Dict[tuple, List[mx.nd.NDArray]] = {}
        self.gram_computations = 0
        self.cache_hits = 0  # style images whose targets came from --style-cache

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

    def weights(self, cfg: Config) -> Dict[str, mx.nd.NDArray]:
        """The weights of ``--weights`` on the device of ``--gpu``, copied there once and bound by every network."""
        key = (cfg.weights, cfg.gpu)
        if key not in self._weights:
            self._weights[key] = device_weights(self.params(cfg.weights), self.context(cfg.gpu))
        return self._weights[key]

    def loss_net(self, cfg: Config, size: Tuple[int, int], regions: int = 0) -> LossNet:
        """The VGG19 loss network for ``cfg`` at ``size`` (with guided Grams for ``regions``), built once per
        (weights, size, layers, pooling, regions, precision)."""
        key = (cfg.weights, cfg.gpu, tuple(size), cfg.pooling, cfg.style_layers, cfg.content_layers)
        key += (regions,) if regions else ()
        key += (cfg.precision,) if cfg.precision != "float32" else ()
        if key not in self._nets:
            precision.check(cfg.precision, self.context(cfg.gpu))
            self._nets[key] = LossNet(self.params(cfg.weights), size, self.context(cfg.gpu),
                                      cfg.style_layer_list, cfg.content_layer_list, cfg.pooling, regions,
                                      self.weights(cfg), cfg.precision)
        else:
            log.info("reusing the %dx%d network", size[1], size[0])
        return self._nets[key]

    def style_targets(self, cfg: Config, styles: Sequence[np.ndarray], size: Tuple[int, int],
                      content01: np.ndarray) -> List[mx.nd.NDArray]:
        """Per-layer style targets at content size ``size``: the blend of each style image's Grams."""
        blended: List[mx.nd.NDArray] = []
        for k, (grams, w) in enumerate(zip(self.grams_per_style(cfg, styles, size, content01), cfg.blend_weights())):
            blended = [g * w for g in grams] if k == 0 else [b + g * w for b, g in zip(blended, grams)]
        return blended

    def grams_per_style(self, cfg: Config, styles: Sequence[np.ndarray], size: Tuple[int, int],
                        content01: np.ndarray, masks: Optional[Sequence[Optional[np.ndarray]]] = None
                        ) -> List[List[mx.nd.NDArray]]:
        """Each style image's per-layer Grams at content size ``size`` (guided by its ``--style-mask`` if given)."""
        # with --preserve-color histogram the style is recoloured with this content's colours first
        recoloured = array_digest(content01) if cfg.preserve_color == "histogram" else None
        found = []
        for k, (style, mask) in enumerate(zip(styles, masks or [None] * len(styles))):
            key = (array_digest(style), tuple(size), cfg.style_scale, cfg.weights, cfg.gpu, cfg.pooling, cfg.style_layers,
                   cfg.content_layers, recoloured)
            key += (array_digest(mask), cfg.mask_guide) if mask is not None else ()
            key += (cfg.precision,) if cfg.precision != "float32" else ()  # bf16 targets are bf16 passes
            if key in self._grams:
                log.info("style targets for style %d at %dx%d: reused", k + 1, size[1], size[0])
            else:
                self._grams[key] = self._cached_grams(cfg, key, style, size, content01, mask)
            found.append(self._grams[key])
        return found

    def _cached_grams(self, cfg: Config, key: tuple, style: np.ndarray, size: Tuple[int, int],
                      content01: np.ndarray, mask: Optional[np.ndarray]) -> List[mx.nd.NDArray]:
        """One style image's Grams from ``--style-cache`` when it has them, else computed (and stored there)."""
        disk = self._disk_key(cfg, key)
        stored = style_cache.load(cfg.style_cache, disk) if disk else None
        if stored is not None:
            self.cache_hits += 1
            log.info("style targets at %dx%d: read from the style cache", size[1], size[0])
            return [mx.nd.array(g, mx.cpu(), dtype=g.dtype) for g in stored]
        grams = self._compute_grams(cfg, style, size, content01, mask)
        self.gram_computations += 1
        if disk:
            style_cache.save(cfg.style_cache, disk, [g.asnumpy() for g in grams])
        return grams

    def _disk_key(self, cfg: Config, key: tuple) -> Optional[str]:
        """The ``--style-cache`` key of the in-memory ``key`` (None: no cache, or weights that are not one file).

        The weights enter by their checksum, and the device, MXNet's version, oneDNN's instruction-set cap and
        the thread count by name, since the targets' bits depend on all of them."""
        if not cfg.style_cache or not os.path.isfile(cfg.weights):
            return None
        return style_cache.entry_key({
            "targets": [checksums.file_checksum(cfg.weights) if part == cfg.weights else part for part in key],
            "device": str(self.context(cfg.gpu)), "mxnet": mx.__version__, "nstyle": __version__,
            "isa": os.environ.get("DNNL_MAX_CPU_ISA", ""), "threads": os.environ.get("OMP_NUM_THREADS", ""),
            "cpu": runtime.cpu_model()})

    def _compute_grams(self, cfg: Config, style: np.ndarray, size: Tuple[int, int],
                       content01: np.ndarray, mask: Optional[np.ndarray] = None) -> List[mx.nd.NDArray]:
        """Grams of one style image (guided by ``mask``); rescaled to the content's position counts when
        ``--style-scale`` is set."""
        style01 = style_at_scale(cfg, style, size, content01)
        style_size = style01.shape[:2]
        net = self.loss_net(cfg, style_size, regions=int(mask is not None))
        own = None if mask is None else guides.style_guides(mask, style_size, cfg.style_layer_list, cfg.mask_guide)
        grams = net.gram_targets(images.to_network(style01), own and own.arrays())
        net.release_features()
        if style_size != size:
            content_net = self.loss_net(cfg, size)
            ratios = [np.prod(c[2:]) / np.prod(s[2:]) for c, s in zip(content_net.style_shapes, net.style_shapes)]
            grams = [g * float(r) for g, r in zip(grams, ratios)]
        return grams


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
