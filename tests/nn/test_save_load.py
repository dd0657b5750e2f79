"""gradwise.save / load: round trips, atomic writes, clear errors, exact resume of training."""

from __future__ import annotations

import os

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn, optim
from gradwise.serialization import CheckpointError

pytest.importorskip("safetensors")


def test_round_trip_of_nested_state(tmp_path):
    obj = {"model": {"w": gw.tensor([[1.0, 2.0]]), "b": gw.tensor(3.0, dtype=gw.float64)},
           "optim": {"state": {0: {"step": 7, "exp_avg": gw.zeros(2)}}, "param_groups": [{"lr": 0.1,
                     "betas": (0.9, 0.999), "params": [0]}]},
           "mask": np.array([True, False]), "ints": gw.tensor([1, 2]), "note": "hello", "none": None,
           "nan": float("nan")}
    f = tmp_path / "state.safetensors"
    gw.save(obj, f)
    back = gw.load(f)
    assert np.array_equal(back["model"]["w"].numpy(), [[1.0, 2.0]]) and back["model"]["b"].dtype == np.float64
    assert back["optim"]["state"][0]["step"] == 7 and back["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["mask"].dtype == np.bool_ and back["ints"].dtype == np.int64
    assert back["note"] == "hello" and back["none"] is None and np.isnan(back["nan"])


def test_failed_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    f = tmp_path / "ckpt.safetensors"
    gw.save({"v": gw.ones(3)}, f)

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        gw.save({"v": gw.zeros(3)}, f)
    monkeypatch.undo()
    assert gw.load(f)["v"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]     # no temp file left


def test_truncated_foreign_and_unsupported(tmp_path):
    f = tmp_path / "c.safetensors"
    gw.save({"v": gw.ones(100)}, f)
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        gw.load(f)
    import safetensors.numpy as stn
    g = tmp_path / "foreign.safetensors"
    g.write_bytes(stn.save({"x": np.zeros(2)}))
    with pytest.raises(CheckpointError, match="not a gradwise checkpoint"):
        gw.load(g)
    with pytest.raises(CheckpointError, match="save a module's state_dict"):
        gw.save({"model": nn.Linear(2, 2)}, tmp_path / "m.safetensors")
    with pytest.raises(FileNotFoundError):
        gw.load(tmp_path / "missing.safetensors")


def _train(model, opt, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _make(seed):
    gen = gw.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16, generator=gen), nn.Tanh(), nn.Linear(16, 3, generator=gen))
    return model, optim.Adam(model.parameters(), lr=0.01)


def test_train_save_load_continue_equals_straight_through(tmp_path):
    gen = gw.Generator().manual_seed(9)
    x, y = gw.randn(32, 4, generator=gen), gw.randint(0, 3, (32,), generator=gen)
    straight, opt_s = _make(0)
    _train(straight, opt_s, x, y, 30)

    model, opt = _make(0)
    _train(model, opt, x, y, 12)
    gw.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "ckpt.safetensors")
    fresh, fresh_opt = _make(123)                 # different initial weights, overwritten by the load
    ckpt = gw.load(tmp_path / "ckpt.safetensors")
    fresh.load_state_dict(ckpt["model"])
    fresh_opt.load_state_dict(ckpt["optim"])
    _train(fresh, fresh_opt, x, y, 18)
    for a, b in zip(straight.parameters(), fresh.parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


# -- every CheckpointError branch of gradwise/serialization.py not covered above or in
# -- tests/nn/test_checkpoint_hostile.py (issue 15)

@pytest.mark.parametrize("key", [1.5, True, None, (1, 2), b"k", frozenset()])
def test_save_refuses_a_dict_key_that_is_not_str_or_int(tmp_path, key):
    target = tmp_path / "k.safetensors"
    with pytest.raises(CheckpointError, match=r"save: dict key .* at obj\['outer'\] must be a str or an int"):
        gw.save({"outer": {key: gw.ones(1)}}, target)
    assert not target.exists()


@pytest.mark.parametrize("value, type_name", [
    ({1, 2}, "set"), (frozenset({1}), "frozenset"), (b"raw", "bytes"), (1 + 2j, "complex"),
    (object(), "object"), (iter([1]), "list_iterator"), (range(3), "range"),
])
def test_save_refuses_an_unsupported_value_and_names_its_place(tmp_path, value, type_name):
    target = tmp_path / "v.safetensors"
    with pytest.raises(CheckpointError, match=rf"save: cannot store a {type_name} at obj\['a'\]\[1\]\[0\]"):
        gw.save({"a": [gw.ones(1), (value,)]}, target)
    assert not target.exists()


def test_save_accepts_int_keys_and_numpy_scalars(tmp_path):
    target = tmp_path / "ok.safetensors"
    gw.save({0: np.float64(2.5), "b": (np.int64(3), None, True)}, target)
    assert gw.load(target) == {0: 2.5, "b": (3, None, True)}


def _write_raw(path, meta):
    import safetensors.numpy as stn
    path.write_bytes(stn.save({"t0": np.ones(2, dtype=np.float32)}, metadata=meta))
    return path


def test_load_refuses_a_gradwise_tag_without_a_structure(tmp_path):
    path = _write_raw(tmp_path / "nostructure.safetensors", {"format": "gradwise-1"})
    with pytest.raises(CheckpointError, match="not a gradwise checkpoint") as info:
        gw.load(path)
    assert str(path) in str(info.value)


def test_load_refuses_a_structure_that_is_not_json(tmp_path):
    path = _write_raw(tmp_path / "badjson.safetensors", {"format": "gradwise-1", "structure": "{not json"})
    with pytest.raises(CheckpointError, match="structure in .* is corrupted") as info:
        gw.load(path)
    assert str(path) in str(info.value)


def test_load_names_both_depth_limits(tmp_path):
    from gradwise.serialization import MAX_DEPTH
    ours = _write_raw(tmp_path / "d1.safetensors", {"format": "gradwise-1",
                                                      "structure": "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)})
    with pytest.raises(CheckpointError, match=f"nested more than {MAX_DEPTH} levels deep"):
        gw.load(ours)
    deep = 1_000_000
    decoder = _write_raw(tmp_path / "d2.safetensors", {"format": "gradwise-1", "structure": "[" * deep + "]" * deep})
    with pytest.raises(CheckpointError, match="nested too deeply to be a checkpoint"):
        gw.load(decoder)


def test_load_refuses_a_file_that_is_not_safetensors(tmp_path):
    path = tmp_path / "text.safetensors"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint") as info:
        gw.load(path)
    assert str(path) in str(info.value)
