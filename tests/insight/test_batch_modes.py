"""Batch-mode comparison: the mini-batch gradient variance falls as 1/B (against per-sample
gradients computed in NumPy), full-batch descent equals plain gradient descent, every mode
starts from the same weights and the model is left as it was."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight import BatchModeError, compare_batch_modes, gradient_variance


def _data(n=120, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = x @ rng.normal(size=(d, 1)) + 0.3 * rng.normal(size=(n, 1))
    return x, y


def _linear(d, seed=0):
    return nn.Linear(d, 1, dtype=gw.float64, generator=gw.Generator().manual_seed(seed))


def _per_sample_grads(model, x, y):
    """MSE of a linear model, one sample: L_i = (x_i w + b - y_i)^2, grad = 2 r_i [x_i, 1]."""
    w, b = model.weight.detach().numpy().ravel(), model.bias.detach().numpy()
    r = x @ w + b - y.ravel()
    return 2 * r[:, None] * np.hstack([x, np.ones((len(x), 1))])           # (N, d + 1): weight then bias


def test_gradient_variance_falls_as_one_over_batch_size():
    x, y = _data()
    model = _linear(3)
    g_i = _per_sample_grads(model, x, y)
    g = g_i.mean(axis=0)
    sigma2 = np.mean(np.sum((g_i - g) ** 2, axis=1))
    n = len(y)
    gv = gradient_variance(model, nn.MSELoss(), (gw.tensor(x), gw.tensor(y)), [1, 2, 4, 8, 16], num_batches=400,
                           generator=gw.Generator().manual_seed(1))
    assert gv.n == n and gv.full_grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-10)
    assert gv.per_sample_variance == pytest.approx(sigma2, rel=1e-10)
    exact = sigma2 / gv.batch_sizes * (n - gv.batch_sizes) / (n - 1)
    np.testing.assert_allclose(gv.predicted, exact, rtol=1e-10)
    # Monte Carlo estimates: within a loose factor of the closed form, and B x variance about constant
    ratio = gv.variance / exact
    assert ((ratio > 0.75) & (ratio < 1.33)).all(), ratio
    scaled = gv.batch_sizes * gv.variance * (n - 1) / (n - gv.batch_sizes)   # sigma^2 for every B, in theory
    assert scaled.max() / scaled.min() < 1.6
    assert -1.15 < gv.slope < -0.85
    assert (gv.std_error > 0).all() and (gv.std_error < gv.variance).all()


def test_gradient_variance_restores_the_model_and_is_zero_at_full_batch():
    x, y = _data(n=40)
    model = _linear(3)
    model.eval()
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    gv = gradient_variance(model, nn.MSELoss(), (x, y), [1, 40], num_batches=5)
    assert gv.variance[-1] == pytest.approx(0, abs=1e-20) and gv.predicted[-1] == 0
    assert all(np.array_equal(v.detach().numpy(), before[k]) for k, v in model.state_dict().items())
    assert not model.training and all(p.grad is None for p in model.parameters())


def test_full_batch_mode_is_plain_gradient_descent_and_modes_share_the_start():
    x, y = _data(n=64)
    model = _linear(3, seed=2)
    w0, b0 = model.weight.detach().numpy().copy(), model.bias.detach().numpy().copy()
    lr, epochs = 0.1, 4
    cmp = compare_batch_modes(model, nn.MSELoss(), (x, y), epochs=epochs, batch_size=16, lr=lr,
                              variance_batch_sizes=[1, 4], variance_batches=10,
                              generator=gw.Generator().manual_seed(0))
    # the model is back at its initial weights
    assert np.array_equal(model.weight.detach().numpy(), w0) and np.array_equal(model.bias.detach().numpy(), b0)
    # gradient descent by hand: theta <- theta - lr * (2/N) A^T (A theta - y)
    a = np.hstack([x, np.ones((64, 1))])
    theta = np.concatenate([w0.ravel(), b0])
    losses = [np.mean((a @ theta - y.ravel()) ** 2)]
    for _ in range(epochs):
        theta = theta - lr * 2 / 64 * a.T @ (a @ theta - y.ravel())
        losses.append(np.mean((a @ theta - y.ravel()) ** 2))
    full = cmp.runs["full"]
    np.testing.assert_allclose(full.train_loss, losses, rtol=1e-10)
    for mode, updates in (("full", 1), ("sgd", 64), ("minibatch", 4)):
        run = cmp.runs[mode]
        assert run.updates_per_epoch == updates and run.lr == lr
        assert run.train_loss[0] == full.train_loss[0]                     # same initial weights
        assert run.samples_seen.tolist() == [64 * e for e in range(epochs + 1)]
        assert run.epoch.tolist() == list(range(epochs + 1))
        assert len(run.steps["step"]) == epochs * updates and len(run.epochs["loss"]) == epochs
        assert run.wall_time[0] == 0 and (np.diff(run.wall_time) >= 0).all()
    # per unit of work the noisy small-batch updates get further on this easy problem
    assert cmp.runs["sgd"].train_loss[-1] < full.train_loss[-1]
    assert "sgd" in cmp.to_text() and "B x measured" in cmp.to_text()


def test_modes_are_reproducible_from_the_generator():
    x, y = _data(n=32)
    kwargs = dict(epochs=2, modes=("minibatch",), batch_size=8, lr={"minibatch": 0.05},
                  variance_batch_sizes=[1, 2], variance_batches=5)
    a = compare_batch_modes(_linear(3), nn.MSELoss(), (x, y), generator=gw.Generator().manual_seed(7), **kwargs)
    b = compare_batch_modes(_linear(3), nn.MSELoss(), (x, y), generator=gw.Generator().manual_seed(7), **kwargs)
    assert list(a.runs) == ["minibatch"]
    np.testing.assert_array_equal(a.runs["minibatch"].train_loss, b.runs["minibatch"].train_loss)
    np.testing.assert_array_equal(a.variance.variance, b.variance.variance)


@pytest.mark.parametrize("kwargs, match", [
    ({"modes": ("full", "online")}, r"modes must be a non-empty subset of \['full', 'sgd', 'minibatch'\]"),
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"lr": {"full": 0.1}}, "lr for mode 'sgd' must be a positive finite number"),
    ({"lr": -1.0}, "lr for mode 'full'"),
])
def test_bad_options_are_named(kwargs, match):
    x, y = _data(n=16)
    with pytest.raises(BatchModeError, match=match):
        compare_batch_modes(_linear(3), nn.MSELoss(), (x, y), **kwargs)


def test_bad_variance_options_are_named():
    x, y = _data(n=16)
    with pytest.raises(BatchModeError, match=r"batch sizes must be integers in \[1, 16\]"):
        gradient_variance(_linear(3), nn.MSELoss(), (x, y), [0, 4])
    with pytest.raises(BatchModeError, match="num_batches must be an int >= 2"):
        gradient_variance(_linear(3), nn.MSELoss(), (x, y), [1], num_batches=1)


def test_sigma_squared_from_a_random_subset_is_close_on_large_sets():
    x, y = _data(n=400, seed=3)
    model = _linear(3)
    g_i = _per_sample_grads(model, x, y)
    sigma2 = np.mean(np.sum((g_i - g_i.mean(axis=0)) ** 2, axis=1))
    gv = gradient_variance(model, nn.MSELoss(), (x, y), [1, 8], num_batches=5, per_sample_limit=200,
                           generator=gw.Generator().manual_seed(0))
    assert gv.per_sample_variance != pytest.approx(sigma2, rel=1e-9)        # an estimate, not every sample
    assert gv.per_sample_variance == pytest.approx(sigma2, rel=0.25)
