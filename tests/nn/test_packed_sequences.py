"""nn.utils.rnn (pad/pack/unpack) and recurrent layers on PackedSequence, LSTM proj_size:
values and gradients against PyTorch with copied weights, gradients by float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
)

rng = np.random.default_rng(7)
LENGTHS = [3, 5, 1, 4]           # unsorted, no ties


def _seqs(feat=2):
    return [rng.standard_normal((n, feat)) for n in LENGTHS]


def test_package_keeps_every_old_name():
    import gradwise.nn.utils.rnn as rnn_mod
    from gradwise.nn.utils import (  # noqa: F401
        NonFiniteGradientError,
        clip_grad_norm_,
        clip_grad_value_,
        parameters_to_vector,
        vector_to_parameters,
    )
    assert gw.nn.utils.rnn is rnn_mod and gw.nn.utils.rnn.pack_padded_sequence is pack_padded_sequence
    p = [gw.nn.Parameter(gw.ones(2)), gw.nn.Parameter(gw.zeros(3))]
    assert parameters_to_vector(p).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, side):
    torch = pytest.importorskip("torch")
    seqs = _seqs(3)
    g = pad_sequence([gw.tensor(s) for s in seqs], batch_first=batch_first, padding_value=-2.5, padding_side=side)
    t = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first,
                                        padding_value=-2.5, padding_side=side)
    assert g.shape == tuple(t.shape) and np.array_equal(g.numpy(), t.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_and_pad_match_torch(batch_first, enforce_sorted):
    torch = pytest.importorskip("torch")
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    seqs = [rng.standard_normal((n, 2)) for n in lengths]
    padded_t = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first)
    padded_g = gw.tensor(padded_t.numpy())
    pt = torch.nn.utils.rnn.pack_padded_sequence(padded_t, lengths, batch_first=batch_first,
                                                 enforce_sorted=enforce_sorted)
    pg = pack_padded_sequence(padded_g, gw.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted)
    assert isinstance(pg, PackedSequence) and isinstance(pg, tuple) and len(pg) == 4
    assert np.array_equal(pg.data.numpy(), pt.data.numpy())
    assert pg.batch_sizes.tolist() == pt.batch_sizes.tolist() and pg.batch_sizes.dtype == gw.int64
    for a, b in ((pg.sorted_indices, pt.sorted_indices), (pg.unsorted_indices, pt.unsorted_indices)):
        assert (a is None and b is None) or a.tolist() == b.tolist()
    for total in (None, 7):
        out_g, len_g = pad_packed_sequence(pg, batch_first=batch_first, padding_value=9.0, total_length=total)
        out_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(pt, batch_first=batch_first, padding_value=9.0,
                                                              total_length=total)
        assert np.array_equal(out_g.numpy(), out_t.numpy()) and len_g.tolist() == len_t.tolist()
    ps_g = pack_sequence([gw.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    ps_t = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    assert np.array_equal(ps_g.data.numpy(), ps_t.data.numpy())
    assert [s.tolist() for s in unpack_sequence(ps_g)] == [s.tolist() for s in seqs]


def test_gradients_flow_through_pack_and_pad():
    seqs = [gw.tensor(s, requires_grad=True) for s in _seqs(2)]
    w = gw.tensor(rng.standard_normal((5, 4, 2)))

    def f(*xs):
        padded = pad_sequence(list(xs), padding_value=0.3)
        packed = pack_padded_sequence(padded, LENGTHS, enforce_sorted=False)
        out, _ = pad_packed_sequence(packed.double(), padding_value=-1.0)
        return (out * w).sum() + (packed.data ** 2).sum()

    assert gw.gradcheck(f, tuple(seqs), atol=1e-6, rtol=1e-5)
    f(*seqs).backward()
    # d/dx of sum(w * x) + sum(x^2) on the real steps only
    for b, s in enumerate(seqs):
        expect = w.numpy()[:LENGTHS[b], b] + 2 * s.detach().numpy()
        assert np.allclose(s.grad.numpy(), expect)


def test_packed_sequence_methods_and_errors():
    p = pack_sequence([gw.tensor([1.0, 2.0]), gw.tensor([3.0])])
    assert p.to(gw.float32) is p and p.double().data.dtype == gw.float64 and not p.is_cuda
    assert p.long().data.tolist() == [1, 3, 2] and p.long().batch_sizes is p.batch_sizes
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert batch_sizes.tolist() == [2, 1] and sorted_indices is None and unsorted_indices is None
    with pytest.raises(ValueError, match="must be sorted in decreasing order.*enforce_sorted=False"):
        pack_padded_sequence(gw.zeros(3, 2), [1, 3])
    with pytest.raises(ValueError, match="len\\(lengths\\) to be equal to batch_size, but got 3 \\(batch_size=2\\)"):
        pack_padded_sequence(gw.zeros(3, 2), [3, 2, 1])
    with pytest.raises(ValueError, match="greater than 0"):
        pack_padded_sequence(gw.zeros(3, 2), [3, 0])
    with pytest.raises(ValueError, match="total_length=1 and max sequence length being 2"):
        pad_packed_sequence(p, total_length=1)
    with pytest.raises(ValueError, match="padding_side='middle'"):
        pad_sequence([gw.zeros(2)], padding_side="middle")


def _copy_to_torch(g, t, torch):
    for n, p in g.named_parameters():
        getattr(t, n).data = torch.tensor(p.detach().numpy().copy())


def _pair(name, torch, **kw):
    g = getattr(nn, name)(3, 4, generator=gw.Generator().manual_seed(3), dtype=gw.float64, **kw)
    t = getattr(torch.nn, name)(3, 4, **kw).double()
    _copy_to_torch(g, t, torch)
    return g, t


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True), (3, False)])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_recurrent_layers_on_packed_sequences_match_torch(name, layers, bidirectional, enforce_sorted):
    torch = pytest.importorskip("torch")
    g, t = _pair(name, torch, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    x = rng.standard_normal((len(lengths), max(lengths), 3))
    d = 2 if bidirectional else 1
    h0 = rng.standard_normal((layers * d, len(lengths), 4))
    c0 = rng.standard_normal((layers * d, len(lengths), 4))
    xg = gw.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    hg = (gw.tensor(h0), gw.tensor(c0)) if name == "LSTM" else gw.tensor(h0)
    ht = (torch.tensor(h0), torch.tensor(c0)) if name == "LSTM" else torch.tensor(h0)
    og, sg = g(pack_padded_sequence(xg, lengths, batch_first=True, enforce_sorted=enforce_sorted), hg)
    ot, st = t(torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=enforce_sorted),
               ht)
    assert isinstance(og, PackedSequence)
    assert np.allclose(og.data.detach().numpy(), ot.data.detach().numpy(), atol=1e-12)
    sg, st = (sg if name == "LSTM" else (sg,)), (st if name == "LSTM" else (st,))
    for a, b in zip(sg, st):
        assert np.allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
    wg = rng.standard_normal(og.data.shape)
    loss_g = (og.data * gw.tensor(wg)).sum() + sum((s ** 2).sum() for s in sg)
    loss_t = (ot.data * torch.tensor(wg)).sum() + sum((s ** 2).sum() for s in st)
    loss_g.backward()
    loss_t.backward()
    assert np.allclose(xg.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    for n, p in g.named_parameters():
        assert np.allclose(p.grad.numpy(), getattr(t, n).grad.numpy(), atol=1e-10), n


def test_packed_final_state_is_each_sequences_own_last_step():
    # h_n of a packed batch equals running each sequence alone
    rnn = nn.GRU(2, 3, generator=gw.Generator().manual_seed(0), dtype=gw.float64)
    seqs = [gw.tensor(s) for s in _seqs(2)]
    out, h = rnn(pack_sequence(seqs, enforce_sorted=False))
    for b, s in enumerate(seqs):
        o_b, h_b = rnn(s)
        assert np.allclose(h.detach().numpy()[0, b], h_b.detach().numpy()[0])
    padded, lengths = pad_packed_sequence(out)
    assert lengths.tolist() == LENGTHS and padded.shape == (5, 4, 3)


@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_gradients_by_finite_differences(enforce_sorted):
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2, generator=gw.Generator().manual_seed(1),
                   dtype=gw.float64)
    lengths = sorted(LENGTHS, reverse=True)[:3] if enforce_sorted else LENGTHS[:3]
    x = gw.tensor(rng.standard_normal((max(lengths), 3, 2)), requires_grad=True)

    def f(inp, *params):
        out, (h, c) = lstm(pack_padded_sequence(inp, lengths, enforce_sorted=enforce_sorted))
        return (out.data ** 2).sum() + (h * c[..., :2]).sum() + c.sum()

    assert gw.gradcheck(f, (x, *lstm.parameters()), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("bidirectional,batch_first", [(False, False), (True, True)])
def test_lstm_proj_size_matches_torch(bidirectional, batch_first):
    torch = pytest.importorskip("torch")
    g, t = _pair("LSTM", torch, num_layers=2, proj_size=2, bidirectional=bidirectional, batch_first=batch_first)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert all(p.shape == tuple(q.shape) for p, q in zip(g.parameters(), t.parameters()))
    assert "proj_size=2" in repr(g)
    x = rng.standard_normal((3, 5, 3))
    d = 2 if bidirectional else 1
    h0, c0 = rng.standard_normal((2 * d, 3 if batch_first else 5, 2)), rng.standard_normal((2 * d, 3 if batch_first
                                                                                            else 5, 4))
    xg = gw.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    og, (hg, cg) = g(xg, (gw.tensor(h0), gw.tensor(c0)))
    ot, (ht, ct) = t(xt, (torch.tensor(h0), torch.tensor(c0)))
    assert og.shape == tuple(ot.shape) and hg.shape == tuple(ht.shape) and cg.shape == tuple(ct.shape)
    for a, b in ((og, ot), (hg, ht), (cg, ct)):
        assert np.allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
    (og.sum() + (hg * hg).sum() + cg.sum()).backward()
    (ot.sum() + (ht * ht).sum() + ct.sum()).backward()
    assert np.allclose(xg.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    for n, p in g.named_parameters():
        assert np.allclose(p.grad.numpy(), getattr(t, n).grad.numpy(), atol=1e-10), n


def test_proj_size_errors_and_state_shapes():
    with pytest.raises(ValueError, match="proj_size must be 0 .* hidden_size=4.*got proj_size=4"):
        nn.LSTM(3, 4, proj_size=4)
    lstm = nn.LSTM(3, 4, proj_size=2)
    out, (h, c) = lstm(gw.randn(5, 3))                  # unbatched
    assert out.shape == (5, 2) and h.shape == (1, 2) and c.shape == (1, 4)
    with pytest.raises(ValueError, match="proj_size"):
        lstm(gw.randn(5, 2, 3), (gw.zeros(1, 2, 4), gw.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match=r"packed data of shape \(sum\(lengths\), 3\)"):
        lstm(pack_sequence([gw.randn(2, 5)]))


def test_equal_lengths_give_torchs_unpacked_values_and_states():
    # ties may be ordered differently inside `data`; what a program reads back is the same
    torch = pytest.importorskip("torch")
    lengths = [2, 3, 2, 3, 1, 3]
    g, t = _pair("LSTM", torch, bidirectional=True)
    x = rng.standard_normal((3, len(lengths), 3))
    og, (hg, cg) = g(pack_padded_sequence(gw.tensor(x), lengths, enforce_sorted=False))
    ot, (ht, ct) = t(torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=False))
    pg, _ = pad_packed_sequence(og)
    pt, _ = torch.nn.utils.rnn.pad_packed_sequence(ot)
    for a, b in ((pg, pt), (hg, ht), (cg, ct)):
        assert np.allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
