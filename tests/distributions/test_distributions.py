"""gradwise.distributions: closed forms, torch.distributions (when installed), sampling
statistics, gradcheck, and a REINFORCE step."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwise as gw
from gradwise.distributions import Bernoulli, Categorical, Distribution, Normal, kl_divergence


def gen(seed: int = 0) -> gw.Generator:
    return gw.Generator().manual_seed(seed)


def f64(values, requires_grad: bool = True) -> gw.Tensor:
    return gw.tensor(values, dtype=gw.float64, requires_grad=requires_grad)


# ---------------------------------------------------------------- closed forms

def test_normal_closed_forms():
    loc, scale = np.array([0.0, 1.5, -2.0]), np.array([1.0, 0.5, 3.0])
    d = Normal(gw.tensor(loc, dtype=gw.float64), gw.tensor(scale, dtype=gw.float64))
    x = np.array([0.3, 1.0, 4.0])
    want = -((x - loc) ** 2) / (2 * scale**2) - np.log(scale) - 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(d.log_prob(gw.tensor(x, dtype=gw.float64)).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(d.entropy().numpy(), 0.5 + 0.5 * np.log(2 * np.pi) + np.log(scale))
    cdf = [0.5 * (1 + math.erf((xi - m) / (s * math.sqrt(2)))) for xi, m, s in zip(x, loc, scale)]
    np.testing.assert_allclose(d.cdf(gw.tensor(x, dtype=gw.float64)).numpy(), cdf, rtol=1e-7)
    np.testing.assert_allclose(d.mean.numpy(), loc)
    np.testing.assert_allclose(d.stddev.numpy(), scale)
    np.testing.assert_allclose(d.variance.numpy(), scale**2)
    assert d.batch_shape == (3,) and d.event_shape == ()


def test_normal_broadcasts_and_shapes():
    d = Normal(gw.zeros(3, 1), gw.ones(4))
    assert d.batch_shape == (3, 4)
    assert d.sample().shape == (3, 4)
    assert d.sample((5,)).shape == (5, 3, 4)
    assert d.rsample((2, 5), generator=gen()).shape == (2, 5, 3, 4)
    assert Normal(0.0, 1.0).sample(7).shape == (7,)
    assert Normal(0.0, 1.0).sample().dtype == gw.float32
    assert Normal(gw.zeros(2, dtype=gw.float64), 1.0).sample().dtype == gw.float64
    assert d.log_prob(gw.zeros(5, 3, 4)).shape == (5, 3, 4)
    e = Normal(gw.tensor(0.0), 1.0).expand((2, 3))
    assert e.batch_shape == (2, 3) and e.sample().shape == (2, 3)


def test_categorical_closed_forms_and_normalisation():
    w = np.array([[1.0, 2.0, 1.0], [0.0, 1.0, 3.0]])
    p = w / w.sum(-1, keepdims=True)
    d = Categorical(probs=gw.tensor(w, dtype=gw.float64))
    assert d.batch_shape == (2,) and d.event_shape == ()
    np.testing.assert_allclose(d.probs.numpy(), p)
    np.testing.assert_allclose(np.exp(d.logits.numpy()), p, atol=1e-15)
    np.testing.assert_allclose(d.log_prob(gw.tensor([1, 2])).numpy(), np.log([p[0, 1], p[1, 2]]))
    # a sample of shape (n, B): one value per distribution
    assert d.log_prob(gw.tensor([[0, 1], [2, 2]])).shape == (2, 2)
    ent = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0), axis=-1)
    np.testing.assert_allclose(d.entropy().numpy(), ent, atol=1e-12)
    lg = Categorical(logits=gw.tensor([[0.0, 1.0, 2.0]], dtype=gw.float64))
    np.testing.assert_allclose(lg.logits.logsumexp(-1).numpy(), [0.0], atol=1e-12)
    np.testing.assert_allclose(lg.probs.numpy(), np.exp([0.0, 1.0, 2.0])[None] / np.exp([0.0, 1.0, 2.0]).sum())
    assert d.sample((6,), generator=gen()).shape == (6, 2)
    assert d.sample().dtype == gw.int64
    assert d.enumerate_support().shape == (3, 2)
    assert np.isnan(d.mean.numpy()).all()
    assert d.mode.tolist() == [1, 2]
    assert d.expand((4, 2)).batch_shape == (4, 2)


def test_bernoulli_closed_forms_and_stability():
    p = np.array([0.1, 0.5, 0.8])
    d = Bernoulli(probs=gw.tensor(p, dtype=gw.float64))
    for v in (0.0, 1.0):
        want = np.log(p) if v else np.log1p(-p)
        np.testing.assert_allclose(d.log_prob(gw.full((3,), v, dtype=gw.float64)).numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(d.entropy().numpy(), -(p * np.log(p) + (1 - p) * np.log1p(-p)), rtol=1e-10)
    np.testing.assert_allclose(d.mean.numpy(), p)
    np.testing.assert_allclose(d.variance.numpy(), p * (1 - p))
    # large logits: finite, exact
    big = Bernoulli(logits=gw.tensor([-200.0, 200.0], dtype=gw.float64))
    np.testing.assert_allclose(big.log_prob(gw.tensor([1.0, 0.0], dtype=gw.float64)).numpy(), [-200.0, -200.0])
    np.testing.assert_allclose(big.log_prob(gw.tensor([0.0, 1.0], dtype=gw.float64)).numpy(), [0.0, 0.0], atol=1e-80)
    assert np.isfinite(big.entropy().numpy()).all()
    s = d.sample((4,), generator=gen())
    assert s.shape == (4, 3) and s.dtype == gw.float64
    assert set(np.unique(s.numpy())) <= {0.0, 1.0}


def test_kl_closed_forms():
    p, q = Normal(f64([0.0, 1.0]), f64([1.0, 2.0])), Normal(f64([1.0, -1.0]), f64([2.0, 0.5]))
    mp, sp, mq, sq = np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([1.0, -1.0]), np.array([2.0, 0.5])
    want = np.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5
    np.testing.assert_allclose(kl_divergence(p, q).detach().numpy(), want, rtol=1e-12)
    pc, qc = np.array([0.2, 0.3, 0.5]), np.array([0.4, 0.4, 0.2])
    kl = kl_divergence(Categorical(probs=f64(pc)), Categorical(probs=f64(qc))).item()
    assert kl == pytest.approx(np.sum(pc * np.log(pc / qc)), rel=1e-12)
    pb, qb = 0.3, 0.6
    kl = kl_divergence(Bernoulli(f64(pb)), Bernoulli(f64(qb))).item()
    assert kl == pytest.approx(pb * np.log(pb / qb) + (1 - pb) * np.log((1 - pb) / (1 - qb)), rel=1e-10)
    # zero probabilities: 0 where p is 0, inf where q is 0 and p is not
    z = kl_divergence(Categorical(probs=f64([0.0, 1.0])), Categorical(probs=f64([0.5, 0.5]))).item()
    assert z == pytest.approx(math.log(2))
    assert kl_divergence(Categorical(probs=f64([0.5, 0.5])), Categorical(probs=f64([0.0, 1.0]))).item() == math.inf
    assert kl_divergence(Bernoulli(f64([0.0, 1.0])), Bernoulli(f64([0.0, 1.0]))).tolist() == [0.0, 0.0]
    assert kl_divergence(Bernoulli(f64(0.5)), Bernoulli(f64(1.0))).item() == math.inf
    with pytest.raises(NotImplementedError):
        kl_divergence(Normal(0.0, 1.0), Bernoulli(0.5))


# ---------------------------------------------------------------- validation

def test_validation_errors_name_the_argument():
    with pytest.raises(ValueError, match="scale"):
        Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="scale"):
        Normal(gw.zeros(2), gw.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="probs"):
        Bernoulli(probs=gw.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="probs"):
        Categorical(probs=gw.tensor([-1.0, 2.0]))
    with pytest.raises(ValueError, match="logits"):
        Bernoulli(logits=gw.tensor([float("nan")]))
    with pytest.raises(ValueError, match="not both"):
        Categorical(probs=gw.ones(2), logits=gw.ones(2))
    with pytest.raises(ValueError, match="not both"):
        Bernoulli()
    with pytest.raises(ValueError, match="one-dimensional"):
        Categorical(probs=gw.tensor(1.0))
    with pytest.raises(ValueError, match="support"):
        Categorical(probs=gw.ones(3)).log_prob(gw.tensor(3))
    with pytest.raises(ValueError, match="support"):
        Bernoulli(0.5).log_prob(gw.tensor(0.5))
    with pytest.raises(ValueError, match="broadcastable"):
        Normal(gw.zeros(2), 1.0).log_prob(gw.zeros(3))
    # off: accepted
    Normal(0.0, -1.0, validate_args=False)
    Bernoulli(0.5, validate_args=False).log_prob(gw.tensor(0.5))
    try:
        Distribution.set_default_validate_args(False)
        Normal(0.0, -1.0)
    finally:
        Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        Normal(0.0, -1.0)


# ---------------------------------------------------------------- sampling statistics

N = 20_000


def test_normal_sampling_statistics():
    d = Normal(gw.tensor([1.0, -3.0], dtype=gw.float64), gw.tensor([2.0, 0.5], dtype=gw.float64))
    s = d.sample((N,), generator=gen(1)).numpy()
    se = np.array([2.0, 0.5]) / math.sqrt(N)
    assert np.all(np.abs(s.mean(0) - [1.0, -3.0]) < 4 * se)
    assert np.all(np.abs(s.std(0) - [2.0, 0.5]) < 4 * np.array([2.0, 0.5]) / math.sqrt(2 * N))
    # the same seed gives the same draws; gw.manual_seed drives the default generator
    assert np.array_equal(d.sample((3,), generator=gen(5)).numpy(), d.sample((3,), generator=gen(5)).numpy())
    gw.manual_seed(3)
    a = d.sample((3,)).numpy()
    gw.manual_seed(3)
    assert np.array_equal(a, d.sample((3,)).numpy())


def test_categorical_sampling_frequencies():
    p = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    s = Categorical(probs=gw.tensor(p)).sample((N,), generator=gen(2)).numpy()
    for b in range(2):
        freq = np.bincount(s[:, b], minlength=4) / N
        se = np.sqrt(p[b] * (1 - p[b]) / N)
        assert np.all(np.abs(freq - p[b]) <= 4 * se + 1e-12), (freq, p[b])
    assert (s[:, 0] != 1).all()   # a zero-probability category is never drawn


def test_bernoulli_sampling_frequencies():
    p = np.array([0.05, 0.5, 0.9])
    s = Bernoulli(logits=gw.tensor(np.log(p / (1 - p)))).sample((N,), generator=gen(3)).numpy()
    assert np.all(np.abs(s.mean(0) - p) < 4 * np.sqrt(p * (1 - p) / N))


# ---------------------------------------------------------------- gradients

def test_gradcheck_normal():
    loc, scale = f64([0.3, -1.0, 2.0]), f64([0.7, 1.5, 0.4])
    x = gw.tensor([0.1, 0.5, 2.5], dtype=gw.float64)
    assert gw.gradcheck(lambda m, s: Normal(m, s).log_prob(x), (loc, scale))
    assert gw.gradcheck(lambda m, s: Normal(m, s).entropy(), (loc, scale))
    assert gw.gradcheck(lambda m, s: Normal(m, s).cdf(x), (loc, scale))
    # rsample with the noise fixed by the seed
    assert gw.gradcheck(lambda m, s: Normal(m, s).rsample((4,), generator=gen(7)), (loc, scale))
    m2, s2 = f64([1.0, 0.0, -1.0]), f64([2.0, 0.3, 1.0])
    assert gw.gradcheck(lambda a, b, c, d: kl_divergence(Normal(a, b), Normal(c, d)), (loc, scale, m2, s2))


def test_rsample_gradient_is_the_noise():
    loc, scale = f64([0.0, 1.0]), f64([1.0, 2.0])
    d = Normal(loc, scale)
    s = d.rsample((3,), generator=gen(11))
    s.sum().backward()
    noise = gen(11).np.standard_normal((3, 2))
    np.testing.assert_allclose(loc.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(scale.grad.numpy(), noise.sum(0))
    assert not d.sample().requires_grad


def test_gradcheck_categorical():
    probs, logits = f64([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]), f64([[0.1, -1.0, 2.0], [0.0, 0.3, -0.4]])
    v = gw.tensor([2, 0])
    assert gw.gradcheck(lambda p: Categorical(probs=p).log_prob(v), (probs,))
    assert gw.gradcheck(lambda p: Categorical(probs=p).entropy(), (probs,))
    assert gw.gradcheck(lambda lg: Categorical(logits=lg).log_prob(v), (logits,))
    assert gw.gradcheck(lambda lg: Categorical(logits=lg).entropy(), (logits,))
    other = f64([[0.3, 0.3, 0.4], [0.2, 0.2, 0.6]])
    assert gw.gradcheck(lambda a, b: kl_divergence(Categorical(logits=a), Categorical(probs=b)), (logits, other))


def test_gradcheck_bernoulli():
    probs, logits = f64([0.2, 0.5, 0.9]), f64([-3.0, 0.2, 4.0])
    v = gw.tensor([1.0, 0.0, 1.0], dtype=gw.float64)
    assert gw.gradcheck(lambda p: Bernoulli(probs=p).log_prob(v), (probs,))
    assert gw.gradcheck(lambda p: Bernoulli(probs=p).entropy(), (probs,))
    assert gw.gradcheck(lambda lg: Bernoulli(logits=lg).log_prob(v), (logits,))
    assert gw.gradcheck(lambda lg: Bernoulli(logits=lg).entropy(), (logits,))
    assert gw.gradcheck(lambda a, b: kl_divergence(Bernoulli(logits=a), Bernoulli(probs=b)), (logits, probs))


def test_reinforce_two_armed_bandit():
    logits = gw.zeros(2, requires_grad=True)
    opt = gw.optim.SGD([logits], lr=0.1)
    g = gen(0)
    reward = gw.tensor([0.0, 1.0])   # arm 1 is better
    start = Categorical(logits=logits).probs[1].item()
    for _ in range(50):
        pi = Categorical(logits=logits)
        actions = pi.sample((16,), generator=g)
        loss = -(pi.log_prob(actions) * reward[actions]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert Categorical(logits=logits).probs[1].item() > start + 0.2


def test_vae_style_rsample_plus_kl():
    mu, log_sigma = gw.zeros(3, requires_grad=True), gw.zeros(3, requires_grad=True)
    q = Normal(mu, log_sigma.exp())
    z = q.rsample(generator=gen(0))
    loss = ((z - 2.0) ** 2).sum() + kl_divergence(q, Normal(gw.zeros(3), gw.ones(3))).sum()
    loss.backward()
    assert mu.grad is not None and log_sigma.grad is not None
    assert np.isfinite(mu.grad.numpy()).all() and np.abs(mu.grad.numpy()).sum() > 0


def test_lazy_subpackage():
    assert gw.distributions.Normal is Normal
    assert gw.distributions.kl_divergence is kl_divergence


# ---------------------------------------------------------------- against torch.distributions

def _torch():
    return pytest.importorskip("torch")


def _pair(values, torch):
    """The same float64 leaf in gradwise and in torch."""
    a = np.asarray(values, dtype=np.float64)
    return (gw.tensor(a, dtype=gw.float64, requires_grad=True),
            torch.tensor(a, dtype=torch.float64, requires_grad=True))


def _close(g, t, **kw):
    np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), **{"rtol": 1e-10, "atol": 1e-12, **kw})


def _grads_match(g_out, t_out, g_params, t_params):
    g_out.sum().backward()
    t_out.sum().backward()
    for gp, tp in zip(g_params, t_params):
        _close(gp.grad, tp.grad)


def test_normal_matches_torch():
    torch = _torch()
    td = torch.distributions
    (gl, tl), (gs, ts) = _pair([[0.0], [1.0]], torch), _pair([0.5, 2.0, 1.0], torch)
    gd, tdist = Normal(gl, gs), td.Normal(tl, ts)
    assert tuple(gd.batch_shape) == tuple(tdist.batch_shape)
    x = np.array([0.3, -1.0, 2.5])
    gx, tx = gw.tensor(x, dtype=gw.float64), torch.tensor(x)
    _close(gd.log_prob(gx), tdist.log_prob(tx))
    _close(gd.entropy(), tdist.entropy())
    _close(gd.cdf(gx), tdist.cdf(tx))
    _close(gd.mean, tdist.mean)
    _close(gd.stddev, tdist.stddev)
    _close(gd.variance, tdist.variance)
    _grads_match(gd.log_prob(gx) + gd.entropy() + gd.cdf(gx), tdist.log_prob(tx) + tdist.entropy() + tdist.cdf(tx),
                 (gl, gs), (tl, ts))
    (gl2, tl2), (gs2, ts2) = _pair([1.0, -0.5, 0.0], torch), _pair([1.0, 0.3, 3.0], torch)
    gk = kl_divergence(Normal(gl, gs), Normal(gl2, gs2))
    tk = td.kl_divergence(td.Normal(tl, ts), td.Normal(tl2, ts2))
    _close(gk, tk)
    gl.grad = gs.grad = None
    tl.grad = ts.grad = None
    _grads_match(gk, tk, (gl, gs, gl2, gs2), (tl, ts, tl2, ts2))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_categorical_matches_torch(param):
    torch = _torch()
    td = torch.distributions
    values = [[0.2, 0.5, 0.3], [1.0, 1.0, 2.0]] if param == "probs" else [[0.1, -1.0, 2.0], [0.0, 3.0, -0.4]]
    (gp, tp) = _pair(values, torch)
    gd, tdist = Categorical(**{param: gp}), td.Categorical(**{param: tp})
    assert tuple(gd.batch_shape) == tuple(tdist.batch_shape)
    _close(gd.probs, tdist.probs)
    _close(gd.logits, tdist.logits)
    v = np.array([[2, 0], [1, 1], [0, 2]])
    gv, tv = gw.tensor(v), torch.tensor(v)
    _close(gd.log_prob(gv), tdist.log_prob(tv))
    _close(gd.entropy(), tdist.entropy())
    _grads_match(gd.log_prob(gv).sum(0) + gd.entropy(), tdist.log_prob(tv).sum(0) + tdist.entropy(), (gp,), (tp,))
    (gq, tq) = _pair([[0.3, 0.3, 0.4], [0.1, 0.7, 0.2]], torch)
    gp.grad, tp.grad = None, None
    gk = kl_divergence(Categorical(**{param: gp}), Categorical(probs=gq))
    tk = td.kl_divergence(td.Categorical(**{param: tp}), td.Categorical(probs=tq))
    _close(gk, tk)
    _grads_match(gk, tk, (gp, gq), (tp, tq))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_bernoulli_matches_torch(param):
    torch = _torch()
    td = torch.distributions
    values = [0.1, 0.5, 0.95] if param == "probs" else [-3.0, 0.2, 30.0]
    (gp, tp) = _pair(values, torch)
    gd, tdist = Bernoulli(**{param: gp}), td.Bernoulli(**{param: tp})
    v = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    gv, tv = gw.tensor(v, dtype=gw.float64), torch.tensor(v)
    _close(gd.log_prob(gv), tdist.log_prob(tv))
    _close(gd.entropy(), tdist.entropy())
    _close(gd.mean, tdist.mean)
    _close(gd.variance, tdist.variance)
    _close(gd.logits, tdist.logits)
    _grads_match(gd.log_prob(gv).sum(0) + gd.entropy(), tdist.log_prob(tv).sum(0) + tdist.entropy(), (gp,), (tp,))
    (gq, tq) = _pair([0.3, 0.6, 0.2], torch)
    gp.grad, tp.grad = None, None
    gk = kl_divergence(Bernoulli(**{param: gp}), Bernoulli(probs=gq))
    tk = td.kl_divergence(td.Bernoulli(**{param: tp}), td.Bernoulli(probs=tq))
    _close(gk, tk)
    _grads_match(gk, tk, (gp, gq), (tp, tq))


def test_validation_matches_torch():
    torch = _torch()
    td = torch.distributions
    for make_gw, make_t in [(lambda: Normal(0.0, -1.0), lambda: td.Normal(0.0, -1.0)),
                            (lambda: Bernoulli(probs=1.5), lambda: td.Bernoulli(probs=1.5))]:
        with pytest.raises(ValueError):
            make_t()
        with pytest.raises(ValueError):
            make_gw()
