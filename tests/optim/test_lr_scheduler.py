"""LR schedulers: 100-step sequences against closed forms and plain re-implementations, against
torch.optim.lr_scheduler (when installed), state-dict round trips through gradwise.save, argument errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gradwise as gw
from gradwise.optim import lr_scheduler as gls

STEPS = 100


# ----------------------------------------------------------------- harness
def make_optimizer(lib, lrs, kind="sgd"):
    """An optimizer of ``lib`` (gradwise or torch) with one one-element parameter per group."""
    if lib is gw:
        params = [gw.nn.Parameter(gw.zeros(1)) for _ in lrs]
    else:
        params = [lib.zeros(1, requires_grad=True) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if kind == "sgd":
        return lib.optim.SGD(groups, lr=lrs[0], momentum=0.9)
    if kind == "adam":
        return lib.optim.Adam(groups, lr=lrs[0])
    return lib.optim.Adagrad(groups, lr=lrs[0])


def record(opt, sched):
    lrs = [float(g["lr"]) for g in opt.param_groups]
    assert [float(v) for v in sched.get_last_lr()] == lrs
    moms = [float(g["betas"][0]) if "betas" in g else float(g.get("momentum", 0.0)) for g in opt.param_groups]
    return lrs + moms


def trajectory(lib, build, lrs=(0.1,), kind="sgd", steps=STEPS, metrics=None):
    """Rows ``[lr per group..., momentum per group...]`` after construction and after each step."""
    opt = make_optimizer(lib, lrs, kind)
    sched = build(gls if lib is gw else lib.optim.lr_scheduler, opt)
    rows = [record(opt, sched)]
    for t in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
        rows.append(record(opt, sched))
    return np.array(rows)


def lr_columns(rows, n_groups):
    return rows[:, :n_groups]


# A metric with plateaus and small noise, for ReduceLROnPlateau.
METRICS = [1.0 / (1 + t // 15) + 0.002 * ((t * 37) % 5) for t in range(STEPS)]


# ------------------------------------------------------ oracles (closed forms)
def cosine(t, lr0, period, eta_min=0.0):
    return eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * t / period)) / 2


def sgdr(t, lr0, T_0, T_mult=1, eta_min=0.0):
    # walk the restarts: the i-th period lasts T_0 * T_mult**i epochs
    start, period = 0, T_0
    while t >= start + period:
        start += period
        period *= T_mult
    return cosine(t - start, lr0, period, eta_min)


def triangle(t, up, down):
    pos = t % (up + down)
    return pos / up if pos <= up else (up + down - pos) / down


def one_cycle(t, top, total, pct=0.3, div=25.0, final_div=1e4, anneal="cos", three_phase=False, lo_m=0.85,
              hi_m=0.95):
    """(lr, momentum) of the 1cycle policy at step t, phase by phase."""
    def ease(a, b, p):
        return b + (a - b) * (1 + math.cos(math.pi * p)) / 2 if anneal == "cos" else a + (b - a) * p

    low = top / div
    final = low / final_div
    peak = pct * total - 1
    if t <= peak:
        return ease(low, top, t / peak), ease(hi_m, lo_m, t / peak)
    if three_phase:
        back = 2 * pct * total - 2
        if t <= back:
            p = (t - peak) / (back - peak)
            return ease(top, low, p), ease(lo_m, hi_m, p)
        p = (t - back) / (total - 1 - back)
        return ease(low, final, p), hi_m
    p = (t - peak) / (total - 1 - peak)
    return ease(top, final, p), ease(lo_m, hi_m, p)


def plateau_reference(metrics, lrs, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                      cooldown=0, min_lr=0.0, eps=1e-8):
    """Plain re-implementation of ReduceLROnPlateau's documented rule."""
    lrs = list(lrs)
    mins = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(lrs)
    sign = 1 if mode == "min" else -1
    best, bad, cool, out = None, 0, 0, [list(lrs)]
    for m in metrics:
        if best is None:
            improved = True
        elif threshold_mode == "rel":
            improved = sign * m < sign * best * (1 - sign * threshold)
        else:
            improved = sign * m < sign * best - threshold
        if improved:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            for i, lr in enumerate(lrs):
                new = max(lr * factor, mins[i])
                if lr - new > eps:
                    lrs[i] = new
            cool, bad = cooldown, 0
        out.append(list(lrs))
    return np.array(out)


def n_le(milestones, t):
    return sum(m <= t for m in milestones)


def linear_factor(t, start, end, total):
    return start + (end - start) * min(t, total) / total


# (id, build, group lrs, optimizer kind, oracle(t, lr0, group index) -> lr)
ORACLE_CASES = [
    ("lambda", lambda m, o: m.LambdaLR(o, lambda t: 0.95 ** t), (0.1,), "sgd",
     lambda t, lr, i: lr * 0.95 ** t),
    ("lambda-per-group", lambda m, o: m.LambdaLR(o, [lambda t: 1 / (1 + t), lambda t: 1 + math.sin(t)]),
     (0.1, 0.02), "sgd", lambda t, lr, i: lr * (1 / (1 + t) if i == 0 else 1 + math.sin(t))),
    ("multiplicative", lambda m, o: m.MultiplicativeLR(o, [lambda t: 0.97, lambda t: 0.5 if t % 10 == 0 else 1.0]),
     (0.1, 0.3), "sgd", lambda t, lr, i: lr * (0.97 ** t if i == 0 else 0.5 ** (t // 10))),
    ("step", lambda m, o: m.StepLR(o, step_size=7, gamma=0.5), (0.1, 0.01), "sgd",
     lambda t, lr, i: lr * 0.5 ** (t // 7)),
    ("multistep", lambda m, o: m.MultiStepLR(o, milestones=[10, 25, 25, 60], gamma=0.3), (0.1,), "sgd",
     lambda t, lr, i: lr * 0.3 ** n_le([10, 25, 25, 60], t)),
    ("constant", lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=10), (0.1, 0.05), "sgd",
     lambda t, lr, i: lr * (0.25 if t < 10 else 1.0)),
    ("linear-warmup", lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=20), (0.1,), "sgd",
     lambda t, lr, i: lr * linear_factor(t, 0.1, 1.0, 20)),
    ("linear-decay", lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=150), (0.1, 1.0),
     "adam", lambda t, lr, i: lr * linear_factor(t, 1.0, 0.2, 150)),
    ("exponential", lambda m, o: m.ExponentialLR(o, gamma=0.96), (0.1, 0.2), "sgd",
     lambda t, lr, i: lr * 0.96 ** t),
    ("polynomial", lambda m, o: m.PolynomialLR(o, total_iters=40, power=2.0), (0.1,), "sgd",
     lambda t, lr, i: lr * (1 - min(t, 40) / 40) ** 2.0),
    ("polynomial-sqrt", lambda m, o: m.PolynomialLR(o, total_iters=150, power=0.5), (0.1, 0.3), "sgd",
     lambda t, lr, i: lr * (1 - t / 150) ** 0.5),
    ("cosine", lambda m, o: m.CosineAnnealingLR(o, T_max=30), (0.1,), "sgd",  # runs past T_max: periodic
     lambda t, lr, i: cosine(t, lr, 30)),
    ("cosine-eta-min", lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=1e-3), (0.1, 0.05), "sgd",
     lambda t, lr, i: cosine(t, lr, 7, 1e-3)),
    ("warm-restarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=10), (0.1,), "sgd",
     lambda t, lr, i: sgdr(t, lr, 10)),
    ("warm-restarts-mult", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3),
     (0.1, 0.02), "sgd", lambda t, lr, i: sgdr(t, lr, 3, 2, 1e-3)),
    ("cyclic-triangular", lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5), (0.1,), "sgd",
     lambda t, lr, i: 0.01 + 0.09 * triangle(t, 5, 5)),
    ("cyclic-triangular2", lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.02], step_size_up=4,
                                                   step_size_down=6, mode="triangular2"), (0.1, 0.1), "adam",
     lambda t, lr, i: [0.01, 0.001][i] + [0.09, 0.019][i] * triangle(t, 4, 6) / 2 ** (t // 10)),
    ("cyclic-exp-range", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=7, mode="exp_range", gamma=0.99),
     (0.1,), "sgd", lambda t, lr, i: 0.01 + 0.09 * triangle(t, 7, 7) * 0.99 ** t),
    ("cyclic-scale-fn", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=9,
                                                scale_fn=lambda x: 1 / (1 + x), scale_mode="cycle",
                                                cycle_momentum=False), (0.1,), "adagrad",
     lambda t, lr, i: 0.01 + 0.09 * triangle(t, 3, 9) / (2 + t // 12)),
    ("one-cycle", lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=100), (0.1,), "sgd",
     lambda t, lr, i: one_cycle(t, 1.0, 100)[0]),
    ("one-cycle-linear-3phase", lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.1], epochs=10, steps_per_epoch=10,
                                                          pct_start=0.25, anneal_strategy="linear", div_factor=10.0,
                                                          final_div_factor=100.0, three_phase=True),
     (0.1, 0.1), "adam",
     lambda t, lr, i: one_cycle(t, [1.0, 0.1][i], 100, 0.25, 10.0, 100.0, "linear", True)[0]),
    ("sequential", lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
                                                   m.ExponentialLR(o, gamma=0.95)], milestones=[5]),
     (0.1, 0.2), "sgd", lambda t, lr, i: lr * (linear_factor(t, 0.1, 1.0, 5) if t < 5 else 0.95 ** (t - 5))),
    ("sequential-3", lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.5, total_iters=3),
                                                     m.CosineAnnealingLR(o, T_max=20, eta_min=1e-3),
                                                     m.StepLR(o, step_size=10, gamma=0.5)], milestones=[10, 40]),
     (0.1,), "sgd",
     lambda t, lr, i: (lr * (0.5 if t < 3 else 1.0) if t < 10 else
                       cosine(t - 10, lr, 20, 1e-3) if t < 40 else lr * 0.5 ** ((t - 40) // 10))),
    ("chained", lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=10),
                                                 m.ExponentialLR(o, gamma=0.97)]), (0.1,), "sgd",
     lambda t, lr, i: lr * 0.97 ** t * (0.5 if t < 10 else 1.0)),
    ("chained-3", lambda m, o: m.ChainedScheduler([m.LinearLR(o, start_factor=0.2, total_iters=10),
                                                   m.CosineAnnealingLR(o, T_max=120),
                                                   m.MultiStepLR(o, milestones=[20, 50], gamma=0.5)]),
     (0.1, 0.4), "sgd",
     lambda t, lr, i: lr * linear_factor(t, 0.2, 1.0, 10) * cosine(t, 1.0, 120) * 0.5 ** n_le([20, 50], t)),
]


@pytest.mark.parametrize("name, build, lrs, kind, oracle", ORACLE_CASES, ids=[c[0] for c in ORACLE_CASES])
def test_sequence_matches_closed_form(name, build, lrs, kind, oracle):
    got = lr_columns(trajectory(gw, build, lrs, kind), len(lrs))
    want = np.array([[oracle(t, lr, i) for i, lr in enumerate(lrs)] for t in range(STEPS + 1)])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_cyclic_momentum_moves_against_lr():
    rows = trajectory(gw, lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, base_momentum=0.8,
                                                  max_momentum=0.9), (0.1,), "sgd")
    h = np.array([triangle(t, 5, 5) for t in range(STEPS + 1)])
    np.testing.assert_allclose(rows[:, 1], 0.9 - 0.1 * h, rtol=1e-12)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_one_cycle_momentum(kind):
    rows = trajectory(gw, lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=100, pct_start=0.4), (0.1,), kind)
    want = np.array([one_cycle(t, 0.5, 100, pct=0.4) for t in range(STEPS + 1)])
    np.testing.assert_allclose(rows, want, rtol=1e-12)


def test_cycling_betas_keeps_beta2():
    opt = make_optimizer(gw, (0.1,), "adam")
    opt.param_groups[0]["betas"] = (0.9, 0.98)
    sched = gls.CyclicLR(opt, 0.01, 0.1, step_size_up=3)
    for _ in range(4):
        opt.step()
        sched.step()
        assert opt.param_groups[0]["betas"][1] == 0.98
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.9 - 0.1 * triangle(4, 3, 3))


PLATEAU_CASES = [
    ({}, (0.1,), METRICS),
    (dict(factor=0.5, patience=2, cooldown=3), (0.1, 0.01), METRICS),
    (dict(mode="max", factor=0.5, patience=1, threshold=0.01, threshold_mode="abs", min_lr=[1e-3, 1e-4]),
     (0.1, 0.01), [-m for m in METRICS]),
    (dict(patience=0, factor=0.7, eps=1e-3, min_lr=0.004), (0.1,), METRICS),
    (dict(mode="max", threshold=0.05, patience=3), (0.1,), [math.sin(t / 7) for t in range(STEPS)]),
]


@pytest.mark.parametrize("kwargs, lrs, metrics", PLATEAU_CASES)
def test_plateau_matches_reference(kwargs, lrs, metrics):
    got = lr_columns(trajectory(gw, lambda m, o: m.ReduceLROnPlateau(o, **kwargs), lrs, metrics=metrics), len(lrs))
    np.testing.assert_allclose(got, plateau_reference(metrics, lrs, **kwargs), rtol=1e-14)
    assert got[-1, 0] < lrs[0]  # the scripted metric does plateau


def test_plateau_scripted_by_hand():
    # patience=2: the third non-improving step in a row cuts lr; cooldown=1 then ignores one step.
    opt = make_optimizer(gw, (1.0,))
    sched = gls.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, threshold=0.0)
    lrs = []
    for loss in [5, 4, 4, 4, 4, 4, 4, 4, 3, 3]:
        opt.step()
        sched.step(gw.tensor(float(loss)))  # a one-element tensor is accepted
        lrs.append(sched.get_last_lr()[0])
    # bad epochs: -, -, 1, 2, 3 -> cut (cooldown) | ignored, 1, 2, - (improved), 1
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert sched.num_bad_epochs == 1 and sched.best == 3.0


# ------------------------------------------------------------ against torch
PLATEAU_BUILDS = [(lambda m, o, kw=kw: m.ReduceLROnPlateau(o, **kw), lrs, "sgd", metrics)
                  for kw, lrs, metrics in PLATEAU_CASES]
TORCH_CASES = [(c[0], c[1], c[2], c[3], None) for c in ORACLE_CASES] + [
    ("constant-default", lambda m, o: m.ConstantLR(o), (0.1, 0.3), "sgd", None),
    ("linear-default", lambda m, o: m.LinearLR(o), (0.1,), "sgd", None),
    ("linear-to-zero", lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=50),
     (0.1, 0.2), "sgd", None),
    ("polynomial-default", lambda m, o: m.PolynomialLR(o), (0.1,), "sgd", None),
    ("step-3-groups", lambda m, o: m.StepLR(o, step_size=30), (0.1, 0.2, 0.3), "sgd", None),
    ("cosine-100", lambda m, o: m.CosineAnnealingLR(o, T_max=100, eta_min=1e-3), (0.1, 0.05), "adam", None),
    ("cosine-1", lambda m, o: m.CosineAnnealingLR(o, T_max=1), (0.1,), "sgd", None),
    ("warm-restarts-1-3", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3), (0.1,), "sgd", None),
    ("cyclic-no-momentum", lambda m, o: m.CyclicLR(o, 0.001, [0.1, 0.2], step_size_up=6, cycle_momentum=False),
     (0.1, 0.1), "sgd", None),
    ("cyclic-iterations", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 0.99 ** x,
                                                  scale_mode="iterations", base_momentum=[0.7, 0.8],
                                                  max_momentum=[0.9, 0.95]), (0.1, 0.1), "adam", None),
    ("one-cycle-options", lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=100, pct_start=0.45,
                                                    div_factor=5.0, final_div_factor=50.0, base_momentum=0.8,
                                                    max_momentum=[0.9, 0.99]), (0.1, 0.1), "sgd", None),
    ("one-cycle-3phase-cos", lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=120, three_phase=True,
                                                       cycle_momentum=False), (0.1,), "adagrad", None),
    ("sequential-restarts", lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.01, total_iters=10),
                                                            m.CosineAnnealingWarmRestarts(o, T_0=15)],
                                                        milestones=[10]), (0.1, 0.2), "sgd", None),
    ("sequential-one-cycle", lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.1, total_iters=20),
                                                             m.OneCycleLR(o, max_lr=0.5, total_steps=80)],
                                                         milestones=[20]), (0.1,), "adam", None),
    ("chained-cosine-past-tmax", lambda m, o: m.ChainedScheduler([m.CosineAnnealingLR(o, T_max=15, eta_min=0.01),
                                                                  m.ExponentialLR(o, gamma=0.99)]),
     (0.1, 0.2), "sgd", None),
] + [(f"plateau-{i}", *case) for i, case in enumerate(PLATEAU_BUILDS)]


@pytest.mark.parametrize("name, build, lrs, kind, metrics", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_sequence_matches_torch(name, build, lrs, kind, metrics):
    torch = pytest.importorskip("torch")
    ours = trajectory(gw, build, lrs, kind, metrics=metrics)
    theirs = trajectory(torch, build, lrs, kind, metrics=metrics)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("build", [
    lambda m, o: m.StepLR(o, step_size=4, gamma=0.5, last_epoch=9),
    lambda m, o: m.ExponentialLR(o, gamma=0.9, last_epoch=5),
    lambda m, o: m.CosineAnnealingLR(o, T_max=12, last_epoch=7),
    lambda m, o: m.LinearLR(o, start_factor=0.5, total_iters=8, last_epoch=3),
    lambda m, o: m.OneCycleLR(o, max_lr=0.4, total_steps=60, last_epoch=20),
], ids=["step", "exponential", "cosine", "linear", "one-cycle"])
def test_resume_with_last_epoch_matches_torch(build):
    torch = pytest.importorskip("torch")
    rows = []
    for lib in (gw, torch):
        opt = make_optimizer(lib, (0.1, 0.2))
        for g in opt.param_groups:  # what a loaded optimizer state would carry
            g["initial_lr"] = g["lr"] * 2
            g.update(max_lr=0.4, min_lr=1e-6, base_momentum=0.85, max_momentum=0.95)
        sched = build(gls if lib is gw else lib.optim.lr_scheduler, opt)
        seq = [record(opt, sched)]
        for _ in range(30):
            opt.step()
            sched.step()
            seq.append(record(opt, sched))
        rows.append(np.array(seq))
    np.testing.assert_allclose(rows[0], rows[1], rtol=0, atol=1e-12)


def test_warm_restarts_fractional_epochs():
    # step(epoch + batch / n) inside epochs, SGDR's closed form at fractional T_cur
    epochs = [e + b / 4 for e in range(30) for b in range(4)]
    for T_0, T_mult in [(5, 1), (2, 2), (3, 3)]:
        opt = make_optimizer(gw, (0.1,))
        sched = gls.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult, eta_min=1e-3)
        for epoch in epochs:
            opt.step()
            sched.step(epoch)
            assert sched.get_last_lr()[0] == pytest.approx(sgdr(epoch, 0.1, T_0, T_mult, 1e-3), rel=1e-9, abs=1e-12)
            assert sched.last_epoch == math.floor(epoch)


def test_warm_restarts_fractional_epochs_match_torch():
    torch = pytest.importorskip("torch")
    epochs = [0.3, 1.7, 5.0, 9.99, 2.5, 14.0, 30.25, 7.0]
    out = []
    for lib in (gw, torch):
        opt = make_optimizer(lib, (0.1, 0.3))
        sched = (gls if lib is gw else lib.optim.lr_scheduler).CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
        seq = []
        for epoch in epochs + [None] * 5:
            opt.step()
            sched.step(epoch)
            seq.append(sched.get_last_lr())
        out.append(np.array(seq))
    np.testing.assert_allclose(out[0], out[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("build, closed", [
    (lambda o: gls.StepLR(o, step_size=6, gamma=0.5), lambda t: 0.5 ** (t // 6)),
    (lambda o: gls.MultiStepLR(o, [5, 12, 12]), lambda t: 0.1 ** n_le([5, 12, 12], t)),
    (lambda o: gls.ConstantLR(o, factor=0.5, total_iters=8), lambda t: 0.5 if t < 8 else 1.0),
    (lambda o: gls.LinearLR(o, start_factor=0.2, total_iters=10), lambda t: linear_factor(t, 0.2, 1.0, 10)),
    (lambda o: gls.ExponentialLR(o, gamma=0.9), lambda t: 0.9 ** t),
    (lambda o: gls.PolynomialLR(o, total_iters=20, power=3.0), lambda t: (1 - min(t, 20) / 20) ** 3),
    (lambda o: gls.CosineAnnealingLR(o, T_max=9), lambda t: cosine(t, 1.0, 9)),
], ids=["step", "multistep", "constant", "linear", "exponential", "polynomial", "cosine"])
def test_step_with_epoch_uses_closed_form(build, closed):
    opt = make_optimizer(gw, (0.1, 0.3))
    sched = build(opt)
    for epoch in [3, 17, 5, 40, 0, 11]:
        opt.step()
        sched.step(epoch)
        assert sched.last_epoch == epoch
        np.testing.assert_allclose(sched.get_last_lr(), [0.1 * closed(epoch), 0.3 * closed(epoch)], rtol=1e-12)


# -------------------------------------------------------------- state dicts
class WarmupFactor:
    """A callable object: its attributes are saved with LambdaLR's state."""

    def __init__(self):
        self.calls = 0

    def __call__(self, t):
        self.calls += 1
        return min(1.0, (t + 1) / 10)


ROUND_TRIP_CASES = [(c[0], c[1], c[2], c[3], None) for c in ORACLE_CASES] + [
    (f"plateau-{i}", *case) for i, case in enumerate(PLATEAU_BUILDS)] + [
    ("lambda-object", lambda m, o: m.LambdaLR(o, WarmupFactor()), (0.1,), "sgd", None),
]


@pytest.mark.parametrize("name, build, lrs, kind, metrics", ROUND_TRIP_CASES, ids=[c[0] for c in ROUND_TRIP_CASES])
def test_state_dict_round_trip_through_save(tmp_path, name, build, lrs, kind, metrics):
    straight = trajectory(gw, build, lrs, kind, metrics=metrics)

    def run(opt, sched, steps):
        out = []
        for t in steps:
            opt.step()
            sched.step() if metrics is None else sched.step(metrics[t])
            out.append(record(opt, sched))
        return out

    opt = make_optimizer(gw, lrs, kind)
    sched = build(gls, opt)
    rows = [record(opt, sched)] + run(opt, sched, range(40))
    path = tmp_path / "ckpt.safetensors"
    gw.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, path)

    opt2 = make_optimizer(gw, lrs, kind)
    sched2 = build(gls, opt2)
    ckpt = gw.load(path)
    opt2.load_state_dict(ckpt["optim"])
    sched2.load_state_dict(ckpt["sched"])
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert getattr(sched2, "last_epoch", None) == getattr(sched, "last_epoch", None)  # ChainedScheduler has none
    rows += run(opt2, sched2, range(40, STEPS))
    np.testing.assert_array_equal(np.array(rows), straight)
    if name == "lambda-object":
        assert sched2.lr_lambdas[0].calls == sched.lr_lambdas[0].calls + 60


def _is_plain(x):
    if isinstance(x, dict):
        return all(isinstance(k, (str, int)) and _is_plain(v) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return all(_is_plain(v) for v in x)
    return x is None or isinstance(x, (bool, int, float, str))


@pytest.mark.parametrize("name, build, lrs, kind, metrics", ROUND_TRIP_CASES, ids=[c[0] for c in ROUND_TRIP_CASES])
def test_state_dict_holds_plain_values_only(name, build, lrs, kind, metrics):
    opt = make_optimizer(gw, lrs, kind)
    state = build(gls, opt).state_dict()
    assert _is_plain(state), state
    assert "optimizer" not in state


def test_fresh_plateau_state_with_infinite_best_survives_save(tmp_path):
    sched = gls.ReduceLROnPlateau(_opt(), mode="max", min_lr=[0.0, 1e-3])
    assert sched.best == -math.inf
    gw.save(sched.state_dict(), tmp_path / "plateau.safetensors")
    other = gls.ReduceLROnPlateau(_opt())
    other.load_state_dict(gw.load(tmp_path / "plateau.safetensors"))
    assert other.best == -math.inf and other.mode == "max" and other.min_lrs == [0.0, 1e-3]
    assert other.is_better(-1e300, other.best)


def test_load_state_dict_of_another_scheduler_is_refused():
    opt = make_optimizer(gw, (0.1,))
    step_state = gls.StepLR(opt, step_size=3).state_dict()
    with pytest.raises(gls.SchedulerError, match=r"CosineAnnealingLR.load_state_dict: keys \['gamma', 'step_size'\]"):
        gls.CosineAnnealingLR(make_optimizer(gw, (0.1,)), T_max=5).load_state_dict(step_state)


# ----------------------------------------------------------------- protocol
def test_construction_sets_initial_lr_base_lrs_and_last_epoch():
    opt = make_optimizer(gw, (0.1, 0.02))
    sched = gls.ExponentialLR(opt, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    assert sched.base_lrs == [0.1, 0.02] and sched.last_epoch == 0 and sched.get_last_lr() == [0.1, 0.02]
    # a second scheduler keeps the first initial_lr (setdefault), as in PyTorch
    opt.param_groups[0]["lr"] = 0.5
    assert gls.StepLR(opt, step_size=2).base_lrs == [0.1, 0.02]


def test_scheduled_lr_drives_the_optimizer():
    w = gw.nn.Parameter(gw.zeros(1, dtype=gw.float64))
    opt = gw.optim.SGD([w], lr=1.0)
    sched = gls.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(4):
        opt.zero_grad()
        w.sum().backward()  # gradient 1: each step moves w by -lr
        opt.step()
        sched.step()
    assert w.item() == -(1.0 + 0.5 + 0.25 + 0.125)


def test_warns_when_scheduler_steps_before_optimizer():
    opt = make_optimizer(gw, (0.1,))
    sched = gls.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"before optimizer.step\(\)"):
        sched.step()
    opt2 = make_optimizer(gw, (0.1,))
    sched2 = gls.StepLR(opt2, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()
        sched2.step()


def test_get_lr_outside_step_warns():
    sched = gls.StepLR(make_optimizer(gw, (0.1,)), step_size=2)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_custom_subclass_and_legacy_alias():
    class Halve(gls._LRScheduler):
        def get_lr(self):
            return [base * 0.5 ** self.last_epoch for base in self.base_lrs]

    opt = make_optimizer(gw, (0.8,))
    sched = Halve(opt)
    assert isinstance(sched, gls.LRScheduler)
    for _ in range(3):
        opt.step()
        sched.step()
    assert sched.get_last_lr() == [0.1]


def test_optimizer_is_still_usable_as_before():
    opt = make_optimizer(gw, (0.1,))
    gls.StepLR(opt, step_size=1)
    gls.StepLR(opt, step_size=1)  # a second scheduler does not wrap step twice
    assert getattr(opt.step, "_tracked_for_lr_scheduler", False)
    assert opt.step() is None and opt.step(lambda: 3.0) == 3.0


def test_step_replaced_by_user_is_still_tracked():
    opt = make_optimizer(gw, (0.1,))
    calls = []
    original = opt.step
    opt.step = lambda *a, **k: calls.append(1) or original(*a, **k)
    sched = gls.StepLR(opt, step_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    assert calls == [1]


# ------------------------------------------------------------------- errors
def _opt():
    return make_optimizer(gw, (0.1, 0.2))


ERROR_CASES = [
    (lambda o: gls.StepLR(o, step_size=0), r"StepLR: invalid step_size=0; expected an integer >= 1"),
    (lambda o: gls.StepLR(o, step_size=2.5), r"step_size=2.5"),
    (lambda o: gls.StepLR(o, step_size=3, gamma=0.0), r"StepLR: invalid gamma=0.0; expected a finite number > 0"),
    (lambda o: gls.ExponentialLR(o, gamma=-0.5), r"ExponentialLR: invalid gamma=-0.5"),
    (lambda o: gls.MultiStepLR(o, milestones=[10, 5]), r"milestones must be increasing, got \[10, 5\]"),
    (lambda o: gls.MultiStepLR(o, milestones=[1.5]), r"invalid milestone=1.5"),
    (lambda o: gls.MultiStepLR(o, milestones=7), r"milestones must be a list of integers, got int"),
    (lambda o: gls.ConstantLR(o, factor=0.0), r"ConstantLR: invalid factor=0.0; expected a finite number > 0 and <= 1"),
    (lambda o: gls.ConstantLR(o, total_iters=0), r"ConstantLR: invalid total_iters=0"),
    (lambda o: gls.LinearLR(o, start_factor=1.5), r"LinearLR: invalid start_factor=1.5"),
    (lambda o: gls.LinearLR(o, end_factor=-0.1), r"LinearLR: invalid end_factor=-0.1"),
    (lambda o: gls.PolynomialLR(o, total_iters=0), r"PolynomialLR: invalid total_iters=0"),
    (lambda o: gls.PolynomialLR(o, power=-1.0), r"PolynomialLR: invalid power=-1.0"),
    (lambda o: gls.CosineAnnealingLR(o, T_max=0), r"CosineAnnealingLR: invalid T_max=0"),
    (lambda o: gls.CosineAnnealingLR(o, T_max=10, eta_min=math.nan), r"invalid eta_min=nan"),
    (lambda o: gls.CosineAnnealingWarmRestarts(o, T_0=0), r"invalid T_0=0; expected an integer >= 1"),
    (lambda o: gls.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), r"invalid T_mult=1.5"),
    (lambda o: gls.LambdaLR(o, [lambda t: 1.0]), r"lr_lambda has 1 values but the optimizer has 2 parameter group"),
    (lambda o: gls.MultiplicativeLR(o, 0.9), r"lr_lambda must be a function of the epoch.*got float"),
    (lambda o: gls.CyclicLR(o, 0.01, 0.1, mode="triangle"),
     r"CyclicLR: unknown mode='triangle'; valid choices: 'triangular', 'triangular2', 'exp_range'"),
    (lambda o: gls.CyclicLR(o, 0.01, 0.1, scale_mode="epoch"),
     r"unknown scale_mode='epoch'; valid choices: 'cycle', 'iterations'"),
    (lambda o: gls.CyclicLR(o, [0.01, 0.02, 0.03], 0.1), r"base_lr has 3 values but the optimizer has 2"),
    (lambda o: gls.CyclicLR(o, 0.01, 0.1, step_size_up=0), r"invalid step_size_up=0"),
    (lambda o: gls.CyclicLR(o, 0.01, 0.1, max_momentum=1.2), r"invalid max_momentum=1.2"),
    (lambda o: gls.OneCycleLR(o, max_lr=0.1), r"give total_steps, or both epochs and steps_per_epoch"),
    (lambda o: gls.OneCycleLR(o, max_lr=0.1, total_steps=0), r"invalid total_steps=0"),
    (lambda o: gls.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-1), r"invalid steps_per_epoch=-1"),
    (lambda o: gls.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     r"unknown anneal_strategy='exp'; valid choices: 'cos', 'linear'"),
    (lambda o: gls.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), r"invalid pct_start=1.5"),
    (lambda o: gls.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=0.1), r"leaves a phase of zero steps"),
    (lambda o: gls.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.0), r"leaves a phase of zero steps"),
    (lambda o: gls.ReduceLROnPlateau(o, mode="minimum"), r"unknown mode='minimum'; valid choices: 'min', 'max'"),
    (lambda o: gls.ReduceLROnPlateau(o, threshold_mode="relative"),
     r"unknown threshold_mode='relative'; valid choices: 'rel', 'abs'"),
    (lambda o: gls.ReduceLROnPlateau(o, factor=1.0), r"invalid factor=1.0; expected a finite number >= 0 and < 1"),
    (lambda o: gls.ReduceLROnPlateau(o, patience=-1), r"invalid patience=-1"),
    (lambda o: gls.ReduceLROnPlateau(o, min_lr=[0.1]), r"min_lr has 1 values but the optimizer has 2"),
    (lambda o: gls.SequentialLR(o, [gls.StepLR(o, 2), gls.StepLR(o, 3)], milestones=[]),
     r"2 schedulers need 1 milestones \(one per switch\), got 0"),
    (lambda o: gls.SequentialLR(o, [gls.StepLR(o, 2), gls.StepLR(o, 3), gls.StepLR(o, 4)], milestones=[9, 4]),
     r"milestones must be increasing"),
    (lambda o: gls.SequentialLR(o, [gls.StepLR(o, 2), gls.StepLR(_opt(), 3)], milestones=[4]),
     r"schedulers\[1\] \(StepLR\) drives a different optimizer"),
    (lambda o: gls.SequentialLR(o, [gls.StepLR(o, 2), gls.ReduceLROnPlateau(o)], milestones=[4]),
     r"schedulers\[1\] is a ReduceLROnPlateau"),
    (lambda o: gls.ChainedScheduler([]), r"ChainedScheduler: expects at least one scheduler, got none"),
    (lambda o: gls.StepLR(o, 2, last_epoch=-2), r"invalid last_epoch=-2"),
    (lambda o: gls.StepLR(o, 2, last_epoch=3), r"resuming with last_epoch=3 needs 'initial_lr'.*param_groups\[0\]"),
]


@pytest.mark.parametrize("make, match", ERROR_CASES, ids=[f"err{i}" for i in range(len(ERROR_CASES))])
def test_argument_errors(make, match):
    with pytest.raises(gls.SchedulerError, match=match) as info:
        make(_opt())
    assert isinstance(info.value, ValueError)


def test_cycle_momentum_needs_momentum_or_betas():
    opt = make_optimizer(gw, (0.1,), "adagrad")
    with pytest.raises(gls.SchedulerError, match=r"CyclicLR: cycle_momentum=True needs .* Adagrad has neither"):
        gls.CyclicLR(opt, 0.01, 0.1)
    with pytest.raises(gls.SchedulerError, match=r"OneCycleLR: cycle_momentum=True"):
        gls.OneCycleLR(opt, max_lr=0.1, total_steps=10)


def test_step_errors():
    opt = _opt()
    one = gls.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        one.step()
    with pytest.raises(gls.SchedulerError, match=r"OneCycleLR: stepped 4 times but total_steps=3"):
        one.step()
    plateau = gls.ReduceLROnPlateau(_opt())
    with pytest.raises(gls.SchedulerError, match=r"metrics must be a number .* got str"):
        plateau.step("low")
    warm = gls.CosineAnnealingWarmRestarts(_opt(), T_0=3)
    with pytest.raises(gls.SchedulerError, match=r"invalid epoch=-1"):
        warm.step(-1)


@pytest.mark.parametrize("make", [
    lambda o: gls.StepLR(o, 2), lambda o: gls.LambdaLR(o, lambda t: 1.0), lambda o: gls.CyclicLR(o, 0.01, 0.1),
    lambda o: gls.OneCycleLR(o, 0.1, total_steps=10), lambda o: gls.ReduceLROnPlateau(o),
    lambda o: gls.SequentialLR(o, [], milestones=[]), lambda o: gls.ChainedScheduler([], optimizer=o),
], ids=["step", "lambda", "cyclic", "one-cycle", "plateau", "sequential", "chained"])
def test_not_an_optimizer(make):
    with pytest.raises(gls.SchedulerTypeError, match=r"optimizer must be a gradwise.optim.Optimizer .* got list") as e:
        make([gw.nn.Parameter(gw.zeros(1))])
    assert isinstance(e.value, TypeError)


def test_composition_of_non_schedulers():
    with pytest.raises(gls.SchedulerTypeError, match=r"ChainedScheduler: schedulers\[0\] must be a gradwise "
                                                      r"LRScheduler, got str"):
        gls.ChainedScheduler(["StepLR"], optimizer=_opt())
