"""The generated stubs declare exactly what the binder attaches at run time."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import gradwise as gw
from gradwise.api.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("generate_stubs", ROOT / "tools" / "generate_stubs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stubs_are_up_to_date():
    gen = _generator()
    stale = [str(path.relative_to(ROOT)) for path, text in gen.generate().items()
             if not path.exists() or path.read_text() != text]
    assert not stale, f"{stale} are out of date: run `python tools/generate_stubs.py`"


def test_every_bound_name_is_declared():
    text = (ROOT / "gradwise" / "api" / "functions.pyi").read_text()
    for name in FUNCTIONS:
        assert f"def {name}(" in text, name
    methods = (ROOT / "gradwise" / "autograd" / "tensor_ops.pyi").read_text()
    static = _generator()._static_names()
    for name, value in vars(gw.Tensor).items():
        if name not in static and callable(value):
            assert f"    def {name}(" in methods, f"Tensor.{name} is bound but not declared"


def test_declared_signatures_accept_what_the_runtime_accepts():
    # the parameter names of a declared function are those of the callable bound at run time
    text = (ROOT / "gradwise" / "api" / "functions.pyi").read_text()
    for name in ("sum", "conv2d", "max", "clamp", "cat", "where"):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"def {name}("))
        for p in inspect.signature(FUNCTIONS[name]).parameters.values():
            assert p.name in line, (name, p.name, line)


def test_py_typed_ships():
    assert (ROOT / "gradwise" / "py.typed").exists()
