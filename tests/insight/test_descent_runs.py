"""descend / descend_many: trajectories against plain NumPy re-implementations of the update
rules (and torch.optim when installed), batching, divergence, steps-to-tolerance, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwise as gw
from gradwise.insight import FUNCTIONS, DescentError, DescentTypeError, Trajectory, descend, descend_many


def _rosen_grad(p: np.ndarray) -> np.ndarray:
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def _bowl_grad(p: np.ndarray) -> np.ndarray:
    return np.array([p[0], 50 * p[1]])


def _gd(grad, start, lr, steps):
    xs = [np.array(start, dtype=float)]
    for _ in range(steps):
        xs.append(xs[-1] - lr * grad(xs[-1]))
    return np.array(xs)


def _heavy_ball(grad, start, lr, steps, beta=0.9, nesterov=False):
    # PyTorch's SGD with momentum: b <- g on the first step, then b <- beta b + g
    x, b, xs = np.array(start, dtype=float), None, [np.array(start, dtype=float)]
    for _ in range(steps):
        g = grad(x)
        b = g.copy() if b is None else beta * b + g
        x = x - lr * (g + beta * b if nesterov else b)
        xs.append(x)
    return np.array(xs)


def _adam(grad, start, lr, steps, b1=0.9, b2=0.999, eps=1e-8):
    x, m, v, xs = np.array(start, dtype=float), 0.0, 0.0, [np.array(start, dtype=float)]
    for t in range(1, steps + 1):
        g = grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        xs.append(x)
    return np.array(xs)


def test_record_shapes_and_fields():
    t = descend("rosenbrock", (-1.5, 2.0), "sgd", lr=1e-3, steps=50)
    assert isinstance(t, Trajectory)
    assert t.positions.shape == (51, 2) and t.losses.shape == (51,) and t.grad_norms.shape == (51,)
    np.testing.assert_array_equal(t.positions[0], [-1.5, 2.0])
    assert t.function == "rosenbrock" and t.optimizer == "sgd" and t.lr == 1e-3 and t.steps == 50
    np.testing.assert_array_equal(t.final, t.positions[-1])
    assert t.final_loss == t.losses[-1] == FUNCTIONS["rosenbrock"].value(t.final)
    # the gradient norm at each recorded position, from an independent formula
    np.testing.assert_allclose(t.grad_norms, [np.linalg.norm(_rosen_grad(p)) for p in t.positions], rtol=1e-12)
    with pytest.raises(AttributeError):
        t.lr = 1.0
    with pytest.raises(ValueError):
        t.positions[0, 0] = 3.0                      # the arrays are read-only too


def test_sgd_matches_plain_gradient_descent():
    t = descend("rosenbrock", (-1.5, 2.0), "sgd", lr=4e-4, steps=300)
    np.testing.assert_allclose(t.positions, _gd(_rosen_grad, (-1.5, 2.0), 4e-4, 300), rtol=1e-10, atol=1e-12)
    t = descend("bowl", (-2.5, 1.0), "sgd", lr=0.03, steps=100)
    np.testing.assert_allclose(t.positions, _gd(_bowl_grad, (-2.5, 1.0), 0.03, 100), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_heavy_ball(nesterov):
    t = descend("rosenbrock", (-1.5, 2.0), "nesterov" if nesterov else "momentum", lr=4e-4, steps=200)
    ref = _heavy_ball(_rosen_grad, (-1.5, 2.0), 4e-4, 200, nesterov=nesterov)
    np.testing.assert_allclose(t.positions, ref, rtol=1e-9, atol=1e-12)


def test_adam_matches_plain_adam():
    t = descend("rosenbrock", (-1.5, 2.0), "adam", lr=0.02, steps=200)
    np.testing.assert_allclose(t.positions, _adam(_rosen_grad, (-1.5, 2.0), 0.02, 200), rtol=1e-9, atol=1e-12)


def test_optimizer_class_and_options_are_passed_through():
    a = descend("bowl", None, gw.optim.SGD, lr=0.01, steps=30, momentum=0.5)
    ref = _heavy_ball(_bowl_grad, FUNCTIONS["bowl"].start, 0.01, 30, beta=0.5)
    np.testing.assert_allclose(a.positions, ref, rtol=1e-12)
    assert a.optimizer == "SGD" and a.options == {"lr": 0.01, "momentum": 0.5}
    b = descend("bowl", None, "momentum", lr=0.01, steps=30, momentum=0.5)   # the caller's momentum wins
    np.testing.assert_allclose(b.positions, ref, rtol=1e-12)


def test_torch_optimizers_give_the_same_paths():
    torch = pytest.importorskip("torch")
    for name, make, lr in (("momentum", lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.9), 4e-4),
                           ("rmsprop", lambda p, lr: torch.optim.RMSprop([p], lr=lr), 1e-3),
                           ("adagrad", lambda p, lr: torch.optim.Adagrad([p], lr=lr), 0.1),
                           ("adam", lambda p, lr: torch.optim.Adam([p], lr=lr), 0.02)):
        p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        opt = make(p, lr)
        path = [p.detach().numpy().copy()]
        for _ in range(100):
            opt.zero_grad()
            loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
            loss.backward()
            opt.step()
            path.append(p.detach().numpy().copy())
        t = descend("rosenbrock", (-1.5, 2.0), name, lr=lr, steps=100)
        np.testing.assert_allclose(t.positions, np.array(path), rtol=1e-9, atol=1e-12, err_msg=name)


def test_reaches_the_known_minimum():
    t = descend("rosenbrock", (-1.5, 2.0), "adam", lr=0.04, steps=2500, tol=1e-3)
    assert t.at_minimum and t.reached_global and t.nearest_minimum.point == (1.0, 1.0)
    assert t.distance == pytest.approx(np.linalg.norm(t.final - [1.0, 1.0]))
    t = descend("himmelblau", (-1.0, -1.0), "sgd", lr=0.005, steps=400, tol=1e-6)
    assert t.nearest_minimum.point == pytest.approx((-3.779310253377747, -3.2831859912861696))
    assert t.distance < 1e-6
    # L-BFGS stops its inner iterations once the loss changes by less than 1e-9
    t = descend("rosenbrock", (-1.2, 1.0), "lbfgs", lr=1.0, steps=20)
    assert t.distance < 1e-4 and t.steps_to_tol <= 5


def test_steps_to_tol_is_when_the_run_settles():
    t = descend("bowl", (-2.5, 1.0), "sgd", lr=0.02, steps=600, tol=1e-3)
    # x shrinks by exactly (1 - 0.02) per step and y is zero after the first step
    expected = math.ceil(math.log(1e-3 / 2.5) / math.log(0.98))
    assert t.steps_to_tol == expected
    d = np.linalg.norm(t.positions, axis=1)
    assert d[t.steps_to_tol] <= 1e-3 < d[t.steps_to_tol - 1]
    # a run that enters the tolerance ball and leaves it again has not settled yet: lr just
    # below 2/50 makes y flip sign around 0 with slowly shrinking swings
    t = descend("bowl", (0.0, 0.5), "sgd", lr=0.0399, steps=400, tol=0.2)
    d = np.linalg.norm(t.positions, axis=1)
    assert t.steps_to_tol is not None and np.all(d[t.steps_to_tol:] <= 0.2) and d[t.steps_to_tol - 1] > 0.2
    assert descend("bowl", (-2.5, 1.0), "sgd", lr=1e-4, steps=50).steps_to_tol is None


def test_divergence_is_recorded_and_stops_the_record():
    t = descend("bowl", (-2.5, 1.0), "sgd", lr=0.05, steps=400)    # above 2 / 50: y grows by 1.5 per step
    assert t.diverged and t.steps_to_tol is None and not t.at_minimum and math.isinf(t.distance)
    last = int(np.flatnonzero(np.isfinite(t.losses))[-1])
    assert 0 < last < 400
    assert np.all(np.isnan(t.positions[last + 1:])) and np.all(np.isnan(t.losses[last + 1:]))
    np.testing.assert_array_equal(t.final, t.positions[last])
    # growth by |1 - 0.05 * 50| = 1.5 per step along y, until the record stops
    ratios = np.abs(t.positions[1:last + 1, 1] / t.positions[:last, 1])
    np.testing.assert_allclose(ratios, 1.5, rtol=1e-9)


def test_descend_many_equals_one_start_at_a_time():
    starts = np.array([[-4.0, 4.0], [1.0, 1.0], [0.5, -4.5], [4.5, 4.5]])
    for opt, lr in (("sgd", 0.003), ("momentum", 0.001), ("adam", 0.05), ("rmsprop", 0.01), ("adagrad", 0.5)):
        many = descend_many("himmelblau", starts, opt, lr, 150)
        for s, m in zip(starts, many):
            one = descend("himmelblau", s, opt, lr, 150)
            np.testing.assert_array_equal(m.positions, one.positions)
            np.testing.assert_array_equal(m.losses, one.losses)


def test_a_diverging_start_does_not_disturb_the_others():
    starts = [[-2.5, 1.0], [-2.5, 0.0]]              # the second has no steep component to blow up
    runs = descend_many("bowl", starts, "sgd", 0.05, 200)
    assert runs[0].diverged and not runs[1].diverged
    np.testing.assert_allclose(runs[1].positions, _gd(_bowl_grad, starts[1], 0.05, 200), rtol=1e-12)


def test_one_dimensional_function_and_flat_starts():
    runs = descend_many("curve", [-1.3, 0.4, 2.3], "sgd", 0.01, 800, tol=1e-3)
    assert [r.nearest_minimum.point for r in runs[:2]] == [(-1.0,), (1.0,)]
    assert runs[0].reached_global and runs[1].at_minimum and not runs[1].reached_global
    # from the right of the terrace at x = 2 descent creeps towards it and never gets past
    assert not runs[2].at_minimum and 2.0 < runs[2].final[0] < 2.1


def test_plain_callable():
    t = descend(lambda p: ((p - 3.0) ** 2).sum(), [0.0, 1.0, 2.0], "sgd", lr=0.1, steps=100)
    np.testing.assert_allclose(t.final, [3.0, 3.0, 3.0], atol=1e-8)
    assert t.nearest_minimum is None and not t.at_minimum


def test_bad_arguments():
    with pytest.raises(DescentError, match="unknown optimizer 'adamm'; choose one of sgd, momentum"):
        descend("bowl", None, "adamm")
    with pytest.raises(DescentTypeError, match="optimizer must be a name"):
        descend("bowl", None, 3)
    with pytest.raises(DescentError, match=r"starts for bowl must have shape \(n, 2\)"):
        descend("bowl", [1.0, 2.0, 3.0])
    with pytest.raises(DescentError, match="steps must be a positive integer, got 0"):
        descend("bowl", None, steps=0)
    with pytest.raises(DescentError, match="tol must be a positive number"):
        descend("bowl", None, tol=-1.0)
    with pytest.raises(DescentError, match="the start must be finite"):
        descend("bowl", [float("nan"), 0.0])
    with pytest.raises(gw.optim.OptimizerError, match="invalid learning rate"):
        descend("bowl", None, lr=-0.1)
    with pytest.raises(DescentTypeError, match="SGD"):
        descend("bowl", None, "sgd", lr=0.1, betas=(0.9, 0.99))
    with pytest.raises(DescentError, match="use descend_many for several starts"):
        descend("bowl", [[1.0, 2.0], [3.0, 4.0]])
