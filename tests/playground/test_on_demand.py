"""The on-demand views: the LR triptych and the loss landscape with the path; neither changes the run."""

from __future__ import annotations

import numpy as np
import pytest

from gradwise.playground import on_demand
from gradwise.playground.engine import Playground
from gradwise.playground.settings import PlaygroundError, parse_settings


@pytest.fixture
def trained():
    pg = Playground(parse_settings({"dataset": "moons", "n_samples": 120, "hidden": [6], "lr": 0.05}))
    pg.step(60)
    return pg


@pytest.mark.parametrize("kind", ["random", "path"])
def test_landscape_leaves_the_run_untouched_and_holds_the_path(trained, kind):
    before = trained.parameters()
    land = on_demand.landscape(trained, kind, steps=7)
    for name, value in trained.parameters().items():
        np.testing.assert_array_equal(value, before[name])
    losses = np.array(land["losses"], dtype=float)
    assert losses.shape == (7, 7) and np.all(losses > 0)
    path = np.array(land["path"], dtype=float)
    assert len(path) == len(trained.path) == len(land["path_steps"]) == 61
    (a0, a1), (b0, b1) = land["alphas"], land["betas"]
    assert np.all((path[:, 0] >= a0 - 1e-9) & (path[:, 0] <= a1 + 1e-9))
    assert np.all((path[:, 1] >= b0 - 1e-9) & (path[:, 1] <= b1 + 1e-9))
    if kind == "path":
        np.testing.assert_allclose(path[-1], [0.0, 0.0], atol=1e-6)     # centred on the current weights
        assert losses.min() <= land["center_loss"] + 1e-6 or losses.min() < losses.max()


def test_landscape_projection_recovers_points_in_the_plane():
    rng = np.random.default_rng(0)
    d1, d2, center = rng.standard_normal(50), rng.standard_normal(50), rng.standard_normal(50)
    coords = np.array([[0.5, -1.0], [2.0, 0.25]])
    path = center + coords[:, :1] * d1 + coords[:, 1:] * d2
    np.testing.assert_allclose(on_demand._project(path, center, d1, d2), coords, atol=1e-10)


def test_landscape_errors(trained):
    with pytest.raises(PlaygroundError, match="kind 'flat' is not valid; valid: random, path"):
        on_demand.landscape(trained, "flat")
    with pytest.raises(PlaygroundError, match="at least 3 recorded points"):
        on_demand.landscape(Playground(parse_settings({"n_samples": 40})), "path")


def test_path_is_thinned_to_a_bounded_length(monkeypatch):
    from gradwise.playground import engine

    monkeypatch.setattr(engine, "MAX_PATH_POINTS", 8)
    pg = Playground(parse_settings({"n_samples": 40, "hidden": [3]}))
    pg.step(50)
    assert len(pg.path) <= 9 and pg.path_steps[0] == 0 and pg.path_steps == sorted(pg.path_steps)


def test_triptych_retrains_copies_at_three_rates(trained):
    before = trained.parameters()
    trip = on_demand.triptych(trained, steps=30)
    assert [r["lr"] for r in trip["runs"]] == [0.005, 0.05, 0.5]
    assert all(len(r["train_loss"]) == 31 for r in trip["runs"])
    # a copy at the run's own rate starts from the same seed: its curve is the run's first 30 updates
    assert trip["runs"][1]["train_loss"][:31] == pytest.approx(trained.train_loss[:31], rel=1e-5)
    for name, value in trained.parameters().items():
        np.testing.assert_array_equal(value, before[name])
    high = on_demand.triptych(Playground(parse_settings({"n_samples": 40, "lr": 5.0})), steps=2)
    assert high["runs"][2]["lr"] == 10.0                                 # clipped to the slider's range


def test_contour_cos_is_one_for_full_batch_sgd_and_less_for_adam():
    from gradwise.playground.contour import contour

    sgd = Playground(parse_settings({"n_samples": 80, "hidden": [4], "optimizer": "sgd", "batch_mode": "full"}))
    sgd.step(4)
    view = contour(sgd, 0, 3, steps=5)
    assert view["cos"] == pytest.approx(1.0, abs=1e-6) and view["cos_plane"] == pytest.approx(1.0, abs=1e-6)
    # plain SGD steps along minus the gradient: step = lr * descent, coordinate by coordinate
    # (to float32 rounding: the step is the difference of two float32 weights near 0.5)
    np.testing.assert_allclose(view["step"], np.array(view["descent"]) * 0.03, rtol=3e-3)
    assert view["labels"] == ["0.weight[0, 0]", "0.weight[1, 1]"] and view["n_parameters"] == 4 * 2 + 4 + 2 * 4 + 2
    losses = np.array(view["losses"], dtype=float)
    assert losses.shape == (5, 5)
    (a0, a1), (b0, b1) = view["alphas"], view["betas"]
    assert a0 < view["center"][0] < a1 and b0 < view["center"][1] < b1
    adam = Playground(parse_settings({"n_samples": 80, "hidden": [4], "optimizer": "adam", "batch_mode": "full"}))
    adam.step(4)
    assert contour(adam, 0, 1, steps=3)["cos"] < 0.99


def test_contour_leaves_the_run_untouched(tmp_path):
    import runpy

    from gradwise.playground.contour import contour
    from gradwise.playground.export import python_script

    s = parse_settings({"n_samples": 80, "hidden": [4], "dropout": 0.2})
    pg = Playground(s)
    pg.step(6)
    contour(pg, 2, 5, steps=4)
    pg.step(6)
    path = tmp_path / "run.py"
    path.write_text(python_script(s, 12), encoding="utf-8")
    model = runpy.run_path(str(path))["model"]
    for name, value in pg.parameters().items():
        np.testing.assert_array_equal(model.state_dict()[name].detach().numpy(), value)
    assert pg.monitor.attached and pg.views()["gradients"]["layers"]


@pytest.mark.parametrize("i, j, message", [
    (0, 0, "i and j must be two different parameters, got 0 twice"),
    (-1, 1, "contour: i must be a parameter index from 0 to 21, got -1"),
    (0, 99, "contour: j must be a parameter index from 0 to 21, got 99"),
    ("a", 1, "contour: i must be a parameter index"),
])
def test_contour_errors(i, j, message):
    from gradwise.playground.contour import contour

    pg = Playground(parse_settings({"n_samples": 40, "hidden": [4]}))
    with pytest.raises(PlaygroundError, match="take at least one update first"):
        contour(pg, 0, 1)
    pg.step(1)
    with pytest.raises(PlaygroundError) as err:
        contour(pg, i, j)
    assert message in str(err.value)
