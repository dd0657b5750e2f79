"""Every layer gradient-checked in float64 with respect to its input and its parameters."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn

GEN = gw.Generator().manual_seed(0)


def _double(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.data = p.data.double()
    for _, b in module.named_buffers():
        if b.dtype.kind == "f":
            b.data = b.data.double()
    return module


def _check(module: nn.Module, *shapes: tuple[int, ...], positive: bool = False) -> None:
    rng = np.random.default_rng(1)
    xs = [gw.tensor(rng.uniform(0.5, 1.5, s) if positive else rng.standard_normal(s), requires_grad=True)
          for s in shapes]
    params = list(module.parameters())

    def f(*args):
        out = module(*args[:len(xs)])
        return out if isinstance(out, gw.Tensor) else out[0]

    assert gw.gradcheck(f, (*xs, *params), atol=1e-6, rtol=1e-5)


LAYERS = [
    ("Linear", lambda: nn.Linear(4, 3, generator=GEN), [(5, 4)]),
    ("Linear-3d", lambda: nn.Linear(4, 3, bias=False, generator=GEN), [(2, 2, 4)]),
    ("Bilinear", lambda: nn.Bilinear(3, 2, 4, generator=GEN), [(5, 3), (5, 2)]),
    ("Conv1d", lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1, generator=GEN), [(2, 2, 7)]),
    ("Conv2d", lambda: nn.Conv2d(2, 4, 3, padding="same", groups=2, generator=GEN), [(2, 2, 5, 5)]),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1,
                                                   generator=GEN), [(1, 2, 3, 3)]),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), [(1, 2, 4, 4)]),
    ("AvgPool2d", lambda: nn.AvgPool2d(3, 2, 1), [(1, 2, 5, 5)]),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), [(1, 2, 5, 7)]),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(3), [(6, 3)]),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(2), [(3, 2, 3, 3)]),
    ("LayerNorm", lambda: nn.LayerNorm((3, 4)), [(2, 3, 4)]),
    ("GroupNorm", lambda: nn.GroupNorm(2, 4), [(2, 4, 3)]),
    ("Flatten", lambda: nn.Flatten(), [(2, 3, 4)]),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 3)), [(2, 6)]),
    ("Softmax", lambda: nn.Softmax(dim=1), [(3, 4)]),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), [(3, 4)]),
    ("Sequential", lambda: nn.Sequential(nn.Linear(4, 5, generator=GEN), nn.Tanh(), nn.Linear(5, 2, generator=GEN)),
     [(3, 4)]),
]


@pytest.mark.parametrize("name,make,shapes", LAYERS, ids=[n for n, _, _ in LAYERS])
def test_layer_gradients(name, make, shapes):
    module = _double(make())
    if name == "MaxPool2d":   # distinct values: no ties within a finite-difference step
        x = gw.tensor(np.random.default_rng(0).permutation(32).reshape(1, 2, 4, 4) * 0.1, requires_grad=True)
        assert gw.gradcheck(module, (x,))
        return
    _check(module, *shapes)


ACTIVATIONS = [nn.ReLU(), nn.ReLU6(), nn.Sigmoid(), nn.Tanh(), nn.LogSigmoid(), nn.SiLU(), nn.Mish(), nn.SELU(),
               nn.Softsign(), nn.LeakyReLU(0.1), nn.ELU(0.5), nn.GELU(), nn.GELU("tanh"), nn.Softplus(2.0),
               nn.Hardtanh(-2.0, 2.0)]


@pytest.mark.parametrize("module", ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_modules(module):
    x = gw.tensor([-2.5, -1.2, -0.3, 0.4, 1.1, 2.7], dtype=gw.float64, requires_grad=True)
    assert gw.gradcheck(module, (x,))


def test_embedding_and_dropout_modules():
    padded = nn.Embedding(5, 3, padding_idx=0, generator=GEN)
    assert padded.weight.detach().numpy()[0].tolist() == [0.0, 0.0, 0.0]
    emb = _double(nn.Embedding(5, 3, generator=GEN))
    idx = gw.tensor([[1, 2, 2], [4, 0, 1]])
    assert gw.gradcheck(lambda w: gw.nn.functional.embedding(idx, w), (emb.weight,))
    drop = nn.Dropout(0.5)
    x = gw.ones(100)
    assert (drop(x).numpy() == 0).any()
    drop.eval()
    assert drop(x) is x


def test_batchnorm_running_statistics_and_eval():
    bn = _double(nn.BatchNorm1d(2, momentum=0.5))
    x = gw.tensor([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0]], dtype=gw.float64)
    y = bn(x)
    assert np.allclose(y.detach().numpy().mean(axis=0), 0) and np.allclose(y.detach().numpy().std(axis=0), 1, atol=1e-4)
    assert np.allclose(bn.running_mean.numpy(), [1.5, 10.0])                   # 0.5 * 0 + 0.5 * mean
    assert np.allclose(bn.running_var.numpy(), [0.5 + 0.5 * 4.0, 0.5 + 0.5 * 100.0])  # unbiased var
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()
    out = bn(x)
    expect = (x.numpy() - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    assert np.allclose(out.detach().numpy(), expect)


def test_layer_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Linear\(in_features=64\) got input of shape \(32, 10\)"):
        nn.Linear(64, 10)(gw.ones(32, 10))
    with pytest.raises(ValueError, match=r"Conv2d\(in_channels=3\) expects .* got shape \(1, 1, 8, 8\)"):
        nn.Conv2d(3, 4, 3)(gw.ones(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(num_features=3\)"):
        nn.BatchNorm2d(3)(gw.ones(2, 4, 2, 2))


def test_default_initialisation_follows_pytorch_bounds():
    lin = nn.Linear(100, 50, generator=gw.Generator().manual_seed(3))
    bound = 1 / np.sqrt(100)
    for t in (lin.weight, lin.bias):
        assert np.abs(t.detach().numpy()).max() <= bound and np.abs(t.detach().numpy()).max() > 0.9 * bound
    conv = nn.Conv2d(4, 8, 3, generator=gw.Generator().manual_seed(3))
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / np.sqrt(4 * 9)
    a = nn.Linear(3, 3, generator=gw.Generator().manual_seed(5))
    b = nn.Linear(3, 3, generator=gw.Generator().manual_seed(5))
    assert np.array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
