"""Gram matrices, style and content losses, head-gradient weights and the TV gradient (SPEC.md §4)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import mxnet as mx
import numpy as np

#: Discrete Laplacian; divided by 8 and convolved with each channel it is the classic TV gradient.
LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=np.float64)


def gram(feature: mx.sym.Symbol, shape: Sequence[int]) -> mx.sym.Symbol:
    """``G = F F^T`` of a ``1xCxHxW`` feature reshaped to ``C x N`` (a FullyConnected with itself)."""
    return flat_gram(mx.sym.Reshape(feature, shape=flat_shape(shape)), int(shape[1]))


def flat_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """``(C, N)``: a ``1xCxHxW`` feature as channels by positions."""
    return int(shape[1]), int(np.prod(shape[2:]))


def flat_gram(x: mx.sym.Symbol, channels: int) -> mx.sym.Symbol:
    """``x x^T`` of a ``C x N`` symbol (a FullyConnected with itself)."""
    return mx.sym.FullyConnected(x, x, no_bias=True, num_hidden=channels)


def guided_gram(feature: mx.sym.Symbol, guide: mx.sym.Symbol, shape: Sequence[int],
                channels: Optional[int] = None) -> mx.sym.Symbol:
    """``G = (F o T)(F o T)^T`` of a ``1xCxHxW`` feature and a guide ``T`` (Gatys et al. 2017) given as
    :func:`spread_guide` makes it with ``channels`` (:func:`guide_channels`; default: spread over all ``C``).

    With the normalised guide of :mod:`nstyle.algorithm.guides` this is ``N`` times its per-position guided Gram:
    the classic Gram's scale, so an all-ones guide gives the classic Gram exactly. A guide spread over the
    channels multiplies with ``elemwise_mul``, whose backward is one multiply, where ``broadcast_mul``'s goes
    through MXNet's generic reduction kernel (3 to 5 times the multiply, measured with the profiler); a ``1xN``
    guide (``channels=1``) is broadcast, which holds ``C`` times less memory. The products are the same floats
    either way. Both are flattened to ``C x N`` before the product, as :func:`gram` flattens the feature: the
    product then takes the feature in the plain layout, where multiplying the 4-d oneDNN-layout feature made a
    layout copy of it per region that no memory plan counts (32 MB per region at 256x256, measured)."""
    flat = flat_shape(shape)
    spread = channels is None or channels == flat[0]
    x = mx.sym.Reshape(feature, shape=flat)
    if spread:
        product = mx.sym.elemwise_mul(x, mx.sym.Reshape(guide, shape=flat))
    else:
        product = mx.sym.broadcast_mul(x, mx.sym.Reshape(guide, shape=(1, flat[1])))
    return flat_gram(product, flat[0])


def guide_channels(shape: Sequence[int], data_shape: Sequence[int]) -> int:
    """How many channels a layer's guide is spread over (:func:`spread_guide`): all of them on the layers below
    the input's resolution, 1 (broadcast in the product) at the input's resolution (``relu1_1``, ``relu1_2``).

    The full-resolution layers' spread guides were half of all guide memory (17 MB per region at 256x256 for
    ``relu1_1``); the deeper layers keep the faster same-shape product where their spread guides are small."""
    return 1 if tuple(shape[2:]) == tuple(data_shape[2:]) else int(shape[1])


def spread_guide(guide: mx.nd.NDArray, channels: int) -> mx.nd.NDArray:
    """A ``1x1xHxW`` (or ``HxW``) guide repeated over ``channels`` as :func:`guided_gram` takes it, made where the
    guide is (a numpy guide gives a CPU array); with ``channels=1`` the ``1x1xHxW`` guide itself."""
    guide = guide if isinstance(guide, mx.nd.NDArray) else mx.nd.array(guide, dtype=np.asarray(guide).dtype)
    guide = guide.reshape((1, 1) + guide.shape[-2:])
    return guide if channels == 1 else guide.broadcast_to((1, channels) + guide.shape[-2:])


def style_normaliser(shape: Sequence[int]) -> float:
    """The classic per-layer normaliser ``C * N * C`` (style layer ``i`` gets ``style_weight / scale``)."""
    channels = int(shape[1])
    return float(np.prod(shape[1:]) * channels)


def style_loss(gram_sym: mx.sym.Symbol, index: int) -> mx.sym.Symbol:
    """``sum((G - G_style)^2)`` against the variable ``target_gram_<index>``."""
    return mx.sym.sum(mx.sym.square(mx.sym.Variable(f"target_gram_{index}") - gram_sym))


def content_loss(feature: mx.sym.Symbol, index: int = 0) -> mx.sym.Symbol:
    """``sum((F - F_content)^2)`` against the variable ``target_content_<index>``."""
    return mx.sym.sum(mx.sym.square(mx.sym.Variable(f"target_content_{index}") - feature))


def head_gradients(style_shapes: List[Tuple[int, ...]], style_weight: float,
                   content_weight: float, ctx: mx.Context, layer_weights: Optional[Sequence[float]] = None,
                   n_content: int = 1,
                   region_weights: Optional[Sequence[Sequence[float]]] = None) -> List[mx.nd.NDArray]:
    """The head gradients that weight each loss in ``backward``: style ones, then content ones.

    Style layer ``i`` gets ``layer_weights[i] * style_weight / (C*N*C)`` (``layer_weights`` default 1). With
    ``region_weights`` (``[layer][region]``) there is one style loss per layer and region, layer by layer, each
    multiplied by its region's weight.
    """
    layer_weights = layer_weights or [1.0] * len(style_shapes)
    grads = [mx.nd.ones((1,), ctx) * (float(style_weight) / style_normaliser(s)) for s in style_shapes]
    grads = [g * float(w) if w != 1.0 else g for g, w in zip(grads, layer_weights)]
    if region_weights is not None:
        grads = [g * float(r) if r != 1.0 else g.copy() for g, rs in zip(grads, region_weights) for r in rs]
    grads += [mx.nd.ones((1,), ctx) * float(content_weight) for _ in range(n_content)]
    return grads


def weighted_parts(outputs: Sequence[float], weights: Sequence[float],
                   n_style: Optional[int] = None) -> Tuple[float, float]:
    """The weighted style and content totals of the loss executor's outputs (style layers first, then content).

    ``weights`` are the head-gradient weights; ``n_style`` (default: all outputs but the last) says how many
    outputs are style layers. Summed in float64.
    """
    n_style = len(outputs) - 1 if n_style is None else n_style
    weighted = np.asarray(outputs, np.float64) * np.asarray(weights, np.float64)
    return float(weighted[:n_style].sum()), float(weighted[n_style:].sum())


def tv_gradient_executor(img: mx.nd.NDArray, ctx: mx.Context, tv_weight: float):
    """An executor bound on ``img`` whose output is ``tv_weight * (Laplacian/8 (*) img)`` per channel.

    Returns None when ``tv_weight <= 0`` (the term is skipped, as in the classic).
    """
    if tv_weight <= 0.0:
        return None
    channels = img.shape[1]
    simg = mx.sym.Variable("img")
    kernel = mx.sym.Variable("kernel")
    parts = mx.sym.SliceChannel(simg, num_outputs=channels)
    out = mx.sym.Concat(*[mx.sym.Convolution(data=parts[i], weight=kernel, num_filter=1, kernel=(3, 3),
                                             pad=(1, 1), no_bias=True, stride=(1, 1))
                          for i in range(channels)])
    out = out * tv_weight
    kernel_nd = mx.nd.array(LAPLACIAN.reshape(1, 1, 3, 3), ctx) / 8.0
    return out.bind(ctx, args={"img": img, "kernel": kernel_nd})
