"""Hand-derived backprop for the six sigmoid-network cases: closed forms agree with autograd to
float64 round-off, every step's shape is the one the derivation says, and a transposed weight is
caught at the step that multiplies it."""

from __future__ import annotations

import numpy as np
import pytest

from gradwise.insight.derivations import CASES, DerivationShapeError, derive, random_inputs


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_matches_autograd(case, seed):
    d = derive(case, seed=seed)
    assert d.max_difference < 1e-14
    for g in d.gradients:
        assert g.closed_form.shape == d.inputs[g.weight].shape     # a gradient has its weight's shape
        assert np.abs(g.closed_form).max() > 1e-6                   # and is not trivially zero


def test_closed_form_matches_central_differences():
    d = derive("two_layer_batch", seed=5)
    x, y = d.inputs["x"], d.inputs["y"]

    def error(W1, W2):
        f = lambda u: 1 / (1 + np.exp(-u))
        return 0.5 * np.sum((y - f(f(x @ W1) @ W2)) ** 2)

    W1, W2, eps = d.inputs["W1"], d.inputs["W2"], 1e-6
    fd = np.zeros_like(W1)
    for idx in np.ndindex(W1.shape):
        e = np.zeros_like(W1)
        e[idx] = eps
        fd[idx] = (error(W1 + e, W2) - error(W1 - e, W2)) / (2 * eps)
    np.testing.assert_allclose(d.gradients[0].closed_form, fd, rtol=1e-7, atol=1e-10)


def test_steps_and_shapes_of_the_batch_case():
    d = derive("two_layer_batch")
    m, n_in, h, n_out = 4, 3, 2, 2
    expected = {"u1": (m, h), "h": (m, h), "u2": (m, n_out), "yhat": (m, n_out), "E": (), "dE/dyhat": (m, n_out),
                "delta2": (m, n_out), "dE/dW2": (h, n_out), "dE/dh": (m, h), "delta1": (m, h), "dE/dW1": (n_in, h)}
    assert {s.name: s.shape for s in d.steps} == expected
    assert d.step("dE/dW1").shapes == "x^T (3, 4) @ delta1 (4, 2) -> (3, 2) == shape of W1 (3, 2)"
    assert "f'(u2) = f(u2)(1 - f(u2))" in d.step("delta2").formula
    # E is the squared error of the forward pass
    assert d.step("E").value == pytest.approx(0.5 * np.sum((d.inputs["y"] - d.step("yhat").value) ** 2))


def test_single_scalar_case_is_the_textbook_formula():
    d = derive("one_layer_scalar", {"x": 0.5, "y": 0.2, "W1": 1.5})
    yhat = 1 / (1 + np.exp(-0.75))
    assert d.gradients[0].closed_form.item() == pytest.approx((yhat - 0.2) * yhat * (1 - yhat) * 0.5, rel=1e-15)


def test_transposed_weight_names_the_step():
    inputs = random_inputs("two_layer_batch", seed=0)
    inputs["W1"] = inputs["W1"].T
    with pytest.raises(DerivationShapeError, match=r"step u1 = x @ W1: x \(4, 3\) @ W1 \(2, 3\): the inner dimensions "
                                                   r"3 and 2 disagree.*W1 should be \(3, 2\).*transposed"):
        derive("two_layer_batch", inputs)
    inputs = random_inputs("one_layer_vector")
    inputs["y"] = inputs["y"].T
    with pytest.raises(DerivationShapeError, match=r"step E = .*y \(2, 1\) and yhat \(1, 2\)"):
        derive("one_layer_vector", inputs)


def test_text_trace_and_errors():
    text = derive("two_layer_1hidden", seed=3).to_text()
    assert "dE/dW1" in text and "max |difference|" in text and "shapes: x (1, 3) @ W1 (3, 1) -> (1, 1)" in text
    with pytest.raises(KeyError, match="unknown case 'three_layer'.*one_layer_scalar"):
        derive("three_layer")
