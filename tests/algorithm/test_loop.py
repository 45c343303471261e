"""The optimisation loops: NAG update, gradient clipping, learning-rate schedule, stopping rule, initial noise."""
import mxnet as mx
import numpy as np
import pytest
from scipy import stats

from helpers import image_gradient
from nstyle import api
from nstyle.algorithm import losses
from nstyle.algorithm.loop import PATIENCE, NAGLoop, noise_image
from nstyle.algorithm.lossnet import LossNet
from nstyle.config import Config

CPU = mx.cpu()
WD, MOMENTUM = 1e-4, 0.95


def np_nag(x, velocity, grad, lr, wd=WD, momentum=MOMENTUM):
    """One ``mx.optimizer.NAG.update`` as MXNet 1.9.1 computes it (``nag_mom_update`` with ``out=weight``), float64.

    The state is a velocity with the learning rate folded in. With ``G = g + wd x``:
    ``x' = x + m^2 v - (1 + m) lr G`` and ``v' = m v - lr (g + wd x')``: the kernel writes the new weight
    before it updates the state, and ``out`` is the weight array, so the state's decay term sees ``x'``.
    Established against MXNet itself in :func:`test_numpy_nag_matches_mxnet_optimizer_on_a_toy_array`.
    """
    new = x + momentum * momentum * velocity - (1 + momentum) * lr * (grad + wd * x)
    return new, momentum * velocity - lr * (grad + wd * new)


def folded_nag(x, velocity, grad, lr, wd=WD, momentum=MOMENTUM):
    """As :func:`np_nag` but with the state's decay term on the old weight."""
    g = grad + wd * x
    velocity = momentum * velocity - lr * g
    return x + momentum * velocity - lr * g, velocity


def textbook_nag(x, mom, grad, lr, wd=WD, momentum=MOMENTUM):
    """``mom = m mom + g + wd x; x -= lr (g + wd x + m mom)``: the rate applied to the whole step."""
    g = grad + wd * x
    mom = momentum * mom + g
    return x - lr * (g + momentum * mom), mom


def docstring_nag(x, mom, grad, lr, wd=WD, momentum=MOMENTUM):
    """``mx.optimizer.NAG``'s docstring: ``state = m state + g + wd x; x -= lr (g + m state)`` (no wd in the step)."""
    mom = momentum * mom + grad + wd * x
    return x - lr * (grad + momentum * mom), mom


def factor_schedule(base_lr, step, factor, n_updates):
    """The rate of updates 1..n by FactorScheduler's rule ``while n > count + step: count += step; lr *= f``."""
    count, lr, rates = 0, base_lr, []
    for n in range(1, n_updates + 1):
        while n > count + step:
            count += step
            lr *= factor
        rates.append(lr)
    return rates


class FakeExecutor:
    """Stands in for the loss executor: ``backward`` writes whatever gradient the test queued."""

    def __init__(self, shape):
        self.arg_dict = {"data": mx.nd.zeros(shape, CPU)}
        self.grad_dict = {"data": mx.nd.zeros(shape, CPU)}
        self.outputs = [mx.nd.ones((1,), CPU)]
        self.grad = np.zeros(shape)
        self.seen = []  # the data each forward saw

    def forward(self, is_train=False):
        self.seen.append(self.arg_dict["data"].asnumpy())

    def backward(self, head_grads):
        self.grad_dict["data"][:] = self.grad


def fake_loop(x0, lr=0.1, tv_weight=0.0, delay=75, factor=0.9):
    img = mx.nd.array(x0, CPU)
    fake = FakeExecutor(x0.shape)
    loop = NAGLoop(fake, [mx.nd.ones((1,), CPU)], img, lr, delay, factor, tv_weight, CPU)
    return loop, fake, img


# ---- the NAG update ----------------------------------------------------------------------------------------

def test_numpy_nag_matches_mxnet_optimizer_on_a_toy_array():
    """Seven updates of ``mx.optimizer.NAG`` on a float64 array (no float32 rounding to hide behind), the rate
    lowered twice as the schedule does; only the exact model follows it, the plausible variants drift off."""
    rng = np.random.RandomState(0)
    x = rng.uniform(-5, 5, 40)
    weight = mx.nd.array(x, CPU, dtype="float64")
    opt = mx.optimizer.NAG(learning_rate=0.1, wd=WD, momentum=MOMENTUM)
    state = opt.create_state(0, weight)
    models = {f: (x.copy(), np.zeros(40)) for f in (np_nag, folded_nag, textbook_nag, docstring_nag)}
    errors = {f: [] for f in models}
    for lr in (0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.01):
        opt.set_learning_rate(lr)
        g = rng.standard_normal(40) * 3
        opt.update(0, weight, mx.nd.array(g, CPU, dtype="float64"), state)
        got = weight.asnumpy()
        for f, (xs, st) in models.items():
            models[f] = f(xs, st, g, lr)
            errors[f].append(np.abs(got - models[f][0]).max())
    # MXNet keeps lr, wd and momentum as float32 parameters: relative errors of ~1e-8 remain
    assert max(errors[np_nag]) < 1e-6
    np.testing.assert_allclose(state.asnumpy(), models[np_nag][1], rtol=1e-6, atol=1e-8)
    assert max(errors[folded_nag]) > 1e-5  # the decay term of the state does use the new weight
    assert max(errors[textbook_nag][:4]) < 1e-4 and errors[textbook_nag][-1] > 1e-2  # apart once lr changes
    assert max(errors[docstring_nag]) > 1e-3  # weight decay does enter the step


def test_loop_uses_nag_with_classic_hyperparameters():
    loop, _, _ = fake_loop(np.zeros((1, 3, 2, 2)), lr=0.001)
    assert isinstance(loop.optimizer, mx.optimizer.NAG)
    assert loop.optimizer.wd == WD and loop.optimizer.momentum == MOMENTUM
    assert isinstance(loop.optimizer.lr_scheduler, mx.lr_scheduler.FactorScheduler)
    assert loop.optimizer.lr_scheduler.step == 75 and loop.optimizer.lr_scheduler.factor == 0.9


def test_loop_step_is_one_nag_update_of_the_image():
    shape = (1, 3, 4, 5)
    rng = np.random.RandomState(1)
    x0 = rng.uniform(-50, 50, shape)
    loop, fake, img = fake_loop(x0, lr=0.05)
    x, v = img.asnumpy().astype(np.float64), np.zeros(shape)
    for _ in range(5):
        fake.grad = rng.standard_normal(shape)  # norm ~8, far below the clip limit of 60
        before = img.asnumpy()
        loop.step()
        assert np.array_equal(fake.seen[-1], before)  # the forward pass sees the current image
        x, v = np_nag(x, v, fake.grad, 0.05)
        np.testing.assert_allclose(img.asnumpy(), x, rtol=1e-5, atol=1e-5)


def test_loop_adds_the_tv_gradient_of_the_current_image():
    shape = (1, 3, 6, 7)
    rng = np.random.RandomState(2)
    x0 = rng.uniform(-100, 100, shape)
    loop, fake, img = fake_loop(x0, lr=0.02, tv_weight=0.5)
    tv = losses.tv_gradient_executor(mx.nd.zeros(shape, CPU), CPU, 0.5)  # a reference TV evaluator
    x, v = img.asnumpy().astype(np.float64), np.zeros(shape)
    for _ in range(3):
        fake.grad = rng.standard_normal(shape)
        tv.arg_dict["img"][:] = x
        tv.forward()
        total = fake.grad + tv.outputs[0].asnumpy().astype(np.float64)
        loop.step()
        x, v = np_nag(x, v, total, 0.02)
        np.testing.assert_allclose(img.asnumpy(), x, rtol=1e-5, atol=1e-4)


# ---- gradient clipping -------------------------------------------------------------------------------------

@pytest.mark.parametrize("ratio", [1000.0, 1.01])
def test_gradient_above_the_limit_is_scaled_to_exactly_the_limit(ratio):
    shape = (1, 3, 5, 7)
    limit = 3 * 5 * 7
    rng = np.random.RandomState(3)
    x0 = rng.uniform(-1, 1, shape)
    direction = rng.standard_normal(shape)
    loop, fake, img = fake_loop(x0, lr=0.01)
    fake.grad = direction / np.linalg.norm(direction) * limit * ratio
    loop.step()
    used = loop.data_grad.asnumpy().astype(np.float64)
    assert np.linalg.norm(used) == pytest.approx(limit, rel=1e-5)
    np.testing.assert_allclose(used, fake.grad / ratio, rtol=1e-4, atol=1e-5)
    # and the update really used the clipped gradient (first NAG step: x1 = x0 - lr (1 + m) (g + wd x0))
    x1, _ = np_nag(x0, np.zeros(shape), fake.grad / ratio, 0.01)
    np.testing.assert_allclose(img.asnumpy(), x1, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ratio", [0.99, 1e-3])
def test_gradient_below_the_limit_is_untouched(ratio):
    shape = (1, 3, 5, 7)
    rng = np.random.RandomState(4)
    direction = rng.standard_normal(shape)
    loop, fake, _ = fake_loop(np.zeros(shape), lr=0.01)
    fake.grad = (direction / np.linalg.norm(direction) * 105 * ratio).astype(np.float32)
    loop.step()
    assert np.array_equal(loop.data_grad.asnumpy(), fake.grad)


def test_clipping_applies_to_the_loss_gradient_before_tv_is_added():
    shape = (1, 3, 8, 8)
    rng = np.random.RandomState(5)
    x0 = rng.uniform(-100, 100, shape)  # a rough image: its TV gradient is large
    loop, fake, img = fake_loop(x0, lr=0.01, tv_weight=10.0)
    fake.grad = rng.standard_normal(shape) * 1e4
    loop.step()
    clipped = fake.grad / np.linalg.norm(fake.grad) * 192
    assert np.linalg.norm(loop.data_grad.asnumpy()) == pytest.approx(192, rel=1e-5)
    tv = losses.tv_gradient_executor(mx.nd.array(x0, CPU), CPU, 10.0)
    tv.forward()
    tv_grad = tv.outputs[0].asnumpy().astype(np.float64)
    assert np.linalg.norm(tv_grad) > 192  # so clipping the sum would give a visibly different image
    x1, _ = np_nag(x0, np.zeros(shape), clipped + tv_grad, 0.01)
    np.testing.assert_allclose(img.asnumpy(), x1, rtol=1e-5, atol=1e-4)


@pytest.fixture(scope="module")
def net16(synthetic_params):
    """The real loss executor at 16x16 with random targets."""
    rng = np.random.RandomState(6)
    size = (16, 16)
    net = LossNet(synthetic_params, size, CPU)
    ex = net.bind_losses(net.gram_targets(rng.uniform(-100, 100, (1, 3) + size)),
                         net.content_targets(rng.uniform(-100, 100, (1, 3) + size)))
    return net, ex


def test_clipping_in_the_real_loss_network(net16):
    """Huge weights: the image gradient is clipped to 3*16*16 = 768; tiny weights: left alone."""
    net, ex = net16
    x0 = noise_image((1, 3, 16, 16), CPU, 0).asnumpy().astype(np.float64)
    for style_weight, content_weight, clipped in ((1e3, 1e4, True), (1e-6, 1e-3, False)):
        heads = losses.head_gradients(net.style_shapes, style_weight, content_weight, CPU)
        raw = image_gradient(ex, heads, x0)
        assert (np.linalg.norm(raw) > 768) == clipped
        img = mx.nd.array(x0, CPU)
        loop = NAGLoop(ex, heads, img, 1.0, 75, 0.9, 0.0, CPU)
        loop.step()
        used = loop.data_grad.asnumpy().astype(np.float64)
        expected = raw * (768 / np.linalg.norm(raw)) if clipped else raw
        np.testing.assert_allclose(used, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
        x1, _ = np_nag(x0, np.zeros(x0.shape), expected, 1.0)
        np.testing.assert_allclose(img.asnumpy(), x1, rtol=1e-4, atol=1e-4 * np.abs(x1).max())


# ---- the learning-rate schedule ----------------------------------------------------------------------------

def test_reported_learning_rate_follows_the_factor_schedule():
    """The classic schedule over 200 epochs at 16x16 (the rate does not depend on the losses, so a fake
    executor keeps this fast; the real network's gradient is exercised by the other tests)."""
    shape = (1, 3, 16, 16)
    loop, fake, _ = fake_loop(noise_image(shape, CPU, 1).asnumpy(), lr=0.001, tv_weight=0.01)
    fake.grad = np.random.RandomState(9).standard_normal(shape)
    got = [loop.step().lr for _ in range(200)]
    assert got == factor_schedule(0.001, 75, 0.9, 200)
    assert all(lr == pytest.approx(0.001, rel=1e-12) for lr in got[:75])  # epochs 1..75
    assert all(lr == pytest.approx(0.0009, rel=1e-12) for lr in got[75:150])  # epochs 76..150
    assert all(lr == pytest.approx(0.00081, rel=1e-12) for lr in got[150:])  # epochs 151..200


def test_applied_learning_rate_follows_the_schedule():
    """Replaying the updates in numpy with the schedule's rates reproduces the image; shifted rates do not."""
    shape = (1, 3, 4, 4)
    rng = np.random.RandomState(7)
    x0 = rng.uniform(-1, 1, shape)
    loop, fake, img = fake_loop(x0, lr=0.1, delay=3, factor=0.5)
    grads = [rng.standard_normal(shape) for _ in range(10)]
    images = []
    for g in grads:
        fake.grad = g
        loop.step()
        images.append(img.asnumpy().astype(np.float64))
    rates = factor_schedule(0.1, 3, 0.5, 10)
    assert rates[:4] == [0.1, 0.1, 0.1, 0.05]

    def replay(rates):
        x, v, out = x0.copy(), np.zeros(shape), []
        for g, lr in zip(grads, rates):
            x, v = np_nag(x, v, g, lr)
            out.append(x)
        return out

    for got, want in zip(images, replay(rates)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    early = replay(factor_schedule(0.1, 2, 0.5, 10))  # decaying one update too soon
    assert max(np.abs(g - w).max() for g, w in zip(images, early)) > 1e-3


# ---- the stopping rule -------------------------------------------------------------------------------------

def test_reported_change_is_relative_norm_of_the_step(net16):
    net, ex = net16
    heads = losses.head_gradients(net.style_shapes, 1.0, 10.0, CPU)
    img = noise_image((1, 3, 16, 16), CPU, 2)
    loop = NAGLoop(ex, heads, img, 0.001, 75, 0.9, 0.01, CPU)
    for _ in range(4):
        before = img.asnumpy().astype(np.float64)
        ep = loop.step()
        after = img.asnumpy().astype(np.float64)
        assert not np.array_equal(before, after)
        assert ep.eps == pytest.approx(np.linalg.norm(before - after) / np.linalg.norm(after), rel=1e-5)
        assert np.array_equal(loop.old_img.asnumpy(), img.asnumpy())  # the next change is measured from here


def test_a_non_finite_step_keeps_the_last_finite_image():
    shape = (1, 3, 2, 3)
    x0 = np.random.RandomState(8).uniform(-1, 1, shape)
    loop, fake, img = fake_loop(x0, lr=0.01)
    fake.grad = np.ones(shape)
    assert loop.step().finite
    good = img.asnumpy()
    fake.grad = np.full(shape, np.nan)
    ep = loop.step()
    assert not ep.finite and np.isnan(img.asnumpy()).all()
    assert np.array_equal(loop.old_img.asnumpy(), good)


def stylize_config(images, weights_file, **kw):
    return Config(content_image=images["content"], style_image=images["style"], weights=weights_file,
                  max_long_edge=32, output_dir=None, quiet=True, gpu=-1, **kw)


def test_run_stops_at_the_first_epoch_below_stop_eps(images, weights_file):
    free = []
    result = api.run(stylize_config(images, weights_file, stop_eps=0.0, max_num_epochs=20), on_epoch=free.append)
    assert result.stopped == "max-epochs" and result.epochs == 20 and len(free) == 20
    eps = [e.eps for e in free]
    # a threshold that the change first drops below at epoch k + 1 >= 6, with a margin on both sides
    k = next(i for i in range(5, 20) if eps[i] < 0.95 * min(eps[:i]))
    threshold = (eps[k] + min(eps[:k])) / 2

    stopped = []
    result = api.run(stylize_config(images, weights_file, stop_eps=threshold, max_num_epochs=20),
                     on_epoch=stopped.append)
    assert result.stopped == "converged"
    assert result.epochs == k + 1 == len(stopped) == len(result.history)
    assert stopped[-1].eps < threshold <= min(e.eps for e in stopped[:-1])
    # the run is reproducible: the same changes as the run that did not stop
    np.testing.assert_allclose([e.eps for e in stopped], eps[:k + 1], rtol=1e-5)


def test_lbfgs_and_adam_stop_after_five_small_changes_in_a_row(images, weights_file):
    for optimizer in ("lbfgs", "adam"):
        result = api.run(stylize_config(images, weights_file, optimizer=optimizer, init="content",
                                        max_num_epochs=20, stop_eps=10.0))
        assert result.stopped == "converged" and result.epochs == PATIENCE


# ---- the initial noise -------------------------------------------------------------------------------------

def test_noise_image_is_uniform_in_plus_minus_a_tenth():
    shape = (1, 3, 40, 50)
    img = noise_image(shape, CPU, 3)
    assert img.shape == shape and img.dtype == np.float32 and img.context == CPU
    x = img.asnumpy().ravel().astype(np.float64)
    assert x.min() >= -0.1 and x.max() <= 0.1
    assert x.min() < -0.099 and x.max() > 0.099
    assert stats.kstest(x, "uniform", args=(-0.1, 0.2)).pvalue > 1e-3
    assert abs(x.mean()) < 0.005 and x.std() == pytest.approx(0.2 / np.sqrt(12), rel=0.03)


def test_noise_image_is_seeded_right_before_the_draw():
    shape = (1, 3, 10, 12)
    a = noise_image(shape, CPU, 42).asnumpy()
    mx.nd.random.uniform(0, 1, (100,)).wait_to_read()  # whatever was drawn in between does not matter
    np.random.uniform(size=7)
    b = noise_image(shape, CPU, 42).asnumpy()
    c = noise_image(shape, CPU, 43).asnumpy()
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and np.abs(a - c).mean() > 0.01
