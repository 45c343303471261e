"""Issue 6: L-BFGS, the true objective (with the TV energy), --init and --multires."""
import mxnet as mx
import numpy as np
import pytest

from nstyle import api, losses
from nstyle import images as imio
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.lbfgs import LBFGS
from nstyle.loop import PATIENCE, LBFGSLoop
from nstyle.model import LossNet
from nstyle.objective import Objective

CPU = mx.cpu()


def test_lbfgs_finds_the_minimum_of_a_convex_quadratic():
    rng = np.random.RandomState(0)
    m = rng.standard_normal((30, 30))
    a = m @ m.T + 0.5 * np.eye(30)
    b = rng.standard_normal(30)

    def fun(x):
        return 0.5 * x @ a @ x - b @ x, a @ x - b
    solver = LBFGS(fun, np.zeros(30), history=8, first_step=0.1)
    values = [solver.f]
    for _ in range(200):
        values.append(solver.step())
        if np.linalg.norm(solver.g) < 1e-9:
            break
    np.testing.assert_allclose(solver.x, np.linalg.solve(a, b), atol=1e-6)
    assert all(later <= earlier for earlier, later in zip(values, values[1:]))


def test_lbfgs_state_round_trip():
    def fun(x):
        return float((x ** 2).sum()), 2 * x
    solver = LBFGS(fun, np.arange(5.0), history=3)
    for _ in range(2):
        solver.step()
    other = LBFGS(fun, np.zeros(5), history=3)
    other.load_state(solver.state_dict())
    assert np.array_equal(other.direction(), solver.direction())


@pytest.fixture(scope="module")
def problem(synthetic_params):
    size = (16, 20)
    rng = np.random.RandomState(1)
    net = LossNet(synthetic_params, size, CPU)
    ex = net.bind_losses(net.gram_targets(rng.uniform(-60, 60, (1, 3) + size)),
                         net.content_targets(rng.uniform(-60, 60, (1, 3) + size)))
    head = losses.head_gradients(net.style_shapes, 1.0, 10.0, CPU)
    return ex, head, size


def test_tv_energy_is_the_sum_of_squared_neighbour_differences(problem):
    ex, head, size = problem
    x = np.random.RandomState(2).uniform(-50, 50, (1, 3) + size)
    objective = Objective(ex, head, 0.3, CPU)
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))  # zero padding, as the convolution's
    pairs = (np.diff(p, axis=2)[:, :, :, 1:-1] ** 2).sum() + (np.diff(p, axis=3)[:, :, 1:-1, :] ** 2).sum()
    assert objective._tv(x)[0] == pytest.approx(0.3 / 16 * pairs, rel=1e-5)


def test_objective_gradient_matches_finite_differences_with_tv(problem):
    ex, head, size = problem
    objective = Objective(ex, head, 50.0, CPU)  # a large TV weight so the TV part matters
    x = np.random.RandomState(3).uniform(-50, 50, (1, 3) + size)
    f, g = objective.value_and_grad(x)
    style, content, tv = objective.parts
    assert f == pytest.approx(style + content + tv) and tv > 0.05 * f
    assert objective.value(x) == pytest.approx(f, rel=1e-6)
    rng = np.random.RandomState(4)
    for _ in range(6):
        idx = tuple(rng.randint(0, n) for n in x.shape)
        xp, xm = x.copy(), x.copy()
        xp[idx] += 0.05
        xm[idx] -= 0.05
        numeric = (objective.value(xp) - objective.value(xm)) / 0.1
        assert numeric == pytest.approx(g[idx], rel=3e-2, abs=1e-3 * np.abs(g).max())


def test_lbfgs_loop_decreases_the_real_objective(problem):
    ex, head, size = problem
    objective = Objective(ex, head, 0.01, CPU)
    img = mx.nd.array(np.random.RandomState(5).uniform(-20, 20, (1, 3) + size), CPU)
    loop = LBFGSLoop(objective, img, history=5)
    values = [loop.solver.f]
    for _ in range(8):
        ep = loop.step()
        values.append(loop.solver.f)
        assert ep.finite
    assert all(later <= earlier for earlier, later in zip(values, values[1:]))
    assert values[-1] < 0.5 * values[0]
    np.testing.assert_allclose(img.asnumpy().ravel(), loop.solver.x, rtol=1e-6)


def cfg_for(images_, weights_file, **kw):
    base = dict(content_image=images_["content"], style_image=images_["style"], weights=weights_file,
                max_long_edge=64, output_dir=None, quiet=True)
    return Config(**dict(base, **kw))


def test_init_choices_give_the_right_start(images, weights_file, tmp_path):
    size = (40, 64)
    inputs = api.read_inputs(cfg_for(images, weights_file))
    content_np = images_np = imio.preprocess(inputs.content, size)
    start = api.start_image(cfg_for(images, weights_file, init="content"), inputs, size, content_np, CPU, None)
    np.testing.assert_allclose(start.asnumpy(), content_np, rtol=1e-6)
    style = api.start_image(cfg_for(images, weights_file, init="style"), inputs, size, content_np, CPU, None)
    np.testing.assert_allclose(style.asnumpy(), imio.preprocess(inputs.styles[0], size), rtol=1e-6)
    from_file = api.start_image(cfg_for(images, weights_file, init=images["cat"]), inputs, size, images_np, CPU, None)
    expected = imio.preprocess(imio.read_image(images["cat"]), size)
    np.testing.assert_allclose(from_file.asnumpy(), expected, rtol=1e-6)
    noise = api.start_image(cfg_for(images, weights_file), inputs, size, content_np, CPU, None).asnumpy()
    assert noise.shape == (1, 3) + size and np.abs(noise).max() <= 0.1
    with pytest.raises(NStyleError, match="--init"):
        cfg_for(images, weights_file, init=str(tmp_path / "missing.png")).validate()


def test_multires_levels_and_upsampled_start(images, weights_file):
    cfg = cfg_for(images, weights_file, multires=2, max_long_edge=128)
    assert api.level_sizes((400, 640, 3), cfg, "x") == [(20, 32), (40, 64), (80, 128)]
    with pytest.raises(NStyleError, match="--multires"):
        api.level_sizes((300, 300, 3), cfg_for(images, weights_file, multires=3), "x")
    coarse = mx.nd.array(np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 3, 2, 4), CPU)
    up = api.start_image(cfg, None, (4, 8), None, CPU, coarse).asnumpy()
    assert up.shape == (1, 3, 4, 8)
    assert up.min() >= coarse.asnumpy().min() and up.max() <= coarse.asnumpy().max()
    np.testing.assert_allclose(up.mean(axis=(2, 3)), coarse.asnumpy().mean(axis=(2, 3)), rtol=0.05)


def test_fast_setting_end_to_end(images, weights_file):
    seen = []
    result = api.run(cfg_for(images, weights_file, optimizer="lbfgs", init="content", multires=1,
                             max_num_epochs=5), on_image=lambda ep, img: seen.append(img.shape))
    assert result.image.shape == (64, 64, 3) and result.epochs == len(seen) <= 10
    assert seen[0] == (1, 3, 32, 32) and seen[-1] == (1, 3, 64, 64)
    adam = api.run(cfg_for(images, weights_file, optimizer="adam", init="content", max_num_epochs=3))
    assert adam.epochs == 3 and all(e.finite for e in adam.history)


def test_lbfgs_and_adam_stop_after_five_small_changes(images, weights_file):
    for optimizer in ("lbfgs", "adam"):
        result = api.run(cfg_for(images, weights_file, optimizer=optimizer, init="content", max_long_edge=32,
                                 max_num_epochs=20, stop_eps=10.0))
        assert result.stopped == "converged" and result.epochs == PATIENCE
