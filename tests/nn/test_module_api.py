"""Module API: registration, walking, modes, state dicts, hooks, repr."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1))
        self.head = nn.Linear(8, 2)
        self.bn = nn.BatchNorm1d(8)

    def forward(self, x):
        return self.head(self.bn(self.body(x)))


def test_parameters_buffers_children_and_modules():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "head.weight", "head.bias", "bn.weight", "bn.bias"]
    assert len(list(net.parameters())) == 6
    assert [n for n, _ in net.named_buffers()] == ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [type(c).__name__ for c in net.children()] == ["Sequential", "Linear", "BatchNorm1d"]
    assert len(list(net.modules())) == 7
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2        # shared parameters counted once


def test_train_eval_zero_grad_apply_requires_grad():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(gw.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net"
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_state_dict_round_trip_and_strict_errors():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    for (n1, p1), (n2, p2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert n1 == n2 and np.array_equal(p1.numpy(), p2.numpy())
    sd = a.state_dict()
    sd.pop("head.bias")
    sd["extra.weight"] = gw.zeros(1)
    sd["head.weight"] = gw.zeros(3, 8)
    with pytest.raises(RuntimeError) as info:
        b.load_state_dict(sd)
    msg = str(info.value)
    assert "missing keys: head.bias" in msg and "unexpected keys: extra.weight" in msg
    assert "head.weight: checkpoint (3, 8), model (2, 8)" in msg
    sd2 = a.state_dict()
    sd2.pop("head.bias")
    result = b.load_state_dict(sd2, strict=False)
    assert result.missing_keys == ["head.bias"]


def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(3, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    h2 = lin.register_forward_hook(lambda m, args, out: out * 0)
    out = lin(gw.ones(1, 3))
    assert calls == ["pre"] and out.tolist() == [[0.0, 0.0]]
    h1.remove()
    h2.remove()
    assert lin(gw.ones(1, 3)).tolist() != [[0.0, 0.0]]


def test_full_backward_hook_sees_input_and_output_gradients():
    lin = nn.Linear(3, 2).double()
    seen = {}

    def hook(module, grad_input, grad_output):
        assert module is lin
        seen["in"] = [None if g is None else g.numpy().copy() for g in grad_input]
        seen["out"] = [None if g is None else g.numpy().copy() for g in grad_output]

    lin.register_full_backward_hook(hook)
    x_np = np.arange(12.0).reshape(4, 3) / 7.0 - 0.5
    upstream = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25], [2.0, 1.0]])
    x = gw.tensor(x_np, requires_grad=True)
    y = lin(x)
    (y * gw.tensor(upstream)).sum().backward()
    w = lin.weight.detach().numpy()
    # by hand: d loss / d y is the upstream weighting; d loss / d x = upstream @ W
    assert len(seen["out"]) == 1 and len(seen["in"]) == 1
    np.testing.assert_allclose(seen["out"][0], upstream, rtol=1e-12, atol=0)
    np.testing.assert_allclose(seen["in"][0], upstream @ w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), upstream @ w, rtol=1e-12, atol=1e-15)
    # and by autograd.grad on a fresh graph, without the hook's module
    x2 = gw.tensor(x_np, requires_grad=True)
    y2 = x2 @ lin.weight.detach().T + lin.bias.detach()
    (gx,) = gw.autograd.grad((y2 * gw.tensor(upstream)).sum(), [x2])
    np.testing.assert_allclose(seen["in"][0], gx.numpy(), rtol=1e-12, atol=1e-15)


def test_repr_like_pytorch():
    text = repr(nn.Sequential(nn.Linear(4, 8), nn.ReLU()))
    assert text == "Sequential(\n  (0): Linear(in_features=4, out_features=8, bias=True)\n  (1): ReLU()\n)"
    assert repr(nn.Conv2d(1, 8, 3, padding=1)).startswith("Conv2d(1, 8, kernel_size=(3, 3)")


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    assert isinstance(seq[0], nn.Linear) and len(seq[1:]) == 2
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"a": nn.Linear(2, 2)})
    assert "a" in md and len(list(md.parameters())) == 2


def test_modules_refuse_pickle():
    import pickle
    with pytest.raises(TypeError, match="does not pickle"):
        pickle.dumps(nn.Linear(2, 2))
