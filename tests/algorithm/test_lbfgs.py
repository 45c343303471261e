"""L-BFGS: the solver (SciPy's L-BFGS-B, one iteration per step), the true objective (with the TV energy), the loop."""
import gc
import threading

import mxnet as mx
import numpy as np
import pytest

from helpers import central_differences
from nstyle.algorithm import losses
from nstyle.algorithm.lbfgs import LBFGSB
from nstyle.algorithm.loop import LBFGSLoop
from nstyle.algorithm.lossnet import LossNet
from nstyle.algorithm.objective import Objective
from nstyle.files import images

CPU = mx.cpu()


def quadratic(seed=0, n=30):
    rng = np.random.RandomState(seed)
    m = rng.standard_normal((n, n))
    a = m @ m.T + 0.5 * np.eye(n)
    b = rng.standard_normal(n)
    return a, b, lambda x: (0.5 * x @ a @ x - b @ x, a @ x - b)


def test_lbfgsb_finds_the_minimum_of_a_convex_quadratic():
    a, b, fun = quadratic()
    solver = LBFGSB(fun, np.zeros(30), history=8)
    values = [solver.step() for _ in range(150)]  # condition number ~170, memory 8: about 100 iterations
    np.testing.assert_allclose(solver.x, np.linalg.solve(a, b), atol=1e-6)
    assert all(later <= earlier for earlier, later in zip(values, values[1:]))


def test_lbfgsb_keeps_every_iterate_in_the_box_and_finds_the_constrained_minimum():
    """``0.5 |x - c|^2`` with ``c`` partly outside ``[-1, 1]``: the answer is ``c`` clipped into the box."""
    c = np.array([3.0, -0.5, -7.0, 0.25, 1.5])
    solver = LBFGSB(lambda x: (0.5 * ((x - c) ** 2).sum(), x - c), np.zeros(5), history=3,
                    bounds=(-np.ones(5), np.ones(5)))
    for _ in range(10):
        solver.step()
        assert solver.x.min() >= -1 and solver.x.max() <= 1
    np.testing.assert_allclose(solver.x, np.clip(c, -1, 1), atol=1e-8)


def test_lbfgsb_state_round_trip_continues_from_the_saved_point():
    a, b, fun = quadratic(1, 12)
    solver = LBFGSB(fun, np.zeros(12), history=4)
    for _ in range(3):
        solver.step()
    other = LBFGSB(fun, np.ones(12), history=4)
    other.load_state(solver.state_dict())
    assert np.array_equal(other.x, solver.x) and other.f == solver.f
    assert other.step() < solver.f  # from the saved point, not from its own start
    with pytest.raises(ValueError, match="shape"):
        LBFGSB(fun, np.zeros(5), history=4).load_state(solver.state_dict())


def test_lbfgsb_errors_reach_the_caller_and_a_dropped_solver_ends_its_thread():
    calls = []

    def fun(x):
        calls.append(1)
        if len(calls) > 3:
            raise ValueError("objective failed")
        return float((x ** 2).sum()), 2 * x
    solver = LBFGSB(fun, np.arange(4.0), history=3)
    solver.step()
    with pytest.raises(ValueError, match="objective failed"):
        for _ in range(5):
            solver.step()
    solver = LBFGSB(lambda x: (float((x ** 2).sum()), 2 * x), np.arange(4.0), history=3)
    solver.step()
    worker = next(t for t in threading.enumerate() if t.name == "nstyle-lbfgsb")
    del solver
    gc.collect()
    worker.join(timeout=10)
    assert not worker.is_alive()


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
    for idx, numeric in central_differences(objective.value, x, seed=4, count=6, step=0.05):
        assert numeric == pytest.approx(g[idx], rel=3e-2, abs=1e-3 * np.abs(g).max())


def test_lbfgs_loop_decreases_the_real_objective(problem):
    ex, head, size = problem
    objective = Objective(ex, head, 0.01, CPU)
    img = mx.nd.array(np.random.RandomState(5).uniform(-20, 20, (1, 3) + size), CPU)
    lower, upper = images.pixel_bounds(img.shape)
    loop = LBFGSLoop(objective, img, history=5, bounds=(lower, upper))
    values, evaluations = [objective.value(img.asnumpy())], 0
    for _ in range(8):
        ep = loop.step()
        values.append(loop.solver.f)
        evaluations += ep.evaluations
        assert ep.finite and ep.evaluations >= 1
        x = img.asnumpy().astype(np.float64)
        assert (x >= lower - 1e-4).all() and (x <= upper + 1e-4).all()  # pixels stay in 0..255
    assert all(later <= earlier for earlier, later in zip(values, values[1:]))
    assert values[-1] < 0.5 * values[0]
    assert evaluations == objective.evaluations
    np.testing.assert_allclose(img.asnumpy().ravel(), loop.solver.x, rtol=1e-6)


@pytest.fixture(scope="module")
def photo_problem(synthetic_params):
    """The classic objective on a 48x64 photo and painting (scikit-image's samples), started from the photo."""
    from skimage import data

    size = (48, 64)
    net = LossNet(synthetic_params, size, CPU)
    content = images.preprocess(data.astronaut(), size)
    ex = net.bind_losses(net.gram_targets(images.preprocess(data.coffee(), size)), net.content_targets(content))
    head = losses.head_gradients(net.style_shapes, 1.0, 10.0, CPU)
    return Objective(ex, head, 1.0, CPU), content


def test_the_polyak_start_makes_the_first_iteration_cost_two_evaluations(photo_problem):
    """Without it the first iteration tries the whole gradient as its step, far outside the pixel box, and backtracks
    (the start's evaluation + 2 or more); with it the first trial step is accepted (the start's evaluation + 1)."""
    objective, content = photo_problem
    counts = {}
    for polyak_start in (False, True):
        solver = LBFGSB(objective.value_and_grad, content, history=10, bounds=images.pixel_bounds(content.shape),
                        polyak_start=polyak_start)
        before = objective.evaluations
        solver.step()
        counts[polyak_start] = objective.evaluations - before
    assert counts[False] >= 3 and counts[True] == 2


def test_the_polyak_start_reaches_a_lower_objective_for_the_same_evaluations(photo_problem):
    objective, content = photo_problem

    def after(evaluations: int, polyak_start: bool) -> float:
        solver = LBFGSB(objective.value_and_grad, content, history=10, bounds=images.pixel_bounds(content.shape),
                        polyak_start=polyak_start)
        start = objective.evaluations
        while objective.evaluations - start < evaluations:
            solver.step()
        assert objective.evaluations - start <= evaluations + 3
        return min(solver.f, objective.value(solver.x))

    for budget in (4, 8):
        assert after(budget, True) <= after(budget, False)


def test_the_polyak_scale_is_a_power_of_two_and_one_without_a_usable_gradient():
    from nstyle.algorithm.lbfgs import polyak_scale

    g = np.full(4, 2.0)  # |g|^2 = 16
    assert polyak_scale(64.0, g, None) == 16.0  # unboxed: step length f / |g| = 16
    boxed = LBFGSB(lambda x: (0.0, x), np.zeros(4), bounds=(-np.ones(4), np.ones(4))).bounds
    assert polyak_scale(64.0, g, boxed) == 2.0  # boxed: c^2 = f / |g|^2 = 4
    assert polyak_scale(50.0, g, boxed) == 2.0  # sqrt(50 / 16) = 1.77, rounded to a power of two
    assert polyak_scale(1.0, np.zeros(4), None) == 1.0 and polyak_scale(float("nan"), g, None) == 1.0
