"""gw.summary: per-layer names, kinds, output shapes and parameter counts, totals, the memory
estimate, and no trace left on the model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.insight.summary import SummaryError, summary


def _mlp() -> nn.Sequential:
    gen = gw.Generator().manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8, generator=gen), nn.ReLU(), nn.Linear(8, 3, generator=gen))


def test_rows_shapes_and_counts_of_an_mlp() -> None:
    s = summary(_mlp(), input_size=(5, 4))
    assert [r.label for r in s.layers] == ["0 (Linear)", "1 (ReLU)", "2 (Linear)"]
    assert [r.output_shapes for r in s.layers] == [((5, 8),), ((5, 8),), ((5, 3),)]
    assert [r.parameters for r in s.layers] == [4 * 8 + 8, 0, 8 * 3 + 3]
    assert s.total_parameters == s.trainable_parameters == 67 and s.non_trainable_parameters == 0
    assert s.output_shapes == ((5, 3),) and s.batch_size == 5 and s.dtype == "float32"


def test_nested_modules_are_indented_and_depth_collapses_them() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.Sequential(nn.Linear(8, 8), nn.Tanh()), nn.Linear(8, 2))
    s = summary(model, input_size=(1, 4))
    assert [(r.label, r.depth) for r in s.layers] == [
        ("0 (Linear)", 0), ("1 (Sequential)", 0), ("1.0 (Linear)", 1), ("1.1 (Tanh)", 1), ("2 (Linear)", 0)]
    assert s.layers[1].expanded and s.layers[1].parameters == 0       # its children hold the weights
    assert "\n  1.0 (Linear)" in repr(s)                              # indented under its parent
    flat = summary(model, input_size=(1, 4), depth=0)
    assert [(r.label, r.parameters) for r in flat.layers] == [("0 (Linear)", 40), ("1 (Sequential)", 72),
                                                               ("2 (Linear)", 18)]
    assert flat.total_parameters == s.total_parameters == 130


def test_lstm_tuple_outputs_and_integer_inputs() -> None:
    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(10, 6)
            self.lstm = nn.LSTM(6, 5, batch_first=True)
            self.fc = nn.Linear(5, 3)

        def forward(self, tokens: gw.Tensor) -> gw.Tensor:
            out, _ = self.lstm(self.emb(tokens))
            return self.fc(out)

    s = summary(Tagger(), input_size=(2, 7), dtype=gw.int64)
    lstm = s.layers[1]
    assert lstm.label == "lstm (LSTM)"
    assert lstm.output_shapes == ((2, 7, 5), (1, 2, 5), (1, 2, 5))   # output, (h, c)
    assert lstm.parameters == 4 * 5 * (6 + 5) + 2 * 4 * 5
    assert s.layers[0].output_shapes == ((2, 7, 6),) and s.dtype == "int64"


def test_a_module_called_twice_and_tied_weights_are_counted_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.b.weight = self.a.weight

        def forward(self, x: gw.Tensor) -> gw.Tensor:
            return self.b(self.a(self.a(x)))

    s = summary(Tied(), input_size=(1, 4))
    assert [(r.label, r.parameters, r.shared) for r in s.layers] == [
        ("a (Linear)", 20, 0), ("a (Linear)", 0, 20), ("b (Linear)", 4, 16)]
    assert s.total_parameters == 24
    assert "20 shared" in repr(s) and "4 (+16 shared)" in repr(s)


def test_models_without_parameters_and_frozen_ones() -> None:
    s = summary(nn.Sequential(nn.ReLU(), nn.Tanh()), input_size=(2, 3))
    assert s.total_parameters == 0 and s.parameter_bytes == 0 and len(s.layers) == 2
    bare = summary(nn.Linear(3, 2), input_size=(4, 3))               # a model without sub-modules is its own row
    assert [(r.label, r.parameters) for r in bare.layers] == [("Linear", 8)]
    model = _mlp()
    model[0].weight.requires_grad_(False)
    s = summary(model, input_size=(1, 4))
    assert (s.layers[0].parameters, s.layers[0].non_trainable) == (8, 32)
    assert (s.trainable_parameters, s.non_trainable_parameters) == (35, 32)
    assert (s.parameter_bytes, s.gradient_bytes) == (67 * 4, 35 * 4)   # frozen weights get no gradient
    assert "frozen" in repr(s) and "frozen" not in repr(summary(_mlp(), input_size=(1, 4)))


def test_memory_estimate_is_what_the_pass_produced() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)).to(gw.float64)
    s = summary(model, input_size=(10, 4), dtype=gw.float64)
    leaf_outputs = 10 * (8 + 8 + 8 + 2) * 8                        # float64 outputs of the four leaves
    assert s.activation_bytes == leaf_outputs
    assert s.activation_bytes_per_sample == leaf_outputs // 10 and s.memory_per_sample == 2 * leaf_outputs // 10
    n_params = 4 * 8 + 8 + 2 * 8 + 8 * 2 + 2
    assert s.parameter_bytes == n_params * 8
    assert s.buffer_bytes == sum(b.detach().numpy().nbytes for _, b in model.named_buffers())
    assert s.gradient_bytes == s.parameter_bytes                    # every parameter trains
    assert s.training_bytes(32) == 2 * s.parameter_bytes + s.buffer_bytes + 32 * s.memory_per_sample
    assert "per sample" in repr(s) and "optimizer state" in repr(s)


def test_no_side_effects_on_the_model() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))
    model.train()
    model[2].eval()                                    # a mixed mode must come back as it was
    model(gw.randn(6, 4)).sum().backward()
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    grads = [p.grad.detach().numpy().copy() for p in model.parameters()]
    gw.manual_seed(7)
    expected = gw.randn(3).detach().numpy()
    gw.manual_seed(7)
    summary(model, input_size=(6, 4))
    assert np.array_equal(gw.randn(3).detach().numpy(), expected)   # global generator untouched
    assert [m.training for m in model.modules()] == [True, True, True, False, True]
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k].detach().numpy()) for k in before)   # running stats too
    assert all(np.array_equal(g, p.grad.detach().numpy()) for g, p in zip(grads, model.parameters()))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_a_failing_forward_names_the_layer_and_the_shapes() -> None:
    model = _mlp()
    with pytest.raises(SummaryError, match=r"failed in layer '0' \(Linear\), which was given \(1, 5\); the "
                                           r"model's input was \(1, 5\): .*4"):
        summary(model, input_size=(1, 5))
    assert all(not m._forward_hooks for m in model.modules()) and model.training


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of input_size"),
    ({"input_size": (1, 4), "example": gw.zeros(1, 4)}, "exactly one of input_size"),
    ({"input_size": (1, "4")}, r"input_size must be a tuple of non-negative ints .* got \(1, '4'\)"),
    ({"input_size": [(1, 4), (2, -1)]}, r"input_size\[1\] must be"),
    ({"input_size": (1, 4), "depth": -1}, "depth must be an int >= 0"),
])
def test_bad_options_are_refused_clearly(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SummaryError, match=message):
        summary(_mlp(), **kwargs)   # type: ignore[arg-type]


def test_example_input_and_json_ready_dict() -> None:
    s = summary(_mlp(), example=gw.randn(3, 4))
    data = json.loads(json.dumps(s.to_dict()))
    assert data["input_shapes"] == [[3, 4]] and data["total_parameters"] == 67
    assert data["layers"][0] == {"name": "0", "kind": "Linear", "depth": 0, "output_shapes": [[3, 8]],
                                 "parameters": 40, "non_trainable": 0, "shared": 0, "expanded": False,
                                 "label": "0 (Linear)"}
    assert data["memory_per_sample"] == s.memory_per_sample


def test_html_is_self_contained_and_escaped() -> None:
    odd = type("Odd<b>", (nn.Module,), {"forward": lambda self, x: x * 2})
    model = nn.Sequential(nn.Linear(4, 4), odd())
    page = summary(model, input_size=(1, 4))._repr_html_()
    assert "Odd&lt;b&gt;" in page and "Odd<b>" not in page
    assert "total parameters: 20" in page
    for tag in ("<script", "<link", "<style", "<img", "href="):
        assert tag not in page


def test_gw_summary_is_loaded_lazily() -> None:
    code = ("import sys, gradwise as gw; assert 'gradwise.insight.summary' not in sys.modules; "
            "s = gw.summary(gw.nn.Linear(2, 3), input_size=(1, 2)); print(s.total_parameters)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "9"
