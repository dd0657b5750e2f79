"""``torch.save``/``torch.load`` under the shim: gradwise's safe format, paths and file objects."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.torch_compat import TorchSaveError, torch_load, torch_save


def _checkpoint():
    gen = gw.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4, generator=gen), nn.Tanh(), nn.Linear(4, 2, generator=gen))
    opt = gw.optim.Adam(model.parameters(), lr=1e-3)
    model(gw.randn(5, 3, generator=gen)).pow(2).mean().backward()
    opt.step()
    return model, {"epoch": 4, "model": model.state_dict(), "optimizer": opt.state_dict(),
                   "history": [1.5, 0.75], "note": "ok", "best": None, "shape": (2, 3)}


def _same(a, b):
    # a state_dict's OrderedDict comes back as a dict (same keys, same order)
    kind = (dict, list, tuple, gw.Tensor, str, float, int, type(None))
    assert next(k for k in kind if isinstance(a, k)) is next(k for k in kind if isinstance(b, k)), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, gw.Tensor):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    else:
        assert a == b


def test_round_trip_through_a_path(tmp_path):
    _, ck = _checkpoint()
    torch_save(ck, tmp_path / "ck.pt")
    _same(ck, torch_load(str(tmp_path / "ck.pt"), map_location="cpu", weights_only=True))


def test_round_trip_through_a_file_object(tmp_path):
    _, ck = _checkpoint()
    with open(tmp_path / "ck.pt", "wb") as f:
        torch_save(ck, f)
    with open(tmp_path / "ck.pt", "rb") as f:
        _same(ck, torch_load(f, map_location=gw.device("cpu"), weights_only=False))
    buf = io.BytesIO()
    torch_save(ck["model"], buf)
    _same(ck["model"], torch_load(io.BytesIO(buf.getvalue())))


def test_the_loaded_state_restores_a_model(tmp_path):
    model, ck = _checkpoint()
    torch_save(ck, tmp_path / "ck.pt")
    clone = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    clone.load_state_dict(torch_load(tmp_path / "ck.pt")["model"])
    x = gw.randn(2, 3)
    np.testing.assert_array_equal(model(x).detach().numpy(), clone(x).detach().numpy())


@pytest.mark.parametrize("obj, what", [
    (nn.Linear(2, 2), "a whole nn.Module (Linear)"),
    ({"f": lambda x: x}, "a lambda"),
    ({"opt": gw.optim.SGD([gw.zeros(1, requires_grad=True)], lr=0.1)}, "a whole optimizer (SGD)"),
    ([1, {1, 2}], "an object of class set"),
])
def test_anything_else_is_refused_with_what_and_why(tmp_path, obj, what):
    with pytest.raises(TorchSaveError) as info:
        torch_save(obj, tmp_path / "x.pt")
    msg = str(info.value)
    assert f"cannot store {what}" in msg
    assert "never uses pickle" in msg and "run any code" in msg
    assert not (tmp_path / "x.pt").exists()


def test_a_file_written_by_pytorch_is_not_unpickled(tmp_path):
    path = tmp_path / "torch.pt"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(TorchSaveError, match="written by PyTorch's own torch.save"):
        torch_load(path)
    path.write_bytes(b"PK\x03\x04" + b"\0" * 40)     # the zip container of torch >= 1.6
    with pytest.raises(TorchSaveError, match="never uses pickle"):
        torch_load(path)


def test_map_location_may_only_name_the_cpu(tmp_path):
    torch_save({"a": gw.ones(1)}, tmp_path / "a.pt")
    with pytest.raises(TorchSaveError, match="map_location='cuda:0'"):
        torch_load(tmp_path / "a.pt", map_location="cuda:0")
    assert torch_load(tmp_path / "a.pt", map_location=lambda s, loc: s)["a"].tolist() == [1.0]


def test_a_text_mode_file_is_refused(tmp_path):
    torch_save({"a": 1}, tmp_path / "a.pt")
    with open(tmp_path / "a.pt", encoding="latin-1") as f, pytest.raises(TorchSaveError, match="binary mode"):
        torch_load(f)
