"""``gradwise.save`` / ``gradwise.load``: nested state without pickle.

A file is a safetensors file (https://github.com/huggingface/safetensors): the
arrays, plus JSON metadata describing the nested structure (dicts with string
or integer keys, lists, tuples, numbers, strings, booleans, None) with
placeholders where arrays go.  Loading never runs code from the file.  Writes
are atomic: a temporary file in the same folder is written, flushed, fsynced
and renamed over the target, so a crash mid-save leaves the old file intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.atomic_files import write_bytes_atomic
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError

_FORMAT = "gradwise-1"

# A real checkpoint nests a few levels (dict of state dicts of lists); the limit keeps a crafted
# structure from exhausting the stack or the decoder, and is far above anything save() writes.
MAX_DEPTH = 100


class CheckpointError(GradwiseError, ValueError):
    """A file that is not a readable gradwise checkpoint, or an object that cannot be saved."""


def _safetensors() -> Any:
    try:
        import safetensors.numpy  # noqa: F401
        from safetensors import safe_open
    except ImportError:
        raise ImportError("gradwise.save/load need the safetensors package: pip install 'gradwise[io]'") from None
    import safetensors.numpy as stn

    return stn, safe_open


def _encode(obj: Any, arrays: dict[str, np.ndarray], path: str, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise CheckpointError(f"save: {path} is nested more than {MAX_DEPTH} levels deep; load() would refuse it")
    if isinstance(obj, Tensor):
        key = f"t{len(arrays)}"
        arrays[key] = np.require(obj._data, requirements="C")
        return {"__array__": key, "tensor": True}
    if isinstance(obj, np.ndarray):
        key = f"t{len(arrays)}"
        arrays[key] = np.require(obj, requirements="C")
        return {"__array__": key, "tensor": False}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise CheckpointError(f"save: dict key {k!r} at {path} must be a str or an int")
            items.append([k, _encode(v, arrays, f"{path}[{k!r}]", depth + 1)])
        return {"__dict__": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, arrays, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]
    raise CheckpointError(f"save: cannot store a {type(obj).__name__} at {path}; supported: tensors, arrays, "
                          "dicts, lists, tuples, numbers, strings, booleans and None (save a module's "
                          "state_dict(), not the module)")


def _decode(obj: Any, arrays: dict[str, np.ndarray], where: str, depth: int = 0) -> Any:
    """Rebuild the object from its JSON structure, checking every entry (a crafted file gets a
    :class:`CheckpointError` naming the place, never a KeyError or a RecursionError)."""
    if depth > MAX_DEPTH:
        raise CheckpointError(f"load: the structure in {where} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(obj, list):
        return [_decode(v, arrays, where, depth + 1) for v in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            key = obj["__array__"]
            if not isinstance(key, str) or key not in arrays:
                raise CheckpointError(f"load: the structure in {where} refers to an array {key!r} that the "
                                      "file does not hold")
            arr = arrays[key]
            return Tensor._make(arr) if obj.get("tensor") is True else arr
        if "__dict__" in obj:
            items = obj["__dict__"]
            if not isinstance(items, list):
                raise CheckpointError(f"load: a dict entry in {where} is not a list of [key, value] pairs")
            out = {}
            for item in items:
                if not (isinstance(item, list) and len(item) == 2):
                    raise CheckpointError(f"load: a dict entry in {where} is not a [key, value] pair")
                k, v = item
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise CheckpointError(f"load: a dict key in {where} is {type(k).__name__} {k!r}; "
                                          "keys are strings or integers")
                out[k] = _decode(v, arrays, where, depth + 1)
            return out
        if "__tuple__" in obj:
            values = obj["__tuple__"]
            if not isinstance(values, list):
                raise CheckpointError(f"load: a tuple entry in {where} is not a list")
            return tuple(_decode(v, arrays, where, depth + 1) for v in values)
        raise CheckpointError(f"load: unknown entry in the structure of {where}")
    return obj


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (e.g. ``{"model": model.state_dict(), "optim": opt.state_dict()}``) to ``path``.

    >>> import gradwise as gw, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> gw.save({"w": gw.ones(2), "step": 3}, f)
    >>> gw.load(f)["step"]
    3
    """
    stn, _ = _safetensors()
    arrays: dict[str, np.ndarray] = {}
    structure = _encode(obj, arrays, "obj")
    meta = {"format": _FORMAT, "structure": json.dumps(structure, allow_nan=True)}
    data = stn.save(arrays, metadata=meta)
    write_bytes_atomic(path, data)


def load(path: str | os.PathLike[str]) -> Any:
    """Read an object written by :func:`save`.  A truncated or foreign file raises
    :class:`CheckpointError` naming the file."""
    stn, safe_open = _safetensors()
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"load: no checkpoint at {p}")
    try:
        arrays = stn.load(p.read_bytes())
        with safe_open(str(p), framework="numpy") as f:
            meta = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for bad headers/data
        raise CheckpointError(f"load: {p} is not a readable checkpoint (truncated or corrupted?): {exc}") from None
    if meta.get("format") != _FORMAT or "structure" not in meta:
        raise CheckpointError(f"load: {p} is a safetensors file but not a gradwise checkpoint "
                              f"(format {meta.get('format')!r}); read it with safetensors directly")
    try:
        structure = json.loads(meta["structure"])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"load: the structure in {p} is corrupted: {exc}") from None
    except RecursionError:   # JSON nested deeper than the decoder can go: crafted, not written by save()
        raise CheckpointError(f"load: the structure in {p} is nested too deeply to be a checkpoint") from None
    return _decode(structure, arrays, str(p))
