"""The graph walk is iterative: very deep chains backpropagate."""

from __future__ import annotations

import gc
import weakref

import numpy as np

import gradwise as gw


def test_chain_of_100k_ops_backpropagates():
    x = gw.tensor([1.0, 2.0], dtype=gw.float64, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.00001
        y = y + 0.0
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), 1.00001 ** 50_000)


def test_saved_arrays_are_released_after_backward():
    x = gw.tensor(np.ones(1000), requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    ref = weakref.ref(h.detach().numpy())
    del h
    gc.collect()
    assert ref() is not None           # still saved by the mul node
    y.backward()
    gc.collect()
    assert ref() is None               # freed once the backward used it


def test_retain_graph_keeps_saved_arrays():
    x = gw.tensor(np.ones(10), requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    node = y.grad_fn.next_functions[0][0]
    y.backward(retain_graph=True)
    assert node.saved is not None
    y.backward()
    assert node.saved is None and np.allclose(x.grad.numpy(), 16.0)
