"""Shape-op VALUES against NumPy (issue 15): a shape check passes when the elements are in the
wrong order; these compare every element, forward and backward.

The backward check is exact for these ops because each is linear: for a weight array ``W`` the
gradient of ``sum(f(x) * W)`` with respect to element ``i`` of ``x`` is ``sum(f_np(e_i) * W)``,
with ``e_i`` the i-th basis array, computed with NumPy alone.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw

RNG = np.random.default_rng(15)
A = RNG.standard_normal((2, 3, 4))
B = RNG.standard_normal((2, 3, 4))
C = RNG.standard_normal((2, 1, 4))


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


# name -> (gradwise call on tensors, NumPy call on arrays, input arrays)
CASES = {
    "cat_dim0": (lambda a, b: gw.cat([a, b], 0), lambda a, b: np.concatenate([a, b], 0), (A, B)),
    "cat_dim1_uneven": (lambda a, c: gw.cat([a, c], dim=1), lambda a, c: np.concatenate([a, c], 1), (A, C)),
    "cat_dim_neg1": (lambda a, b: gw.cat((a, b), -1), lambda a, b: np.concatenate([a, b], -1), (A, B)),
    "stack_dim0": (lambda a, b: gw.stack([a, b]), lambda a, b: np.stack([a, b]), (A, B)),
    "stack_dim2": (lambda a, b: gw.stack([a, b], dim=2), lambda a, b: np.stack([a, b], 2), (A, B)),
    "stack_dim_neg1": (lambda a, b: gw.stack([a, b], -1), lambda a, b: np.stack([a, b], -1), (A, B)),
    "expand": (lambda c: c.expand(2, 3, 4), lambda c: np.broadcast_to(c, (2, 3, 4)), (C,)),
    "expand_new_dim": (lambda c: c.expand(5, 2, 3, 4), lambda c: np.broadcast_to(c, (5, 2, 3, 4)), (C,)),
    "expand_minus1": (lambda c: c.expand(-1, 3, -1), lambda c: np.broadcast_to(c, (2, 3, 4)), (C,)),
    "repeat": (lambda a: a.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3)), (A,)),
    "repeat_new_dim": (lambda a: a.repeat(2, 1, 2, 1), lambda a: np.tile(a, (2, 1, 2, 1)), (A,)),
    "tile": (lambda a: gw.tile(a, (1, 2, 2)), lambda a: np.tile(a, (1, 2, 2)), (A,)),
    "tile_short_reps": (lambda a: a.tile((3,)), lambda a: np.tile(a, (3,)), (A,)),
    "unflatten": (lambda a: a.unflatten(2, (2, 2)), lambda a: a.reshape(2, 3, 2, 2), (A,)),
    "unflatten_minus1": (lambda a: gw.unflatten(a, 1, (-1, 1)), lambda a: a.reshape(2, 3, 1, 4), (A,)),
    "flatten_all": (lambda a: a.flatten(), lambda a: a.reshape(-1), (A,)),
    "flatten_range": (lambda a: gw.flatten(a, 1), lambda a: a.reshape(2, 12), (A,)),
    "flatten_0_1": (lambda a: a.flatten(0, 1), lambda a: a.reshape(6, 4), (A,)),
    "permute": (lambda a: a.permute(2, 0, 1), lambda a: np.transpose(a, (2, 0, 1)), (A,)),
    "permute_neg": (lambda a: gw.permute(a, (-1, -3, -2)), lambda a: np.transpose(a, (2, 0, 1)), (A,)),
    "transpose": (lambda a: a.transpose(0, 2), lambda a: np.swapaxes(a, 0, 2), (A,)),
    "transpose_neg": (lambda a: gw.transpose(a, -1, 1), lambda a: np.swapaxes(a, -1, 1), (A,)),
    "movedim": (lambda a: gw.movedim(a, 0, -1), lambda a: np.moveaxis(a, 0, -1), (A,)),
    "split_size": (lambda a: gw.split(a, 3, dim=2), lambda a: [a[..., :3], a[..., 3:]], (A,)),
    "split_sections": (lambda a: a.split([1, 2], 1), lambda a: [a[:, :1], a[:, 1:]], (A,)),
    "chunk": (lambda a: gw.chunk(a, 2, dim=-1), lambda a: np.split(a, 2, axis=-1), (A,)),
    "chunk_uneven": (lambda a: a.chunk(2, 1), lambda a: [a[:, :2], a[:, 2:]], (A,)),
    "flip": (lambda a: gw.flip(a, (0, 2)), lambda a: np.flip(a, (0, 2)), (A,)),
    "roll": (lambda a: gw.roll(a, 1, 2), lambda a: np.roll(a, 1, 2), (A,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_values_match_numpy(name):
    fn, ref, arrays = CASES[name]
    got = _as_list(fn(*[gw.tensor(a) for a in arrays]))
    want = _as_list(ref(*arrays))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == w.shape, name
        np.testing.assert_array_equal(g.numpy(), w, err_msg=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_values_match_numpy(name):
    fn, ref, arrays = CASES[name]
    xs = [gw.tensor(a, requires_grad=True) for a in arrays]
    outs = _as_list(fn(*xs))
    weights = [RNG.standard_normal(tuple(o.shape)) for o in outs]
    loss = sum((o * gw.tensor(w)).sum() for o, w in zip(outs, weights))
    loss.backward()
    for k, a in enumerate(arrays):
        want = np.zeros(a.size)
        for i in range(a.size):
            basis = [np.zeros_like(b) for b in arrays]
            basis[k].flat[i] = 1.0
            want[i] = sum(float((np.asarray(o) * w).sum()) for o, w in zip(_as_list(ref(*basis)), weights))
        np.testing.assert_allclose(xs[k].grad.numpy(), want.reshape(a.shape), rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: gradient of input {k}")


def test_slicing_values_match_numpy():
    # gradwise has no narrow(); x.narrow(d, s, n) is the slice x[..., s:s+n, ...] checked here
    t = gw.tensor(A)
    np.testing.assert_array_equal(t[:, 1:3].numpy(), A[:, 1:3])
    np.testing.assert_array_equal(t[..., 2:4].numpy(), A[..., 2:4])
