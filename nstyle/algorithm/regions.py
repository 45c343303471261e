"""A level's style loss with regions (Gatys et al. 2017): one guided Gram loss per style layer and region.

Region ``r`` is painted by style image ``r``: its target at layer ``l`` is that style's own guided Gram (its
``--style-mask``, else the whole image), at the content's scale. Its loss has the classic layer weight times the
region's area ``a`` at that layer (:func:`nstyle.algorithm.guides.normalise`) times its relative
``--style-blend-weights`` (1 by default). A region whose guide (or whose style's guide) is empty at a layer is
skipped there (weight 0).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import mxnet as mx
import numpy as np

from ..config import Config
from ..files.images import Inputs
from ..process import resources
from . import guides, losses
from .engine import Engine


def region_weights(cfg: Config, own: guides.Guides, targets: Sequence[Sequence[mx.nd.NDArray]]) -> List[List[float]]:
    """``[layer][region]`` multipliers of the classic style weights (see the module); ``targets`` likewise."""
    blend = np.asarray(cfg.style_blend_weights or [1.0] * len(own.guides[0]), np.float64)
    factors = blend / blend.mean()
    return [[float(a * f) if a > 0 and float(t.abs().max().asscalar()) > 0 else 0.0
             for a, f, t in zip(areas, factors, layer_targets)]
            for areas, layer_targets in zip(own.areas, targets)]


def bind_regions(engine: Engine, cfg: Config, inputs: Inputs, size: Tuple[int, int], content01: np.ndarray,
                 content_np: np.ndarray) -> Tuple[mx.executor.Executor, List[mx.nd.NDArray], int]:
    """Bind the guided loss network at ``size``: ``(executor, head gradients, number of style losses)``."""
    masks = inputs.content_masks
    assert masks is not None
    net = engine.loss_net(cfg, size, regions=len(masks))
    own = guides.picture_guides(masks, size, cfg.style_layer_list, cfg.mask_guide)
    per_style = engine.grams_per_style(cfg, inputs.styles, size, content01, inputs.style_masks)
    targets = [[grams[i] for grams in per_style] for i in range(len(cfg.style_layer_list))]
    content_targets = net.content_targets(content_np)
    net.release_features()
    resources.return_freed_memory()  # the target executors' memory, before the loss executor takes its own
    executor = net.bind_losses([t for layer in targets for t in layer], content_targets, own.arrays())
    head = losses.head_gradients(net.style_shapes, cfg.style_weight, cfg.content_weight, engine.context(cfg.gpu),
                                 cfg.layer_weights(), len(cfg.content_layer_list), region_weights(cfg, own, targets))
    return executor, head, net.n_style
