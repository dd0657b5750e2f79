"""The playground's engine: settings checks, the recipe (data, features, split, model, init,
batches), training, divergence, the views and the presets' lessons."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from gradwise.playground import engine, recipe, settings
from gradwise.playground.engine import Playground
from gradwise.playground.presets import PRESETS, apply_preset
from gradwise.playground.settings import PlaygroundError, Settings, parse_settings

SMALL = {"n_samples": 60, "hidden": [4]}


@pytest.mark.parametrize("values, message", [
    ({"hidden": [8, -2]}, "hidden: layer 2 has width -2; every width must be an integer from 1 to 32"),
    ({"hidden": [10000]}, "hidden: layer 1 has width 10000"),
    ({"hidden": [8] * 7}, "hidden: at most 6 hidden layers, got 7"),
    ({"hidden": "8,8"}, "hidden: must be a list of layer widths"),
    ({"hidden": [2.5]}, "layer 1 has width 2.5"),
    ({"lr": "abc"}, "lr: must be a finite number, got 'abc'"),
    ({"lr": 0}, "lr: must be in [1e-05, 10], got 0"),
    ({"lr": float("nan")}, "lr: must be a finite number"),
    ({"dataset": "mnist"}, "dataset: 'mnist' is not a valid choice; valid: spirals, moons, circles, xor, blobs"),
    ({"activation": "swish"}, "activation: 'swish' is not a valid choice"),
    ({"features": []}, "features: must be a non-empty list"),
    ({"features": ["x", "z"]}, "features: 'z' is not a valid choice"),
    ({"n_samples": 10**6}, "n_samples: must be an integer from 20 to 1000"),
    ({"n_samples": True}, "n_samples: must be an integer"),
    ({"batch_size": 0}, "batch_size: must be an integer from 1 to 1000, got 0"),
    ({"dropout": 1.0}, "dropout: must be in [0, 0.9], got 1.0"),
    ({"speed": 0}, "speed: must be in (0, 200], got 0"),
    ({"speed": 10_000}, "speed: must be in (0, 200]"),
    ({"momentum": 0.9}, "settings: unknown setting(s) ['momentum']"),
])
def test_bad_settings_get_clear_messages(values, message):
    with pytest.raises(PlaygroundError) as err:
        parse_settings(values)
    assert message in str(err.value)


def test_settings_are_merged_over_a_base_and_features_keep_a_fixed_order():
    base = parse_settings({"lr": 0.5})
    s = parse_settings({"features": ["xy", "x"], "n_samples": 40.0}, base)
    assert (s.lr, s.features, s.n_samples) == (0.5, ("x", "xy"), 40)
    with pytest.raises(PlaygroundError, match="must be an object"):
        parse_settings([1, 2])


@pytest.mark.parametrize("dataset", settings.DATASETS)
def test_every_dataset_fits_the_box_with_both_classes(dataset):
    s = Settings(dataset=dataset, n_samples=200, noise=0.05)
    xy, y = recipe.points(s, recipe.Generator().manual_seed(0))
    assert xy.shape == (200, 2) and xy.dtype == np.float32
    assert np.abs(xy).max() < recipe.BOX
    assert sorted(np.unique(y).tolist()) == [0, 1]


def test_features_split_and_same_seed_same_data():
    xy = np.array([[0.5, -1.0]], dtype=np.float32)
    f = recipe.features(xy, settings.FEATURES)
    np.testing.assert_allclose(f[0], [0.5, -1.0, 0.25, 1.0, -0.5, np.sin(np.pi * 0.5), np.sin(-np.pi)], atol=1e-6)
    train, val = recipe.split(50, 0.2, seed=3)
    assert len(val) == 10 and sorted(np.concatenate([train, val]).tolist()) == list(range(50))
    a, b = Playground(Settings(**SMALL)), Playground(Settings(**SMALL))
    np.testing.assert_array_equal(a.data.x_train, b.data.x_train)
    c = Playground(parse_settings({**SMALL, "seed": 1}))
    assert not np.array_equal(a.data.x_train, c.data.x_train)


@pytest.mark.parametrize("mode, size", [("full", 48), ("stochastic", 1), ("minibatch", 16)])
def test_batch_modes_visit_every_training_sample_once_per_epoch(mode, size):
    s = parse_settings({**SMALL, "batch_mode": mode, "batch_size": 16})
    n = 48                                       # 60 points, 20% held out
    assert recipe.batch_size(s, n) == size
    b = recipe.Batches(n, size, s.seed)
    per_epoch = -(-n // size)
    seen = np.concatenate([b.next() for _ in range(per_epoch)])
    assert sorted(seen.tolist()) == list(range(n))


def test_initialisations():
    def weights(init, activation="relu"):
        pg = Playground(parse_settings({"hidden": [32, 32], "init": init, "activation": activation}))
        return [m.weight.detach().numpy() for m in pg.model.modules() if isinstance(m, recipe.nn.Linear)]

    assert all(np.all(w == 0) for w in weights("zeros"))
    assert weights("too_small")[1].std() == pytest.approx(recipe.SMALL_STD, rel=0.2)
    assert weights("too_large")[1].std() == pytest.approx(recipe.LARGE_STD, rel=0.2)
    assert weights("kaiming")[1].std() == pytest.approx(np.sqrt(2 / 32), rel=0.2)
    # xavier uniform: bound gain * sqrt(6 / (fan_in + fan_out)), std = bound / sqrt(3)
    assert weights("xavier", "tanh")[1].std() == pytest.approx(5 / 3 * np.sqrt(2 / 64), rel=0.2)


@pytest.mark.parametrize("optimizer", settings.OPTIMIZERS)
@pytest.mark.parametrize("loss", settings.LOSSES)
def test_every_optimizer_and_loss_lowers_the_loss_on_blobs(optimizer, loss):
    lr = {"sgd": 0.3, "momentum": 0.1, "nesterov": 0.1}.get(optimizer, 0.03)
    pg = Playground(parse_settings({**SMALL, "dataset": "blobs", "optimizer": optimizer, "loss": loss, "lr": lr,
                                    "batch_mode": "full"}))
    assert pg.step(40) == 40
    assert pg.train_loss[-1] < 0.8 * pg.train_loss[0]


@pytest.mark.parametrize("activation", settings.ACTIVATIONS)
def test_every_activation_trains_with_dropout_and_l2(activation):
    pg = Playground(parse_settings({**SMALL, "activation": activation, "dropout": 0.2, "l2": 1e-3}))
    pg.step(10)
    assert np.isfinite(pg.train_loss[-1]) and pg.steps == 10
    # evaluation is in eval mode: the same model gives the same boundary twice
    assert pg.views()["boundary"] == pg.views()["boundary"]


def test_training_learns_moons_and_reset_replays_the_same_run():
    pg = Playground(parse_settings({"dataset": "moons", "activation": "relu", "lr": 0.03}))
    pg.step(300)
    train_acc, val_acc = pg.accuracy()
    assert train_acc > 0.9 and val_acc > 0.85
    first = pg.parameters()
    pg.reset()
    assert pg.steps == 0 and pg.train_loss == [pg.train_loss[0]]
    pg.step(300)
    for k, v in pg.parameters().items():
        np.testing.assert_array_equal(v, first[k])


def test_divergence_stops_the_run():
    pg = Playground(apply_preset("exploding_init"))
    taken = pg.step(50)
    assert pg.diverged and taken < 50
    assert pg.step(5) == 0
    v = pg.views()
    assert v["diverged"] and v["gradients"]["verdict"] == "exploding"


def test_views_are_json_ready_and_bounded(monkeypatch):
    import json

    monkeypatch.setattr(engine, "MAX_CURVE_POINTS", 16)
    pg = Playground(parse_settings({**SMALL, "batch_mode": "stochastic"}))
    pg.step(100)
    v = pg.views()
    json.dumps(v, allow_nan=False)
    assert len(base64.b64decode(v["boundary"]["data"])) == 64 * 64
    assert len(v["curve_steps"]) <= 17 and v["curve_steps"][0] == 0 and v["curve_steps"] == sorted(v["curve_steps"])
    assert [h["name"] for h in v["histograms"]] == ["0.weight", "2.weight"]
    assert sum(v["histograms"][0]["weight"]["counts"]) == 4 * 2
    assert [lv["name"] for lv in v["gradients"]["layers"]] == ["0", "2"]
    points = pg.points()
    json.dumps(points, allow_nan=False)
    assert len(points["train"]["label"]) == 48 and len(points["val"]["label"]) == 12


def test_deep_sigmoid_preset_vanishes_and_the_fix_does_not():
    pg = Playground(apply_preset("deep_sigmoid"))
    pg.step(60)
    verdicts = [lv["verdict"] for lv in pg.views()["gradients"]["layers"]]
    assert verdicts[0] == "vanishing" and verdicts[-1] == "healthy"
    fix = Playground(apply_preset("deep_relu_fix"))
    fix.step(60)
    assert "vanishing" not in [lv["verdict"] for lv in fix.views()["gradients"]["layers"]]


def test_learning_rate_presets_order_the_progress():
    final = {}
    for name in ("lr_small", "lr_right", "lr_large"):
        pg = Playground(apply_preset(name))
        pg.step(200)
        final[name] = pg.train_loss[-1]
    assert final["lr_right"] < 0.5 * final["lr_small"]
    assert final["lr_right"] < final["lr_large"]


def test_local_minimum_traps_plain_descent_and_momentum_escapes():
    stuck = Playground(apply_preset("local_minimum"))
    stuck.step(1500)
    escape = Playground(parse_settings({"optimizer": "momentum"}, apply_preset("local_minimum")))
    escape.step(1500)
    assert stuck.train_loss[-1] > 0.3
    assert abs(stuck.train_loss[-1] - stuck.train_loss[len(stuck.train_loss) // 2]) < 0.01     # flat: trapped
    assert escape.train_loss[-1] < 0.1


def test_every_preset_is_valid_and_explained():
    for p in PRESETS.values():
        s = apply_preset(p.name)
        assert isinstance(s, Settings) and p.sentence.endswith(".")
    with pytest.raises(PlaygroundError, match="'nope' is not a preset; valid: lr_small"):
        apply_preset("nope")
