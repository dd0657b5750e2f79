"""PyTorch's deprecated ``size_average``/``reduce`` loss arguments: accepted in PyTorch's positions,
mapped to ``reduction`` by its legacy rules (checked against torch), with its UserWarning."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.nn import functional as F

rng = np.random.default_rng(3)
FLAGS = [None, True, False]
X = rng.standard_normal((4, 3))
P = 1 / (1 + np.exp(-X))
T = rng.standard_normal((4, 3))
T01 = rng.uniform(size=(4, 3))
CLS = np.array([0, 2, 1, 2])
LOGP = X - np.log(np.exp(X).sum(1, keepdims=True))


def _args(name, lib):
    """(input, target) of loss ``name`` for library ``lib`` (gradwise or torch)."""
    t = lib.tensor
    return {"mse_loss": (t(X), t(T)), "l1_loss": (t(X), t(T)), "smooth_l1_loss": (t(X), t(T)),
            "kl_div": (t(LOGP), t(T01)), "binary_cross_entropy": (t(P), t(T01)),
            "binary_cross_entropy_with_logits": (t(X), t(T01)), "cross_entropy": (t(X), t(CLS)),
            "nll_loss": (t(LOGP), t(CLS)), "multi_margin_loss": (t(X), t(CLS))}[name]


FUNCTIONS = ["mse_loss", "l1_loss", "smooth_l1_loss", "kl_div", "binary_cross_entropy",
             "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "multi_margin_loss"]
MODULES = {"MSELoss": "mse_loss", "L1Loss": "l1_loss", "SmoothL1Loss": "smooth_l1_loss", "KLDivLoss": "kl_div",
           "BCELoss": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
           "CrossEntropyLoss": "cross_entropy", "NLLLoss": "nll_loss", "MultiMarginLoss": "multi_margin_loss"}


def _run(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("size_average,reduce", list(itertools.product(FLAGS, FLAGS)))
def test_functions_follow_torch(name, size_average, reduce):
    torch = pytest.importorskip("torch")
    # 'sum' as the explicit reduction shows that the legacy flags win over it, as in torch
    out_g, warned_g = _run(getattr(F, name), *_args(name, gw), size_average=size_average, reduce=reduce,
                           reduction="sum")
    out_t, warned_t = _run(getattr(torch.nn.functional, name), *_args(name, torch), size_average=size_average,
                           reduce=reduce, reduction="sum")
    assert out_g.shape == tuple(out_t.shape)
    assert np.allclose(out_g.numpy(), out_t.numpy(), atol=1e-12)
    legacy = [m for m in warned_t if "size_average and reduce" in m]
    assert [m for m in warned_g if "size_average and reduce" in m] == legacy
    assert bool(legacy) == (size_average is not None or reduce is not None)


@pytest.mark.parametrize("cls", sorted(MODULES))
@pytest.mark.parametrize("size_average,reduce", list(itertools.product(FLAGS, FLAGS)))
def test_modules_follow_torch(cls, size_average, reduce):
    torch = pytest.importorskip("torch")
    mod_g, warned_g = _run(getattr(nn, cls), size_average=size_average, reduce=reduce)
    mod_t, warned_t = _run(getattr(torch.nn, cls), size_average=size_average, reduce=reduce)
    assert mod_g.reduction == mod_t.reduction
    assert warned_g == [m for m in warned_t if "size_average and reduce" in m]
    out_g = mod_g(*_args(MODULES[cls], gw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # torch's KLDivLoss warns that 'mean' is not 'batchmean'
        out_t = mod_t(*_args(MODULES[cls], torch))
    assert np.allclose(out_g.numpy(), out_t.numpy(), atol=1e-12)


def test_torch_positions_and_warning_location():
    # positional legacy flags: MSELoss(size_average, reduce), CrossEntropyLoss(weight, size_average, ...)
    with pytest.warns(UserWarning, match="please use reduction='sum' instead") as record:
        loss = nn.MSELoss(False)
    assert loss.reduction == "sum" and record[0].filename == __file__
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.CrossEntropyLoss(None, True, -100, False).reduction == "none"
    with pytest.warns(UserWarning) as record:
        out = F.mse_loss(gw.tensor([1.0, 3.0]), gw.tensor([0.0, 1.0]), False)
    assert out.item() == 5.0 and record[0].filename == __file__
    with pytest.warns(UserWarning, match="reduction='none'"):
        out = F.cosine_embedding_loss(gw.tensor(X), gw.tensor(T), gw.tensor([1, -1, 1, -1]), 0.0, None, False)
    assert out.shape == (4,)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.CosineEmbeddingLoss(0.0, False).reduction == "sum"


def test_no_warning_without_legacy_flags_and_gradients_unchanged():
    x = gw.tensor(X, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(x, gw.tensor(T), reduction="sum").backward()
        nn.CrossEntropyLoss(reduction="none")
    g_sum = x.grad.numpy().copy()
    x.grad = None
    with pytest.warns(UserWarning):
        F.mse_loss(x, gw.tensor(T), size_average=False).backward()
    assert np.allclose(x.grad.numpy(), g_sum)


def test_a_reduction_string_in_the_size_average_slot_is_the_reduction():
    # gradwise's earlier signatures took the reduction third: f(input, target, "sum") still sums
    x, y = gw.tensor([1.0, 3.0]), gw.tensor([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert F.mse_loss(x, y, "sum").item() == 5.0 and nn.MSELoss("none")(x, y).tolist() == [1.0, 4.0]
    with pytest.raises(ValueError, match="reduction='total' is not valid"):
        F.mse_loss(x, y, "total")


@pytest.mark.parametrize("size_average,reduce", [("sum", False), (None, "sum"), (gw.ones(2), None)])
def test_a_non_bool_legacy_flag_is_a_clear_error(size_average, reduce):
    with pytest.raises(TypeError, match="deprecated bool flag .* pass the reduction by keyword"):
        F.l1_loss(gw.zeros(2), gw.zeros(2), size_average, reduce)
