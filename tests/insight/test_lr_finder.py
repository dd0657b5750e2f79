"""The LR range test: suggestions inside the analytically stable range of linear regression,
the recorded schedule and smoothing against plain re-implementations, the suggestion rules
against brute force, and model and optimizer state restored bit for bit."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.data import DataLoader, TensorDataset
from gradwise.insight import LRFinderError, lr_find
from gradwise.insight.lr_finder import suggest


def _regression(seed: int, n: int = 128, scales=(1.0, 0.8, 0.5, 0.3)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(scales))) * np.array(scales)
    y = x @ rng.normal(size=(len(scales), 1)) + 0.5 + 0.1 * rng.normal(size=(n, 1))
    # MSE (1/N)||A theta - y||^2 with A = [X, 1] (weights and bias): Hessian (2/N) A^T A
    a = np.hstack([x, np.ones((n, 1))])
    lam_max = np.linalg.eigvalsh(2.0 / n * a.T @ a)[-1]
    return x, y, 2.0 / lam_max


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suggestions_fall_inside_the_stable_range_of_linear_regression(seed):
    x, y, stable = _regression(seed)
    gen = gw.Generator().manual_seed(seed)
    model = nn.Linear(x.shape[1], 1, dtype=gw.float64, generator=gen)
    loader = DataLoader(TensorDataset(gw.tensor(x), gw.tensor(y)), batch_size=len(y))   # full batch: exact GD
    result = lr_find(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1), loader, start_lr=1e-4,
                     end_lr=10.0, num_iter=100)
    assert result.diverged
    # gradient descent on a quadratic is stable exactly for lr < 2 / lambda_max: the blow-up happens beyond it
    assert result.lrs[-1] > stable
    for s in result.suggestions:
        assert stable / 100 < s.lr < stable, (s.name, s.lr, stable)
        assert s.reason


def test_schedule_and_smoothing_match_a_plain_reimplementation():
    x, y, _ = _regression(3)
    model = nn.Linear(4, 1, dtype=gw.float64, generator=gw.Generator().manual_seed(0))
    loader = DataLoader(TensorDataset(gw.tensor(x), gw.tensor(y)), batch_size=32, shuffle=True,
                        generator=gw.Generator().manual_seed(1))
    start, end, n, beta = 1e-5, 3.0, 60, 0.9
    r = lr_find(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=1.0), loader, start_lr=start, end_lr=end,
                num_iter=n, smooth=beta)
    k = len(r.lrs)
    np.testing.assert_allclose(r.lrs, [start * (end / start) ** (i / (n - 1)) for i in range(k)], rtol=1e-12)
    avg, expected = 0.0, []
    for i, loss in enumerate(r.losses):
        avg = beta * avg + (1 - beta) * loss
        expected.append(avg / (1 - beta ** (i + 1)))
    np.testing.assert_allclose(r.smoothed, expected, rtol=1e-12)
    if r.diverged:
        assert r.smoothed[-1] > 4 * r.best_loss and (r.smoothed[:-1] <= 4 * r.best_loss).all()
    else:
        assert k == n


def test_steepest_and_minimum_match_their_definitions():
    rng = np.random.default_rng(0)
    lrs = np.logspace(-5, 1, 50)
    loss = 2 - np.tanh(np.log10(lrs) + 2) + 0.01 * rng.normal(size=50) + np.exp(np.log10(lrs) * 3)
    steep, valley, minimum = suggest(lrs, loss)
    slope = np.gradient(loss, np.log10(lrs))
    assert steep.lr == lrs[np.argmin(slope)] and steep.index == int(np.argmin(slope))
    assert minimum.lr == pytest.approx(lrs[np.argmin(loss)] / 10, rel=1e-12)
    assert minimum.name == "minimum/10" and "lowest" in minimum.reason
    assert lrs[0] <= valley.lr <= lrs[np.argmin(loss)]


def _longest_decreasing_brute(y):
    best = (1, 0)
    for r in range(len(y), 0, -1):
        for idx in itertools.combinations(range(len(y)), r):
            if all(y[a] > y[b] for a, b in zip(idx, idx[1:])):
                return r, idx[-1]
    return best


def _longest_falling_run(y, x, share=0.1):
    """The longest contiguous run (first on ties) where the slope is at most share x the steepest one."""
    slope = np.gradient(y, x)
    falling = slope <= share * slope.min()
    runs, i = [], 0
    while i < len(y):
        if falling[i]:
            j = i
            while j + 1 < len(y) and falling[j + 1]:
                j += 1
            runs.append((i, j))
            i = j + 1
        else:
            i += 1
    return max(runs, key=lambda r: (r[1] - r[0], -r[0]))


def test_valley_follows_the_longest_decreasing_run_where_the_loss_falls():
    rng = np.random.default_rng(5)
    for _ in range(20):
        y = rng.normal(size=10).cumsum()
        lrs = np.logspace(-3, 0, 10)
        a, b = _longest_falling_run(y, np.log10(lrs))
        length, end = _longest_decreasing_brute(y[a:b + 1])
        start, end = end - length + a, end + a
        third = (end - start) / 3
        _, valley, _ = suggest(lrs, y)
        assert valley.index == min(max(start + int(third) + int(third / 2), a), b)


def test_model_and_optimizer_state_are_bit_identical_afterwards():
    gen = gw.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8, generator=gen), nn.Tanh(), nn.Linear(8, 3, generator=gen))
    x, y = gw.randn(64, 4, generator=gen), gw.randint(0, 3, (64,), generator=gen)
    opt = gw.optim.Adam([{"params": model[0].parameters(), "lr": 1e-3},
                         {"params": model[2].parameters(), "lr": 5e-3}], weight_decay=1e-4)
    for _ in range(3):                          # optimizer state that the test must not disturb
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        opt.step()
    model.eval()
    before = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    state = {i: {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in st.items()}
             for i, st in enumerate(opt.state[p] for g in opt.param_groups for p in g["params"])}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=gen)
    lr_find(model, nn.CrossEntropyLoss(), opt, loader, num_iter=40)
    for n, p in model.named_parameters():
        assert p.detach().numpy().dtype == before[n].dtype and np.array_equal(p.detach().numpy(), before[n]), n
        assert np.array_equal(p.grad.numpy(), grads[n]), n
    assert not model.training
    after = [opt.state[p] for g in opt.param_groups for p in g["params"]]
    for i, st in enumerate(after):
        assert set(st) == set(state[i])
        for k, v in st.items():
            if isinstance(v, np.ndarray):
                assert v.dtype == state[i][k].dtype and v.shape == state[i][k].shape and np.array_equal(v, state[i][k])
            else:
                assert type(v) is type(state[i][k]) and v == state[i][k]
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups


def test_fresh_optimizer_gets_its_empty_state_back():
    model = nn.Linear(3, 1, generator=gw.Generator().manual_seed(0))
    opt = gw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = gw.randn(32, 3, generator=gw.Generator().manual_seed(1))
    lr_find(model, nn.MSELoss(), opt, DataLoader(TensorDataset(x, x[:, :1]), batch_size=8), num_iter=20)
    assert opt.state == {} and opt.param_groups[0]["lr"] == 0.1
    assert all(p.grad is None for p in model.parameters())


def test_non_finite_loss_stops_the_test_and_suggestions_use_the_finite_part():
    x, y, stable = _regression(4)
    model = nn.Linear(4, 1, generator=gw.Generator().manual_seed(0))            # float32: overflows to inf
    loader = DataLoader(TensorDataset(gw.tensor(x * 100).float(), gw.tensor(y).float()), batch_size=len(y))
    with np.errstate(all="ignore"):
        r = lr_find(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1), loader, start_lr=1e-8,
                    end_lr=1e3, num_iter=100, diverge_factor=1e300)
    assert r.diverged and "the loss became" in r.stop_reason
    assert not math.isfinite(r.losses[-1]) and np.isfinite(r.losses[:-1]).all()
    assert all(math.isfinite(s.loss) and s.index < len(r.lrs) - 1 for s in r.suggestions)
    assert all(s.lr < stable / 100 ** 2 for s in r.suggestions)      # x scaled by 100: Hessian by 10^4


@pytest.mark.parametrize("kwargs, match", [
    ({"start_lr": 0.0}, "start_lr must be a positive"),
    ({"start_lr": 1.0, "end_lr": 0.5}, "end_lr must be greater than start_lr"),
    ({"num_iter": 2}, "num_iter must be an int >= 5"),
    ({"smooth": 1.0}, r"smooth must be in \[0, 1\)"),
    ({"diverge_factor": math.inf}, "diverge_factor must be a positive finite"),
])
def test_bad_options_are_named(kwargs, match):
    model = nn.Linear(2, 1)
    x = gw.randn(8, 2)
    with pytest.raises(LRFinderError, match=match):
        lr_find(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1),
                DataLoader(TensorDataset(x, x[:, :1]), batch_size=4), **kwargs)
