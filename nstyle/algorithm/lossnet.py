"""Binding the VGG19 graph: style/content targets, then the loss executor that is optimised."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import mxnet as mx
import numpy as np

from ..files.weights import Params
from ..model_zoo import spec, vgg
from . import losses, precision as arithmetic


def forward_backward(executor: mx.executor.Executor, head_grads: List[mx.nd.NDArray], train: bool = False) -> None:
    """One evaluation of the losses and of their image gradient: a forward pass, then the backward pass with the
    head gradients.

    The forward runs for evaluation (``train=False``) as the classic runs it: oneDNN builds inference
    convolutions for it and training ones for ``is_train=True``, and on AVX-512 the two round differently (on
    AVX2 they agree), so this is what keeps the default path the classic's bits. Max pooling needs
    ``train=True`` (:func:`training_forward`).
    """
    executor.forward(is_train=train)
    executor.backward(head_grads)


def training_forward(pooling: str) -> bool:
    """Whether the loss executor's forward must run in training mode: with max pooling, whose backward reads the
    positions of the maxima that MXNet's oneDNN pooling keeps only in training mode (after an inference forward
    its gradient is wrong)."""
    return pooling == "max"


class LossNet:
    """VGG19 on a fixed ``HxW`` with Gram and content heads, built only as deep as the deepest layer asked for.

    With ``regions`` the Grams are guided: one per style layer and region, each with its guide variable
    (:func:`guide_name`), given to :meth:`gram_targets` and :meth:`bind_losses` as ``guides`` (``1x1xhxw``; the
    graph holds each spread over its layer's ``guide_channels``, :func:`nstyle.algorithm.losses.spread_guide`).

    :meth:`gram_targets` / :meth:`content_targets` run a target executor on a preprocessed image (the Grams', or
    one only as deep as the content layers, a quarter cheaper with the classic layers; each bound on first use,
    kept until :meth:`release_features`); :meth:`bind_losses` binds (once) the executor whose outputs are the
    per-layer style losses, then the content losses, and writes the targets into it.

    Every executor binds the same device copies of the weights, ``weights`` (see :func:`device_weights`; made
    from ``params`` when not given), so binding copies no weights and oneDNN reorders each layer's weights once.
    ``binds`` counts the graphs bound. With ``precision="bf16"`` every executor's VGG trunk runs in bfloat16
    (:mod:`nstyle.algorithm.precision`), the target executors' too: the targets are what the loss executor's
    features are compared with (a photo's bfloat16 features match its bfloat16 content target exactly), and they
    cost a bfloat16 forward pass.
    """

    def __init__(self, params: Params, size: Tuple[int, int], ctx: mx.Context,
                 style_layers: Sequence[str] = tuple(spec.STYLE_LAYERS),
                 content_layers: Sequence[str] = (spec.CONTENT_LAYER,), pooling: str = "avg",
                 regions: int = 0, weights: Optional[Dict[str, mx.nd.NDArray]] = None,
                 precision: str = "float32") -> None:
        self.params, self.size, self.ctx, self.precision = params, tuple(size), ctx, precision
        self.weights = device_weights(params, ctx) if weights is None else weights
        self.binds = 0
        layers = vgg.build(spec.deepest(list(style_layers) + list(content_layers)), pooling)
        style = mx.sym.Group([layers[name] for name in style_layers])
        self.contents = [layers[name] for name in content_layers]
        self.data_shape = (1, 3, self.size[0], self.size[1])
        _, shapes, _ = style.infer_shape(data=self.data_shape)
        self.style_shapes: List[Tuple[int, ...]] = [tuple(s) for s in shapes]
        self.regions = regions
        #: per style layer, the channels its guides are spread over (:func:`losses.guide_channels`)
        self.guide_channels = [losses.guide_channels(s, self.data_shape) for s in self.style_shapes]
        if regions:  # one guided Gram per layer and region, layer by layer (Gatys et al. 2017)
            grams = [losses.guided_gram(style[i], mx.sym.Variable(guide_name(i, r)), s, self.guide_channels[i])
                     for i, s in enumerate(self.style_shapes) for r in range(regions)]
        else:
            grams = [losses.gram(style[i], s) for i, s in enumerate(self.style_shapes)]
        self.grams = mx.sym.Group(grams)
        self.executor = None
        self._features: Dict[str, mx.executor.Executor] = {}  # "grams" / "contents": the target executors bound

    @property
    def n_style(self) -> int:
        """Number of style losses, one per style layer (and region): the first outputs of the loss executor."""
        return len(self.style_shapes) * max(1, self.regions)

    def _bind(self, out: mx.sym.Symbol, extra: Dict[str, mx.nd.NDArray]) -> mx.executor.Executor:
        """Bind ``out`` with the shared weights and a gradient only for ``data``."""
        guide_shapes = {guide_name(i, r): (1, c) + tuple(s[2:])
                        for i, (s, c) in enumerate(zip(self.style_shapes, self.guide_channels))
                        for r in range(self.regions)}
        arguments = out.list_arguments()
        arg_shapes, _, _ = out.infer_shape(data=self.data_shape,
                                           **{k: v for k, v in guide_shapes.items() if k in arguments})
        args: Dict[str, mx.nd.NDArray] = {}
        for name, shape in zip(arguments, arg_shapes):
            if name in self.weights:
                args[name] = self.weights[name]
            elif name in extra:  # the guides (made on the device by _guides) bound as they are, no second copy
                args[name] = extra[name] if name.startswith("guide_") else extra[name].copyto(self.ctx)
            else:
                args[name] = mx.nd.zeros(shape, self.ctx)
        grads = {"data": args["data"].copyto(self.ctx)}
        self.binds += 1
        return out.bind(ctx=self.ctx, args=args, args_grad=grads, grad_req="write")

    def _guides(self, guides: Optional[Sequence[np.ndarray]]) -> Dict[str, mx.nd.NDArray]:
        """The guide arrays by variable name (none without regions), each spread over its layer's channels on the
        device: no host copy of a spread guide is ever made."""
        if not self.regions or guides is None:
            return {}
        names = [(guide_name(i, r), c) for i, c in enumerate(self.guide_channels) for r in range(self.regions)]
        return {n: losses.spread_guide(mx.nd.array(g, self.ctx, dtype=g.dtype), c) for (n, c), g in zip(names, guides)}

    def _features_of(self, kind: str, image_np: np.ndarray,
                     guides: Optional[Sequence[np.ndarray]] = None) -> List[mx.nd.NDArray]:
        """The outputs of the ``kind`` target executor (``grams``, or ``contents``: only as deep as the content
        layers) on one image, bound on first use."""
        if kind not in self._features:
            graph = self.grams if kind == "grams" else mx.sym.Group(self.contents)
            self._features[kind] = self._bind(arithmetic.lowered(graph, self.precision), {})
        ex = self._features[kind]
        ex.arg_dict["data"][:] = image_np
        for name, guide in self._guides(guides).items():
            ex.arg_dict[name][:] = guide
        ex.forward()
        return ex.outputs

    def gram_targets(self, style_np: np.ndarray, guides: Optional[Sequence[np.ndarray]] = None) -> List[mx.nd.NDArray]:
        """Grams of one (preprocessed) style image (guided by ``guides`` with regions), on the CPU."""
        return [out.copyto(mx.cpu()) for out in self._features_of("grams", style_np, guides)]

    def content_targets(self, content_np: np.ndarray) -> List[mx.nd.NDArray]:
        """Content-layer features of one (preprocessed) content image, on the CPU."""
        return [out.copyto(mx.cpu()) for out in self._features_of("contents", content_np)]

    def release_features(self) -> None:
        """Drop the target executors (the classic deletes its own before binding the loss executor)."""
        self._features = {}

    def bind_losses(self, gram_targets: List[mx.nd.NDArray],
                    content_targets: List[mx.nd.NDArray],
                    guides: Optional[Sequence[np.ndarray]] = None) -> mx.executor.Executor:
        """The loss executor (bound on first use, reused after) with these targets (and guides) written in."""
        self.release_features()
        extra = self._guides(guides)
        extra.update({f"target_gram_{i}": g for i, g in enumerate(gram_targets)})
        extra.update({f"target_content_{j}": c for j, c in enumerate(content_targets)})
        if self.executor is None:
            style = [losses.style_loss(self.grams[i], i) for i in range(self.n_style)]
            content = [losses.content_loss(c, j) for j, c in enumerate(self.contents)]
            self.executor = self._bind(arithmetic.lowered(mx.sym.Group(style + content), self.precision), extra)
        else:
            for name, value in extra.items():
                self.executor.arg_dict[name][:] = value
        return self.executor


def device_weights(params: Params, ctx: mx.Context) -> Dict[str, mx.nd.NDArray]:
    """The weights as arrays on ``ctx``, to be bound (never written) by every executor of one device."""
    return {name: mx.nd.array(value, ctx) for name, value in params.items()}


def guide_name(layer: int, region: int) -> str:
    """The graph variable holding region ``region``'s guide at style layer ``layer`` (indices in the run's lists)."""
    return f"guide_{layer}_{region}"
