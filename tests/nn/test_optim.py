"""Optimizers against plain re-implementations of their documented updates (20 steps)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwise as gw
from gradwise import optim

rng = np.random.default_rng(0)
W0 = rng.standard_normal((3, 4))
X = rng.standard_normal((8, 4))
Y = rng.standard_normal((8, 3))


def loss_and_grad(w):
    # loss = mean((tanh(X W^T) - Y)^2), gradient by hand
    z = X @ w.T
    r = np.tanh(z) - Y
    return (r ** 2).mean(), ((2 * r / r.size) * (1 - np.tanh(z) ** 2)).T @ X


def run(cls, kw, steps=20):
    w = gw.nn.Parameter(gw.tensor(W0.copy()))
    opt = cls([w], **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((gw.tensor(X) @ w.T).tanh() - gw.tensor(Y)).pow(2).mean()
        loss.backward()
        opt.step()
    return w.detach().numpy()


def ref_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    w, buf = W0.copy(), None
    for _ in range(20):
        g = loss_and_grad(w)[1] + weight_decay * w
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        w = w - lr * g
    return w


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    w = W0.copy()
    m = v = vmax = np.zeros_like(w)
    for t in range(1, 21):
        g = loss_and_grad(w)[1]
        if decoupled:
            w = w * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vv = vmax if amsgrad else v
        w = w - lr / (1 - b1 ** t) * m / (np.sqrt(vv) / math.sqrt(1 - b2 ** t) + eps)
    return w


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
    w = W0.copy()
    sq = ga = buf = np.zeros_like(w)
    for _ in range(20):
        g = loss_and_grad(w)[1]
        sq = alpha * sq + (1 - alpha) * g * g
        avg = sq
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = sq - ga * ga
        step = g / (np.sqrt(avg) + eps)
        if momentum:
            buf = momentum * buf + step
            step = buf
        w = w - lr * step
    return w


def ref_adagrad(lr, lr_decay=0.0, eps=1e-10, init=0.0):
    w, s = W0.copy(), np.full_like(W0, init)
    for t in range(1, 21):
        g = loss_and_grad(w)[1]
        s = s + g * g
        w = w - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
    return w


CASES = [
    (optim.SGD, dict(lr=0.1), lambda: ref_sgd(0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01),
     lambda: ref_sgd(0.1, 0.9, 0.2, 0.01)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), lambda: ref_sgd(0.1, 0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.05), lambda: ref_adam(0.05)),
    (optim.Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1), lambda: ref_adam(0.05, weight_decay=0.1, amsgrad=True)),
    (optim.AdamW, dict(lr=0.05, weight_decay=0.3), lambda: ref_adam(0.05, weight_decay=0.3, decoupled=True)),
    (optim.RMSprop, dict(lr=0.01), lambda: ref_rmsprop(0.01)),
    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.9), lambda: ref_rmsprop(0.01, momentum=0.9, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1),
     lambda: ref_adagrad(0.1, 0.05, init=0.1)),
]


# the optimizer parity registry of this file (tests/test_registries.py finds a case for every optimizer class)
PARITY_CASES = CASES


@pytest.mark.parametrize("cls,kw,ref", CASES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_matches_plain_reimplementation(cls, kw, ref):
    assert np.allclose(run(cls, kw), ref(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls,kw,_ref", CASES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_matches_torch_optim(cls, kw, _ref):
    torch = pytest.importorskip("torch")
    w = torch.tensor(W0.copy(), requires_grad=True)
    opt = getattr(torch.optim, cls.__name__)([w], **kw)
    for _ in range(20):
        opt.zero_grad()
        loss = ((torch.tensor(X) @ w.T).tanh() - torch.tensor(Y)).pow(2).mean()
        loss.backward()
        opt.step()
    assert np.allclose(run(cls, kw), w.detach().numpy(), rtol=1e-6)


def test_state_dict_resumes_exactly():
    straight = run(optim.Adam, dict(lr=0.05), steps=20)
    w = gw.nn.Parameter(gw.tensor(W0.copy()))
    opt = optim.Adam([w], lr=0.05)

    def steps(o, p, n):
        for _ in range(n):
            o.zero_grad()
            ((gw.tensor(X) @ p.T).tanh() - gw.tensor(Y)).pow(2).mean().backward()
            o.step()

    steps(opt, w, 12)
    saved_w, saved_opt = w.detach().numpy().copy(), opt.state_dict()
    w2 = gw.nn.Parameter(gw.tensor(saved_w))
    opt2 = optim.Adam([w2], lr=1.0)
    opt2.load_state_dict(saved_opt)
    steps(opt2, w2, 8)
    assert np.array_equal(w2.detach().numpy(), straight)


def test_param_groups_and_errors():
    a, b = gw.nn.Parameter(gw.ones(2)), gw.nn.Parameter(gw.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    assert np.allclose(a.detach().numpy(), 0.9) and np.allclose(b.detach().numpy(), 0.5)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="leaf tensors"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.Adam([a], lr=-1.0)
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.Adam([a], lr=float("nan"))


def test_clip_grad_norm_returns_total_norm_and_scales():
    a, b = gw.nn.Parameter(gw.zeros(2)), gw.nn.Parameter(gw.zeros(1))
    a.grad, b.grad = gw.tensor([3.0, 0.0]), gw.tensor([4.0])
    total = gw.nn.utils.clip_grad_norm_([a, b], 2.5)
    assert total.item() == 5.0 and np.allclose([*a.grad.tolist(), *b.grad.tolist()], [1.5, 0.0, 2.0], atol=1e-5)
    b.grad = gw.tensor([float("nan")])
    with pytest.raises(RuntimeError, match="nan"):
        gw.nn.utils.clip_grad_norm_([a, b], 1.0, error_if_nonfinite=True)
    gw.nn.utils.clip_grad_value_([a], 0.5)
    assert a.grad.tolist() == [0.5, 0.0]
