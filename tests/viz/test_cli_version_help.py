"""The command line: ``--version``, defaults in every ``--help``, the MNIST hint naming ``--download``,
and the computation graph's display in notebooks and ``save_graph`` on a Tensor."""

from __future__ import annotations

import argparse
import re
import shutil

import pytest

import gradwise as gw
from gradwise.cli import DefaultsHelpFormatter, build_parser, main
from gradwise.data.errors import DatasetNotFoundError


def _subparsers():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def _option_help(text: str, option: str) -> str:
    """The help of ``option`` in a ``--help`` text: its line(s) up to the next option."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(rf"\s+{re.escape(option)}\b", ln))
    block = [lines[start]]
    for ln in lines[start + 1:]:
        if re.match(r"\s+-", ln) or not ln.startswith(" "):
            break
        block.append(ln)
    return " ".join(" ".join(block).split())


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"gradwise {gw.__version__} (Python ") and "NumPy" in out


def test_every_command_help_shows_every_default():
    shown = 0
    for name, sub in _subparsers().items():
        text = sub.format_help()
        for action in sub._actions:
            if not DefaultsHelpFormatter._shows_default(action):
                continue
            default = action.default
            forms = {str(default)} | ({f"{default:g}"} if isinstance(default, (int, float)) else set())
            help_text = _option_help(text, action.option_strings[0])
            assert "default" in help_text and any(f in help_text for f in forms), (name, action.dest, help_text)
            shown += 1
    assert shown > 40


def test_defaults_are_not_repeated_and_flags_show_none():
    p = argparse.ArgumentParser(prog="x", formatter_class=DefaultsHelpFormatter)
    p.add_argument("--steps", default="500", help="steps per run (default 500)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, help="learning rate (default: suggested)")
    p.add_argument("--quiet", action="store_true", help="print less")
    p.add_argument("--out", required=True, default="x.png", help="file")
    text = p.format_help()
    assert text.count("500") == 1
    assert "(default: 0)" in _option_help(text, "--seed")
    assert "None" not in text and "False" not in text
    assert "default" not in _option_help(text, "--out")


def test_mnist_missing_names_download_on_the_command_line(tmp_path, capsys):
    argv = ["lr-find", "--dataset", "mnist", "--data-root", str(tmp_path), "--out", str(tmp_path / "f.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not found in" in err[0]
    assert "pass --download to fetch the files" in err[0] and "download=True" not in err[0]
    assert main(["train", "--dataset", "mnist", "--data-root", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "pass --download to fetch" in err[-1] and "download=True" not in err[-1]


def test_mnist_missing_names_download_true_in_python(tmp_path):
    from gradwise.data import mnist

    with pytest.raises(DatasetNotFoundError, match=r"pass download=True to fetch") as info:
        mnist(tmp_path)
    restated = info.value.with_fetch_hint("--download")
    assert isinstance(restated, DatasetNotFoundError) and isinstance(restated, FileNotFoundError)
    assert str(restated) == str(info.value).replace("download=True", "--download")
    plain = DatasetNotFoundError("IDX file x does not exist")
    assert plain.with_fetch_hint("--download") is plain


# ---------------------------------------------------------------------------- computation graphs
def _loss():
    x = gw.tensor([1.0, -2.0], requires_grad=True)
    w = gw.tensor([0.5, 0.25], requires_grad=True)
    loss = (x * w).tanh().sum()
    loss.backward()
    return loss, {"x": x, "w": w}


def test_graph_displays_inline_in_a_notebook():
    pytest.importorskip("graphviz")
    formatters = pytest.importorskip("IPython.core.formatters")
    from gradwise import viz

    loss, params = _loss()
    dot = viz.graph(loss, params=params)
    data, _ = formatters.DisplayFormatter().format(dot)
    if shutil.which("dot") is not None:
        assert data["image/svg+xml"].lstrip().startswith("<?xml") and "TanhBackward0" in data["image/svg+xml"]
        assert dot._repr_svg_() is not None and "<svg" in dot._repr_svg_()
    assert repr(dot) == "NotebookDigraph(nodes=6, edges=5)"


def test_graph_without_dot_displays_its_source(monkeypatch):
    pytest.importorskip("graphviz")
    from gradwise import viz
    from gradwise.viz import compgraph

    loss, _ = _loss()
    dot = viz.graph(loss)
    monkeypatch.setattr(compgraph.shutil, "which", lambda name: None)
    bundle = dot._repr_mimebundle_()
    assert "apt-get install graphviz" in bundle["text/plain"] and dot.source in bundle["text/plain"]
    assert "<pre>" in bundle["text/html"] and dot._repr_svg_() is None


def test_save_graph_accepts_a_tensor(tmp_path):
    pytest.importorskip("graphviz")
    from gradwise import viz

    loss, params = _loss()
    src = viz.save_graph(loss, tmp_path / "g.dot", params=params, show_grads=True)
    text = src.read_text()
    assert "TanhBackward0" in text and "grad:" in text
    assert text == viz.graph(loss, params=params, show_grads=True).source
    if shutil.which("dot") is not None:
        svg = viz.save_graph(loss, tmp_path / "g.svg")
        assert svg.suffix == ".svg" and "TanhBackward0" in svg.read_text()
    with pytest.raises(TypeError, match="only apply when a Tensor is passed"):
        viz.save_graph(viz.graph(loss), tmp_path / "h.dot", show_values=True)
    with pytest.raises(TypeError, match="expected a graph from gradwise.viz.graph or a Tensor, got int"):
        viz.save_graph(3, tmp_path / "i.dot")
