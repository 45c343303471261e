"""Binding the VGG19 graph: style/content targets, then the loss executor that is optimised."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import mxnet as mx
import numpy as np

from . import losses, vgg
from .weights import Params


class LossNet:
    """VGG19 on a fixed ``HxW`` with Gram and content heads, built as the classic does.

    ``targets()`` runs the Gram/content executor on the style and content images; ``bind_losses()``
    then binds the executor whose outputs are the per-layer style losses and the content loss.
    """

    def __init__(self, params: Params, size: Tuple[int, int], ctx: mx.Context,
                 style_layers: Sequence[str] = tuple(vgg.STYLE_LAYERS),
                 content_layer: str = vgg.CONTENT_LAYER, pooling: str = "avg") -> None:
        self.params, self.size, self.ctx = params, tuple(size), ctx
        layers = vgg.build(vgg.deepest(list(style_layers) + [content_layer]), pooling)
        style = mx.sym.Group([layers[name] for name in style_layers])
        self.content = layers[content_layer]
        self.data_shape = (1, 3, self.size[0], self.size[1])
        _, shapes, _ = style.infer_shape(data=self.data_shape)
        self.style_shapes: List[Tuple[int, ...]] = [tuple(s) for s in shapes]
        self.grams = mx.sym.Group([losses.gram(style[i], s) for i, s in enumerate(self.style_shapes)])
        self.executor = None
        self._features = None

    def _bind(self, out: mx.sym.Symbol, extra: Dict[str, mx.nd.NDArray]) -> mx.executor.Executor:
        """Bind ``out`` with the weights loaded and a gradient only for ``data``."""
        arg_shapes, _, _ = out.infer_shape(data=self.data_shape)
        args: Dict[str, mx.nd.NDArray] = {}
        for name, shape in zip(out.list_arguments(), arg_shapes):
            if name in self.params:
                args[name] = mx.nd.array(self.params[name], self.ctx)
            elif name in extra:
                args[name] = extra[name].copyto(self.ctx)
            else:
                args[name] = mx.nd.zeros(shape, self.ctx)
        grads = {"data": args["data"].copyto(self.ctx)}
        return out.bind(ctx=self.ctx, args=args, args_grad=grads, grad_req="write")

    def targets(self, style_np: np.ndarray, content_np: np.ndarray) -> Tuple[List[mx.nd.NDArray], mx.nd.NDArray]:
        """Style Grams (one per style layer) of ``style_np`` and content features of ``content_np``."""
        grams = self.gram_targets(style_np)
        return grams, self.content_target(content_np)

    def _feature_executor(self) -> mx.executor.Executor:
        if self._features is None:
            self._features = self._bind(mx.sym.Group([self.grams, self.content]), {})
        return self._features

    def gram_targets(self, style_np: np.ndarray) -> List[mx.nd.NDArray]:
        """Grams of one (preprocessed) style image, on the CPU."""
        ex = self._feature_executor()
        ex.arg_dict["data"][:] = style_np
        ex.forward()
        return [out.copyto(mx.cpu()) for out in ex.outputs[:-1]]

    def content_target(self, content_np: np.ndarray) -> mx.nd.NDArray:
        """Content-layer features of one (preprocessed) content image, on the CPU."""
        ex = self._feature_executor()
        ex.arg_dict["data"][:] = content_np
        ex.forward()
        return ex.outputs[-1].copyto(mx.cpu())

    def release_features(self) -> None:
        """Drop the target executor (the classic deletes it before binding the loss executor)."""
        self._features = None

    def bind_losses(self, gram_targets: List[mx.nd.NDArray], content_target: mx.nd.NDArray) -> mx.executor.Executor:
        """Bind the loss executor: outputs are the style losses (one per layer) then the content loss."""
        self.release_features()
        style = mx.sym.Group([losses.style_loss(self.grams[i], i) for i in range(len(self.style_shapes))])
        out = mx.sym.Group([style, losses.content_loss(self.content)])
        extra = {f"target_gram_{i}": g for i, g in enumerate(gram_targets)}
        extra["target_content"] = content_target
        self.executor = self._bind(out, extra)
        return self.executor
