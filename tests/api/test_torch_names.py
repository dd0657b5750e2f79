"""PyTorch's everyday names (issue 13 item 5): Size, __format__, the Tensor methods and the
functions of api/compat.py, api/sorting.py, api/sampling.py, api/legacy.py and
inference_mode.  Values against NumPy / hand-computed ones always, against torch when it
is installed; gradients of the composites by gradcheck (the new ops, argsort and scatter,
are gradient-checked by tests/ops/test_op_table.py)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import gradwise as gw
from gradwise.errors import DtypeError, GraphError, ShapeError


def f64(*shape, seed=0, requires_grad=True):
    arr = np.random.default_rng(seed).standard_normal(shape)
    return gw.tensor(arr, dtype=gw.float64, requires_grad=requires_grad)


# ------------------------------------------------------------------------------ Size
def test_size_is_a_tuple_with_numel():
    x = gw.zeros(2, 3)
    s = x.size()
    assert isinstance(s, gw.Size) and isinstance(s, tuple)
    assert s == (2, 3) and s[0] == 2 and s[-1] == 3 and x.size(1) == 3 and x.size(-2) == 2
    assert s.numel() == 6 and gw.Size().numel() == 1 and gw.zeros(0, 4).size().numel() == 0
    assert list(s) == [2, 3] and tuple(s) == (2, 3) and hash(s) == hash((2, 3))
    rows, cols = s
    assert (rows, cols) == (2, 3)
    assert repr(s) == str(s) == "gradwise.Size([2, 3])"


def test_size_slices_and_concatenations_stay_sizes():
    s = gw.Size([2, 3, 4])
    assert isinstance(s[1:], gw.Size) and s[1:] == (3, 4)
    assert isinstance(s + (5,), gw.Size) and s + (5,) == (2, 3, 4, 5)
    assert isinstance((1,) + s, gw.Size) and (1,) + s == (1, 2, 3, 4)
    assert isinstance(s * 2, gw.Size) and len(s * 2) == 6
    assert pickle.loads(pickle.dumps(s)) == s and isinstance(pickle.loads(pickle.dumps(s)), gw.Size)
    assert gw.Size(np.array([2, 3])) == (2, 3) and gw.Size([gw.tensor(4)]) == (4,)
    with pytest.raises(TypeError):
        gw.Size([2.5])


def test_shape_stays_a_plain_tuple():
    # documented difference: .shape is the array's tuple (read on every op), size() the Size
    x = gw.zeros(2, 3)
    assert isinstance(x.shape, tuple) and x.shape == x.size() == (2, 3)
    assert gw.zeros(x.size()).shape == (2, 3)   # a Size is accepted wherever a shape is


def test_size_oracle():
    torch = pytest.importorskip("torch")
    s, ts = gw.zeros(2, 3, 4).size(), torch.zeros(2, 3, 4).size()
    assert s == ts and s[1:] == ts[1:] and s.numel() == ts.numel()
    assert repr(s).replace("gradwise", "torch") == repr(ts)


# ---------------------------------------------------------------------------- metadata
def test_metadata_methods():
    x = gw.ones(3, 2)
    assert x.nelement() == x.numel() == 6
    assert x.element_size() == 4 and x.double().element_size() == 8 and gw.ones(1, dtype=gw.float16).element_size() == 2
    assert x.is_floating_point() and x.half().is_floating_point()
    assert not gw.arange(3).is_floating_point() and not gw.ones(2, dtype=gw.complex64).is_floating_point()
    assert gw.is_floating_point(x) and not gw.is_floating_point(gw.tensor([True]))
    assert x.is_contiguous() and not x.t().is_contiguous() and not x.T.is_contiguous()
    assert gw.is_tensor(x) and gw.is_tensor(gw.nn.Parameter(gw.ones(1))) and not gw.is_tensor(np.ones(2))
    with pytest.raises(TypeError):
        gw.is_floating_point(np.ones(2))


# ---------------------------------------------------------------------------- __format__
def test_format_specs_on_0d_tensors():
    assert f"{gw.tensor(3.14159):+.2f}" == "+3.14"
    assert "{:+.2f}".format(gw.tensor(-0.5)) == "-0.50"  # noqa: UP032  (str.format is the point)
    assert f"{gw.tensor(3.14159, dtype=gw.float64):.3e}" == "3.142e+00"
    assert format(gw.tensor(7), "05d") == "00007" and f"{gw.tensor(True)}" == "True"
    assert f"{gw.tensor(2.5)}" == "2.5"   # empty spec on a 0-d tensor: the number, as torch
    assert f"{gw.tensor(0.25, requires_grad=True):.1%}" == "25.0%"


def test_format_specs_on_other_tensors_raise_like_torch():
    for x in (gw.tensor([2.5]), gw.ones(2, 2)):
        with pytest.raises(TypeError, match="format"):
            f"{x:.2f}"
        assert f"{x}" == str(x) == repr(x)


def test_format_oracle():
    torch = pytest.importorskip("torch")
    for value, spec in ((3.14159, "+.2f"), (-2.0, "8.3f"), (1e-7, ".2e"), (7, "05d"), (True, "")):
        assert format(gw.tensor(value), spec) == format(torch.tensor(value), spec)
    with pytest.raises(TypeError):
        format(torch.tensor([2.5]), ".2f")


# ------------------------------------------------------------------- matrix products
def test_mm_bmm_t_values_and_gradients():
    a, b = f64(2, 3), f64(3, 4, seed=1)
    assert np.allclose(gw.mm(a, b).detach().numpy(), a.detach().numpy() @ b.detach().numpy())
    assert np.allclose(a.mm(b).detach().numpy(), a.detach().numpy() @ b.detach().numpy())
    assert gw.gradcheck(lambda p, q: gw.mm(p, q), (a, b))
    x, y = f64(5, 2, 3), f64(5, 3, 4, seed=1)
    assert np.allclose(gw.bmm(x, y).detach().numpy(), x.detach().numpy() @ y.detach().numpy())
    assert gw.gradcheck(lambda p, q: p.bmm(q), (x, y))
    assert np.array_equal(a.t().detach().numpy(), a.detach().numpy().T) and gw.t(a).shape == (3, 2)
    assert gw.gradcheck(lambda p: p.t(), (a,))
    v = gw.arange(3.0)
    assert v.t().shape == (3,) and gw.tensor(2.0).t().shape == ()


def test_mm_bmm_t_errors():
    with pytest.raises(ShapeError, match="matrices"):
        gw.mm(gw.ones(3), gw.ones(3, 4))
    with pytest.raises(ShapeError, match="2x3 and 4x4"):
        gw.mm(gw.ones(2, 3), gw.ones(4, 4))
    with pytest.raises(DtypeError):
        gw.mm(gw.ones(2, 3), gw.ones(3, 4, dtype=gw.float64))
    with pytest.raises(ShapeError):
        gw.bmm(gw.ones(2, 2, 3), gw.ones(3, 4))
    with pytest.raises(ShapeError):
        gw.bmm(gw.ones(2, 2, 3), gw.ones(1, 3, 4))
    with pytest.raises(ShapeError, match="at most 2"):
        gw.ones(2, 2, 2).t()


# ----------------------------------------------------------------- *_as and new_*
def test_view_reshape_expand_as():
    x = f64(6)
    assert x.view_as(gw.ones(2, 3)).shape == (2, 3) and x.reshape_as(gw.ones(3, 2)).shape == (3, 2)
    assert gw.gradcheck(lambda p: p.view_as(gw.ones(2, 3)) * gw.arange(6.0, dtype=gw.float64).reshape(2, 3), (x,))
    col = f64(3, 1)
    e = col.expand_as(gw.ones(2, 3, 4))
    assert e.shape == (2, 3, 4) and np.array_equal(e.detach().numpy()[1, :, 2], col.detach().numpy()[:, 0])
    assert gw.gradcheck(lambda p: p.expand_as(gw.ones(2, 3, 4)), (col,))
    with pytest.raises(ShapeError):
        gw.ones(3).view_as(gw.ones(2, 3))


def test_new_constructors_take_the_dtype_of_self():
    f, i = gw.ones(2, requires_grad=True), gw.arange(3)
    z = f.new_zeros(2, 3)
    assert z.shape == (2, 3) and z.dtype == gw.float32 and not z.requires_grad and z.is_leaf
    assert f.new_zeros((2, 3)).shape == (2, 3) and i.new_zeros(2).dtype == gw.int64
    assert f.new_ones(2, dtype=gw.int64).tolist() == [1, 1]
    assert f.new_empty(4).shape == (4,) and f.new_empty(2, 2, dtype=gw.float64).dtype == gw.float64
    assert i.new_full((2,), 7.5).tolist() == [7, 7] and f.new_full((2, 2), 3).dtype == gw.float32
    assert f.new_tensor([1, 2]).tolist() == [1.0, 2.0] and f.new_tensor([1, 2]).dtype == gw.float32
    src = gw.tensor([1.0, 2.0], requires_grad=True)
    copy = f.new_tensor(src)
    assert copy.is_leaf and not copy.requires_grad
    copy[0] = 5.0
    assert src.tolist() == [1.0, 2.0]
    assert f.new_zeros(2, requires_grad=True).requires_grad
    assert f.new_ones(1, device="cpu").tolist() == [1.0]
    with pytest.raises(gw.DeviceError):
        f.new_zeros(2, device="cuda")
    with pytest.raises(DtypeError):
        i.new_zeros(2, requires_grad=True)


def test_new_constructors_oracle():
    torch = pytest.importorskip("torch")
    for dt, tdt in ((gw.float32, torch.float32), (gw.int64, torch.int64), (gw.float64, torch.float64)):
        g, t = gw.ones(2, dtype=dt), torch.ones(2, dtype=tdt)
        assert g.new_full((2,), 7.5).tolist() == t.new_full((2,), 7.5).tolist()
        assert g.new_tensor([1, 2]).tolist() == t.new_tensor([1, 2]).tolist()
        assert str(g.new_zeros(2, 3).dtype) == str(t.new_zeros(2, 3).dtype).split(".")[1]


# ---------------------------------------------------------------------- sort / topk
DATA = [3.0, 1.0, 3.0, 2.0, 1.0, 3.0]


def test_sort_is_stable_both_ways():
    v, i = gw.sort(gw.tensor(DATA))
    assert v.tolist() == sorted(DATA) and i.tolist() == [1, 4, 3, 0, 2, 5]
    v, i = gw.tensor(DATA).sort(descending=True)
    assert v.tolist() == sorted(DATA, reverse=True) and i.tolist() == [0, 2, 5, 3, 1, 4]
    assert gw.tensor(DATA).argsort().tolist() == [1, 4, 3, 0, 2, 5]
    assert gw.argsort(gw.tensor(DATA), descending=True, stable=True).tolist() == [0, 2, 5, 3, 1, 4]
    nan = gw.tensor([1.0, float("nan"), 0.0])
    assert nan.sort().indices.tolist() == [2, 0, 1] and nan.sort(descending=True).indices.tolist() == [1, 0, 2]
    assert gw.tensor([True, False]).sort().indices.tolist() == [1, 0]
    v, i = gw.tensor(2.0).sort()
    assert v.shape == () and i.item() == 0


def test_sort_along_a_dim_and_its_gradient():
    x = f64(3, 5)
    v, i = x.sort(dim=0)
    assert np.array_equal(v.detach().numpy(), np.sort(x.detach().numpy(), axis=0))
    assert np.array_equal(i.detach().numpy(), np.argsort(x.detach().numpy(), axis=0, kind="stable"))
    assert i.dtype == gw.int64 and not i.requires_grad
    assert gw.gradcheck(lambda p: p.sort(dim=1, descending=True).values * gw.arange(5.0, dtype=gw.float64), (x,))
    # the gradient goes to where each value came from
    y = gw.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (y.sort().values * gw.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert y.grad.tolist() == [100.0, 1.0, 10.0]


def test_topk():
    v, i = gw.tensor([1.0, 5.0, 3.0, 4.0]).topk(2)
    assert v.tolist() == [5.0, 4.0] and i.tolist() == [1, 3]
    v, i = gw.topk(gw.tensor(DATA), 2, largest=False)
    assert v.tolist() == [1.0, 1.0] and i.tolist() == [1, 4]
    v, i = gw.topk(gw.tensor(DATA), 3, sorted=False)
    assert v.tolist() == [3.0, 3.0, 3.0] and sorted(i.tolist()) == [0, 2, 5]
    x = f64(4, 6)
    v, i = x.topk(3, dim=0)
    ref = -np.sort(-x.detach().numpy(), axis=0)[:3]
    assert v.shape == (3, 6) and np.allclose(v.detach().numpy(), ref)
    assert np.array_equal(np.take_along_axis(x.detach().numpy(), i.detach().numpy(), 0), v.detach().numpy())
    assert gw.gradcheck(lambda p: p.topk(2, dim=1).values, (x,))
    assert gw.topk(gw.ones(3), 0).values.shape == (0,)
    assert gw.tensor(5.0).topk(1).values.item() == 5.0
    with pytest.raises(ShapeError, match="k=7"):
        gw.tensor(DATA).topk(7)


def test_sort_topk_oracle():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, (5, 7)).astype(np.float32)   # many ties
    g, t = gw.tensor(a), torch.tensor(a)
    for dim in (0, 1, -1):
        for desc in (False, True):
            gv, gi = g.sort(dim=dim, descending=desc, stable=True)
            tv, ti = t.sort(dim=dim, descending=desc, stable=True)
            assert np.array_equal(gv.numpy(), tv.numpy()) and np.array_equal(gi.numpy(), ti.numpy())
            assert np.array_equal(g.argsort(dim=dim, descending=desc, stable=True).numpy(),
                                  t.argsort(dim=dim, descending=desc, stable=True).numpy())
        for largest in (True, False):
            gv, gi = g.topk(3, dim=dim, largest=largest)
            tv, ti = t.topk(3, dim=dim, largest=largest)
            assert np.array_equal(gv.numpy(), tv.numpy())   # ties may come in another order in torch
    b = rng.standard_normal((4, 6)).astype(np.float32)
    gv, gi = gw.tensor(b).topk(3)
    tv, ti = torch.tensor(b).topk(3)
    assert np.array_equal(gv.numpy(), tv.numpy()) and np.array_equal(gi.numpy(), ti.numpy())


# ---------------------------------------------------------------------------- unique
def test_unique():
    x = gw.tensor([3, 1, 3, 2, 1, 3])
    assert gw.unique(x).tolist() == [1, 2, 3] and x.unique(sorted=False).tolist() == [1, 2, 3]
    vals, inv, counts = x.unique(return_inverse=True, return_counts=True)
    assert inv.tolist() == [2, 0, 2, 1, 0, 2] and counts.tolist() == [2, 1, 3]
    assert inv.dtype == counts.dtype == gw.int64
    vals, inv = gw.tensor([[1, 2], [1, 2]]).unique(return_inverse=True)
    assert inv.shape == (2, 2) and inv.tolist() == [[0, 1], [0, 1]]
    rows = gw.tensor([[1, 2], [1, 2], [0, 5]])
    vals, inv, counts = gw.unique(rows, dim=0, return_inverse=True, return_counts=True)
    assert vals.tolist() == [[0, 5], [1, 2]] and inv.tolist() == [1, 1, 0] and counts.tolist() == [1, 2]
    _, counts = gw.unique(gw.tensor([[1, 2], [1, 2]]), return_counts=True)
    assert counts.tolist() == [2, 2]
    assert gw.unique(gw.tensor([])).shape == (0,)
    vals, counts = gw.unique(gw.tensor([float("nan"), 1.0, float("nan")]), return_counts=True)
    assert vals.shape == (3,) and counts.tolist() == [1, 1, 1]   # NaNs stay apart, as in torch
    assert not gw.unique(f64(4)).requires_grad


def test_unique_oracle():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).integers(0, 5, (6, 3))
    for dim in (None, 0, 1):
        g = gw.unique(gw.tensor(a), return_inverse=True, return_counts=True, dim=dim)
        t = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True, dim=dim)
        for x, y in zip(g, t):
            assert np.array_equal(x.numpy(), y.numpy())


# ------------------------------------------------------------------ repeat_interleave
def test_repeat_interleave():
    assert gw.tensor([1, 2]).repeat_interleave(2).tolist() == [1, 1, 2, 2]
    m = gw.tensor([[1, 2], [3, 4]])
    assert m.repeat_interleave(2).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert m.repeat_interleave(gw.tensor([1, 2]), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    assert m.repeat_interleave(3, dim=1).tolist() == [[1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4]]
    assert gw.repeat_interleave(gw.tensor([2, 1])).tolist() == [0, 0, 1]
    assert gw.tensor(5).repeat_interleave(2).tolist() == [5, 5]
    assert gw.tensor([1, 2]).repeat_interleave(gw.tensor(2)).tolist() == [1, 1, 2, 2]
    assert gw.tensor([1, 2]).repeat_interleave(gw.tensor([2])).tolist() == [1, 1, 2, 2]
    assert gw.tensor([1, 2]).repeat_interleave(2, output_size=4).tolist() == [1, 1, 2, 2]
    with pytest.raises(ShapeError):
        m.repeat_interleave(gw.tensor([1, 2]))
    with pytest.raises(ValueError):
        gw.tensor([1, 2]).repeat_interleave(2, output_size=3)
    with pytest.raises(ValueError):
        gw.tensor([1, 2]).repeat_interleave(-1)
    x = f64(3, 2)
    assert np.array_equal(x.repeat_interleave(gw.tensor([2, 0, 1]), dim=0).detach().numpy(),
                          np.repeat(x.detach().numpy(), [2, 0, 1], axis=0))
    assert gw.gradcheck(lambda p: p.repeat_interleave(gw.tensor([2, 0, 1]), dim=0), (x,))
    assert gw.gradcheck(lambda p: gw.repeat_interleave(p, 3), (x,))


def test_repeat_interleave_oracle():
    torch = pytest.importorskip("torch")
    a = np.arange(6).reshape(2, 3)
    for reps, dim in ((2, None), (2, 1), ([1, 0, 3], 1), ([2, 1], 0)):
        rg = gw.tensor(reps) if isinstance(reps, list) else reps
        rt = torch.tensor(reps) if isinstance(reps, list) else reps
        assert gw.tensor(a).repeat_interleave(rg, dim=dim).tolist() == \
            torch.tensor(a).repeat_interleave(rt, dim=dim).tolist()


# --------------------------------------------------------------------------- meshgrid
def test_meshgrid():
    x, y = gw.meshgrid(gw.tensor([1, 2]), gw.tensor([3, 4, 5]), indexing="ij")
    assert x.tolist() == [[1, 1, 1], [2, 2, 2]] and y.tolist() == [[3, 4, 5], [3, 4, 5]]
    x, y = gw.meshgrid([gw.tensor([1, 2]), gw.tensor([3, 4, 5])], indexing="xy")
    ref = np.meshgrid([1, 2], [3, 4, 5], indexing="xy")
    assert np.array_equal(x.numpy(), ref[0]) and np.array_equal(y.numpy(), ref[1])
    grids = gw.meshgrid(gw.arange(2), gw.arange(3), gw.arange(4), indexing="xy")
    refs = np.meshgrid(np.arange(2), np.arange(3), np.arange(4), indexing="xy")
    assert all(np.array_equal(g.numpy(), r) for g, r in zip(grids, refs))
    assert gw.meshgrid(gw.tensor(1), gw.tensor([3, 4, 5]))[0].shape == (1, 3)   # default "ij"
    with pytest.raises(ValueError, match="indexing"):
        gw.meshgrid(gw.tensor([1]), indexing="ab")
    with pytest.raises(ShapeError):
        gw.meshgrid(gw.ones(2, 2))
    a, b = f64(2), f64(3, seed=1)
    assert gw.gradcheck(lambda p, q: gw.meshgrid(p, q, indexing="xy")[0] * gw.meshgrid(p, q, indexing="xy")[1],
                        (a, b))


def test_meshgrid_oracle():
    torch = pytest.importorskip("torch")
    for indexing in ("ij", "xy"):
        g = gw.meshgrid(gw.tensor([1, 2]), gw.tensor([3, 4, 5]), gw.tensor([6, 7]), indexing=indexing)
        t = torch.meshgrid(torch.tensor([1, 2]), torch.tensor([3, 4, 5]), torch.tensor([6, 7]), indexing=indexing)
        assert all(x.tolist() == y.tolist() for x, y in zip(g, t))


# ---------------------------------------------------------------------- comparisons
def test_isclose_allclose_equal():
    a, b = gw.tensor([1.0, 2.0, float("nan")]), gw.tensor([1.0, 2.1, float("nan")])
    assert gw.isclose(a, b).tolist() == [True, False, False]
    assert a.isclose(b, equal_nan=True).tolist() == [True, False, True]
    assert gw.isclose(gw.tensor([1.0]), gw.tensor([1.05]), atol=0.1).tolist() == [True]
    assert gw.isclose(gw.tensor([True, False]), gw.tensor([True, True])).tolist() == [True, False]
    assert gw.allclose(gw.tensor([1.0, 2.0]), gw.tensor([1.0, 2.000001]))
    assert not gw.tensor([1.0, 2.0]).allclose(gw.tensor([1.0, 2.1]))
    assert gw.allclose(gw.ones(2, 1), gw.ones(2)) and isinstance(gw.allclose(a, a, equal_nan=True), bool)
    with pytest.raises(ShapeError):
        gw.allclose(gw.ones(2), gw.ones(3))
    assert gw.equal(gw.tensor([1, 2]), gw.tensor([1.0, 2.0])) and gw.tensor([1, 2]).equal(gw.tensor([1, 2]))
    assert not gw.equal(gw.ones(2, 1), gw.ones(2)) and not gw.equal(gw.tensor([1, 2]), gw.tensor([1, 2, 3]))
    assert not gw.equal(a, a)   # NaN is not equal to itself


def test_comparisons_oracle():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal(20)
    b = a + rng.choice([0.0, 1e-9, 1e-6, 1e-3], 20)
    for kw in ({}, {"rtol": 1e-3}, {"atol": 1e-6}):
        assert gw.isclose(gw.tensor(a), gw.tensor(b), **kw).tolist() == \
            torch.isclose(torch.tensor(a), torch.tensor(b), **kw).tolist()
        assert gw.allclose(gw.tensor(a), gw.tensor(b), **kw) == torch.allclose(torch.tensor(a), torch.tensor(b), **kw)
    assert gw.equal(gw.tensor([1, 2]), gw.tensor([1.0, 2.0])) == torch.equal(torch.tensor([1, 2]),
                                                                             torch.tensor([1.0, 2.0]))


# ------------------------------------------------------------ existing ops, torch forms
def test_flip_roll_forms():
    m = gw.tensor([[1, 2], [3, 4]])
    assert gw.flip(m, dims=[0]).tolist() == [[3, 4], [1, 2]] and m.flip(dims=(1,)).tolist() == [[2, 1], [4, 3]]
    assert m.flip(0, 1).tolist() == [[4, 3], [2, 1]] and m.flip(()).tolist() == [[1, 2], [3, 4]]
    assert gw.tensor(3).flip(0).item() == 3
    with pytest.raises(TypeError):
        m.flip()
    assert m.roll((1,)).tolist() == [[4, 1], [2, 3]] and m.roll((1,), dims=0).tolist() == [[3, 4], [1, 2]]
    assert m.roll(1, dims=(0,)).tolist() == [[3, 4], [1, 2]]
    with pytest.raises(ShapeError):
        m.roll((1, 1))


def test_existing_indexing_ops_oracle():
    torch = pytest.importorskip("torch")
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    g, t = gw.tensor(a), torch.tensor(a)
    idx = np.array([[0, 1], [2, 0], [1, 1]])
    src = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    m = a > 5
    cases = [
        (g.flip(0, 1), t.flip(0, 1)), (gw.flip(g, dims=[1]), torch.flip(t, dims=[1])),
        (g.roll(1), t.roll(1)), (g.roll((1, -2), (0, 1)), t.roll((1, -2), (0, 1))), (g.roll((3,)), t.roll((3,))),
        (g.tril(), t.tril()), (g.tril(1), t.tril(1)), (gw.triu(g, diagonal=-1), torch.triu(t, diagonal=-1)),
        (g.clone().triu_(1), t.clone().triu_(1)),
        (g.masked_fill(gw.tensor(m), 0.5), t.masked_fill(torch.tensor(m), 0.5)),
        (g.clone().masked_fill_(gw.tensor(m), -1), t.clone().masked_fill_(torch.tensor(m), -1)),
        (g.gather(1, gw.tensor(idx)), t.gather(1, torch.tensor(idx))),
        (g.scatter_add(1, gw.tensor(idx), gw.tensor(src)), t.scatter_add(1, torch.tensor(idx), torch.tensor(src))),
        (g.index_select(1, gw.tensor([3, 0])), t.index_select(1, torch.tensor([3, 0]))),
        (g.scatter(1, gw.tensor([[0], [1], [2]]), 5.0), t.scatter(1, torch.tensor([[0], [1], [2]]), 5.0)),
        (g.scatter(1, gw.tensor([[3], [1], [2]]), gw.tensor(src)),
         t.scatter(1, torch.tensor([[3], [1], [2]]), torch.tensor(src))),
        (g.scatter(0, gw.tensor([[2, 1, 0, 2]]), value=-1.0), t.scatter(0, torch.tensor([[2, 1, 0, 2]]), value=-1.0)),
        (g.clone().scatter_(1, gw.tensor([[0], [1], [2]]), src=gw.zeros(3, 1)),
         t.clone().scatter_(1, torch.tensor([[0], [1], [2]]), src=torch.zeros(3, 1))),
    ]
    for k, (x, y) in enumerate(cases):
        assert np.array_equal(x.numpy(), y.numpy()) and x.dtype == np.dtype(str(y.dtype).split(".")[1]), k


def test_scatter():
    z = gw.zeros(2, 3).scatter(1, gw.tensor([[2], [0]]), 1.0)
    assert z.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    x = gw.ones(3)
    assert x.scatter(0, gw.tensor([0]), gw.tensor(5.0)).tolist() == [5.0, 1.0, 1.0]
    y = gw.ones(2, 2)
    assert y.scatter_(0, gw.tensor([[1, 0]]), 0.0) is y and y.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(TypeError):
        gw.ones(3).scatter(0, gw.tensor([0]))
    with pytest.raises(ValueError, match="scatter_add"):
        gw.ones(3).scatter(0, gw.tensor([0]), 1.0, reduce="add")
    with pytest.raises(ShapeError):
        gw.ones(3, 4).scatter(1, gw.tensor([[0, 1]]), gw.ones(1, 1))
    # gradients: input zero where written, src read back where it was written
    base, src = f64(3, 4), f64(3, 2, seed=1)
    idx = gw.tensor([[0, 3], [1, 2], [2, 0]])
    assert gw.gradcheck(lambda b, s: b.scatter(1, idx, s), (base, src))
    (base.scatter(1, idx, src) * gw.arange(12.0, dtype=gw.float64).reshape(3, 4)).sum().backward()
    assert base.grad.numpy()[0].tolist() == [0.0, 1.0, 2.0, 0.0] and src.grad.numpy()[0].tolist() == [0.0, 3.0]


# -------------------------------------------------------------------------- sampling
def test_normal_overloads():
    g = gw.Generator().manual_seed(0)
    assert gw.normal(gw.zeros(2, 3), gw.ones(3), generator=g).shape == (2, 3)
    assert gw.normal(gw.zeros(2, 3), 1.0).shape == (2, 3) and gw.normal(0.0, gw.ones(3)).shape == (3,)
    assert gw.normal(2.0, 3.0, (2,)).dtype == gw.float32 and gw.normal(0, 1, size=(2,)).shape == (2,)
    assert gw.normal(gw.zeros(2, dtype=gw.float64), 1.0).dtype == gw.float64
    assert gw.normal(mean=gw.zeros(2)).shape == (2,)
    assert gw.normal(0.0, 1.0, (2,), dtype=gw.float64).dtype == gw.float64
    assert gw.normal(0.0, 1.0, size=(2,), requires_grad=True).requires_grad
    assert gw.normal(gw.tensor([5.0, -5.0]), 0.0).tolist() == [5.0, -5.0]
    big = gw.normal(gw.full((20000,), 3.0), 2.0, generator=g).numpy()
    assert abs(big.mean() - 3.0) < 0.05 and abs(big.std() - 2.0) < 0.05
    a = gw.normal(0.0, 1.0, (5,), generator=gw.Generator().manual_seed(4))
    b = gw.normal(0.0, 1.0, (5,), generator=gw.Generator().manual_seed(4))
    assert a.tolist() == b.tolist()
    with pytest.raises(TypeError):
        gw.normal(2.0, 3.0)
    with pytest.raises(TypeError):
        gw.normal(gw.zeros(2), 1.0, size=(3,))
    with pytest.raises(ValueError):
        gw.normal(gw.zeros(2), -1.0)
    with pytest.raises(DtypeError):
        gw.normal(gw.zeros(2, dtype=gw.int64), 1.0)
    with pytest.raises(gw.DeviceError):
        gw.normal(0.0, 1.0, (2,), device="cuda")
    assert not gw.normal(gw.zeros(2, requires_grad=True), 1.0).requires_grad   # documented difference


def test_bernoulli():
    g = gw.Generator().manual_seed(1)
    assert gw.bernoulli(gw.tensor([0.0, 1.0])).tolist() == [0.0, 1.0]
    assert gw.bernoulli(gw.tensor([0.0, 1.0], dtype=gw.float64)).dtype == gw.float64
    assert gw.bernoulli(gw.zeros(3), 1.0).tolist() == [1.0, 1.0, 1.0]
    assert gw.zeros(3).bernoulli_(1.0).tolist() == [1.0, 1.0, 1.0]
    assert gw.zeros(3).bernoulli_(gw.tensor([1.0, 0.0, 1.0])).tolist() == [1.0, 0.0, 1.0]
    assert gw.full((10000,), 0.3).bernoulli(generator=g).mean().item() == pytest.approx(0.3, abs=0.02)
    with pytest.raises(ValueError):
        gw.bernoulli(gw.tensor([0.5, 2.0]))
    with pytest.raises(DtypeError):
        gw.bernoulli(gw.tensor([0, 1]))


def test_multinomial():
    g = gw.Generator().manual_seed(2)
    w = gw.tensor([0.0, 1.0, 3.0, 0.0])
    s = gw.multinomial(w, 2, generator=g)
    assert s.dtype == gw.int64 and sorted(s.tolist()) == [1, 2]
    three = gw.multinomial(w, 3, generator=g).tolist()   # the zero-weight ones come last, as torch
    assert sorted(three[:2]) == [1, 2] and three[2] in (0, 3)
    assert gw.multinomial(w, 5, replacement=True).shape == (5,)
    assert set(gw.multinomial(w, 50, replacement=True, generator=g).tolist()) <= {1, 2}
    assert gw.multinomial(gw.ones(2, 4), 3).shape == (2, 3)
    assert all(len(set(r)) == 4 for r in gw.ones(3, 4).multinomial(4, generator=g).tolist())
    draws = gw.multinomial(gw.tensor([1.0, 3.0]), 20000, replacement=True, generator=g).numpy()
    assert draws.mean() == pytest.approx(0.75, abs=0.02)
    first = gw.multinomial(gw.tensor([1.0, 3.0]).expand(20000, 2), 1, generator=g).numpy()
    assert first.mean() == pytest.approx(0.75, abs=0.02)   # without replacement: first draw ~ weights
    for bad, exc in ((gw.tensor([-1.0, 2.0]), ValueError), (gw.zeros(3), ValueError), (gw.ones(2, 2, 2), ShapeError),
                     (gw.tensor([1, 2]), DtypeError), (gw.tensor([1.0, float("inf")]), ValueError)):
        with pytest.raises(exc):
            gw.multinomial(bad, 1)
    with pytest.raises(ValueError):
        gw.multinomial(gw.ones(3), 0)
    with pytest.raises(ValueError):
        gw.multinomial(gw.ones(3), 4)


def test_randint_overloads():
    g = gw.Generator().manual_seed(3)
    assert gw.randint(10, (3,)).shape == (3,) and gw.randint(3, 10, (3,)).shape == (3,)
    assert gw.randint(10, size=(3,)).shape == (3,) and gw.randint(low=3, high=10, size=(3,)).shape == (3,)
    assert gw.randint(high=10, size=(3,)).shape == (3,) and gw.randint(10, gw.Size([2])).shape == (2,)
    assert gw.randint(0, 5, (2,)).dtype == gw.int64 and gw.randint(10, (3,), dtype=gw.float32).dtype == gw.float32
    v = gw.randint(3, 10, (1000,), generator=g).numpy()
    assert v.min() == 3 and v.max() == 9
    assert gw.randint(0, 5, (100,), generator=gw.Generator().manual_seed(0)).tolist() == \
        gw.randint(5, (100,), generator=gw.Generator().manual_seed(0)).tolist()
    assert gw.randint(0, 3, (2,), dtype=gw.float32, requires_grad=True).requires_grad
    with pytest.raises(ValueError):
        gw.randint(5, 3, (2,))
    with pytest.raises(TypeError):
        gw.randint(3.0, 10.0, (2,))
    with pytest.raises(DtypeError):
        gw.randint(10, (3,), requires_grad=True)
    with pytest.raises(gw.DeviceError):
        gw.randint(10, (3,), device="cuda")


def test_inplace_random_fills():
    g = gw.Generator().manual_seed(5)
    x = gw.empty(10000).normal_(2.0, 0.5, generator=g)
    assert x.numpy().mean() == pytest.approx(2.0, abs=0.02) and x.numpy().std() == pytest.approx(0.5, abs=0.02)
    u = gw.empty(1000, dtype=gw.float64).uniform_(-2, -1, generator=g)
    assert u.dtype == gw.float64 and u.numpy().min() >= -2 and u.numpy().max() < -1
    assert gw.zeros(3).uniform_(**{"from": 5, "to": 5}).tolist() == [5.0, 5.0, 5.0]
    assert gw.zeros(3).uniform_(4, to=4).tolist() == [4.0, 4.0, 4.0]
    w = gw.ones(3, requires_grad=True)
    with pytest.raises(GraphError):
        w.normal_()
    with pytest.raises(GraphError):
        w.uniform_()
    with gw.no_grad():
        w.uniform_(2, 3)
    assert w.requires_grad and ((w >= 2) & (w < 3)).all()
    view = gw.zeros(2, 2)
    row = view[0]
    row.normal_(1.0, 0.0)
    assert view.tolist() == [[1.0, 1.0], [0.0, 0.0]]   # in place: views see it
    with pytest.raises(ValueError):
        gw.ones(3).uniform_(-1, -2)
    with pytest.raises(ValueError):
        gw.ones(3).normal_(0, -1)
    with pytest.raises(DtypeError):
        gw.ones(3, dtype=gw.int64).normal_()
    with pytest.raises(TypeError):
        gw.ones(3).uniform_(0, 1, 2)


# ----------------------------------------------------------------- legacy constructors
def test_legacy_constructors():
    assert gw.FloatTensor([1, 2]).tolist() == [1.0, 2.0] and gw.FloatTensor([1, 2]).dtype == gw.float32
    assert gw.FloatTensor(2, 3).shape == (2, 3) and gw.FloatTensor(gw.Size([2])).shape == (2,)
    assert gw.FloatTensor().shape == (0,) and gw.FloatTensor((2, 3)).tolist() == [2.0, 3.0]
    assert gw.DoubleTensor([1]).dtype == gw.float64 and gw.IntTensor([1, 2]).dtype == gw.int32
    assert gw.LongTensor([1.7, 2]).tolist() == [1, 2] and gw.BoolTensor([1, 0]).tolist() == [True, False]
    assert gw.FloatTensor([1.0], device="cpu").tolist() == [1.0]
    long = gw.tensor([1, 2])
    assert gw.LongTensor(long) is long
    with pytest.raises(TypeError):
        gw.FloatTensor(long)
    with pytest.raises(TypeError):
        gw.FloatTensor(2, 3.0)
    with pytest.raises(gw.DeviceError):
        gw.FloatTensor(2, device="cuda")
    assert isinstance(gw.ones(2), gw.FloatTensor) and not isinstance(gw.ones(2), gw.DoubleTensor)
    assert isinstance(gw.arange(2), gw.LongTensor) and isinstance(gw.nn.Parameter(gw.ones(1)), gw.FloatTensor)
    assert not isinstance(np.ones(2, np.float32), gw.FloatTensor) and not issubclass(gw.FloatTensor, gw.Tensor)


def test_legacy_constructors_oracle():
    torch = pytest.importorskip("torch")
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor"):
        g, t = getattr(gw, name), getattr(torch, name)
        for data in ([1, 0, 2], [[1.5, 0.0]], (2, 3)):
            x, y = g(data), t(data)
            assert x.tolist() == y.tolist() and str(x.dtype) == str(y.dtype).split(".")[1]
        assert g(2, 3).shape == tuple(t(2, 3).shape) and g().shape == tuple(t().shape)
        assert isinstance(gw.zeros(1, dtype=g.dtype), g) and isinstance(torch.zeros(1, dtype=y.dtype), t)


# ---------------------------------------------------------------------- inference_mode
def test_inference_mode():
    w = gw.ones(3, requires_grad=True)
    assert not gw.is_inference_mode_enabled()
    with gw.inference_mode():
        assert gw.is_inference_mode_enabled() and not gw.is_grad_enabled()
        assert not (w * 2).requires_grad
        with gw.inference_mode(False):
            assert gw.is_grad_enabled() and not gw.is_inference_mode_enabled()
            assert (w * 2).requires_grad
        assert gw.is_inference_mode_enabled()
    assert gw.is_grad_enabled() and not gw.is_inference_mode_enabled()
    with gw.no_grad(), gw.inference_mode(False):
        assert gw.is_grad_enabled()

    @gw.inference_mode()
    def called(x):
        return x * 2, gw.is_inference_mode_enabled()

    @gw.inference_mode
    def bare(x):
        return x * 2

    out, flag = called(w)
    assert flag and not out.requires_grad and not bare(w).requires_grad
    assert bare.__name__ == "bare" and gw.is_grad_enabled() and not gw.is_inference_mode_enabled()
    with pytest.raises(KeyError):
        with gw.inference_mode():
            raise KeyError("restored on error")
    assert gw.is_grad_enabled() and not gw.is_inference_mode_enabled()
    with pytest.raises(TypeError):
        gw.inference_mode("yes")


def test_bare_grad_mode_decorators():
    w = gw.ones(2, requires_grad=True)

    @gw.no_grad
    def f(x):
        return x * 2

    @gw.enable_grad
    def g(x):
        return x * 2

    assert not f(w).requires_grad and f.__name__ == "f"
    with gw.no_grad():
        assert g(w).requires_grad
    assert gw.is_grad_enabled()
    with pytest.raises(TypeError):
        gw.no_grad(3)
