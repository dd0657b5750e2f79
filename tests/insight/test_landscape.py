"""Loss landscapes: filter normalisation (Li et al., 2018), interpolation endpoints, surface grid
points against direct evaluation, the PCA projection of a training path, and the model's
parameters restored bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight import (
    LandscapeError,
    ParameterRecorder,
    dataset_loss,
    filter_normalized_direction,
    interpolate,
    load_weights,
    snapshot,
    surface,
    trajectory,
)


class ConvNet(nn.Module):
    def __init__(self, gen):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, generator=gen)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 4 * 4, 2, generator=gen)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).relu().flatten(1))


def _mlp(seed=0):
    gen = gw.Generator().manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 6, generator=gen), nn.Tanh(), nn.Linear(6, 1, generator=gen))


def _data(n=48, seed=1):
    gen = gw.Generator().manual_seed(seed)
    x = gw.randn(n, 2, generator=gen)
    return x, (x[:, :1] * x[:, 1:]).sin()


def _params(model):
    return {n: p.detach().numpy().copy() for n, p in model.named_parameters()}


def _same(model, saved):
    return all(p.dtype == saved[n].dtype and np.array_equal(p.detach().numpy(), saved[n])
               for n, p in model.named_parameters())


def test_filter_normalised_direction_has_the_filter_norms_of_the_weights():
    model = ConvNet(gw.Generator().manual_seed(0))
    nn.init.normal_(model.bn.weight, generator=gw.Generator().manual_seed(3))   # not all ones
    d = filter_normalized_direction(model, gw.Generator().manual_seed(1))
    params = dict(model.named_parameters())
    assert set(d) == set(params)
    for name, p in params.items():
        w = p.detach().numpy().astype(np.float64)
        assert d[name].shape == w.shape
        if w.ndim <= 1:                        # biases and BatchNorm's weight/bias: left out
            assert not d[name].any(), name
            continue
        for i in range(w.shape[0]):            # each filter: conv output channel, linear output unit
            assert np.linalg.norm(d[name][i]) == pytest.approx(np.linalg.norm(w[i]), rel=1e-12)
        cos = np.sum(d[name] * w) / (np.linalg.norm(d[name]) * np.linalg.norm(w))
        assert abs(cos) < 0.9                  # a random direction, not the weights themselves
    other = filter_normalized_direction(model, gw.Generator().manual_seed(2))
    assert not np.allclose(other["conv.weight"], d["conv.weight"])


def test_interpolation_endpoints_are_the_losses_of_the_two_parameter_sets():
    model = _mlp()
    x, y = _data()
    start = snapshot(model)
    end = snapshot(_mlp(seed=5))
    saved = _params(model)
    line = interpolate(model, nn.MSELoss(), (x, y), start, end, labels=("a", "b"))
    assert _same(model, saved)
    assert len(line.alphas) == 31 and 0.0 in line.alphas and 1.0 in line.alphas
    load_weights(model, start)
    l0 = dataset_loss(model, nn.MSELoss(), (x, y))
    load_weights(model, end)
    l1 = dataset_loss(model, nn.MSELoss(), (x, y))
    load_weights(model, saved)
    assert line.losses[list(line.alphas).index(0.0)] == l0 == line.start_loss
    assert line.losses[list(line.alphas).index(1.0)] == l1 == line.end_loss
    # a midpoint, computed by hand
    i = list(line.alphas).index(0.5)
    load_weights(model, {k: 0.5 * start[k].astype(np.float64) + 0.5 * end[k] for k in start})
    assert line.losses[i] == pytest.approx(dataset_loss(model, nn.MSELoss(), (x, y)), rel=1e-6)
    load_weights(model, saved)
    dist = np.sqrt(sum(np.sum((end[k].astype(np.float64) - start[k]) ** 2) for k in start))
    assert line.distance == pytest.approx(dist, rel=1e-12)


def test_surface_grid_points_match_direct_evaluation_and_parameters_are_restored():
    model = _mlp()
    x, y = _data()
    saved = _params(model)
    s = surface(model, nn.MSELoss(), (x, y), span=(-0.5, 0.5), steps=5, generator=gw.Generator().manual_seed(0))
    assert _same(model, saved)
    assert s.losses.shape == (5, 5) and s.alphas.tolist() == [-0.5, -0.25, 0.0, 0.25, 0.5]
    assert s.losses[2, 2] == s.center_loss == dataset_loss(model, nn.MSELoss(), (x, y))
    d1, d2 = s.directions
    for j, i in ((0, 4), (3, 1)):
        a, b = s.alphas[i], s.betas[j]
        load_weights(model, {k: saved[k].astype(np.float64) + a * d1[k] + b * d2[k] for k in saved})
        assert s.losses[j, i] == dataset_loss(model, nn.MSELoss(), (x, y))
    load_weights(model, saved)
    for d in (d1, d2):                         # the default directions are filter-normalised
        assert not d["0.bias"].any()
        np.testing.assert_allclose(np.linalg.norm(d["0.weight"], axis=1), np.linalg.norm(saved["0.weight"], axis=1))


def test_trajectory_projects_a_planar_path_without_distortion():
    model = _mlp()
    x, y = _data()
    centre = snapshot(model)
    rng = np.random.default_rng(0)
    names = list(centre)
    size = sum(v.size for v in centre.values())
    u, v = np.linalg.qr(rng.normal(size=(size, 2)))[0].T        # an orthonormal plane in weight space
    coeffs = np.array([[2.0, 1.0], [1.5, -0.5], [0.7, 0.4], [0.2, -0.1], [0.0, 0.0]])
    snaps = []
    for a, b in coeffs:
        flat = a * u + b * v
        out, start = {}, 0
        for n in names:
            out[n] = centre[n].astype(np.float64) + flat[start:start + centre[n].size].reshape(centre[n].shape)
            start += centre[n].size
        snaps.append(out)
    saved = _params(model)
    t = trajectory(model, nn.MSELoss(), (x, y), snaps, steps=7)
    assert _same(model, saved)
    assert t.path.shape == (5, 2) and t.path[-1].tolist() == [0.0, 0.0]
    assert t.explained_variance.sum() == pytest.approx(1.0, abs=1e-9)      # the path lies in a plane
    assert (t.explained_variance >= 0).all() and t.explained_variance[0] >= t.explained_variance[1]
    # a rotation within the plane: every distance between path points is kept
    for i in range(5):
        for j in range(5):
            assert np.linalg.norm(t.path[i] - t.path[j]) == pytest.approx(
                np.linalg.norm(coeffs[i] - coeffs[j]), abs=1e-9)
    # the grid covers the path, and the path's losses are the losses at the snapshots
    assert t.alphas.min() < t.path[:, 0].min() and t.alphas.max() > t.path[:, 0].max()
    assert t.betas.min() < t.path[:, 1].min() and t.betas.max() > t.path[:, 1].max()
    for k in (0, 4):
        load_weights(model, snaps[k])
        assert t.path_losses[k] == dataset_loss(model, nn.MSELoss(), (x, y))
    load_weights(model, saved)
    assert t.center_loss == t.path_losses[-1]


def test_trajectory_of_a_recorded_training_run():
    model = _mlp()
    x, y = _data()
    rec = ParameterRecorder()
    gen = gw.Generator().manual_seed(0)
    gw.train.fit(model, nn.MSELoss(), gw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), (x, y), epochs=8,
                 batch_size=8, callbacks=[rec], progress=False, generator=gen)
    assert rec.epochs == list(range(9)) and len(rec.snapshots) == 9
    assert not np.array_equal(rec.snapshots[0]["0.weight"], rec.snapshots[-1]["0.weight"])
    assert all(np.array_equal(rec.snapshots[-1][n], p.detach().numpy()) for n, p in model.named_parameters())
    t = trajectory(model, nn.MSELoss(), (x, y), rec.snapshots, steps=5)
    ev = t.explained_variance
    assert ((0 <= ev) & (ev <= 1)).all() and ev.sum() <= 1 + 1e-12 and ev[0] >= ev[1]
    # an independent PCA of the same rows
    names = [n for n, _ in model.named_parameters()]
    rows = np.stack([np.concatenate([s[n].astype(np.float64).ravel() for n in names]) for s in rec.snapshots])
    rows = rows - rows[-1]
    sv = np.linalg.svd(rows - rows.mean(axis=0), compute_uv=False)
    np.testing.assert_allclose(ev, sv[:2] ** 2 / np.sum(sv ** 2), rtol=1e-9)
    assert np.linalg.norm(t.path[0]) <= np.linalg.norm(rows[0]) + 1e-9     # a projection never lengthens
    assert t.path_losses[0] > t.path_losses[-1]


def test_errors_name_the_problem():
    model = _mlp()
    x, y = _data()
    with pytest.raises(LandscapeError, match=r"no values for parameter\(s\) \['2.weight', '2.bias'\]"):
        interpolate(model, nn.MSELoss(), (x, y), snapshot(model), {k: v for k, v in snapshot(model).items()
                                                                     if k.startswith("0.")})
    with pytest.raises(LandscapeError, match="at least 3 parameter snapshots"):
        trajectory(model, nn.MSELoss(), (x, y), [snapshot(model)] * 2)
    with pytest.raises(LandscapeError, match="every snapshot is the same point"):
        trajectory(model, nn.MSELoss(), (x, y), [snapshot(model)] * 3)
    with pytest.raises(LandscapeError, match="number of points must be an int >= 2"):
        surface(model, nn.MSELoss(), (x, y), steps=1)
    with pytest.raises(LandscapeError, match="expected a dict"):
        interpolate(model, nn.MSELoss(), (x, y), [1, 2], snapshot(model))
