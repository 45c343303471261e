"""Grams, losses, head-gradient weighting, the TV gradient, clipping, the schedule and the stopping rule."""
import mxnet as mx
import numpy as np
import pytest

from nstyle import api, losses
from nstyle.config import Config
from nstyle.loop import NAGLoop, noise_image
from nstyle.model import LossNet

CPU = mx.cpu()


def run_sym(sym, **arrays):
    ex = sym.bind(CPU, args={k: mx.nd.array(v, CPU) for k, v in arrays.items()})
    ex.forward()
    return [o.asnumpy() for o in ex.outputs]


def test_gram_matches_numpy():
    f = np.random.RandomState(0).standard_normal((1, 5, 4, 3)).astype(np.float32)
    (g,) = run_sym(losses.gram(mx.sym.Variable("data"), f.shape), data=f)
    flat = f.reshape(5, 12).astype(np.float64)
    np.testing.assert_allclose(g, flat @ flat.T, rtol=1e-5, atol=1e-5)


def test_style_and_content_losses_match_numpy():
    rng = np.random.RandomState(1)
    f = rng.standard_normal((1, 4, 3, 3)).astype(np.float32)
    target = rng.standard_normal((4, 4)).astype(np.float32)
    g = losses.gram(mx.sym.Variable("data"), f.shape)
    (style,) = run_sym(losses.style_loss(g, 2), data=f, target_gram_2=target)
    flat = f.reshape(4, 9).astype(np.float64)
    assert style[0] == pytest.approx(((flat @ flat.T - target) ** 2).sum(), rel=1e-5)
    fc = rng.standard_normal(f.shape).astype(np.float32)
    (content,) = run_sym(losses.content_loss(mx.sym.Variable("data")), data=f, target_content_0=fc)
    assert content[0] == pytest.approx(((f.astype(np.float64) - fc) ** 2).sum(), rel=1e-5)


def test_head_gradient_weights():
    shapes = [(1, 64, 8, 6), (1, 128, 4, 3)]
    head = [h.asscalar() for h in losses.head_gradients(shapes, 2.0, 10.0, CPU)]
    assert head[0] == pytest.approx(2.0 / (64 * 48 * 64))
    assert head[1] == pytest.approx(2.0 / (128 * 12 * 128))
    assert head[2] == 10.0


@pytest.fixture(scope="module")
def tiny(synthetic_params):
    """A loss network at 16x24 with targets from two random images, the weighted objective and its gradient."""
    rng = np.random.RandomState(2)
    size = (16, 24)
    net = LossNet(synthetic_params, size, CPU)
    style, content = (rng.uniform(-100, 100, (1, 3) + size) for _ in range(2))
    ex = net.bind_losses(net.gram_targets(style), net.content_targets(content))
    head = losses.head_gradients(net.style_shapes, 1.0, 10.0, CPU)
    w = np.array([h.asscalar() for h in head], np.float64)

    def objective(x):
        ex.arg_dict["data"][:] = x
        ex.forward(is_train=True)
        return float(sum(wi * o.asnumpy().astype(np.float64)[0] for wi, o in zip(w, ex.outputs)))

    def gradient(x):
        objective(x)
        ex.backward(head)
        return ex.grad_dict["data"].asnumpy().astype(np.float64)

    return objective, gradient, rng.uniform(-50, 50, (1, 3) + size)


def test_weighted_gradient_matches_finite_differences(tiny):
    objective, gradient, x = tiny
    g = gradient(x)
    rng = np.random.RandomState(3)
    big = np.argwhere(np.abs(g) > 0.1 * np.abs(g).max())
    picks = big[rng.choice(len(big), size=8, replace=False)]
    h = 0.05  # image values are in the tens; float32 objective values need a step this size
    for idx in map(tuple, picks):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        numeric = (objective(xp) - objective(xm)) / (2 * h)
        assert numeric == pytest.approx(g[idx], rel=2e-2), idx


def numpy_tv_gradient(x, weight):
    """Each channel convolved with the Laplacian / 8, zero padding 1."""
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    lap = 4 * p[:, :, 1:-1, 1:-1] - p[:, :, :-2, 1:-1] - p[:, :, 2:, 1:-1] - p[:, :, 1:-1, :-2] - p[:, :, 1:-1, 2:]
    return weight * lap / 8.0


def test_tv_gradient_matches_numpy_laplacian():
    x = np.random.RandomState(4).uniform(-100, 100, (1, 3, 7, 9))
    img = mx.nd.array(x, CPU)
    ex = losses.tv_gradient_executor(img, CPU, 0.01)
    ex.forward()
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), numpy_tv_gradient(x, 0.01), rtol=1e-5, atol=1e-4)
    assert losses.tv_gradient_executor(img, CPU, 0.0) is None
    assert losses.tv_gradient_executor(img, CPU, -1.0) is None


class FakeExecutor:
    """Stands in for the loss executor: a fixed gradient, zero losses."""

    def __init__(self, grad):
        self.arg_dict = {"data": mx.nd.zeros(grad.shape, CPU)}
        self.grad_dict = {"data": mx.nd.array(grad, CPU)}
        self.fixed = grad
        self.outputs = [mx.nd.zeros((1,), CPU)]

    def forward(self, is_train=False):
        pass

    def backward(self, head):
        self.grad_dict["data"][:] = self.fixed


def one_update(grad, lr=1.0):
    """Run one NAG step (no TV, no weight decay effect on a zero image) and return the applied gradient."""
    img = mx.nd.zeros(grad.shape, CPU)
    loop = NAGLoop(FakeExecutor(grad), [mx.nd.ones((1,), CPU)], img, lr, 75, 0.9, 0.0, CPU)
    loop.step()
    return loop.data_grad.asnumpy()


def test_gradient_clipping_at_number_of_elements():
    shape = (1, 3, 4, 5)
    limit = float(np.prod(shape))
    rng = np.random.RandomState(5)
    big = rng.standard_normal(shape) * 1000
    clipped = one_update(big)
    assert np.linalg.norm(clipped) == pytest.approx(limit, rel=1e-5)
    np.testing.assert_allclose(clipped / np.linalg.norm(clipped), big / np.linalg.norm(big), rtol=1e-4, atol=1e-6)
    small = rng.standard_normal(shape)
    np.testing.assert_allclose(one_update(small), small, rtol=1e-6)


def test_nag_update_matches_numpy():
    shape = (1, 3, 2, 2)
    rng = np.random.RandomState(6)
    grads = [rng.standard_normal(shape) for _ in range(3)]
    img = mx.nd.array(rng.standard_normal(shape), CPU)
    x = img.asnumpy().astype(np.float64)
    fake = FakeExecutor(grads[0])
    loop = NAGLoop(fake, [mx.nd.ones((1,), CPU)], img, 0.1, 75, 0.9, 0.0, CPU)
    mom = np.zeros(shape)
    for g in grads:
        fake.fixed = g
        loop.step()
        g = g + 1e-4 * x  # weight decay 1e-4
        mom = 0.95 * mom + g
        x = x - 0.1 * (g + 0.95 * mom)
        np.testing.assert_allclose(img.asnumpy(), x, rtol=1e-4, atol=1e-5)  # float32 arithmetic


def test_learning_rate_schedule():
    shape = (1, 3, 2, 2)
    loop = NAGLoop(FakeExecutor(np.zeros(shape)), [mx.nd.ones((1,), CPU)], mx.nd.ones(shape, CPU),
                   0.001, 75, 0.9, 0.0, CPU)
    got = [loop.step().lr for _ in range(230)]
    # FactorScheduler: the rate after update n is 0.001 * 0.9 ** floor((n - 1) / 75)
    expected = [0.001 * 0.9 ** ((n - 1) // 75) for n in range(1, 231)]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert got[74] == pytest.approx(0.001) and got[75] == pytest.approx(0.0009)


def test_relative_change_and_stopping_rule(images, weights_file, tmp_path):
    history = []
    cfg = Config(content_image=images["content"], style_image=images["style"], weights=weights_file,
                 max_long_edge=32, max_num_epochs=200, stop_eps=0.3, output_dir=str(tmp_path), quiet=True)
    result = api.run(cfg, on_epoch=history.append)
    eps = [e.eps for e in history]
    assert result.stopped == "converged" and result.epochs == len(history)
    first_below = next(i for i, e in enumerate(eps) if e < 0.3)
    assert first_below == len(eps) - 1 and all(e >= 0.3 for e in eps[:-1])


def test_relative_change_is_norm_ratio(synthetic_params):
    size = (16, 16)
    net = LossNet(synthetic_params, size, CPU)
    rng = np.random.RandomState(7)
    ex = net.bind_losses(net.gram_targets(rng.uniform(-50, 50, (1, 3) + size)),
                         net.content_targets(rng.uniform(-50, 50, (1, 3) + size)))
    head = losses.head_gradients(net.style_shapes, 1.0, 10.0, CPU)
    img = noise_image((1, 3) + size, CPU, 0)
    loop = NAGLoop(ex, head, img, 0.001, 75, 0.9, 0.01, CPU)
    for _ in range(3):
        before = img.asnumpy().astype(np.float64)
        ep = loop.step()
        after = img.asnumpy().astype(np.float64)
        assert ep.eps == pytest.approx(np.linalg.norm(before - after) / np.linalg.norm(after), rel=1e-4)


def test_noise_image_seeded_uniform():
    a = noise_image((1, 3, 20, 20), CPU, 5).asnumpy()
    b = noise_image((1, 3, 20, 20), CPU, 5).asnumpy()
    c = noise_image((1, 3, 20, 20), CPU, 6).asnumpy()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= -0.1 and a.max() <= 0.1 and a.std() > 0.05
