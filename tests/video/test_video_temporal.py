"""The temporal loss: its gradient, the way every optimiser sees it, and a zero-weight term that changes nothing."""
import mxnet as mx
import numpy as np
import pytest

from helpers import central_differences
from nstyle import api
from nstyle.algorithm import losses
from nstyle.algorithm.lossnet import LossNet
from nstyle.algorithm.objective import Objective
from nstyle.config import Config
from nstyle.files import images as pictures
from nstyle.files.images import Inputs
from nstyle.video.temporal import TemporalLoss, scaled_weight

CPU = mx.cpu()
SIZE = (24, 32)


def penalty(weight=0.7, seed=0, c=None):
    rng = np.random.RandomState(seed)
    target = rng.uniform(-80, 80, (1, 3) + SIZE)
    return TemporalLoss(target, rng.rand(*SIZE) if c is None else c, weight)


def test_the_temporal_gradient_matches_finite_differences_and_the_device_gradient():
    term = penalty()
    x = np.random.RandomState(1).uniform(-80, 80, (1, 3) + SIZE)
    value, grad = term.value_and_grad(x)
    assert value == pytest.approx(term.value(x)) and value > 0
    for idx, numeric in central_differences(term.value, x, seed=2, count=8, step=0.5):
        assert numeric == pytest.approx(grad[idx], rel=1e-6, abs=1e-9)
    on_device = term.gradient(mx.nd.array(x, CPU)).asnumpy()
    np.testing.assert_allclose(on_device, grad, rtol=1e-4, atol=1e-3)


def test_the_objective_adds_the_term_to_its_value_and_gradient(synthetic_params):
    net = LossNet(synthetic_params, SIZE, CPU)
    rng = np.random.RandomState(3)
    ex = net.bind_losses(net.gram_targets(rng.uniform(-60, 60, (1, 3) + SIZE)),
                         net.content_targets(rng.uniform(-60, 60, (1, 3) + SIZE)))
    head = losses.head_gradients(net.style_shapes, 1.0, 10.0, CPU)
    x = rng.uniform(-50, 50, (1, 3) + SIZE)
    term = penalty(weight=50.0)
    plain_f, plain_g = Objective(ex, head, 0.01, CPU).value_and_grad(x)
    objective = Objective(ex, head, 0.01, CPU, penalty=term)
    f, g = objective.value_and_grad(x)
    value, grad = term.value_and_grad(x)
    assert objective.penalty_value == value and f == pytest.approx(plain_f + value, rel=1e-12)
    np.testing.assert_allclose(g, plain_g + grad, rtol=1e-12)


def test_scaled_weight_keeps_artistic_videos_balance_against_the_content_loss():
    # relu4_2 at 64x48 (one content layer): 512 x 6 x 8 values against 3 x 48 x 64 pixel values
    assert scaled_weight(1000.0, [(1, 512, 6, 8)], 3 * 48 * 64) == pytest.approx(1000 * 2 * 512 * 48 / 9216)
    assert scaled_weight(0.0, [(1, 512, 6, 8)], 9216) == 0.0


@pytest.fixture(scope="module")
def frame(images):
    return Inputs(pictures.read_image(images["content"]), [pictures.read_image(images["style"])], "content", ["style"])


def run_frame(cfg, frame, start, term=None, engine=None):
    return api.run(cfg, inputs=frame, engine=engine, start=start, penalty=term)


@pytest.mark.parametrize("optimizer", ["nag", "adam", "lbfgs"])
def test_a_zero_weight_term_leaves_the_run_unchanged_bit_for_bit(weights_file, frame, optimizer):
    cfg = Config(weights=weights_file, max_long_edge=32, max_num_epochs=3, output_dir=None, optimizer=optimizer,
                 init="content", quiet=True)
    size = pictures.content_size(frame.content.shape, 32)
    content_np = pictures.to_network(pictures.resize01(frame.content, size))
    plain = api.run(cfg, inputs=frame)  # the still run, from --init content
    same_start = run_frame(cfg, frame, content_np)
    zero = TemporalLoss(content_np + 7.0, np.zeros(size), 123.0)  # c = 0 everywhere
    with_term = run_frame(cfg, frame, content_np, zero)
    np.testing.assert_array_equal(same_start.image, plain.image)
    np.testing.assert_array_equal(with_term.image, plain.image)
    assert [e.style_loss for e in with_term.history] == [e.style_loss for e in plain.history]
    assert all(e.penalty == 0.0 for e in with_term.history)


@pytest.mark.parametrize("optimizer", ["nag", "adam", "lbfgs"])
def test_every_optimiser_is_pulled_towards_the_warped_frame(weights_file, frame, optimizer):
    """A heavy term (the synthetic weights' style loss is ~1e9 here) moves the result towards its target: closer by
    more than 2 levels on average (Adam moves at most about 1 level per epoch), in the target's direction."""
    cfg = Config(weights=weights_file, max_long_edge=32, max_num_epochs=4, output_dir=None, optimizer=optimizer,
                 init="content", quiet=True, lr=0.05 if optimizer == "nag" else None)  # NAG: 4 epochs must show it
    size = pictures.content_size(frame.content.shape, 32)
    content_np = pictures.to_network(pictures.resize01(frame.content, size))
    target = np.clip(content_np + np.random.RandomState(4).uniform(-40, 40, content_np.shape), -100, 100)
    target = pictures.from_pixels(pictures.postprocess(target))
    free = run_frame(cfg, frame, content_np)
    pulled = run_frame(cfg, frame, content_np, TemporalLoss(target, np.ones(size), 5000.0))
    free_x, pulled_x = (pictures.from_pixels(r.image) for r in (free, pulled))
    assert np.abs(pulled_x - target).mean() < np.abs(free_x - target).mean() - 2.0
    move, wanted = (pulled_x - free_x).ravel(), (target - free_x).ravel()
    assert move @ wanted > 0.5 * np.linalg.norm(move) * np.linalg.norm(wanted)
    assert np.isfinite(pulled.history[-1].penalty) and pulled.history[-1].penalty > 0
    assert np.isnan(free.history[-1].penalty)
