"""L-BFGS: the solver, the true objective it minimises (with the TV energy), its loop, and when it stops."""
import mxnet as mx
import numpy as np
import pytest

from nstyle import losses
from nstyle.lbfgs import LBFGS
from nstyle.loop import LBFGSLoop
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
