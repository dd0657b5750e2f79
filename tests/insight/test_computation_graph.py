"""trace_graph: ops, edges and shapes of a recorded graph, values and gradients where they exist."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight import GraphTraceError, trace_graph


def test_ops_shapes_and_edges_of_a_small_network():
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(5, 3, generator=gen)
    w = gw.randn(3, 4, generator=gen, requires_grad=True)
    b = gw.randn(4, generator=gen, requires_grad=True)
    h = (x @ w + b).relu()
    loss = (h * h).mean()
    g = trace_graph(loss, {"w": w, "b": b})
    assert g.ops == ["MeanBackward0", "MulBackward0", "ReluBackward0", "AddBackward0", "MatmulBackward0"]
    shapes = {n.label: n.shape for n in g.nodes}
    assert shapes == {"output": (), "MeanBackward0": (), "MulBackward0": (5, 4), "ReluBackward0": (5, 4),
                      "AddBackward0": (5, 4), "MatmulBackward0": (5, 4), "w": (3, 4), "b": (4,)}
    ids = {n.label: n.id for n in g.nodes}
    edges = set(g.edges)
    assert (ids["w"], ids["MatmulBackward0"]) in edges and (ids["b"], ids["AddBackward0"]) in edges
    assert (ids["MeanBackward0"], ids["output"]) in edges
    assert sum(1 for e in g.edges if e == (ids["ReluBackward0"], ids["MulBackward0"])) == 2   # h * h: two uses
    assert len([n for n in g.nodes if n.kind == "leaf"]) == 2                # x needs no gradient: not drawn
    assert g.node(ids["w"]).grad is None
    loss.backward()
    g2 = trace_graph(loss, {"w": w, "b": b})
    np.testing.assert_array_equal(g2.node(f"t{id(w)}").grad, w.grad.numpy())
    np.testing.assert_array_equal(g2.node(f"t{id(w)}").value, w.detach().numpy())
    assert g2.nodes[0].value == pytest.approx(loss.item())


def test_shapes_follow_broadcasting_and_reductions():
    a = gw.ones(2, 1, 3, requires_grad=True)
    c = gw.ones(4, 1, requires_grad=True)
    s = (a * c).sum(dim=0)                      # (2, 4, 3) summed to (4, 3)
    g = trace_graph(s)
    assert [(n.label, n.shape) for n in g.nodes if n.kind == "op"] == [("SumBackward0", (4, 3)),
                                                                         ("MulBackward0", (2, 4, 3))]
    assert sorted(n.shape for n in g.nodes if n.kind == "leaf") == [(2, 1, 3), (4, 1)]
    assert all(n.label == "leaf" for n in g.nodes if n.kind == "leaf")


def test_retained_intermediates_carry_values_and_gradients():
    x = gw.tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    y = h.sum()
    y.backward()
    node = next(n for n in trace_graph(y).nodes if n.label == "MulBackward0")
    np.testing.assert_array_equal(node.value, [2.0, -4.0, 6.0])
    np.testing.assert_array_equal(node.grad, [1.0, 1.0, 1.0])


def test_parameters_are_labelled_and_a_deep_graph_is_walked_iteratively():
    model = nn.Linear(2, 2, generator=gw.Generator().manual_seed(0))
    g = trace_graph(model(gw.ones(1, 2)).sum())
    assert sorted(n.label for n in g.nodes if n.kind == "leaf") == ["parameter", "parameter"]
    x = gw.ones(1, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    g = trace_graph(y)
    assert len(g.ops) == 20000 and len(g.edges) == 20001


def test_constants_and_errors():
    t = gw.tensor([1.0, 2.0])
    g = trace_graph(t)
    assert [n.kind for n in g.nodes] == ["output"] and g.edges == ()
    with pytest.raises(GraphTraceError, match="expected a gradwise Tensor, got ndarray"):
        trace_graph(np.ones(2))
