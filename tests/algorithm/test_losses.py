"""Gram matrices, style/content losses, head-gradient weighting, the loss graph's gradient and the TV gradient.

Everything is checked against an independent numpy (float64) computation, never against the module itself.
"""
import mxnet as mx
import numpy as np
import pytest

from helpers import image_gradient
from nstyle.algorithm import losses
from nstyle.algorithm.lossnet import LossNet, training_forward

CPU = mx.cpu()


def evaluate(sym, **inputs):
    """Bind ``sym`` on the CPU with ``inputs`` (float32) and return its outputs as float64 arrays."""
    ex = sym.bind(CPU, args={name: mx.nd.array(value, CPU) for name, value in inputs.items()})
    ex.forward()
    return [out.asnumpy().astype(np.float64) for out in ex.outputs]


def np_gram(feature):
    """``F F^T`` of a ``1xCxHxW`` feature reshaped to ``C x (H*W)``, in float64."""
    flat = np.asarray(feature, np.float64).reshape(feature.shape[1], -1)
    return flat @ flat.T


# ---- Gram, style loss, content loss ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 5, 4, 3), (1, 64, 8, 6), (1, 1, 1, 1), (1, 3, 1, 7), (1, 512, 2, 3)])
def test_gram_is_f_times_f_transposed(shape):
    feature = np.random.RandomState(sum(shape)).standard_normal(shape).astype(np.float32)
    (got,) = evaluate(losses.gram(mx.sym.Variable("data"), shape), data=feature)
    want = np_gram(feature)
    assert got.shape == (shape[1], shape[1])
    # float32 dot products of N terms of unit size: absolute error well below 1e-4 * sqrt(N)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4 * np.sqrt(np.prod(shape[2:])))
    np.testing.assert_allclose(got, got.T, rtol=1e-6, atol=1e-5)


def test_gram_of_relu_like_features_with_large_values():
    """Features in the hundreds (as after VGG layers) keep relative accuracy."""
    feature = np.random.RandomState(11).uniform(0, 300, (1, 16, 6, 5)).astype(np.float32)
    (got,) = evaluate(losses.gram(mx.sym.Variable("data"), feature.shape), data=feature)
    np.testing.assert_allclose(got, np_gram(feature), rtol=1e-5)


@pytest.mark.parametrize("index", [0, 3])
def test_style_loss_is_sum_of_squared_gram_differences(index):
    rng = np.random.RandomState(20 + index)
    shape = (1, 6, 5, 4)
    feature = rng.standard_normal(shape).astype(np.float32)
    target = rng.standard_normal((6, 6)).astype(np.float32) * 5
    loss_sym = losses.style_loss(losses.gram(mx.sym.Variable("data"), shape), index)
    assert f"target_gram_{index}" in loss_sym.list_arguments()
    (got,) = evaluate(loss_sym, data=feature, **{f"target_gram_{index}": target})
    want = ((np_gram(feature) - target.astype(np.float64)) ** 2).sum()
    assert got.shape == (1,)
    assert got[0] == pytest.approx(want, rel=1e-5)


def test_style_loss_vanishes_at_its_own_gram():
    feature = np.random.RandomState(3).standard_normal((1, 4, 3, 3)).astype(np.float32)
    target = np_gram(feature).astype(np.float32)
    (got,) = evaluate(losses.style_loss(losses.gram(mx.sym.Variable("data"), feature.shape), 0),
                      data=feature, target_gram_0=target)
    # only float32 rounding of Gram entries of size ~10 remains
    assert abs(got[0]) < 1e-8 * (target.astype(np.float64) ** 2).sum()


@pytest.mark.parametrize("index", [0, 2])
def test_content_loss_is_sum_of_squared_feature_differences(index):
    rng = np.random.RandomState(30 + index)
    feature = rng.uniform(0, 50, (1, 8, 4, 6)).astype(np.float32)
    target = rng.uniform(0, 50, feature.shape).astype(np.float32)
    loss_sym = losses.content_loss(mx.sym.Variable("data"), index)
    assert f"target_content_{index}" in loss_sym.list_arguments()
    (got,) = evaluate(loss_sym, data=feature, **{f"target_content_{index}": target})
    want = ((feature.astype(np.float64) - target.astype(np.float64)) ** 2).sum()
    assert got[0] == pytest.approx(want, rel=1e-5)


# ---- head gradients ----------------------------------------------------------------------------------------

def test_style_normaliser_is_c_n_c():
    assert losses.style_normaliser((1, 64, 16, 24)) == 64 * (16 * 24) * 64
    assert losses.style_normaliser((1, 512, 1, 1)) == 512 * 1 * 512
    assert losses.style_normaliser((1, 3, 5, 7)) == 3 * 35 * 3


@pytest.fixture(scope="module")
def style_shapes(synthetic_params):
    return LossNet(synthetic_params, (24, 32), CPU).style_shapes


def test_loss_net_style_shapes_at_24x32(style_shapes):
    """relu1_1 .. relu5_1 after 0..4 average poolings of a 24x32 image."""
    assert style_shapes == [(1, 64, 24, 32), (1, 128, 12, 16), (1, 256, 6, 8), (1, 512, 3, 4), (1, 512, 1, 2)]


@pytest.mark.parametrize("style_weight, content_weight", [(1.0, 10.0), (3.5, 0.25), (0.0, 1.0)])
def test_head_gradients_are_style_weight_over_cnc_then_content_weight(style_shapes, style_weight, content_weight):
    heads = losses.head_gradients(style_shapes, style_weight, content_weight, CPU)
    assert len(heads) == len(style_shapes) + 1
    for head in heads:
        assert head.shape == (1,) and head.context == CPU
    for head, (_, c, h, w) in zip(heads, style_shapes):
        expected = style_weight / (c * (h * w) * c)
        assert head.asscalar() == pytest.approx(expected, rel=1e-6, abs=0.0)
    assert heads[-1].asscalar() == pytest.approx(content_weight, rel=1e-7, abs=0.0)


def test_head_gradients_with_layer_weights_and_several_content_layers(style_shapes):
    layer_weights = [1.0, 0.0, 2.0, 0.5, 4.0]
    heads = losses.head_gradients(style_shapes, 2.0, 7.0, CPU, layer_weights=layer_weights, n_content=2)
    got = [h.asscalar() for h in heads]
    want = [lw * 2.0 / (s[1] * s[2] * s[3] * s[1]) for lw, s in zip(layer_weights, style_shapes)] + [7.0, 7.0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0.0)


def test_weighted_parts_sum_style_layers_then_content_layers_in_float64():
    outputs = np.array([3.0, 5.0, 7.0, 1e8, 2.0], np.float32)
    weights = np.array([0.5, 0.25, 2.0, 1e-8, 10.0], np.float32)
    assert losses.weighted_parts(outputs, weights, 3) == (1.5 + 1.25 + 14.0, float(np.float32(1e8)) *
                                                          float(np.float32(1e-8)) + 20.0)
    # without n_style: every output but the last is a style layer
    style, content = losses.weighted_parts(outputs, weights)
    assert content == 20.0 and style == pytest.approx(1.5 + 1.25 + 14.0 + 1.0)


# ---- the weighted image gradient of the full loss graph ----------------------------------------------------

@pytest.fixture(scope="module", params=["avg", "max"])
def loss_graph(synthetic_params, request):
    """The float32 loss executor at 24x32 on random targets with average (the classic) or max pooling, and the
    same graph bound in float64.

    The float64 copy evaluates the weighted objective for finite differences: in float32 the objective
    (~1e8) carries rounding errors of ~10, which would swamp any difference quotient with a step small
    enough to stay clear of ReLU kinks; in float64 a step of 1e-3 is both smooth and accurate.
    """
    size = (24, 32)
    rng = np.random.RandomState(5)
    net = LossNet(synthetic_params, size, CPU, pooling=request.param)
    style = rng.uniform(-100, 100, (1, 3) + size)
    content = rng.uniform(-100, 100, (1, 3) + size)
    ex32 = net.bind_losses(net.gram_targets(style), net.content_targets(content))
    heads = losses.head_gradients(net.style_shapes, 1.0, 10.0, CPU)
    weights = np.array([h.asscalar() for h in heads], np.float64)

    same_graph = mx.sym.Group([losses.style_loss(net.grams[i], i) for i in range(net.n_style)]
                              + [losses.content_loss(c, j) for j, c in enumerate(net.contents)])
    args64 = {name: arr.astype("float64") for name, arr in ex32.arg_dict.items()}
    ex64 = same_graph.bind(CPU, args=args64)
    x = rng.uniform(-50, 50, (1, 3) + size)
    return ex32, heads, weights, ex64, x, training_forward(request.param)


def objective64(ex64, weights, x):
    """``sum_i w_i L_i(x)`` in float64."""
    ex64.arg_dict["data"][:] = x
    ex64.forward()
    return float(sum(w * out.asnumpy()[0] for w, out in zip(weights, ex64.outputs)))


def test_float64_copy_computes_the_same_losses(loss_graph):
    ex32, _, _, ex64, x, _ = loss_graph
    ex32.arg_dict["data"][:] = x
    ex32.forward()
    ex64.arg_dict["data"][:] = x
    ex64.forward()
    assert len(ex32.outputs) == 6  # five style layers, one content layer
    for a, b in zip(ex32.outputs, ex64.outputs):
        assert a.asscalar() == pytest.approx(b.asscalar(), rel=1e-4)
    assert all(out.asscalar() > 0 for out in ex64.outputs)


def test_weighted_gradient_matches_central_differences(loss_graph):
    """The loops' gradient (forward for evaluation with average pooling, in training mode with max pooling)."""
    ex32, heads, weights, ex64, x, train = loss_graph
    grad = image_gradient(ex32, heads, x, train)
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0
    rng = np.random.RandomState(6)
    significant = np.argwhere(np.abs(grad) > 0.05 * np.abs(grad).max())
    picks = significant[rng.choice(len(significant), size=6, replace=False)]
    h = 1e-3
    for idx in map(tuple, picks):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric = (objective64(ex64, weights, plus) - objective64(ex64, weights, minus)) / (2 * h)
        # float64 quotient: rounding ~1e-16 * 1e8 / 1e-3 ~ 1e-5 absolute, truncation O(h^2); the float32
        # backward agrees with float64 to ~1e-6 relative. 1e-4 relative leaves a wide margin yet catches a head
        # applied to the wrong output (the weights differ by orders of magnitude between layers).
        assert grad[idx] == pytest.approx(numeric, rel=1e-4), idx


def test_head_gradients_weight_each_loss_separately(loss_graph):
    """Backward with all heads equals the head-weighted sum of each loss's own gradient."""
    ex32, heads, weights, _, x, train = loss_graph
    total = image_gradient(ex32, heads, x, train)
    parts = []
    for i in range(len(heads)):
        one_hot = [mx.nd.ones((1,), CPU) if j == i else mx.nd.zeros((1,), CPU) for j in range(len(heads))]
        parts.append(image_gradient(ex32, one_hot, x, train))
    combined = sum(w * p for w, p in zip(weights, parts))
    np.testing.assert_allclose(total, combined, rtol=1e-4, atol=1e-4 * np.abs(total).max())
    # the content term alone is a sizeable part of the gradient, so a missing content head would be caught
    assert np.linalg.norm(weights[-1] * parts[-1]) > 0.01 * np.linalg.norm(total)


# ---- total variation gradient ------------------------------------------------------------------------------

def np_tv_gradient(x, weight):
    """Per channel: 2-D correlation with [[0,-1,0],[-1,4,-1],[0,-1,0]] / 8, zero padding 1, times weight."""
    kernel = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float64) / 8.0
    _, channels, height, width = x.shape
    padded = np.zeros((channels, height + 2, width + 2))
    padded[:, 1:-1, 1:-1] = x[0]
    out = np.zeros((channels, height, width))
    for dy in range(3):
        for dx in range(3):
            out += kernel[dy, dx] * padded[:, dy:dy + height, dx:dx + width]
    return weight * out[None]


@pytest.mark.parametrize("shape, weight", [((1, 3, 7, 9), 0.01), ((1, 3, 16, 16), 1.0), ((1, 3, 1, 5), 2.5)])
def test_tv_gradient_is_weighted_laplacian_per_channel(shape, weight):
    x = np.random.RandomState(shape[2]).uniform(-120, 140, shape)
    img = mx.nd.array(x, CPU)
    ex = losses.tv_gradient_executor(img, CPU, weight)
    ex.forward()
    got = ex.outputs[0].asnumpy()
    want = np_tv_gradient(x, weight)
    assert got.shape == shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * weight * 500)


def test_tv_gradient_of_a_single_spike_and_border():
    """A unit spike gives the kernel itself; a constant image is zero inside and positive on the border."""
    x = np.zeros((1, 3, 5, 5))
    x[0, 1, 2, 2] = 8.0
    ex = losses.tv_gradient_executor(mx.nd.array(x, CPU), CPU, 1.0)
    ex.forward()
    got = ex.outputs[0].asnumpy()
    assert np.array_equal(got[0, 0], np.zeros((5, 5))) and np.array_equal(got[0, 2], np.zeros((5, 5)))
    np.testing.assert_allclose(got[0, 1, 1:4, 1:4], [[0, -1, 0], [-1, 4, -1], [0, -1, 0]], atol=1e-6)
    flat = np.ones((1, 3, 4, 6))
    ex = losses.tv_gradient_executor(mx.nd.array(flat, CPU), CPU, 1.0)
    ex.forward()
    got = ex.outputs[0].asnumpy()
    np.testing.assert_allclose(got[0, :, 1:-1, 1:-1], 0.0, atol=1e-7)
    np.testing.assert_allclose(got[0, :, 0, 0], 2 / 8.0, rtol=1e-6)  # corner: two missing neighbours
    np.testing.assert_allclose(got[0, :, 0, 2], 1 / 8.0, rtol=1e-6)  # edge: one missing neighbour


def test_tv_executor_follows_the_image_it_is_bound_to():
    """The loop updates the image in place; the TV executor must see the new values on the next forward."""
    rng = np.random.RandomState(8)
    img = mx.nd.array(rng.uniform(-50, 50, (1, 3, 6, 8)), CPU)
    ex = losses.tv_gradient_executor(img, CPU, 0.5)
    second = rng.uniform(-50, 50, (1, 3, 6, 8))
    img[:] = second
    ex.forward()
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), np_tv_gradient(second, 0.5), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("weight", [0.0, -0.01, -1e9])
def test_tv_gradient_skipped_for_non_positive_weight(weight):
    assert losses.tv_gradient_executor(mx.nd.zeros((1, 3, 4, 4), CPU), CPU, weight) is None
