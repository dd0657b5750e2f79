"""Imports only go downward through the layers of tools/layers.py, with no cycles between files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layers():
    spec = importlib.util.spec_from_file_location("layers", ROOT / "tools" / "layers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["layers"] = module   # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_gradwise_imports_only_go_downward():
    problems = _layers().check()
    assert not problems, "\n".join(problems)


def test_every_unit_has_a_layer():
    layers = _layers()
    placed = {u for units in layers.LAYERS for u in units}
    units = {p.stem if p.is_file() else p.name for p in (ROOT / "gradwise").iterdir()
             if (p.suffix == ".py") or (p.is_dir() and (p / "__init__.py").exists())}
    assert units <= placed, f"units without a layer: {sorted(units - placed)}"


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    pkg = tmp_path / "gradwise"
    for rel, text in files.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return pkg


def test_the_checker_catches_a_planted_upward_import(tmp_path):
    pkg = _plant(tmp_path, {
        "__init__.py": "", "ops/__init__.py": "", "nn/__init__.py": "",
        "ops/conv.py": "def f():\n    from gradwise.nn import Linear  # deferred, still an import\n",
        "nn/linear.py": "from gradwise.ops import conv\n",
    })
    problems = _layers().violations(_layers().imports(pkg))
    assert len(problems) == 1 and problems[0].startswith("gradwise.ops.conv:2 imports gradwise.nn")
    assert "'ops' may not import a higher layer ('nn')" in problems[0]


def test_the_checker_catches_peers_cycles_and_ignores_type_checking(tmp_path):
    pkg = _plant(tmp_path, {
        "__init__.py": "", "nn/__init__.py": "", "optim/__init__.py": "",
        "nn/a.py": "import gradwise.nn.b\n",
        "nn/b.py": "from gradwise.nn import a\n",
        "nn/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gradwise.optim import x\n",
        "optim/x.py": "from gradwise.nn import c\n",
        "optim/y.py": "from . import x\nfrom ..nn import a\n",
    })
    layers = _layers()
    edges = layers.imports(pkg)
    found = layers.violations(edges)
    # nn and optim share a layer: neither may import the other (relative imports resolved);
    # nn.c's import of optim only runs under a type checker, so it is neither a violation nor a cycle
    assert [v.split(":")[0] for v in found] == ["gradwise.optim.x", "gradwise.optim.y"], found
    assert all("may not import a peer ('nn')" in v for v in found)
    assert layers.cycles(edges) == [["gradwise.nn.a", "gradwise.nn.b"]]
