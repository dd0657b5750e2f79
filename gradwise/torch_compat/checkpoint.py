"""``torch.save`` / ``torch.load`` under ``gradwise run``: gradwise's safe format, never pickle.

torch pickles whatever it is given; loading a pickle can run any code hidden in the file.
gradwise stores only trees of tensors, arrays, dicts, lists, tuples, numbers, strings and
None (a ``state_dict``, an optimizer's ``state_dict``, a checkpoint dict with the epoch) in a
safetensors file (:mod:`gradwise.serialization`).  Both functions take a path or a file
object, as torch's do.  Anything else (a whole ``nn.Module``, a function, an object of the
script's own class) is refused with :class:`TorchSaveError`, naming where it sits.

>>> import io, gradwise as gw
>>> buf = io.BytesIO()
>>> torch_save({"epoch": 3, "model": {"w": gw.ones(2)}}, buf)
>>> _ = buf.seek(0)
>>> torch_load(buf, map_location="cpu", weights_only=True)["epoch"]
3
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.devices import device
from gradwise.nn.module import Module
from gradwise.optim.optimizer import Optimizer
from gradwise.serialization import CheckpointError, load, save
from gradwise.torch_compat.shim import UnsupportedTorchError

_WHY = ("gradwise writes only tensors, arrays, dicts, lists, tuples, numbers, strings and None, in a "
        "safetensors file, and never uses pickle: loading a pickle can run any code hidden in the file")


class TorchSaveError(UnsupportedTorchError, CheckpointError):
    """``torch.save`` of something gradwise's safe format cannot hold, or ``torch.load`` of a
    file it does not read; the message says what and why."""

    def __init__(self, message: str) -> None:
        self.torch_name = "torch.save"
        Exception.__init__(self, message)


def _describe(obj: Any) -> tuple[str, str]:
    """What ``obj`` is, and what to store instead."""
    if isinstance(obj, Module):
        return (f"a whole nn.Module ({type(obj).__name__})",
                "save model.state_dict() and restore it with model.load_state_dict(torch.load(f))")
    if isinstance(obj, Optimizer):
        return (f"a whole optimizer ({type(obj).__name__})",
                "save optimizer.state_dict() and restore it with optimizer.load_state_dict(...)")
    if callable(obj) and getattr(obj, "__name__", None) == "<lambda>":
        return "a lambda", "store the values it uses, and rebuild it in code"
    if isinstance(obj, type) or callable(obj):
        return (f"the function/class {getattr(obj, '__qualname__', type(obj).__name__)}",
                "store the values it uses, and rebuild it in code")
    return (f"an object of class {type(obj).__name__}",
            "store its fields as a dict of tensors, numbers and strings (e.g. model.state_dict())")


def _first_unsupported(obj: Any, where: str, depth: int = 0) -> tuple[str, Any] | None:
    """The first entry gradwise's format cannot hold, with its place (``obj['model']``)."""
    if isinstance(obj, (Tensor, np.ndarray, np.generic, bool, int, float, str)) or obj is None:
        return None
    if depth > 100:
        return None     # save() itself reports the nesting limit
    if isinstance(obj, dict):
        for k, v in obj.items():
            found = _first_unsupported(v, f"{where}[{k!r}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found = _first_unsupported(v, f"{where}[{i}]", depth + 1)
            if found:
                return found
        return None
    return where, obj


def torch_save(obj: Any, f: str | os.PathLike[str] | IO[bytes], pickle_module: Any = None,
               pickle_protocol: int = 2, _use_new_zipfile_serialization: bool = True) -> None:
    """``torch.save(obj, f)``: write ``obj`` (a tree of tensors, dicts, lists, numbers, strings)
    to the path or binary file object ``f``, atomically for a path.  The pickle options are
    accepted and ignored: nothing is pickled."""
    found = _first_unsupported(obj, "obj")
    if found is not None:
        where, bad = found
        what, instead = _describe(bad)
        raise TorchSaveError(f"torch.save: cannot store {what} at {where}: {_WHY}. Instead, {instead}")
    if isinstance(f, (str, os.PathLike)):
        save(obj, f)
        return
    if not hasattr(f, "write"):
        raise TorchSaveError(f"torch.save: f must be a path or a binary file object with write(), got "
                             f"{type(f).__name__}")
    with tempfile.TemporaryDirectory(prefix="gradwise-save-") as tmp:
        path = Path(tmp) / "obj.safetensors"
        save(obj, path)
        f.write(path.read_bytes())


def _check_map_location(map_location: Any) -> None:
    """Everything lives on the CPU: accept None, "cpu", a cpu device, a dict or a function;
    an accelerator raises gradwise's device error."""
    if isinstance(map_location, (str, device)):
        dev = device(map_location) if isinstance(map_location, str) else map_location
        if dev.type != "cpu":
            raise TorchSaveError(f"torch.load: map_location={map_location!r}: gradwise computes on the CPU with "
                                 "NumPy; pass map_location='cpu' or leave it out")


def _refuse_torch_file(data: bytes, name: str) -> None:
    if data[:4] == b"PK\x03\x04" or data[:1] == b"\x80":
        raise TorchSaveError(f"torch.load: {name} was written by PyTorch's own torch.save (a pickle). {_WHY}. "
                             "Convert it once in PyTorch: safetensors.torch.save_file(state_dict, "
                             "'model.safetensors'), and read that with safetensors.numpy.load_file")


def torch_load(f: str | os.PathLike[str] | IO[bytes], map_location: Any = None, pickle_module: Any = None, *,
               weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """``torch.load(f)``: read what :func:`torch_save` wrote, from a path or a binary file
    object.  ``map_location`` may only name the CPU (or be a dict/function); ``weights_only``
    is accepted either way: the format holds nothing but data, so it is always weights-only."""
    _check_map_location(map_location)
    if isinstance(f, (str, os.PathLike)):
        path = Path(f)
        if path.is_file():
            with path.open("rb") as fh:
                _refuse_torch_file(fh.read(4), str(path))
        return load(path)
    if not hasattr(f, "read"):
        raise TorchSaveError(f"torch.load: f must be a path or a binary file object with read(), got "
                             f"{type(f).__name__}")
    data = f.read()
    if not isinstance(data, bytes):
        raise TorchSaveError("torch.load: the file object must be opened in binary mode ('rb')")
    _refuse_torch_file(data, "the file object")
    with tempfile.TemporaryDirectory(prefix="gradwise-load-") as tmp:
        path = Path(tmp) / "obj.safetensors"
        path.write_bytes(data)
        return load(path)
