"""Crafted checkpoint files: every one gets a CheckpointError that names the file, never a raw
KeyError, TypeError or RecursionError, and nothing in the file runs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradwise as gw
from gradwise.serialization import MAX_DEPTH, CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _write(path, structure, arrays=None, fmt="gradwise-1"):
    arrays = {"t0": np.ones(3, dtype=np.float32)} if arrays is None else arrays
    meta = {"format": fmt, "structure": structure if isinstance(structure, str) else json.dumps(structure)}
    path.write_bytes(safetensors_numpy.save(arrays, metadata=meta))
    return path


@pytest.mark.parametrize("structure, message", [
    ({"__array__": "t7", "tensor": True}, "refers to an array 't7'"),          # a missing tensor
    ({"__array__": ["t0"], "tensor": True}, "refers to an array"),              # an unhashable key
    ({"__dict__": [[["a"], 1]]}, "a dict key"),                                  # an unhashable dict key
    ({"__dict__": [[True, 1]]}, "a dict key"),                                   # bool is not a key type
    ({"__dict__": [["a"]]}, "not a [key, value] pair"),
    ({"__dict__": {"a": 1}}, "not a list of [key, value] pairs"),
    ({"__tuple__": 3}, "a tuple entry"),
    ({"__what__": 1}, "unknown entry"),
])
def test_crafted_structures_are_refused_with_the_file_named(tmp_path, structure, message):
    path = _write(tmp_path / "bad.ckpt", structure)
    with pytest.raises(CheckpointError, match=re.escape(message)) as info:
        gw.load(path)
    assert str(path) in str(info.value)


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    for depth in (MAX_DEPTH + 5, 100_000):   # beyond our limit, and beyond the JSON decoder's stack
        path = _write(tmp_path / f"deep{depth}.ckpt", "[" * depth + "]" * depth)
        with pytest.raises(CheckpointError, match="nested"):
            gw.load(path)


def test_save_refuses_what_load_would_refuse(tmp_path):
    obj: list = []
    for _ in range(MAX_DEPTH + 2):
        obj = [obj]
    with pytest.raises(CheckpointError, match="nested more than"):
        gw.save(obj, tmp_path / "deep.ckpt")
    assert not (tmp_path / "deep.ckpt").exists()
    ok = [[[gw.ones(2)]]]
    gw.save(ok, tmp_path / "ok.ckpt")
    assert gw.load(tmp_path / "ok.ckpt")[0][0][0].tolist() == [1.0, 1.0]


def test_a_foreign_format_tag_is_refused(tmp_path):
    path = _write(tmp_path / "foreign.ckpt", {"__array__": "t0", "tensor": True}, fmt="gradwise-0")
    with pytest.raises(CheckpointError, match="not a gradwise checkpoint"):
        gw.load(path)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["__array__", "__dict__", "__tuple__", "tensor", "x"]), inner, max_size=3),
    max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(structure=_json)
def test_fuzzed_structures_load_or_raise_checkpoint_error(tmp_path, structure):
    path = _write(tmp_path / "fuzz.ckpt", structure)
    try:
        gw.load(path)
    except CheckpointError:
        pass
