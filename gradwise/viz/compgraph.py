"""Drawing the computation graph behind a tensor with Graphviz.

:func:`graph` returns a ``graphviz.Digraph`` (the Python package ``graphviz``): op boxes
labelled like PyTorch's ``grad_fn`` names with their output shapes, tensor ellipses for
the leaves (blue; parameters named when ``params`` is given) and the output (green),
and, on request, values and gradients.  :func:`save_graph` renders it (or the graph of a
tensor) to SVG/PNG/PDF when Graphviz's ``dot`` program is installed, and otherwise writes the
DOT source and says how to install it.

The ``Digraph`` is a ``NotebookDigraph``: left as a notebook cell's last line it shows
itself as the SVG picture, or, without the ``dot`` program, as its DOT source with how to
install Graphviz (a plain ``graphviz.Digraph`` raises there instead).
"""

from __future__ import annotations

import html
import os
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.atomic_files import write_bytes_atomic, write_text_atomic
from gradwise.errors import format_shape
from gradwise.insight.computation_graph import GraphNode, trace_graph

INSTALL_DOT = ("install Graphviz's 'dot' program to render it: Debian/Ubuntu 'apt-get install graphviz', "
               "macOS 'brew install graphviz', conda 'conda install graphviz'")


class GraphvizNotFoundWarning(UserWarning):
    """Graphviz's ``dot`` program is not installed: the DOT source was written instead of a picture."""


_GRAPH_CLASS: list[Any] = []      # NotebookDigraph, made on first use (graphviz is optional)


def _digraph() -> Any:
    """The ``NotebookDigraph`` class: a ``graphviz.Digraph`` that displays itself in notebooks."""
    if _GRAPH_CLASS:
        return _GRAPH_CLASS[0]
    try:
        import graphviz
    except ImportError:
        raise ImportError("gradwise.viz.graph needs the graphviz Python package: pip install 'gradwise[viz]' "
                          "(and the Graphviz 'dot' program to render pictures)") from None

    class NotebookDigraph(graphviz.Digraph):
        """A ``graphviz.Digraph`` of a tensor's computation graph (from :func:`graph`).

        In Jupyter it displays as SVG (``_repr_mimebundle_``, ``_repr_svg_``); without Graphviz's
        ``dot`` program it displays its DOT source and how to install ``dot``, instead of the
        traceback a plain ``Digraph`` gives there.
        """

        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
            if shutil.which("dot") is not None:
                try:
                    bundle: dict[str, Any] = super()._repr_mimebundle_(include, exclude, **kwargs)
                    return bundle
                except graphviz.ExecutableNotFound:
                    pass
            note = f"Graphviz's 'dot' program was not found; {INSTALL_DOT}. The graph's DOT source:"
            return {"text/plain": f"{note}\n{self.source}",
                    "text/html": f"<p>{html.escape(note)}</p><pre>{html.escape(self.source)}</pre>"}

        def _repr_svg_(self) -> str | None:
            """The picture as SVG text (``None`` without the ``dot`` program)."""
            if shutil.which("dot") is None:
                return None
            svg: str = self.pipe(format="svg", encoding="utf-8")
            return svg

        def __repr__(self) -> str:
            nodes = sum(1 for line in self.body if "->" not in line and "[" in line)
            edges = sum(1 for line in self.body if "->" in line)
            return f"NotebookDigraph(nodes={nodes}, edges={edges})"

    _GRAPH_CLASS.append(NotebookDigraph)
    return NotebookDigraph


def _array_text(a: np.ndarray, limit: int = 6) -> str:
    a = np.asarray(a)
    if a.size <= limit:
        return np.array2string(a.ravel() if a.ndim > 1 else a, precision=3, separator=", ", suppress_small=True)
    f = a.astype(np.float64)
    return f"mean {f.mean():.3g}, std {f.std():.3g}\\nmin {f.min():.3g}, max {f.max():.3g}"


def _label(n: GraphNode, show_values: bool, show_grads: bool) -> str:
    lines = [n.label]
    if n.shape is not None:
        lines.append(format_shape(n.shape))
    lines += [f"{k}={v}" for k, v in n.attrs]
    if show_values and n.value is not None:
        lines.append("value: " + _array_text(n.value))
    if show_grads and n.grad is not None:
        lines.append("grad: " + _array_text(n.grad))
    return "\\n".join(line.replace('"', "'") for line in lines)


def graph(tensor: Any, show_values: bool = False, show_grads: bool = False,
          params: Mapping[str, Any] | None = None) -> Any:
    """The computation graph that produced ``tensor`` as a ``graphviz.Digraph``, drawn from the
    inputs (top) to the output (bottom).

    ``params`` (``dict(model.named_parameters())``) names the parameters among the leaves;
    ``show_values`` prints small tensors in full and large ones as mean/std/min/max;
    ``show_grads`` prints ``.grad`` where it exists (leaves after ``backward()``, the output,
    and intermediate results that called ``retain_grad()``).  In Jupyter the returned
    object displays itself; ``save_graph(dot, "graph.svg")`` writes a file.

    >>> import gradwise as gw
    >>> x = gw.tensor([1.0, 2.0], requires_grad=True)
    >>> dot = graph((x * x).sum(), params={"x": x})
    >>> "MulBackward0" in dot.source and "SumBackward0" in dot.source
    True
    """
    g = trace_graph(tensor, params)
    dot = _digraph()(name="gradwise", graph_attr={"rankdir": "TB", "fontsize": "10"},
                     node_attr={"fontname": "Helvetica", "fontsize": "10"})
    style = {"op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#eeeeee"},
             "leaf": {"shape": "ellipse", "style": "filled", "fillcolor": "#cfe2ff"},
             "output": {"shape": "ellipse", "style": "filled", "fillcolor": "#c8f0c8"}}
    for n in g.nodes:
        dot.node(n.id, _label(n, show_values, show_grads), **style[n.kind])
    for src, dst in g.edges:
        dot.edge(src, dst)
    return dot


def save_graph(dot: Any, path: str | os.PathLike[str], **graph_options: Any) -> Path:
    """Render ``dot`` to ``path`` (``.svg``, ``.png`` or ``.pdf``) with Graphviz.

    ``dot`` is a graph from :func:`graph` (or any ``graphviz`` graph), or a Tensor, whose graph
    is built first with ``graph(dot, **graph_options)`` (``show_values``, ``show_grads``,
    ``params``).  Without the ``dot`` program this writes the DOT source to ``path`` with the
    suffix ``.dot``, warns with :class:`GraphvizNotFoundWarning` saying how to install it, and
    returns the ``.dot`` path; ``.dot``/``.gv`` paths always get the source.  Files are written
    atomically.

    >>> import os, tempfile
    >>> import gradwise as gw
    >>> x = gw.tensor([1.0, 2.0], requires_grad=True)
    >>> out = save_graph((x * x).sum(), os.path.join(tempfile.mkdtemp(), "graph.dot"))
    >>> "MulBackward0" in out.read_text()
    True
    """
    if hasattr(dot, "_data"):                # a Tensor (duck-typed: viz does not import autograd)
        dot = graph(dot, **graph_options)
    elif graph_options:
        raise TypeError(f"save_graph: {', '.join(graph_options)} only apply when a Tensor is passed (its graph "
                        "is built with them); pass them to graph() instead")
    elif not hasattr(dot, "source"):
        raise TypeError(f"save_graph: expected a graph from gradwise.viz.graph or a Tensor, got {type(dot).__name__}")
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    p.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("dot", "gv"):
        write_text_atomic(p, dot.source)
        return p
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"save_graph: the file name must end in .svg, .png, .pdf or .dot, got {str(path)!r}")
    if shutil.which("dot") is None:
        src = p.with_suffix(".dot")
        write_text_atomic(src, dot.source)
        warnings.warn(f"save_graph: Graphviz's 'dot' program was not found, so {p.name} was not drawn; the DOT "
                      f"source is in {src}. To get the picture, {INSTALL_DOT}, then run "
                      f"'dot -T{fmt} {src} -o {p}'", GraphvizNotFoundWarning, stacklevel=2)
        return src
    write_bytes_atomic(p, dot.pipe(format=fmt))
    return p
