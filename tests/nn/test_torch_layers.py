"""The ``nn`` names real PyTorch programs use, checked against PyTorch: recurrent cells,
bidirectional RNN/LSTM/GRU, channel dropout, Embedding, containers, the Module API and repr.

Numerical checks copy torch's weights into gradwise through ``state_dict`` (so the keys must
match), run both in float64 and compare outputs and gradients (inputs, initial states,
every parameter) under the same upstream gradient.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn

torch = pytest.importorskip("torch")

rng = np.random.default_rng(7)
F64 = "float64"


def _load_from_torch(g, t):
    """Copy torch module ``t``'s state into gradwise module ``g`` (strict: the keys must match)."""
    assert list(g.state_dict()) == list(t.state_dict())
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _leaves(arrays):
    """The same float64 values as a gradwise and a torch leaf requiring grad."""
    gs = [None if a is None else gw.tensor(a, requires_grad=True) for a in arrays]
    ts = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    return gs, ts


def _flat(out):
    if isinstance(out, tuple):
        return [o for item in out for o in _flat(item)]
    return [out]


def _backward_both(g_out, t_out):
    """Check the outputs agree, then backprop ``sum(out * R)`` with the same random R through both."""
    g_outs, t_outs = _flat(g_out), _flat(t_out)
    assert len(g_outs) == len(t_outs)
    g_loss, t_loss = 0, 0
    for go, to in zip(g_outs, t_outs):
        assert go.shape == tuple(to.shape)
        np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
        r = rng.standard_normal(go.shape)
        g_loss = g_loss + (go * gw.tensor(r)).sum()
        t_loss = t_loss + (to * torch.tensor(r)).sum()
    g_loss.backward()
    t_loss.backward()


def _assert_grads(g_mod, t_mod, g_leaves=(), t_leaves=()):
    t_params = dict(t_mod.named_parameters())
    for name, p in g_mod.named_parameters():
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)
    for gl, tl in zip(g_leaves, t_leaves):
        if gl is not None:
            np.testing.assert_allclose(gl.grad.numpy(), tl.grad.numpy(), rtol=1e-9, atol=1e-11)


# ------------------------------------------------------------------------------ cells
CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
         ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}), ("GRUCell", {"bias": False})]


@pytest.mark.parametrize("name,kw", CELLS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells_match_torch(name, kw, batched, with_state):
    t = getattr(torch.nn, name)(3, 4, **kw).double()
    g = getattr(nn, name)(3, 4, dtype=F64, **kw)
    _load_from_torch(g, t)
    lead = (5,) if batched else ()
    x = rng.standard_normal(lead + (3,))
    states = [rng.standard_normal(lead + (4,)) for _ in range(2 if name == "LSTMCell" else 1)] if with_state else []
    (gx, *gs), (tx, *ts) = _leaves([x, *states])
    if not with_state:
        g_out, t_out = g(gx), t(tx)
    elif name == "LSTMCell":
        g_out, t_out = g(gx, tuple(gs)), t(tx, tuple(ts))
    else:
        g_out, t_out = g(gx, gs[0]), t(tx, ts[0])
    assert isinstance(g_out, tuple) == isinstance(t_out, tuple)   # LSTMCell: (h, c); the others: h
    _backward_both(g_out, t_out)
    _assert_grads(g, t, [gx, *gs], [tx, *ts])


def test_cell_unrolled_over_steps_and_parameter_layout():
    t = torch.nn.LSTMCell(2, 3).double()
    g = nn.LSTMCell(2, 3, dtype=F64)
    assert [(n, p.shape) for n, p in g.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    _load_from_torch(g, t)
    (gx,), (tx,) = _leaves([rng.standard_normal((4, 6, 2))])
    gh = th = None
    g_outs, t_outs = [], []
    for step in range(4):
        gh = g(gx[step], gh)
        th = t(tx[step], th)
        g_outs.append(gh[0])
        t_outs.append(th[0])
    _backward_both(tuple(g_outs), tuple(t_outs))
    _assert_grads(g, t, [gx], [tx])


def test_cell_errors_and_repr():
    cell = nn.GRUCell(3, 4)
    with pytest.raises(ValueError, match="1D or 2D"):
        cell(gw.zeros(2, 2, 3))
    with pytest.raises(ValueError, match="hidden state must have shape"):
        cell(gw.zeros(2, 3), gw.zeros(3, 4))
    with pytest.raises(ValueError, match="last dimension must be 3"):
        cell(gw.zeros(2, 5))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")
    for name, kw in CELLS:
        assert repr(getattr(nn, name)(3, 4, **kw)) == repr(getattr(torch.nn, name)(3, 4, **kw))


# ------------------------------------------------------------------- bidirectional
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers,batch_first", [(1, False), (2, False), (2, True), (3, True)])
def test_bidirectional_matches_torch(name, num_layers, batch_first):
    kw = {"num_layers": num_layers, "batch_first": batch_first, "bidirectional": True}
    t = getattr(torch.nn, name)(3, 4, **kw).double()
    g = getattr(nn, name)(3, 4, dtype=F64, **kw)
    _load_from_torch(g, t)
    assert g.weight_ih_l1_reverse.shape == (g._gates * 4, 8) if num_layers > 1 else True
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    h0 = rng.standard_normal((2 * num_layers, 2, 4))
    c0 = rng.standard_normal((2 * num_layers, 2, 4))
    (gx, gh, gc), (tx, th, tc) = _leaves([x, h0, c0])
    if name == "LSTM":
        g_out, t_out = g(gx, (gh, gc)), t(tx, (th, tc))
        leaves = [gx, gh, gc], [tx, th, tc]
    else:
        g_out, t_out = g(gx, gh), t(tx, th)
        leaves = [gx, gh], [tx, th]
    assert g_out[0].shape[-1] == 8
    _backward_both(g_out, t_out)
    _assert_grads(g, t, *leaves)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_bidirectional_unbatched_default_state_and_no_bias(name):
    t = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True, bias=False).double()
    g = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True, bias=False, dtype=F64)
    _load_from_torch(g, t)
    (gx,), (tx,) = _leaves([rng.standard_normal((6, 3))])
    g_out, t_out = g(gx), t(tx)
    assert g_out[0].shape == (6, 8)
    _backward_both(g_out, t_out)
    _assert_grads(g, t, [gx], [tx])


def test_bidirectional_parameter_names_all_weights_and_repr():
    for name in ("RNN", "LSTM", "GRU"):
        kw = {"num_layers": 2, "bidirectional": True, "batch_first": True, "dropout": 0.25}
        g, t = getattr(nn, name)(3, 4, **kw), getattr(torch.nn, name)(3, 4, **kw)
        assert [(n, p.shape) for n, p in g.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]
        assert [[tuple(p.shape) for p in ps] for ps in g.all_weights] == \
            [[tuple(p.shape) for p in ps] for ps in t.all_weights]
        assert repr(g) == repr(t)
        g.flatten_parameters()
    assert repr(nn.RNN(3, 4, nonlinearity="relu", bias=False)) == repr(torch.nn.RNN(3, 4, nonlinearity="relu",
                                                                                  bias=False))
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)


def test_bidirectional_initial_state_shape_is_checked():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"initial state must have shape \(4, 2, 4\)"):
        lstm(gw.zeros(5, 2, 3), (gw.zeros(2, 2, 4), gw.zeros(2, 2, 4)))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_between_layers_of_a_bidirectional_stack(name):
    # A 2-layer bidirectional stack in training mode is layer 0, dropout on its (L, N, 2H)
    # output, then layer 1 (which takes 2H inputs): rebuild it from two 1-layer modules and the
    # same random draws.  No dropout after the last layer; none in eval mode (checked against torch).
    cls = getattr(nn, name)
    stack = cls(3, 4, num_layers=2, bidirectional=True, dropout=0.5, dtype=F64)
    first = cls(3, 4, bidirectional=True, dtype=F64)
    second = cls(8, 4, bidirectional=True, dtype=F64)
    sd = stack.state_dict()
    first.load_state_dict({k: v for k, v in sd.items() if "_l0" in k})
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in sd.items() if "_l1" in k})
    x = gw.tensor(rng.standard_normal((5, 2, 3)))
    gw.manual_seed(3)
    out = stack(x)[0]
    gw.manual_seed(3)
    mid = gw.dropout(first(x)[0], 0.5)
    assert (mid.detach().numpy() == 0).any()
    np.testing.assert_allclose(out.detach().numpy(), second(mid)[0].detach().numpy(), rtol=1e-12)
    stack.eval()
    t = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True, dropout=0.5).double().eval()
    _load_from_torch(stack, t)
    ref = t(torch.tensor(x.detach().numpy()))[0].detach().numpy()
    np.testing.assert_allclose(stack(x)[0].detach().numpy(), ref, rtol=1e-10)


def test_unidirectional_lstm_still_one_fused_node_per_layer():
    out, _ = nn.LSTM(3, 4, num_layers=2)(gw.randn(5, 2, 3))
    ops, stack, seen = [], [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or not hasattr(node, "op"):
            continue
        seen.add(id(node))
        ops.append(node.op.name)
        stack.extend(f for f, _ in node.next_functions)
    assert sorted(ops) == ["getitem", "getitem", "lstm_layer", "lstm_layer"]


# ----------------------------------------------------------------- channel dropout
@pytest.mark.parametrize("cls,shape,const_axes", [
    ("Dropout1d", (6, 50, 7), (2,)), ("Dropout1d", (50, 7), (1,)),
    ("Dropout2d", (6, 50, 3, 4), (2, 3)), ("Dropout2d", (6, 50, 7), (2,)),
    ("Dropout3d", (6, 50, 2, 3, 4), (2, 3, 4)), ("Dropout3d", (50, 2, 3, 4), (1, 2, 3))])
def test_channel_dropout_zeroes_whole_channels_like_torch(cls, shape, const_axes):
    x = np.abs(rng.standard_normal(shape)) + 1.0
    g = getattr(nn, cls)(0.4, generator=gw.Generator().manual_seed(0))
    gx = gw.tensor(x, requires_grad=True)
    with pytest.warns(UserWarning) if (cls, len(shape)) == ("Dropout2d", 3) else _nothing():
        y = g(gx)
    ratio = y.detach().numpy() / x
    assert set(np.round(np.unique(ratio), 12).tolist()) == {0.0, round(1 / 0.6, 12)}
    assert _whole_blocks(ratio, const_axes)                      # a channel is kept or dropped whole
    assert 0.2 < (ratio == 0).mean() < 0.6
    y.sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), ratio)             # gradient: the same mask and scale
    # torch keeps or drops the same blocks (its 3-D Dropout2d input counts as (N, C, L))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = getattr(torch.nn, cls)(0.4)(torch.tensor(x)).numpy() / x
    assert _whole_blocks(ty, const_axes) and (ty == 0).any() and not _whole_blocks(ty, (0,))
    g.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert g(gx) is gx
    assert repr(g) == repr(getattr(torch.nn, cls)(0.4))


def _whole_blocks(ratio, axes):
    zero = ratio == 0
    return bool(np.array_equal(zero.all(axis=axes), zero.any(axis=axes)))


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_channel_dropout_edges():
    x = gw.ones(2, 3, 4, 4)
    assert nn.Dropout2d(0.0)(x) is x
    assert float(nn.Dropout2d(1.0)(x).abs().sum()) == 0.0
    with pytest.raises(ValueError):
        nn.Dropout2d(1.5)
    with pytest.raises(ValueError):
        nn.Dropout1d()(gw.ones(2, 3, 4, 5))
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))


# ----------------------------------------------------------------------- Embedding
def _embedding_pair(**kw):
    t = torch.nn.Embedding(10, 3, **kw).double()
    g = nn.Embedding(10, 3, dtype=F64, **kw)
    _load_from_torch(g, t)
    return g, t


@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0, "padding_idx": 0}])
def test_embedding_matches_torch(kw):
    g, t = _embedding_pair(**kw)
    idx = np.array([[2, 9, 2, 0], [5, 9, 9, 1]])
    g_out, t_out = g(gw.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(g.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-12)   # max_norm renorm
    _backward_both(g_out, t_out)
    _assert_grads(g, t)
    assert repr(g) == repr(t)


def test_embedding_from_pretrained():
    w = rng.standard_normal((4, 3))
    for kw in ({}, {"freeze": False, "padding_idx": 1}):
        t = torch.nn.Embedding.from_pretrained(torch.tensor(w), **kw)
        g = nn.Embedding.from_pretrained(gw.tensor(w), **kw)
        assert g.weight.requires_grad == t.weight.requires_grad
        assert g.weight.dtype == np.float64 and g.padding_idx == t.padding_idx
        np.testing.assert_array_equal(g.weight.detach().numpy(), w)       # the padding row is kept as given
        idx = np.array([1, 3, 1])
        np.testing.assert_array_equal(g(gw.tensor(idx)).detach().numpy(), t(torch.tensor(idx)).detach().numpy())
        assert repr(g) == repr(t)
    shared = gw.tensor(w)
    emb = nn.Embedding.from_pretrained(shared)
    with gw.no_grad():
        shared.mul_(2)
    np.testing.assert_array_equal(emb.weight.numpy(), 2 * w)      # not a copy, as in torch
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(gw.zeros(3))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(4, 2, sparse=True)


# ---------------------------------------------------------- Flatten, Unflatten, Identity
def test_flatten_unflatten_identity_match_torch():
    x = rng.standard_normal((2, 3, 4, 5))
    cases = [(nn.Flatten(), torch.nn.Flatten()), (nn.Flatten(0, 2), torch.nn.Flatten(0, 2)),
             (nn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1))),
             (nn.Identity(54, unused=1), torch.nn.Identity(54, unused=1))]
    for g, t in cases:
        assert g(gw.tensor(x)).shape == tuple(t(torch.tensor(x)).shape)
        np.testing.assert_array_equal(g(gw.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
        assert repr(g) == repr(t)


# ------------------------------------------------------------------------- containers
def test_parameter_list_and_dict_are_registered():
    def mix(lib):
        zeros = gw.zeros if lib is nn else torch.zeros

        class Mix(lib.Module):
            def __init__(self):
                super().__init__()
                self.plist = lib.ParameterList([lib.Parameter(zeros(2, 3)), zeros(3)])
                self.pdict = lib.ParameterDict({"right": zeros(2), "left": lib.Parameter(zeros(1))})
                self.plist.append(zeros(1))

        return Mix()

    g, t = mix(nn), mix(torch.nn)
    assert [(n, p.shape) for n, p in g.named_parameters()] == [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert list(g.state_dict()) == list(t.state_dict()) == \
        ["plist.0", "plist.1", "plist.2", "pdict.left", "pdict.right"]    # a plain dict goes in sorted
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in g.plist)
    assert repr(g) == repr(t).replace("torch.float32", "gradwise.float32").replace("torch.FloatTensor",
                                                                                     "gradwise.float32")
    assert len(g.plist) == 3 and g.plist[-1].shape == (1,) and len(g.plist[1:]) == 2
    g.plist[0] = gw.ones(4)
    assert g.plist[0].shape == (4,) and isinstance(g.plist[0], nn.Parameter)
    pd = g.pdict
    assert list(pd.keys()) == ["left", "right"] and "left" in pd and pd.get("nope") is None
    assert pd.pop("left").shape == (1,) and list(g.state_dict())[-1] == "pdict.right"
    pd.update([("z", gw.ones(2)), ("a", gw.ones(1))])           # pairs keep their order
    assert list(pd) == ["right", "z", "a"]
    del pd["z"]
    assert [n for n, _ in pd.named_parameters()] == ["right", "a"]
    with pytest.raises(RuntimeError, match="should not be called"):
        g.plist(gw.ones(1))
    with pytest.raises(TypeError):
        pd[1] = gw.ones(1)


def test_module_dict_list_and_sequential_editing_like_torch():
    def build(lib):
        return lib.ModuleDict([("b", lib.Linear(2, 2)), ("a", lib.ReLU())])

    g, t = build(nn), build(torch.nn)
    assert list(g) == list(t) == ["b", "a"]
    g.update({"c": nn.Tanh()})
    g["d"] = nn.Identity()
    assert g.pop("a").__class__ is nn.ReLU and list(g.keys()) == ["b", "c", "d"]
    del g["c"]
    assert [k for k, _ in g.items()] == ["b", "d"] and len(g) == 2
    assert list(g.state_dict()) == ["b.weight", "b.bias"]
    g.clear()
    assert len(g) == 0 and not list(g.parameters())

    def seq(lib):
        s = lib.Sequential(lib.Linear(1, 2), lib.ReLU(), lib.Linear(2, 3))
        s.insert(1, lib.Tanh())
        s.append(lib.Linear(3, 1))
        s.pop(0)
        del s[-1]
        s.extend([lib.Linear(3, 4)])
        return s + lib.Sequential(lib.Sigmoid())

    gs, ts = seq(nn), seq(torch.nn)
    assert repr(gs) == repr(ts)
    assert list(gs.state_dict()) == list(ts.state_dict())
    ml_g = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)]) + nn.ModuleList([nn.ReLU()])
    ml_t = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)]) + torch.nn.ModuleList([torch.nn.ReLU()])
    assert repr(ml_g) == repr(ml_t)                               # "(0-2): 3 x Linear(...)"
    del ml_g[0]
    assert [n for n, _ in ml_g.named_children()] == ["0", "1", "2"]
    ml_g.insert(0, nn.Tanh())
    assert type(ml_g[0]).__name__ == "Tanh" and len(ml_g) == 4
    with pytest.raises(IndexError, match="out of range"):
        ml_g[9]


# ------------------------------------------------------------------------- Module API
class _Block(nn.Module):
    def __init__(self, lib, shared=None):
        super().__init__()
        self.fc = shared if shared is not None else lib.Linear(2, 3)
        self.act = lib.ReLU()
        self.register_buffer("steps", (gw if lib is nn else torch).zeros(1))
        self.register_buffer("cache", (gw if lib is nn else torch).zeros(2), persistent=False)

    def forward(self, x):
        return self.act(self.fc(x))


class _TorchBlock(torch.nn.Module):
    def __init__(self, shared=None):
        super().__init__()
        self.fc = shared if shared is not None else torch.nn.Linear(2, 3)
        self.act = torch.nn.ReLU()
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)


def _model(lib):
    block = _Block(nn) if lib is nn else _TorchBlock()
    other = _Block(nn, block.fc) if lib is nn else _TorchBlock(block.fc)
    return lib.Sequential(OrderedDict([("first", block), ("second", other), ("drop", lib.Dropout(0.1)),
                                       ("head", lib.Sequential(lib.Linear(3, 1), lib.Sigmoid()))]))


def test_module_walks_state_dict_and_repr_match_torch():
    g, t = _model(nn), _model(torch.nn)
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_modules(remove_duplicate=False)] == \
        [n for n, _ in t.named_modules(remove_duplicate=False)]
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in t.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(g.state_dict()) == list(t.state_dict())            # shared modules under both names
    assert "first.cache" not in g.state_dict()                     # non-persistent buffer
    _load_from_torch(g, t)
    assert list(g.state_dict(prefix="model.")) == list(t.state_dict(prefix="model."))
    assert repr(g) == repr(t).replace("_TorchBlock", "_Block")
    order_g, order_t = [], []
    g.apply(lambda m: order_g.append(type(m).__name__))
    t.apply(lambda m: order_t.append(type(m).__name__))
    assert [n.replace("_TorchBlock", "_Block") for n in order_t] == order_g
    assert g.get_submodule("head.0") is g.head[0] and g.get_parameter("head.0.bias") is g.head[0].bias
    assert g.get_buffer("first.steps") is g.first.steps
    with pytest.raises(AttributeError):
        g.get_submodule("head.7")
    assert g.requires_grad_(False) is g and not any(p.requires_grad for p in g.parameters())


def test_register_buffer_and_attribute_rules_like_torch():
    for lib in (nn, torch.nn):
        m = lib.Linear(2, 2)
        zeros = gw.zeros if lib is nn else torch.zeros
        m.register_buffer("tmp", zeros(1), persistent=False)
        assert "tmp" not in m.state_dict() and "tmp" in dict(m.named_buffers())
        m.register_buffer("tmp", zeros(1))                          # persistent again
        assert "tmp" in m.state_dict()
        m.tmp = None                                                # a None buffer stays registered
        assert "tmp" in m._buffers and "tmp" not in m.state_dict()
        for bad, err in (("a.b", KeyError), ("", KeyError), ("weight", KeyError), ("forward", KeyError)):
            with pytest.raises(err):
                m.register_buffer(bad, zeros(1))
        with pytest.raises(TypeError):
            m.register_buffer("x", 3)
        with pytest.raises(TypeError):
            m.weight = zeros(2, 2)                                  # not a Parameter
        with pytest.raises(TypeError):
            m.tmp = 5
        m.bias = None                                               # a parameter may become None
        assert m.bias is None and "bias" not in m.state_dict()
        with pytest.raises(TypeError):
            m.add_module("child", 3)
        with pytest.raises(ValueError):
            m.train("yes")
        del m.tmp
        assert "tmp" not in dict(m.named_buffers())


def test_train_recurses_through_child_overrides_and_extra_repr():
    calls = []

    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(2)

        def train(self, mode=True):
            calls.append(mode)
            super().train(mode)
            self.bn.eval()                                          # keep frozen statistics
            return self

        def extra_repr(self):
            return "frozen=True\nnote=two lines"

    net = nn.Sequential(nn.Linear(2, 2), Frozen())
    net.train()
    assert calls == [True] and net.training and not net[1].bn.training and net[1].training
    net.eval()
    assert calls == [True, False]
    assert repr(net[1]) == ("Frozen(\n  frozen=True\n  note=two lines\n  (bn): BatchNorm1d(2, eps=1e-05, "
                            "momentum=0.1, affine=True, track_running_stats=True)\n)")


def test_load_torch_state_dict_directly():
    t = torch.nn.Sequential(torch.nn.Embedding(5, 3, padding_idx=0), torch.nn.LSTM(3, 4, bidirectional=True))
    g = nn.Sequential(nn.Embedding(5, 3, padding_idx=0), nn.LSTM(3, 4, bidirectional=True))
    assert g.load_state_dict(t.state_dict()) == ([], [])
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(g.state_dict()[k].numpy(), v.numpy())


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_bidirectional_gradcheck_and_second_order(name):
    m = getattr(nn, name)(2, 3, num_layers=2, bidirectional=True, batch_first=True, dtype=F64,
                          generator=gw.Generator().manual_seed(2))
    x = gw.tensor(rng.standard_normal((2, 4, 2)), requires_grad=True)

    def f(inp, *params):
        out, state = m(inp)
        h = state[0] if isinstance(state, tuple) else state
        return (out * out).sum() + (h * h).sum()

    assert gw.gradcheck(f, (x, *m.parameters()), atol=1e-6, rtol=1e-5)
    if name == "LSTM":       # the fused op's reference backward on the time-reversed sequence
        assert gw.gradgradcheck(f, (x,), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell", "LSTM"])
def test_float32_defaults_match_torch(name):
    kw = {"bidirectional": True, "num_layers": 2} if name == "LSTM" else {}
    t, g = getattr(torch.nn, name)(3, 4, **kw), getattr(nn, name)(3, 4, **kw)
    _load_from_torch(g, t)
    x = rng.standard_normal((5, 2, 3) if name == "LSTM" else (2, 3)).astype(np.float32)
    g_out, t_out = _flat(g(gw.tensor(x))), _flat(t(torch.tensor(x)))
    for go, to in zip(g_out, t_out):
        assert go.dtype == np.float32
        np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_lstm_without_time_steps_passes_the_state_through():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    h0, c0 = gw.randn(4, 2, 4), gw.randn(4, 2, 4)
    out, (h, c) = lstm(gw.zeros(0, 2, 3), (h0, c0))
    assert out.shape == (0, 2, 8)
    np.testing.assert_array_equal(h.numpy(), h0.numpy())
    np.testing.assert_array_equal(c.numpy(), c0.numpy())
