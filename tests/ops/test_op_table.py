"""Walk the op table: every differentiable op against float64 central differences,
first and second order, on its declared domain and broadcasting shapes.

Tolerances are tighter than gradcheck's defaults: float64 central differences
with eps=1e-6 are accurate to ~1e-9 here, so a rule wrong by 0.1% fails.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd.function import apply
from gradwise.ops import all_ops
from gradwise.ops.domain import Sample

ATOL, RTOL = 1e-6, 1e-5
OPS = all_ops()
DIFF_OPS = [op for op in OPS if op.differentiable]


def _tensors(sample: Sample, dtype=np.float64) -> list:
    out = []
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray):
            arr = a.astype(dtype) if (i in sample.diff and a.dtype.kind == "f") else a
            t = gw.Tensor(arr)
            if i in sample.diff:
                t.requires_grad_(True)
            out.append(t)
        else:
            out.append(a)
    return out


def op_seed(op) -> int:
    """The seed of an op's samples: the same in every process (``hash()`` is salted per process).
    tests/conftest.py prints it under a failing test that is parametrised by ``op``."""
    return zlib.crc32(op.name.encode())


def _samples(op) -> list[Sample]:
    assert op.domain is not None, f"op {op.name!r} declares no input domain"
    samples = op.domain.samples(np.random.default_rng(op_seed(op)))
    assert samples, f"op {op.name!r} has an empty domain"
    return samples


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_every_op_declares_a_domain(op):
    _samples(op)


@pytest.mark.parametrize("op", DIFF_OPS, ids=lambda o: o.name)
def test_first_order_matches_finite_differences(op):
    for sample in _samples(op):
        xs = _tensors(sample)
        assert gw.gradcheck(lambda *a: apply(op, *a, **sample.attrs), xs, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("op", [o for o in DIFF_OPS if o.domain.second_order], ids=lambda o: o.name)
def test_second_order_matches_finite_differences(op):
    for sample in _samples(op):
        xs = _tensors(sample)
        assert gw.gradgradcheck(lambda *a: apply(op, *a, **sample.attrs), xs, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("op", DIFF_OPS, ids=lambda o: o.name)
def test_float32_stays_float32_and_grads_match_inputs(op):
    for sample in _samples(op)[:1]:
        xs = _tensors(sample, dtype=np.float32)
        out = apply(op, *xs, **sample.attrs)
        if "dtype" in sample.attrs:  # casts choose their output dtype: the requested one
            assert out.dtype == np.dtype(sample.attrs["dtype"]), f"{op.name} made {out.dtype}"
            assert out.dtype != np.float32, f"{op.name}: the sample must cast to another dtype"
            np.testing.assert_array_equal(out.detach().numpy(), xs[0].detach().numpy().astype(out.dtype))
        else:
            assert out.dtype == np.float32, f"{op.name} turned float32 into {out.dtype}"
        out.backward(gw.ones_like(out))
        for i in sample.diff:
            g = xs[i].grad
            assert g is not None, f"{op.name}: input {i} got no gradient"
            assert g.shape == xs[i].shape and g.dtype == xs[i].dtype


@pytest.mark.parametrize("op", [o for o in OPS if not o.differentiable], ids=lambda o: o.name)
def test_non_differentiable_ops_record_nothing(op):
    sample = _samples(op)[0]
    xs = [gw.Tensor(a.astype(np.float64)).requires_grad_()
          if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in sample.args]
    out = apply(op, *xs, **sample.attrs)
    assert out.grad_fn is None and not out.requires_grad
