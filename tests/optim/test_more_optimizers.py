"""Adamax, NAdam, RAdam, Adadelta, Rprop, Lion and LBFGS: 20 steps against plain NumPy re-implementations of
their documented updates, against torch.optim when installed, through state-dict and checkpoint round trips,
and their hyper-parameter validation."""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest

import gradwise as gw
from gradwise import optim

# ----------------------------------------------------------------------------- problem
# Three parameters of different shapes (matrix, vector, scalar) and a non-quadratic loss:
#   loss = mean((s * tanh(X W^T + b) - Y)^2)
_rng = np.random.default_rng(7)
X = _rng.standard_normal((10, 4))
Y = _rng.standard_normal((10, 3))
START = [0.5 * _rng.standard_normal((3, 4)), 0.1 * _rng.standard_normal(3), np.array(1.3)]


def np_grads(W, b, s):
    """Gradient of the loss by hand: dL/dr = 2r/n, dr/ds = h, dr/dz = s (1 - h^2)."""
    h = np.tanh(X @ W.T + b)
    r = s * h - Y
    dr = 2 * r / r.size
    dz = dr * s * (1 - h * h)
    return [dz.T @ X, dz.sum(0), np.sum(dr * h)]


def gw_loss(W, b, s):
    return ((gw.tensor(X) @ W.T + b).tanh() * s - gw.tensor(Y)).pow(2).mean()


def gw_params(start=START):
    return [gw.nn.Parameter(gw.tensor(np.array(a, dtype=np.float64))) for a in start]


def gw_steps(opt, params, n):
    for _ in range(n):
        opt.zero_grad()
        gw_loss(*params).backward()
        opt.step()


def run_gradwise(cls, kw, steps=20):
    params = gw_params()
    gw_steps(cls(params, **kw), params, steps)
    return [p.detach().numpy() for p in params]


# -------------------------------------------------- plain re-implementations (documented algorithms)
# Each update takes one parameter p, its gradient g (already negated for maximize), its state dict st
# (empty at first) and the step number t (from 1), and returns the new p.

def ref_adamax(p, g, st, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    if weight_decay:
        g = g + weight_decay * p
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["u"] = np.maximum(b2 * st.get("u", 0.0), np.abs(g) + eps)
    return p - lr * st["m"] / ((1 - b1 ** t) * st["u"])


def ref_nadam(p, g, st, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              decoupled_weight_decay=False):
    b1, b2 = betas
    if weight_decay:
        if decoupled_weight_decay:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
    mu = [b1 * (1 - 0.5 * 0.96 ** (i * momentum_decay)) for i in range(1, t + 2)]  # mu_1 .. mu_{t+1}
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
    m_hat = mu[t] * st["m"] / (1 - math.prod(mu)) + (1 - mu[t - 1]) * g / (1 - math.prod(mu[:t]))
    v_hat = st["v"] / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_radam(p, g, st, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False):
    b1, b2 = betas
    if weight_decay:
        if decoupled_weight_decay:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
    m_hat = st["m"] / (1 - b1 ** t)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    if rho > 5:
        st["rectified"] = True
        l_t = np.sqrt(1 - b2 ** t) / (np.sqrt(st["v"]) + eps)
        r_t = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return p - lr * m_hat * r_t * l_t
    return p - lr * m_hat


def ref_adadelta(p, g, st, t, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    if weight_decay:
        g = g + weight_decay * p
    st["v"] = rho * st.get("v", 0.0) + (1 - rho) * g * g
    dx = np.sqrt(st.get("u", 0.0) + eps) / np.sqrt(st["v"] + eps) * g
    st["u"] = rho * st.get("u", 0.0) + (1 - rho) * dx * dx
    return p - lr * dx


def ref_rprop(p, g, st, t, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    eta = st.get("eta", np.full(np.shape(p), lr)).copy()
    prev = st.get("prev", np.zeros(np.shape(p)))
    g = np.array(g, dtype=float).copy()
    for i in np.ndindex(np.shape(p)):  # element by element, as the algorithm box reads
        if prev[i] * g[i] > 0:
            eta[i] = min(eta[i] * etas[1], step_sizes[1])
        elif prev[i] * g[i] < 0:
            eta[i] = max(eta[i] * etas[0], step_sizes[0])
            g[i] = 0.0
            st["sign_changes"] = st.get("sign_changes", 0) + 1
    st["eta"], st["prev"] = eta, g
    return p - eta * np.sign(g)


def ref_lion(p, g, st, t, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    m = st.get("m", 0.0)
    update = np.sign(b1 * m + (1 - b1) * g)
    st["m"] = b2 * m + (1 - b2) * g
    return p * (1 - lr * weight_decay) - lr * update


def run_reference(update, kw, steps=20):
    kw = dict(kw)
    sign = -1.0 if kw.pop("maximize", False) else 1.0
    ps, states = [a.copy() for a in START], [{} for _ in START]
    for t in range(1, steps + 1):
        grads = np_grads(*ps)
        ps = [update(p, sign * g, st, t, **kw) for p, g, st in zip(ps, grads, states)]
    return ps, states


CASES = [
    (optim.Adamax, ref_adamax, dict(lr=0.02)),
    (optim.Adamax, ref_adamax, dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.1, maximize=True)),
    (optim.NAdam, ref_nadam, dict(lr=0.02)),
    (optim.NAdam, ref_nadam, dict(lr=0.02, weight_decay=0.1, momentum_decay=0.05)),
    (optim.NAdam, ref_nadam, dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (optim.RAdam, ref_radam, dict(lr=0.02)),
    (optim.RAdam, ref_radam, dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1)),
    (optim.RAdam, ref_radam, dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (optim.Adadelta, ref_adadelta, dict()),
    (optim.Adadelta, ref_adadelta, dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.05, maximize=True)),
    (optim.Rprop, ref_rprop, dict(lr=0.01)),
    (optim.Rprop, ref_rprop, dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    (optim.Lion, ref_lion, dict(lr=0.01)),
    (optim.Lion, ref_lion, dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.5, maximize=True)),
]
IDS = [f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("cls,ref,kw", CASES, ids=IDS)
def test_matches_plain_reimplementation(cls, ref, kw):
    got = run_gradwise(cls, kw)
    want, states = run_reference(ref, kw)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    assert not np.allclose(got[0], START[0])  # the parameters did move
    if ref is ref_rprop:  # the sign-change branch (step skipped, eta shrunk) was exercised
        assert sum(st.get("sign_changes", 0) for st in states) > 0
    if ref is ref_radam:  # both the warm-up and the rectified branch ran
        assert states[0].get("rectified")


@pytest.mark.parametrize("cls,ref,kw", [c for c in CASES if c[0] is not optim.Lion],
                         ids=[i for i, c in zip(IDS, CASES) if c[0] is not optim.Lion])
def test_matches_torch_optim(cls, ref, kw):
    torch = pytest.importorskip("torch")
    ps = [torch.tensor(a.copy(), requires_grad=True) for a in START]
    opt = getattr(torch.optim, cls.__name__)(ps, **kw)
    for _ in range(20):
        opt.zero_grad()
        W, b, s = ps
        ((torch.tensor(X) @ W.T + b).tanh() * s - torch.tensor(Y)).pow(2).mean().backward()
        opt.step()
    for g, w in zip(run_gradwise(cls, kw), ps):
        np.testing.assert_allclose(g, w.detach().numpy(), rtol=1e-6, atol=1e-12)


def test_lion_moves_each_element_by_lr_plus_decay():
    # Closed form of one step from m = 0: p <- p (1 - lr wd) - lr sign(g).
    params = gw_params()
    opt = optim.Lion(params, lr=0.01, weight_decay=0.5)
    gw_loss(*params).backward()
    opt.step()
    for p, a, g in zip(params, START, np_grads(*START)):
        np.testing.assert_allclose(p.detach().numpy(), a * (1 - 0.005) - 0.01 * np.sign(g), rtol=1e-14)


# ------------------------------------------------------------- state dict and checkpoint round trips
FIRST_OF_EACH = {c[0].__name__: c for c in reversed(CASES)}


def _resume(cls, kw, sd, values, which):
    """A fresh optimizer (with a different lr) over fresh parameters set to ``values``, loaded from ``sd``."""
    params = gw_params([*values, *START[len(values):]])
    opt = cls([params[i] for i in which], lr=0.123)
    opt.load_state_dict(sd)
    default_lr = inspect.signature(cls).parameters["lr"].default
    assert opt.param_groups[0]["lr"] == kw.get("lr", default_lr)  # hyper-parameters come back too
    return params, opt


@pytest.mark.parametrize("name", sorted(FIRST_OF_EACH))
def test_state_dict_round_trip_continues_identically(name):
    cls, _, kw = FIRST_OF_EACH[name]
    straight = run_gradwise(cls, kw, steps=15)
    params = gw_params()
    opt = cls(params, **kw)
    gw_steps(opt, params, 8)
    sd, values = opt.state_dict(), [p.detach().numpy().copy() for p in params]
    gw_steps(opt, params, 3)  # the state dict is a snapshot: later steps do not leak into it
    resumed, opt2 = _resume(cls, kw, sd, values, range(3))
    gw_steps(opt2, resumed, 7)
    for a, b in zip(resumed, straight):
        assert np.array_equal(a.detach().numpy(), b)


@pytest.mark.parametrize("name", sorted(FIRST_OF_EACH))
def test_checkpoint_round_trip_continues_identically(name, tmp_path):
    # Through gradwise.save / gradwise.load, the 0-d parameter s included.
    cls, _, kw = FIRST_OF_EACH[name]
    params = gw_params()
    opt = cls(params, **kw)
    gw_steps(opt, params, 15)
    straight = [p.detach().numpy().copy() for p in params]
    params = gw_params()
    opt = cls(params, **kw)
    gw_steps(opt, params, 8)
    gw.save({"params": [p.detach().numpy() for p in params], "optim": opt.state_dict()}, tmp_path / "c.safetensors")
    ckpt = gw.load(tmp_path / "c.safetensors")
    resumed, opt2 = _resume(cls, kw, ckpt["optim"], ckpt["params"], range(3))
    gw_steps(opt2, resumed, 7)
    for a, b in zip(resumed, straight):
        assert np.array_equal(a.detach().numpy(), b)


def test_checkpoint_keeps_the_state_of_a_scalar_parameter(tmp_path):
    params = gw_params()
    opt = optim.NAdam(params, lr=0.02)
    gw_steps(opt, params, 2)
    gw.save(opt.state_dict(), tmp_path / "s.safetensors")
    assert gw.load(tmp_path / "s.safetensors")["state"][2]["exp_avg"].shape == ()


def test_parameters_without_gradient_are_left_alone():
    params = gw_params()
    unused = gw.nn.Parameter(gw.tensor([1.0, 2.0], dtype="float64"))
    for cls in (optim.Adamax, optim.NAdam, optim.RAdam, optim.Adadelta, optim.Rprop, optim.Lion):
        opt = cls([*params, unused], lr=0.01)
        gw_steps(opt, params, 2)
        assert unused.tolist() == [1.0, 2.0] and unused not in opt.state


# ----------------------------------------------------------------------------------- L-BFGS
# Two 6-dimensional problems on x = [A.flatten(), c] with A (2, 2) and c (2,); each expression works on
# gradwise and torch tensors alike:
#   rosen: f(x) = sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2    (Rosenbrock, minimum at ones)
#   wavy:   f(x) = sum_i 3 sin(x_i) + 0.1 x_i^2              (local minima: long searches that zoom to an end)
#   ripple: f(x) = sum_i -x_i + 0.02 x_i^2 + 0.3 sin(7 x_i)  (a long descent with bumps: the line search
#                                                           meets higher points with downhill slopes)
X0 = np.array([-1.2, 1.0, -1.2, 1.0, 0.5, -0.8])
X0_WAVY = np.array([-0.9, -0.8, -0.5, 1.08, 1.71, 2.65])


def rosen_expr(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def wavy_expr(x):
    return (3 * x.sin() + 0.1 * x ** 2).sum()


def ripple_expr(x):
    return (-x + 0.02 * x ** 2 + 0.3 * (7 * x).sin()).sum()


def rosen_fg(x):
    g = np.zeros_like(x)
    inner = x[1:] - x[:-1] ** 2
    g[:-1] += -400 * x[:-1] * inner - 2 * (1 - x[:-1])
    g[1:] += 200 * inner
    return float(rosen_expr(x)), g


def wavy_fg(x):
    return float(np.sum(3 * np.sin(x) + 0.1 * x ** 2)), 3 * np.cos(x) + 0.2 * x


def ripple_fg(x):
    return float(np.sum(-x + 0.02 * x ** 2 + 0.3 * np.sin(7 * x))), -1 + 0.04 * x + 2.1 * np.cos(7 * x)


PROBLEMS = {
    "rosen": (rosen_expr, rosen_fg, X0),
    "wavy": (wavy_expr, wavy_fg, X0_WAVY),
    "ripple": (ripple_expr, ripple_fg, np.full(6, 1.97)),
    "ripple-b": (ripple_expr, ripple_fg, np.full(6, 1.06)),
}


def ref_cubic(x1, f1, g1, x2, f2, g2, lo=None, hi=None):
    # Minimiser of the cubic Hermite interpolant, clamped; the midpoint when it has none.
    if lo is None:
        lo, hi = min(x1, x2), max(x1, x2)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2
    d2 = math.sqrt(disc)
    if x1 <= x2:
        z = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        z = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(z, lo), hi)


def ref_wolfe(fg, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tol=1e-9, max_ls=25):
    """Bracketing then zoom, returning (f, g, t, evaluations)."""
    def at(step):
        fx, gx = fg(x + step * d)
        return fx, gx, float(gx @ d)

    f1, g1, s1 = at(t)
    n, k = 1, 0
    tp, fp, gp, sp = 0.0, f, g, gtd
    pts = None  # bracket: list of [t, f, g, slope]
    while k < max_ls:
        if f1 > f + c1 * t * gtd or (k > 1 and f1 >= fp):
            pts = [[tp, fp, gp, sp], [t, f1, g1, s1]]
            break
        if abs(s1) <= -c2 * gtd:
            return f1, g1, t, n
        if s1 >= 0:
            pts = [[tp, fp, gp, sp], [t, f1, g1, s1]]
            break
        t_new = ref_cubic(tp, fp, sp, t, f1, s1, t + 0.01 * (t - tp), 10 * t)
        tp, fp, gp, sp = t, f1, g1, s1
        t = t_new
        f1, g1, s1 = at(t)
        n, k = n + 1, k + 1
    if pts is None:
        return (f, g, 0.0, n) if f <= f1 else (f1, g1, t, n)
    lo = 0 if pts[0][1] <= pts[1][1] else 1
    stalled = False
    while k < max_ls and abs(pts[1][0] - pts[0][0]) * np.max(np.abs(d)) >= tol:
        t = ref_cubic(pts[0][0], pts[0][1], pts[0][3], pts[1][0], pts[1][1], pts[1][3])
        a, b = min(pts[0][0], pts[1][0]), max(pts[0][0], pts[1][0])
        margin = 0.1 * (b - a)
        if min(b - t, t - a) < margin:
            if stalled or t >= b or t <= a:
                t = b - margin if abs(t - b) < abs(t - a) else a + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f1, g1, s1 = at(t)
        n, k = n + 1, k + 1
        hi = 1 - lo
        if f1 > f + c1 * t * gtd or f1 >= pts[lo][1]:
            pts[hi] = [t, f1, g1, s1]
            lo = 0 if pts[0][1] <= pts[1][1] else 1
        else:
            if abs(s1) <= -c2 * gtd:
                return f1, g1, t, n
            if s1 * (pts[hi][0] - pts[lo][0]) >= 0:
                pts[hi] = pts[lo]
            pts[lo] = [t, f1, g1, s1]
    return pts[lo][1], pts[lo][2], pts[lo][0], n


def ref_lbfgs_step(fg, x, st, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                   history_size=100, line_search_fn=None):
    """One LBFGS.step(closure) on the flat vector x; st carries the memory between calls."""
    max_eval = max_iter * 5 // 4 if max_eval is None else max_eval
    f, g = fg(x)
    evals = 1
    if np.max(np.abs(g)) <= tolerance_grad:
        return x
    for it in range(1, max_iter + 1):
        st["n"] = st.get("n", 0) + 1
        if st["n"] == 1:
            d, st["S"], st["Y"], st["H0"] = -g, [], [], 1.0
        else:
            y, s = g - st["g_prev"], st["t"] * st["d"]
            if y @ s > 1e-10:
                st["S"], st["Y"] = (st["S"] + [s])[-history_size:], (st["Y"] + [y])[-history_size:]
                st["H0"] = (y @ s) / (y @ y)
            # two-loop recursion: d = -H g
            q, alphas = -g, []
            for s_i, y_i in reversed(list(zip(st["S"], st["Y"]))):
                alphas.append((s_i @ q) / (y_i @ s_i))
                q = q - alphas[-1] * y_i
            d = st["H0"] * q
            for (s_i, y_i), a_i in zip(zip(st["S"], st["Y"]), reversed(alphas)):
                d = d + (a_i - (y_i @ d) / (y_i @ s_i)) * s_i
        st["d"], st["g_prev"], f_prev = d, g, f
        t = min(1.0, 1.0 / np.sum(np.abs(g))) * lr if st["n"] == 1 else lr
        st["t"] = t
        gtd = g @ d
        if gtd > -tolerance_change:
            break
        if line_search_fn == "strong_wolfe":
            f, g, t, n = ref_wolfe(fg, x, t, d, f, g, gtd, max_ls=max_eval - evals)
            st["t"] = t
            x = x + t * d
        else:
            x, n = x + t * d, 0
            if it != max_iter:
                f, g = fg(x)
                n = 1
        evals += n
        if it == max_iter or evals >= max_eval or (n and np.max(np.abs(g)) <= tolerance_grad):
            break
        if np.max(np.abs(t * d)) <= tolerance_change or abs(f - f_prev) < tolerance_change:
            break
    return x


def run_gw_lbfgs(kw, calls, problem="rosen", x0=None):
    expr, _, start = PROBLEMS[problem]
    x0 = start if x0 is None else x0
    A = gw.nn.Parameter(gw.tensor(x0[:4].reshape(2, 2).copy()))
    c = gw.nn.Parameter(gw.tensor(x0[4:].copy()))
    opt = optim.LBFGS([A, c], **kw)

    def closure():
        opt.zero_grad()
        loss = expr(gw.cat([A.reshape(-1), c]))
        loss.backward()
        return loss

    losses = [float(opt.step(closure)) for _ in range(calls)]
    return np.concatenate([A.detach().numpy().reshape(-1), c.detach().numpy()]), losses, opt, closure


LBFGS_CASES = [
    ("rosen", dict(line_search_fn="strong_wolfe"), 2),
    ("rosen", dict(line_search_fn="strong_wolfe", max_iter=6, history_size=3), 5),
    ("rosen", dict(line_search_fn="strong_wolfe", lr=2.0, max_iter=10, history_size=3), 3),
    ("rosen", dict(line_search_fn="strong_wolfe", lr=0.5, max_iter=15, max_eval=12, tolerance_change=1e-6), 3),
    ("wavy", dict(line_search_fn="strong_wolfe", lr=10.0, max_iter=10), 2),
    # ripple: the line search runs out of evaluations (max_eval = 2); ripple-b: the zoom meets a point that
    # satisfies Armijo but is not below the best end of the bracket.  (Long runs on ripple are chaotic: a
    # 1e-15 change of the start moves the end point by 1e-2, so they cannot be compared to 1e-10.)
    ("ripple", dict(line_search_fn="strong_wolfe", lr=1.0, max_iter=2), 1),
    ("ripple-b", dict(line_search_fn="strong_wolfe", lr=0.05, max_iter=2, max_eval=40), 1),
    ("rosen", dict(lr=1e-3, max_iter=10), 4),
    ("rosen", dict(lr=2e-3, max_iter=8, history_size=2, max_eval=6), 4),
    ("wavy", dict(lr=0.5, max_iter=7, history_size=4), 3),
    ("rosen", dict(lr=1e-6, tolerance_change=1e-6), 2),  # stops: max|t d| <= tolerance_change
    ("rosen", dict(lr=1e-9, max_iter=5, tolerance_change=1e-8), 2),  # stops: |loss change| < tolerance_change
]

# the optimizer parity registry of this file, each case led by its class (tests/test_registries.py finds a
# case for every optimizer class here and in the other files that define PARITY_CASES)
PARITY_CASES = CASES + [(optim.LBFGS, *case) for case in LBFGS_CASES]


@pytest.mark.parametrize("problem,kw,calls", LBFGS_CASES)
def test_lbfgs_matches_plain_reimplementation(problem, kw, calls):
    got, losses, _, _ = run_gw_lbfgs(kw, calls, problem)
    _, fg, x0 = PROBLEMS[problem]
    x, st = x0.copy(), {}
    for _ in range(calls):
        x = ref_lbfgs_step(fg, x, st, **kw)
    np.testing.assert_allclose(got, x, rtol=1e-10, atol=1e-12)
    assert np.isfinite(got).all() and fg(got)[0] < fg(x0)[0] == pytest.approx(losses[0], rel=1e-12)


@pytest.mark.parametrize("problem,kw,calls", LBFGS_CASES)
def test_lbfgs_matches_torch(problem, kw, calls):
    torch = pytest.importorskip("torch")
    expr, _, x0 = PROBLEMS[problem]
    A = torch.tensor(x0[:4].reshape(2, 2).copy(), requires_grad=True)
    c = torch.tensor(x0[4:].copy(), requires_grad=True)
    opt = torch.optim.LBFGS([A, c], **kw)

    def closure():
        opt.zero_grad()
        loss = expr(torch.cat([A.reshape(-1), c]))
        loss.backward()
        return loss

    want_losses = [opt.step(closure).item() for _ in range(calls)]
    got, losses, gw_opt, _ = run_gw_lbfgs(kw, calls, problem)
    want = torch.cat([A.detach().reshape(-1), c.detach()]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-6)
    ours, theirs = gw_opt.state[gw_opt.param_groups[0]["params"][0]], opt.state[A]
    assert (ours["func_evals"], ours["n_iter"]) == (theirs["func_evals"], theirs["n_iter"])
    assert len(ours["old_dirs"]) == len(theirs["old_dirs"])


def test_lbfgs_strong_wolfe_reaches_the_rosenbrock_minimum():
    x, _, opt, closure = run_gw_lbfgs(dict(line_search_fn="strong_wolfe", max_iter=200), 1)
    np.testing.assert_allclose(x, np.ones(6), atol=1e-5)
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert state["func_evals"] <= 250
    # At the (numerical) minimum a step evaluates the loss once, returns it and moves nothing.
    evals, loss = state["func_evals"], opt.step(closure)
    assert state["func_evals"] == evals + 1 and loss.item() < 1e-9
    assert np.array_equal(np.concatenate([p.detach().numpy().reshape(-1) for p in opt.param_groups[0]["params"]]), x)


def test_lbfgs_state_round_trip_through_checkpoint(tmp_path):
    kw = dict(line_search_fn="strong_wolfe", max_iter=4, history_size=3)
    straight, _, _, _ = run_gw_lbfgs(kw, 5)
    x_mid, _, opt, _ = run_gw_lbfgs(kw, 2)
    sd = opt.state_dict()
    n_dirs = len(sd["state"][0]["old_dirs"])
    assert n_dirs > 0 and all(isinstance(v, gw.Tensor) for v in sd["state"][0]["old_dirs"])
    gw.save({"x": x_mid, "optim": sd}, tmp_path / "lbfgs.safetensors")
    ckpt = gw.load(tmp_path / "lbfgs.safetensors")
    _, _, opt2, closure = run_gw_lbfgs(dict(kw, lr=0.3), 0, x0=ckpt["x"])
    opt2.load_state_dict(ckpt["optim"])
    assert opt2.param_groups[0]["lr"] == 1.0
    for _ in range(3):
        opt2.step(closure)
    A, c = opt2.param_groups[0]["params"]
    assert np.array_equal(np.concatenate([A.detach().numpy().reshape(-1), c.detach().numpy()]), straight)
    assert len(sd["state"][0]["old_dirs"]) == n_dirs  # the state dict was a snapshot, not a view


def test_lbfgs_defaults_and_unused_parameter():
    a = gw.nn.Parameter(gw.tensor([3.0, -1.0], dtype="float64"))
    unused = gw.nn.Parameter(gw.tensor([5.0], dtype="float64"))
    opt = optim.LBFGS([a, unused])
    g = opt.param_groups[0]
    assert (g["lr"], g["max_iter"], g["max_eval"], g["history_size"]) == (1.0, 20, 25, 100)
    assert (g["tolerance_grad"], g["tolerance_change"], g["line_search_fn"]) == (1e-7, 1e-9, None)
    assert optim.LBFGS([a], max_iter=10).param_groups[0]["max_eval"] == 12

    def closure():
        opt.zero_grad()
        loss = ((a - gw.tensor([1.0, 2.0], dtype="float64")) ** 2).sum()
        loss.backward()
        return loss

    first = opt.step(closure)
    assert isinstance(first, gw.Tensor) and first.item() == 13.0  # the loss at the starting point
    np.testing.assert_allclose(a.detach().numpy(), [1.0, 2.0], atol=1e-7)
    assert unused.tolist() == [5.0]
    # Gradient within tolerance_grad: one evaluation, no iteration, nothing moves.
    state = opt.state[a]
    evals, iters, before = state["func_evals"], state["n_iter"], a.detach().numpy().copy()
    opt.step(closure)
    assert (state["func_evals"], state["n_iter"]) == (evals + 1, iters)
    assert np.array_equal(a.detach().numpy(), before)


# ------------------------------------------------------------------------------- validation
def _p():
    return [gw.nn.Parameter(gw.ones(2))]


BAD = [
    (lambda: optim.Adamax(_p(), lr=-1.0), "invalid learning rate (lr): -1.0"),
    (lambda: optim.Adamax(_p(), betas=(1.0, 0.999)), "Adamax beta1 (betas[0]): 1.0"),
    (lambda: optim.NAdam(_p(), betas=(0.9, 1.5)), "NAdam beta2 (betas[1]): 1.5"),
    (lambda: optim.NAdam(_p(), momentum_decay=-0.1), "invalid momentum_decay: -0.1"),
    (lambda: optim.RAdam(_p(), eps=-1e-8), "invalid eps: -1e-08"),
    (lambda: optim.RAdam(_p(), betas=(0.9,)), "RAdam: invalid betas (0.9,) (expected a pair"),
    (lambda: optim.RAdam(_p(), weight_decay=-0.1), "invalid weight_decay: -0.1"),
    (lambda: optim.Adamax([{"params": _p(), "betas": (0.9, 2.0)}]), "Adamax beta2 (betas[1]): 2.0"),
    (lambda: optim.Adadelta(_p(), rho=1.5), "Adadelta rho: 1.5 (expected a number [0.0, 1.0])"),
    (lambda: optim.Rprop(_p(), etas=(1.2, 0.5)), "Rprop: invalid etas (1.2, 0.5) (expected (etaminus, etaplus)"),
    (lambda: optim.Rprop(_p(), step_sizes=(1.0, 0.1)), "Rprop: invalid step_sizes (1.0, 0.1)"),
    (lambda: optim.Lion(_p(), betas=(0.9, 1.1)), "Lion beta2 (betas[1]): 1.1 (expected a number [0.0, 1.0])"),
    (lambda: optim.Lion(_p(), lr=float("nan")), "invalid learning rate (lr): nan"),
    (lambda: optim.LBFGS(_p(), max_iter=0), "LBFGS: invalid max_iter: 0 (expected an integer >= 1)"),
    (lambda: optim.LBFGS(_p(), history_size=2.5), "LBFGS: invalid history_size: 2.5"),
    (lambda: optim.LBFGS(_p(), tolerance_grad=-1.0), "invalid tolerance_grad: -1.0"),
    (lambda: optim.LBFGS(_p(), line_search_fn="armijo"), "invalid line_search_fn 'armijo' (expected None or"),
    (lambda: optim.LBFGS([{"params": _p()}, {"params": _p()}]), "LBFGS does not support parameter groups"),
    (lambda: optim.LBFGS(_p()).step(), "LBFGS.step needs a closure"),
]


@pytest.mark.parametrize("make,message", BAD, ids=[m.split(":")[0][:40] for _, m in BAD])
def test_invalid_hyperparameters_are_rejected(make, message):
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        make()
    assert isinstance(info.value, optim.OptimizerError)


def test_defaults_match_pytorch():
    expect = {
        optim.Adamax: dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False),
        optim.NAdam: dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                          decoupled_weight_decay=False, maximize=False),
        optim.RAdam: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
                          maximize=False),
        optim.Adadelta: dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False),
        optim.Rprop: dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), maximize=False),
        optim.Lion: dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False),
    }
    for cls, want in expect.items():
        assert cls(_p()).defaults == want, cls.__name__
