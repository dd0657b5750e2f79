"""GradientMonitor on networks whose gradient health is known from theory: a deep sigmoid
net (vanishing), large-init tanh and linear nets (exploding), very negative ReLU biases
(dead), a well-initialised ReLU net (healthy), gradient clipping (exploding -> healthy);
and the monitor's mechanics (fit callback, hooks removed on detach, sampling, window).

Independent oracles: a NumPy re-implementation of the MLP's backward pass, the trainer's own
global gradient norm, and SGD's update rule dw = -lr * g."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight import GradientMonitor, MonitorError, MonitorTypeError, Thresholds
from gradwise.train import TerminateOnNaN, fit


def mlp(activation, depth=10, width=32, inputs=8, outputs=1, weight_std=None, he=False, bias=None, seed=0,
        dtype=None):
    gen = gw.Generator().manual_seed(seed)
    layers = []
    for k in range(depth):
        last = k == depth - 1
        layer = nn.Linear(inputs if k == 0 else width, outputs if last else width, generator=gen, dtype=dtype)
        if weight_std is not None:
            nn.init.normal_(layer.weight, 0.0, weight_std, generator=gen)
        if he and not last:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=gen)
            nn.init.zeros_(layer.bias)
        if bias is not None and not last:
            nn.init.constant_(layer.bias, bias)
        layers.append(layer)
        if activation is not None and not last:
            layers.append(activation())
    return nn.Sequential(*layers)


def batch(n=64, inputs=8, seed=1, dtype=None):
    gen = gw.Generator().manual_seed(seed)
    return gw.randn(n, inputs, generator=gen, dtype=dtype), gw.randn(n, 1, generator=gen, dtype=dtype)


def one_step_report(model, x, y, thresholds=None):
    with GradientMonitor(model, thresholds=thresholds) as monitor:
        ((model(x) - y) ** 2).mean().backward()
        monitor.observe_gradients()
    return monitor.report()


def numpy_sigmoid_mlp_grad_norms(model, x, y):
    """Backpropagation by hand for Linear -> Sigmoid -> ... -> Linear with the loss mean((out - y)^2):
    the per-layer L2 norm of (dW, db)."""
    linears = [m for m in model if isinstance(m, nn.Linear)]
    a = [np.asarray(x.detach().numpy(), np.float64)]
    for k, layer in enumerate(linears):
        z = a[-1] @ layer.weight.detach().numpy().astype(np.float64).T + layer.bias.detach().numpy().astype(np.float64)
        a.append(z if k == len(linears) - 1 else 1.0 / (1.0 + np.exp(-z)))
    dz = 2.0 * (a[-1] - np.asarray(y.detach().numpy(), np.float64)) / a[-1].size
    norms = []
    for k in range(len(linears) - 1, -1, -1):
        dw, db = dz.T @ a[k], dz.sum(0)
        norms.append(math.sqrt((dw ** 2).sum() + (db ** 2).sum()))
        if k:
            dz = (dz @ linears[k].weight.detach().numpy().astype(np.float64)) * a[k] * (1.0 - a[k])
    return np.array(norms[::-1])


# --------------------------------------------------------------------------- vanishing
def test_deep_sigmoid_net_vanishes_in_its_early_layers():
    model = mlp(nn.Sigmoid, dtype=gw.float64)
    x, y = batch(dtype=gw.float64)
    report = one_step_report(model, x, y)
    oracle = numpy_sigmoid_mlp_grad_norms(model, x, y)

    norms = np.array([lv.figures.grad_norm for lv in report.layers])
    np.testing.assert_allclose(norms, oracle, rtol=1e-10)
    assert report.first_to_last_ratio == pytest.approx(oracle[0] / oracle[-1], rel=1e-10)
    assert report.first_to_last_ratio < 1e-6
    # sigmoid' <= 1/4 times a default-init gain of ~0.58: the geometric decay is well below 1/4 per layer
    assert report.decay_per_layer == pytest.approx(report.first_to_last_ratio ** (1 / 9), rel=1e-10)
    assert report.decay_per_layer < 0.25

    assert report.verdict == "vanishing"
    first = report.layers[0]
    assert first.label == "0 (Linear+Sigmoid)"
    assert first.verdict == "vanishing"
    ev = first.evidence[0]
    assert (ev.figure, ev.comparison, ev.threshold) == ("relative_grad_norm", "<=", 1e-3)
    assert ev.value == first.figures.relative_grad_norm == pytest.approx(oracle[0] / oracle[-1], rel=1e-10)
    # early layers vanish, the ones near the output do not: the verdict flips once, where the
    # relative norm crosses the threshold
    rel = oracle / oracle[-1]
    expected = ["vanishing" if r <= 1e-3 else "healthy" for r in rel]
    assert [lv.verdict for lv in report.layers] == expected
    assert expected[:3] == ["vanishing"] * 3 and expected[-3:] == ["healthy"] * 3
    assert any("sigmoid's derivative is at most 1/4" in a for a in first.advice)
    assert any("Kaiming" in a for a in report.advice)


def test_thresholds_are_configurable():
    model = mlp(nn.Sigmoid)
    x, y = batch()
    strict = one_step_report(model, x, y, Thresholds(vanishing_ratio=1e-12))
    assert strict.verdict == "healthy"
    assert strict.thresholds.vanishing_ratio == 1e-12
    model.zero_grad()
    loose = one_step_report(model, x, y, Thresholds(vanishing_ratio=0.5))
    assert [lv.verdict for lv in loose.layers[:-1]] == ["vanishing"] * 9


# --------------------------------------------------------------------------- exploding
def test_large_init_tanh_net_explodes_towards_the_input():
    # N(0, 3^2) weights put tanh in its chaotic regime: E[tanh'(z)^2] x 9 x fan_in > 1, so the
    # backward signal grows layer by layer towards the input although most units saturate.
    model = mlp(nn.Tanh, weight_std=3.0)
    x, y = batch()
    report = one_step_report(model, x, y)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    direct = np.array([math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in m.parameters()))
                       for m in linears])
    np.testing.assert_allclose([lv.figures.grad_norm for lv in report.layers], direct, rtol=1e-12)
    assert report.first_to_last_ratio == pytest.approx(direct[0] / direct[-1], rel=1e-12)
    assert report.first_to_last_ratio > 1e3 and report.decay_per_layer > 2.0

    assert report.verdict == "exploding"
    first = report.layers[0]
    assert first.verdict == "exploding"
    assert (first.evidence[0].figure, first.evidence[0].comparison) == ("relative_grad_norm", ">=")
    assert first.evidence[0].value > 1e3
    assert first.figures.weight_rms == pytest.approx(3.0, rel=0.1)
    # the same layers are saturated (|tanh| > 0.99): recorded as a second finding
    assert first.figures.saturated_fraction > 0.5
    assert "saturated" in [e.verdict for e in first.evidence]
    assert report.layers[-1].verdict == "healthy"
    assert any("initialised too large" in a for a in first.advice)


def test_large_init_linear_net_explodes_through_its_updates():
    # Without activations ||dW_k|| = ||delta_k|| ||a_{k-1}||: the backward factor grows towards the
    # input as fast as the forward one shrinks, so the norms are level across depth (no depth
    # signal), but they are astronomically large: one SGD step replaces the weights.
    model = mlp(None, weight_std=3.0)
    x, y = batch()
    opt = gw.optim.SGD(model.parameters(), lr=1e-3)
    with GradientMonitor(model) as monitor:
        ((model(x) - y) ** 2).mean().backward()
        monitor.observe_gradients()
        opt.step()
        monitor.observe_update()
    report = monitor.report()
    assert 0.1 < report.first_to_last_ratio < 10
    assert report.verdict == "exploding"
    for lv in report.layers:
        assert lv.verdict == "exploding"
        assert lv.evidence[0].figure == "update_ratio" and lv.evidence[0].value == lv.figures.update_ratio > 1e6
        assert lv.figures.relative_grad_norm < 10
        # plain SGD: ||dw|| / ||w|| = lr ||g|| / ||w||
        assert lv.figures.update_ratio == pytest.approx(1e-3 * lv.figures.grad_norm / lv.figures.weight_norm,
                                                        rel=1e-4)


# ------------------------------------------------------------------------------- dead
def test_relu_net_with_very_negative_biases_is_dead():
    model = mlp(nn.ReLU, bias=-10.0)
    x, y = batch()
    report = one_step_report(model, x, y)
    assert report.verdict == "dead"
    for lv in report.layers[:-1]:
        assert lv.verdict == "dead"
        assert lv.evidence[0].figure == "dead_fraction"
        assert lv.figures.dead_fraction == 1.0
        assert lv.figures.grad_norm == 0.0 and lv.figures.zero_grad_fraction == 1.0
    # the output layer reads only zeros: its weight gradient is exactly zero, only the bias learns
    out = report.layers[-1]
    assert out.verdict == "dead" and out.evidence[0].figure == "zero_grad_fraction"
    assert out.figures.zero_grad_fraction == pytest.approx(32 / 33)
    assert any("LeakyReLU" in a for a in report.advice)
    # the vanishing figures of dead layers are a consequence, not a cause: no init advice for them
    assert not any("too small for this depth" in a for a in report.advice)


def test_dead_units_are_not_counted_on_tiny_batches():
    model = mlp(nn.ReLU, depth=3, he=True)
    x, y = batch(n=1)
    report = one_step_report(model, x, y)
    assert all(math.isnan(lv.figures.dead_fraction) for lv in report.layers)
    assert report.verdict != "dead"


# ---------------------------------------------------------------------------- healthy
def regression_data(n=256, inputs=8, scale=1.0, seed=5):
    gen = gw.Generator().manual_seed(seed)
    x = gw.randn(n, inputs, generator=gen)
    y = (x @ gw.randn(inputs, 1, generator=gen)).tanh() * scale + 0.1 * gw.randn(n, 1, generator=gen)
    return x, y


def test_well_initialised_relu_net_trains_without_alarm():
    model = mlp(nn.ReLU, depth=6, he=True)
    monitor = GradientMonitor(model)
    history = fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.01), regression_data(), epochs=5,
                  batch_size=32, callbacks=[monitor], progress=False, generator=gw.Generator().manual_seed(1))
    assert history.epochs["loss"][-1] < 0.6 * history.epochs["loss"][0]
    report = monitor.report()
    t = report.thresholds
    assert report.verdict == "healthy" and report.flagged == ()
    assert report.steps_observed == 40 and (report.first_step, report.last_step) == (0, 39)
    for lv in report.layers:
        f = lv.figures
        assert lv.evidence == () and lv.advice == ()
        assert t.vanishing_ratio < f.relative_grad_norm < t.exploding_ratio
        assert 0.05 < f.relative_grad_norm <= 1.0
        assert t.update_ratio_low < f.update_ratio < t.update_ratio_high
        assert 1e-4 < f.update_ratio < 0.1
        assert f.grad_norm_cv < t.noisy_cv
        assert f.nonfinite_steps == 0
    assert all(lv.figures.dead_fraction < 0.5 for lv in report.layers[:-1])
    assert report.clip_factor == pytest.approx(1.0)


# --------------------------------------------------------------------------- clipping
def clipped_run(clip):
    # Targets of scale 10 make raw gradients of 10-100: with lr 0.03 an unclipped step overshoots
    # and the next gradient is larger still, until it overflows.
    model = mlp(nn.ReLU, depth=6, he=True)
    monitor = GradientMonitor(model)
    with np.errstate(all="ignore"):
        history = fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.03), regression_data(scale=10.0),
                      epochs=6, batch_size=32, callbacks=[monitor, TerminateOnNaN()], clip_grad_norm=clip,
                      progress=False, generator=gw.Generator().manual_seed(1))
    return monitor, history


def test_clipping_turns_exploding_into_healthy():
    monitor, history = clipped_run(None)
    report = monitor.report()
    assert report.verdict == "exploding"
    assert not math.isfinite(history.steps["loss"][-1])
    first = report.layers[0]
    assert first.evidence[0].figure == "nonfinite_steps" and first.evidence[0].value >= 1
    raw = monitor.layer_history("0").raw_grad_norm
    assert raw[0] < 100 and (raw[2] > 1e3 or not np.isfinite(raw).all())
    assert any("clip the gradient norm" in a for a in report.advice)

    monitor, history = clipped_run(1.0)
    report = monitor.report()
    assert history.epochs["loss"][-1] < 0.75 * history.epochs["loss"][0]
    assert report.verdict == "healthy", report.to_text()
    assert report.clip_factor < 0.1
    # the verdicts judge the applied (clipped) gradients; the raw ones are reported next to them
    hist = [monitor.layer_history(n) for n in monitor.layer_names]
    applied_total = np.sqrt(sum(h.grad_norm ** 2 for h in hist))
    raw_total = np.sqrt(sum(h.raw_grad_norm ** 2 for h in hist))
    np.testing.assert_allclose(raw_total, history.steps["grad_norm"], rtol=1e-6)   # trainer's pre-clip norm
    assert np.all(applied_total <= 1.0 + 1e-5) and np.all(raw_total > 5.0)
    for lv in report.layers:
        assert lv.figures.raw_grad_norm > 5 * lv.figures.grad_norm
        assert 1e-5 < lv.figures.update_ratio < 0.5
    text = report.to_text()
    assert "gradients clipped" in text and "raw norm" in text


def test_clipping_does_not_fix_an_imbalance_through_depth():
    # Clipping the global norm rescales every layer by the same factor: the ratio between the
    # first and the last layer, the signature of bad initialisation, stays, and so does the verdict.
    model = mlp(nn.Tanh, weight_std=3.0)
    x, y = regression_data(n=64)
    opt = gw.optim.SGD(model.parameters(), lr=1e-3)
    with GradientMonitor(model) as monitor:
        for _ in range(3):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            monitor.observe_gradients()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            monitor.observe_update()
    report = monitor.report()
    assert report.clip_factor < 1e-2
    assert report.verdict == "exploding"
    assert report.layers[0].evidence[0].figure == "relative_grad_norm"
    first, last = monitor.layer_history("0"), monitor.layer_history("18")
    np.testing.assert_allclose(first.grad_norm / last.grad_norm, first.raw_grad_norm / last.raw_grad_norm, rtol=1e-4)
    assert np.all(first.grad_norm < 1e-2 * first.raw_grad_norm)


# ---------------------------------------------------------------- other verdicts end to end
def test_tiny_learning_rate_is_stalled():
    model = mlp(nn.ReLU, depth=3, width=16, inputs=4, he=True)
    x = gw.randn(64, 4, generator=gw.Generator().manual_seed(3))
    monitor = GradientMonitor(model)
    fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=1e-7), (x, x.sum(1, keepdim=True)), epochs=2,
        batch_size=16, callbacks=[monitor], progress=False, generator=gw.Generator().manual_seed(1))
    report = monitor.report()
    assert report.verdict == "stalled"
    for lv in report.layers:
        assert lv.verdict == "stalled" and lv.evidence[0].figure == "update_ratio"
        assert lv.figures.update_ratio < 1e-5
    assert any("raise the learning rate" in a for a in report.advice)


def test_outliers_with_batch_size_one_are_noisy():
    gen = gw.Generator().manual_seed(3)
    x = gw.randn(64, 4, generator=gen)
    outliers = np.zeros((64, 1), np.float32)
    outliers[::16] = 100.0                      # 4 samples in 64 with a target 100 off
    y = x.sum(1, keepdim=True) + gw.tensor(outliers)
    model = mlp(nn.ReLU, depth=3, width=16, inputs=4, he=True)
    monitor = GradientMonitor(model)
    fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=1e-4), (x, y), epochs=1, mode="sgd",
        callbacks=[monitor], progress=False, generator=gw.Generator().manual_seed(1))
    report = monitor.report()
    assert report.verdict == "noisy"
    for lv in report.layers:
        norms = monitor.layer_history(lv.name).grad_norm
        assert lv.figures.grad_norm_cv == pytest.approx(norms.std() / norms.mean(), rel=1e-12)
        assert lv.verdict == "noisy" and lv.figures.grad_norm_cv >= 2.0


def test_large_sigmoid_inputs_are_saturated_but_not_judged_at_the_output():
    model = mlp(nn.Sigmoid, depth=3, weight_std=3.0)
    x, y = batch()
    report = one_step_report(model, x, y)
    hidden = report.layers[1]
    out = model[3](model[2](model[1](model[0](x))))
    frac = float(((out.detach().numpy() <= 0.01) | (out.detach().numpy() >= 0.99)).mean())
    assert hidden.label == "2 (Linear+Sigmoid)"
    assert hidden.figures.saturated_fraction == pytest.approx(frac)
    assert hidden.verdict == "saturated" and frac >= 0.5
    # a sigmoid after the last layer (a classifier's output) is never called saturated
    clf = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
    with gw.no_grad():
        clf[0].weight.mul_(100.0)
    rep = one_step_report(clf, x, (y > 0).float())
    assert rep.layers[0].figures.saturated_fraction > 0.5 and rep.layers[0].verdict == "healthy"


# ------------------------------------------------------------------------------ mechanics
def test_fit_callback_records_every_step_and_removes_its_hooks():
    model = mlp(nn.ReLU, depth=3, width=16, he=True)
    monitor = GradientMonitor(model)
    lr = 0.05
    history = fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=lr), regression_data(n=96), epochs=2,
                  batch_size=32, callbacks=[monitor], progress=False, generator=gw.Generator().manual_seed(1))
    assert not monitor.attached
    assert all(not m._forward_hooks for m in model.modules())
    assert monitor.steps_seen == 6 and monitor.layer_names == ["0", "2", "4"]
    # the trainer's global norm (before clipping) is the monitor's raw norms together
    total = np.sqrt(sum(monitor.parameter_history(n).raw_grad_norm ** 2 for n in monitor.parameter_names))
    np.testing.assert_allclose(total, history.steps["grad_norm"], rtol=1e-6)
    # plain SGD: dw = -lr g, so ||dw|| = lr ||g|| for every parameter and step
    for name in monitor.parameter_names:
        h = monitor.parameter_history(name)
        assert h.steps.tolist() == list(range(6))
        np.testing.assert_allclose(h.update_norm, lr * h.grad_norm, rtol=1e-4)
        zero = h.weight_norm == 0           # He init zeroes the hidden biases: ||w|| = 0 at the first step
        assert zero.tolist() == [name in ("0.bias", "2.bias")] + [False] * 5
        assert np.all(h.update_ratio[zero] == math.inf)
        np.testing.assert_allclose(h.update_ratio[~zero], h.update_norm[~zero] / h.weight_norm[~zero], rtol=1e-12)
    # after detach a forward records nothing
    x, y = batch(inputs=8)
    ((model(x) - y) ** 2).mean().backward()
    monitor.observe_gradients()
    assert np.isnan(monitor.layer_history("0").output_mean[-1])


def test_fit_rejects_a_monitor_of_another_model():
    monitor = GradientMonitor(mlp(nn.ReLU, depth=2))
    other = mlp(nn.ReLU, depth=2)
    with pytest.raises(MonitorError, match="not the model this monitor watches"):
        fit(other, nn.MSELoss(), gw.optim.SGD(other.parameters(), lr=0.1), regression_data(n=8), epochs=1,
            callbacks=[monitor], progress=False)


def test_manual_loop_gradient_statistics_match_numpy():
    model = mlp(nn.ReLU, depth=3, width=16, he=True)
    x, y = batch()
    with GradientMonitor(model) as monitor:
        assert monitor.attached
        ((model(x) - y) ** 2).mean().backward()
        monitor.observe_gradients()
    assert not monitor.attached and all(not m._forward_hooks for m in model.modules())
    for name, p in model.named_parameters():
        g = p.grad.numpy().astype(np.float64)
        h = monitor.parameter_history(name)
        assert h.grad_norm[-1] == pytest.approx(np.linalg.norm(g.ravel()))
        assert h.grad_mean_abs[-1] == pytest.approx(np.abs(g).mean())
        assert h.grad_max_abs[-1] == pytest.approx(np.abs(g).max())
        assert h.grad_std[-1] == pytest.approx(g.std())
        assert h.zero_fraction[-1] == pytest.approx((g == 0).mean())
        assert h.weight_norm[-1] == pytest.approx(np.linalg.norm(p.detach().numpy().astype(np.float64).ravel()))
        assert np.isnan(h.update_ratio[-1])
    # layer records: the Linear's output and its ReLU's output
    z = model[0](x)
    a = z.relu()
    lh = monitor.layer_history("0")
    assert lh.activation == "ReLU"
    assert lh.output_mean[-1] == pytest.approx(float(z.detach().numpy().mean()))
    assert lh.activation_std[-1] == pytest.approx(float(a.detach().numpy().std()))
    assert lh.dead_fraction[-1] == pytest.approx(float((a.detach().numpy() == 0).all(0).mean()))


def test_every_and_window():
    model = mlp(nn.ReLU, depth=2, width=8, he=True)
    x, y = batch()
    opt = gw.optim.SGD(model.parameters(), lr=0.01)
    monitor = GradientMonitor(model, every=3, window=4).attach()
    for _ in range(20):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        monitor.observe_gradients()
        opt.step()
        monitor.observe_update()
    monitor.detach()
    h = monitor.parameter_history("0.weight")
    assert h.steps.tolist() == [9, 12, 15, 18]
    assert np.isfinite(h.update_ratio).all()
    assert monitor.layer_history("0").steps.tolist() == [9, 12, 15, 18]
    report = monitor.report()
    assert report.steps_observed == 7 and (report.first_step, report.last_step) == (9, 18)
    monitor.reset()
    with pytest.raises(MonitorError, match="no gradients observed yet"):
        monitor.report()


def test_shared_activation_module_and_evaluation_forwards():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            gen = gw.Generator().manual_seed(0)
            self.fc1, self.fc2, self.fc3 = (nn.Linear(8, 16, generator=gen), nn.Linear(16, 16, generator=gen),
                                            nn.Linear(16, 1, generator=gen))
            self.act = nn.Tanh()        # one module used after two layers

        def forward(self, x):
            return self.fc3(self.act(self.fc2(self.act(self.fc1(x)))))

    model = Net()
    x, y = batch()
    with GradientMonitor(model) as monitor:
        with gw.no_grad():
            model(x * 100.0)            # an evaluation pass: not recorded
        ((model(x) - y) ** 2).mean().backward()
        monitor.observe_gradients()
    assert monitor.layer_names == ["fc1", "fc2", "fc3"]
    h1 = monitor.layer_history("fc1")
    assert h1.activation == "Tanh"
    act = model.fc1(x).tanh().detach().numpy().astype(np.float64)
    assert h1.activation_mean[-1] == pytest.approx(float(act.mean()))
    assert monitor.layer_history("fc2").activation == "Tanh"
    assert monitor.layer_history("fc3").activation is None
    report = monitor.report()
    assert [lv.label for lv in report.layers] == ["fc1 (Linear+Tanh)", "fc2 (Linear+Tanh)", "fc3 (Linear)"]


def test_unused_layer_gets_no_gradient_verdict():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Linear(8, 1), nn.Linear(8, 1)

        def forward(self, x):
            return self.used(x)

    model = Net()
    x, y = batch()
    report = one_step_report(model, x, y)
    assert report.layer("used").verdict == "healthy"
    unused = report.layer("unused")
    assert unused.verdict == "dead" and unused.evidence[0].figure == "has_gradient"
    with pytest.raises(KeyError, match="no layer 'nope'"):
        report.layer("nope")


def test_observe_update_misuse():
    model = mlp(nn.ReLU, depth=2)
    monitor = GradientMonitor(model)
    with pytest.raises(MonitorError, match="no step observed yet"):
        monitor.observe_update()
    x, y = batch()
    ((model(x) - y) ** 2).mean().backward()
    monitor.observe_gradients()
    monitor.observe_update()
    with pytest.raises(MonitorError, match="called twice for step 0"):
        monitor.observe_update()


def test_constructor_errors():
    with pytest.raises(MonitorTypeError, match="must be a gradwise.nn.Module, got list"):
        GradientMonitor([1, 2])
    model = mlp(nn.ReLU, depth=2)
    with pytest.raises(MonitorError, match="every must be an int >= 1, got 0"):
        GradientMonitor(model, every=0)
    with pytest.raises(MonitorError, match="window must be an int >= 1, got 2.5"):
        GradientMonitor(model, window=2.5)
    with pytest.raises(MonitorTypeError, match="thresholds must be a gradwise.insight.Thresholds"):
        GradientMonitor(model, thresholds={"vanishing_ratio": 1e-3})
    with pytest.raises(MonitorError, match="no parameters that require grad"):
        GradientMonitor(nn.Sequential(nn.ReLU()))
    with pytest.raises(MonitorError, match="no monitored parameter 'x'"):
        GradientMonitor(model).parameter_history("x")
    with pytest.raises(MonitorError, match="no layer 'x'"):
        GradientMonitor(model).layer_history("x")


def test_report_serialises_and_renders():
    model = mlp(nn.ReLU, bias=-10.0, depth=4)
    x, y = batch()
    report = one_step_report(model, x, y)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["verdict"] == "dead"
    assert [layer["verdict"] for layer in data["layers"]] == [lv.verdict for lv in report.layers]
    assert data["layers"][0]["figures"]["dead_fraction"] == 1.0
    assert data["layers"][0]["figures"]["update_ratio"] is None        # NaN -> None
    assert data["thresholds"]["dead_fraction"] == 0.5
    text = str(report)
    assert text == report.to_text()
    assert text.startswith("Gradient health: DEAD")
    assert "0 (Linear+ReLU)" in text and "Findings:" in text and "Advice:" in text
    assert "dead_fraction >= 0.5" in text
