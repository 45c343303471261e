"""Guides and guided Grams (issue 24): the graph's guided Gram and its gradient against numpy and finite
differences, area independence, soft-edge shares, and the inside/all guides against receptive fields."""
import mxnet as mx
import numpy as np
import pytest

from nstyle.algorithm import guides, losses
from nstyle.model_zoo.spec import LAYER_ORDER


def guided_loss_executor(shape, target):
    """``sum((G - target)^2)`` of the graph's guided Gram, bound in float64 with a gradient for the feature."""
    feature, guide = mx.sym.Variable("feature"), mx.sym.Variable("guide")
    loss = mx.sym.sum(mx.sym.square(losses.guided_gram(feature, guide, shape) - mx.sym.Variable("target")))
    args = {"feature": mx.nd.zeros(shape, dtype="float64"), "guide": mx.nd.zeros(shape, dtype="float64"),
            "target": mx.nd.array(target, dtype="float64")}
    grads = {"feature": mx.nd.zeros(shape, dtype="float64")}
    return loss.bind(mx.cpu(), args=args, args_grad=grads, grad_req={"feature": "write", "guide": "null",
                                                                    "target": "null"})


def numpy_loss(f, t, target):
    n = f.shape[2] * f.shape[3]
    return float(np.sum((guides.guided_gram(f[0], t) * n - target) ** 2))


def test_guided_gram_and_gradient_against_numpy_and_finite_differences():
    rng = np.random.RandomState(0)
    shape = (1, 3, 5, 6)
    f = rng.randn(*shape)
    mask = np.clip(rng.rand(5, 6) * 1.5 - 0.2, 0, 1)
    t, area = guides.normalise(mask)
    assert area == pytest.approx(np.mean(mask ** 2)) and np.mean(t ** 2) == pytest.approx(1.0)
    a = rng.randn(3, 3)
    target = a @ a.T * 5  # a Gram: symmetric
    ex = guided_loss_executor(shape, target)
    ex.arg_dict["feature"][:] = f
    ex.arg_dict["guide"][:] = losses.spread_guide(t, shape[1])
    ex.forward(is_train=True)
    ex.backward([mx.nd.ones((1,), dtype="float64")])  # the head gradient, as in a run
    # the graph's Gram is N times the per-position guided Gram of the paper
    gram = (f[0] * t).reshape(3, -1) @ (f[0] * t).reshape(3, -1).T
    assert ex.outputs[0].asscalar() == pytest.approx(np.sum((gram - target) ** 2), rel=1e-12)
    assert ex.outputs[0].asscalar() == pytest.approx(numpy_loss(f, t, target), rel=1e-12)
    analytic = 4 * np.einsum("ij,jhw->ihw", gram - target, f[0] * t) * t
    grad = ex.grad_dict["feature"].asnumpy()[0]
    np.testing.assert_allclose(grad, analytic, rtol=1e-10)
    h = 1e-6
    for index in [(0, 0, 0), (1, 2, 3), (2, 4, 5), (0, 3, 1)]:
        up, down = f.copy(), f.copy()
        up[(0,) + index] += h
        down[(0,) + index] -= h
        fd = (numpy_loss(up, t, target) - numpy_loss(down, t, target)) / (2 * h)
        assert grad[index] == pytest.approx(fd, rel=1e-5)


def test_an_all_ones_guide_gives_the_classic_gram_exactly():
    f = np.random.RandomState(1).randn(1, 4, 6, 7).astype(np.float32)
    plain = losses.gram(mx.sym.Variable("x"), f.shape).bind(mx.cpu(), {"x": mx.nd.array(f)})
    guided = losses.guided_gram(mx.sym.Variable("x"), mx.sym.Variable("g"), f.shape).bind(
        mx.cpu(), {"x": mx.nd.array(f), "g": mx.nd.ones(f.shape)})
    plain.forward()
    guided.forward()
    assert np.array_equal(plain.outputs[0].asnumpy(), guided.outputs[0].asnumpy())


def texture(h, w, channels=4, period=8, seed=0):
    """A stationary texture: one random ``period x period`` tile repeated."""
    tile = np.random.RandomState(seed).randn(channels, period, period)
    return np.tile(tile, (1, h // period, w // period))


@pytest.mark.parametrize("blend", ["share", "plain"])
def test_area_independence_the_same_texture_in_10_and_50_percent_of_the_picture(blend):
    f = texture(80, 80)
    small, large = np.zeros((80, 80)), np.zeros((80, 80))
    small[:8] = 1  # 10% of the picture
    large[:40] = 1  # 50%
    grams = []
    for mask in (small, large):
        t, _ = guides.normalise(guides.region_guides([mask], blend)[0])
        grams.append(guides.guided_gram(f, t))
    np.testing.assert_allclose(grams[0], grams[1], rtol=1e-12)
    np.testing.assert_allclose(grams[1], guides.guided_gram(f, np.ones((80, 80))), rtol=1e-12)


def test_picture_guides_area_independence_at_every_layer():
    layers = ["relu1_1", "relu2_1", "relu3_1"]
    sizes = {}
    for fraction in (0.1, 0.5):
        mask = np.zeros((80, 80))
        mask[: int(80 * fraction)] = 1
        g = guides.picture_guides([mask], (80, 80), layers)
        sizes[fraction] = g
        for layer, (t,), (a,) in zip(layers, g.guides, g.areas):
            assert np.mean(t ** 2) == pytest.approx(1.0)
            assert a == pytest.approx(fraction, rel=0.05)
            f = texture(*t.shape, period=2)
            assert np.allclose(guides.guided_gram(f, t), guides.guided_gram(f, np.ones_like(t)), rtol=1e-9)


def test_soft_edges_share_the_style_strength():
    ramp = np.tile(np.linspace(1, 0, 20), (4, 1))
    a, b = guides.region_guides([ramp, 1 - ramp])
    np.testing.assert_allclose(a ** 2 + b ** 2, 1.0, rtol=1e-12)
    plain_a, plain_b = guides.region_guides([ramp, 1 - ramp], "plain")
    assert (plain_a ** 2 + plain_b ** 2).min() == pytest.approx(0.5, abs=0.01)  # the paper's guides leave a dip
    overlapping = guides.region_guides([np.ones((2, 2)), np.ones((2, 2))])
    np.testing.assert_allclose(overlapping[0] ** 2 + overlapping[1] ** 2, 1.0)


def test_empty_guides_normalise_to_zero_weight():
    t, area = guides.normalise(np.zeros((3, 3)))
    assert area == 0.0 and not t.any()
    deep = guides.layer_guide(np.pad(np.ones((2, 2)), 7), "relu3_1", "inside")
    assert not deep.any()


def receptive_fields(shape, layer):
    """For each cell of ``layer``, the input pixels it reads, found backwards from the cell, one layer at a time."""
    names = LAYER_ORDER[: LAYER_ORDER.index(layer) + 1]
    sizes = [tuple(shape)]
    for name in names:
        h, w = sizes[-1]
        sizes.append((h // 2, w // 2) if name.startswith("pool") else (h, w))
    fields = {}
    for i in range(sizes[-1][0]):
        for j in range(sizes[-1][1]):
            cells = {(i, j)}
            for name, (h, w) in zip(reversed(names), reversed(sizes[:-1])):
                if name.startswith("pool"):
                    cells = {(2 * y + a, 2 * x + b) for y, x in cells for a in (0, 1) for b in (0, 1)}
                elif name.startswith("conv"):
                    cells = {(y + a, x + b) for y, x in cells for a in (-1, 0, 1) for b in (-1, 0, 1)
                             if 0 <= y + a < h and 0 <= x + b < w}
            fields[i, j] = cells
    return fields, sizes[-1]


@pytest.mark.parametrize("layer", ["relu1_1", "relu2_1", "conv3_1"])
def test_inside_and_all_guides_match_receptive_fields(layer):
    rng = np.random.RandomState(3)
    mask = (rng.rand(18, 21) > 0.35).astype(np.float64)
    mask[4:12, 5:15] = 1.0
    mask[:, 18:] = rng.rand(18, 3)  # soft values too
    fields, size = receptive_fields(mask.shape, layer)
    inside, touching = guides.layer_guide(mask, layer, "inside"), guides.layer_guide(mask, layer, "all")
    assert inside.shape == touching.shape == size
    for (i, j), cells in fields.items():
        values = [mask[y, x] for y, x in cells]
        assert inside[i, j] == min(values) and touching[i, j] == max(values)
    simple = guides.layer_guide(mask, layer, "simple")
    stride = mask.shape[0] // size[0]
    np.testing.assert_allclose(simple, mask[:size[0] * stride, :size[1] * stride].reshape(
        size[0], stride, size[1], stride).mean(axis=(1, 3)))
