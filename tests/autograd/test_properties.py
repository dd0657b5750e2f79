"""Properties that hold for every input (hypothesis)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradwise as gw
from gradwise.autograd.function import apply
from gradwise.ops import all_ops

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
dtypes = st.sampled_from([np.float32, np.float64])


@settings(max_examples=40, deadline=None)
@given(shape=shapes, dtype=dtypes)
def test_gradient_of_sum_is_ones(shape, dtype):
    x = gw.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype), requires_grad=True)
    x.sum().backward()
    assert x.grad.dtype == dtype and x.grad.shape == shape
    assert np.all(x.grad.numpy() == 1)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_backward_twice_accumulates(shape, seed):
    rng = np.random.default_rng(seed)
    x = gw.tensor(rng.standard_normal(shape), requires_grad=True)
    y = (x.sin() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    assert np.allclose(x.grad.numpy(), 2 * first)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_no_grad_records_nothing(shape, seed):
    x = gw.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    with gw.no_grad():
        y = ((x * 2).exp() + x).tanh().sum()
    assert y.grad_fn is None and not y.requires_grad


DIFF_OPS = [op for op in all_ops() if op.differentiable]


@pytest.mark.parametrize("op", DIFF_OPS, ids=lambda o: o.name)
@settings(max_examples=5, deadline=None)
@given(a=st.floats(-3, 3), b=st.floats(-3, 3), seed=st.integers(0, 2**16))
def test_rules_are_linear_in_the_incoming_gradient(op, a, b, seed):
    # vjp(a u + b v) == a vjp(u) + b vjp(v) for every differentiable op of the table
    rng = np.random.default_rng(seed)
    sample = op.domain.samples(np.random.default_rng(zlib.crc32(op.name.encode())))[0]  # stable seed
    xs = [gw.tensor(v, requires_grad=True) if i in sample.diff else
          (gw.tensor(v) if isinstance(v, np.ndarray) else v) for i, v in enumerate(sample.args)]
    out = apply(op, *xs, **sample.attrs)
    ins = [xs[i] for i in sample.diff]
    u, v = rng.standard_normal(out.shape), rng.standard_normal(out.shape)

    def vjp(c):
        gs = gw.autograd.grad(out, ins, grad_outputs=gw.tensor(c), retain_graph=True, allow_unused=True)
        return [np.zeros(x.shape) if g is None else g.numpy() for g, x in zip(gs, ins)]

    left = vjp(a * u + b * v)
    right = [a * p + b * q for p, q in zip(vjp(u), vjp(v))]
    for lhs, rhs in zip(left, right):
        assert np.allclose(lhs, rhs, rtol=1e-9, atol=1e-9)
