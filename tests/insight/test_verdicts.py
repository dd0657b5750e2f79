"""The verdict rules on hand-made figures: each rule at its threshold, the priority order,
the advice each verdict carries, and the validation of Thresholds."""

from __future__ import annotations

import dataclasses
import math

import pytest

from gradwise.insight import VERDICTS, LayerFigures, MonitorError, Thresholds
from gradwise.insight.verdicts import ModelContext, advise, judge, verdict_of, worst

NAN = math.nan


def figures(**changes):
    base = LayerFigures(name="3", kind="Linear", activation="ReLU", position=1, distance_to_last=4, numel=100,
                        steps=20, grad_norm=0.5, raw_grad_norm=0.5, relative_grad_norm=0.5,
                        decay_per_layer=0.5 ** 0.25, grad_norm_cv=0.3, update_ratio=1e-3, weight_norm=5.0,
                        weight_rms=0.5, zero_grad_fraction=0.0, nonfinite_steps=0, has_gradient=True,
                        output_mean=0.0, output_std=1.0, activation_mean=0.4, activation_std=0.6,
                        dead_fraction=0.05, saturated_fraction=NAN)
    return dataclasses.replace(base, **changes)


T = Thresholds()
CTX = ModelContext(depth=8, has_normalization=False, clipped=False)


def verdict(**changes):
    return verdict_of(judge(figures(**changes), T))


def test_healthy_figures_fire_no_rule():
    assert judge(figures(), T) == []
    assert verdict() == "healthy"
    assert advise(figures(), [], CTX) == ()


@pytest.mark.parametrize("field, inside, outside, name", [
    ("relative_grad_norm", 1.001e-3, 1e-3, "vanishing"),
    ("relative_grad_norm", 999.0, 1e3, "exploding"),
    ("update_ratio", 0.49, 0.5, "exploding"),
    ("update_ratio", 1.01e-5, 1e-5, "stalled"),
    ("grad_norm_cv", 1.99, 2.0, "noisy"),
    ("dead_fraction", 0.49, 0.5, "dead"),
    ("zero_grad_fraction", 0.89, 0.9, "dead"),
])
def test_each_rule_fires_at_its_threshold(field, inside, outside, name):
    assert verdict(**{field: inside}) == "healthy"
    ev = judge(figures(**{field: outside}), T)
    assert verdict_of(ev) == name
    assert (ev[0].figure, ev[0].value, ev[0].threshold) == (field, outside, outside)


def test_saturation_is_judged_except_at_the_output_layer():
    assert verdict(activation="Sigmoid", dead_fraction=NAN, saturated_fraction=0.5) == "saturated"
    assert verdict(activation="Sigmoid", dead_fraction=NAN, saturated_fraction=0.49) == "healthy"
    assert verdict(activation="Sigmoid", dead_fraction=NAN, saturated_fraction=0.9, distance_to_last=0) == "healthy"


def test_noise_needs_enough_steps():
    assert verdict(grad_norm_cv=5.0, steps=9) == "healthy"
    assert verdict(grad_norm_cv=5.0, steps=10) == "noisy"


def test_sparse_layers_are_not_dead_for_their_zero_gradients():
    assert verdict(kind="Embedding", activation=None, dead_fraction=NAN, zero_grad_fraction=0.99) == "healthy"


def test_non_finite_gradients_and_missing_gradients():
    ev = judge(figures(nonfinite_steps=3), T)
    assert ev[0].verdict == "exploding" and ev[0].figure == "nonfinite_steps" and "3 of 20" in ev[0].text
    ev = judge(figures(has_gradient=False), T)
    assert [e.figure for e in ev] == ["has_gradient"] and ev[0].verdict == "dead"


def test_priority_order_and_all_findings_kept():
    ev = judge(figures(relative_grad_norm=1e-5, update_ratio=1e-8, grad_norm_cv=3.0, dead_fraction=0.7), T)
    assert [e.verdict for e in ev] == ["dead", "vanishing", "stalled", "noisy"]
    ev = judge(figures(relative_grad_norm=5e3, update_ratio=0.8, activation="Tanh", dead_fraction=NAN,
                       saturated_fraction=0.9), T)
    assert [(e.verdict, e.figure) for e in ev] == [("exploding", "relative_grad_norm"), ("exploding", "update_ratio"),
                                                   ("saturated", "saturated_fraction")]
    assert worst(["noisy", "healthy", "saturated", "stalled"]) == "saturated"
    assert worst([]) == "healthy"
    assert VERDICTS[0] == "exploding" and VERDICTS[-1] == "healthy"


def test_advice_names_causes_and_fixes():
    sig = figures(activation="Sigmoid", dead_fraction=NAN, relative_grad_norm=1e-6)
    text = " ".join(advise(sig, judge(sig, T), CTX))
    assert "at most 1/4" in text and "Kaiming" in text and "BatchNorm1d" in text and "residual" in text
    normed = " ".join(advise(sig, judge(sig, T), ModelContext(3, True, False)))
    assert "BatchNorm1d" not in normed and "residual" not in normed
    rnn = figures(kind="RNN", activation=None, dead_fraction=NAN, relative_grad_norm=1e-6)
    assert "LSTM" in " ".join(advise(rnn, judge(rnn, T), CTX))
    big = figures(relative_grad_norm=1e4)
    text = " ".join(advise(big, judge(big, T), CTX))
    assert "Xavier" in text and "clip_grad_norm_" in text
    assert "clip_grad_norm_" not in " ".join(advise(big, judge(big, T), ModelContext(8, False, True)))
    fast = figures(update_ratio=2.0)
    assert "lower the learning rate" in " ".join(advise(fast, judge(fast, T), CTX))
    dead = figures(dead_fraction=0.8)
    assert "LeakyReLU" in " ".join(advise(dead, judge(dead, T), CTX))
    slow = figures(update_ratio=1e-7)
    assert "raise the learning rate" in " ".join(advise(slow, judge(slow, T), CTX))
    noisy = figures(grad_norm_cv=4.0)
    assert "larger batch" in " ".join(advise(noisy, judge(noisy, T), CTX))
    sat = figures(activation="Tanh", dead_fraction=NAN, saturated_fraction=0.8)
    assert "Xavier" in " ".join(advise(sat, judge(sat, T), CTX))


@pytest.mark.parametrize("kwargs, match", [
    ({"vanishing_ratio": 0.0}, "vanishing_ratio must be a positive finite number, got 0.0"),
    ({"exploding_ratio": math.inf}, "exploding_ratio must be a positive finite number, got inf"),
    ({"vanishing_ratio": 2.0}, "need vanishing_ratio < 1 < exploding_ratio"),
    ({"update_ratio_low": 1.0, "update_ratio_high": 0.5}, "need update_ratio_low < update_ratio_high"),
    ({"dead_fraction": 1.5}, r"dead_fraction must be a fraction in \(0, 1\], got 1.5"),
    ({"saturation_margin": 0}, "saturation_margin must be a fraction"),
    ({"min_noise_steps": 1}, "min_noise_steps must be an int >= 2, got 1"),
    ({"dead_min_samples": 2.0}, "dead_min_samples must be an int >= 1, got 2.0"),
])
def test_thresholds_validation(kwargs, match):
    with pytest.raises(MonitorError, match=match):
        Thresholds(**kwargs)


def test_thresholds_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Thresholds().vanishing_ratio = 0.1


def test_consequences_get_no_advice_of_their_own():
    # a vanishing gradient stalls the updates: the advice is about the vanishing, not the learning rate
    f = figures(activation="Sigmoid", dead_fraction=NAN, relative_grad_norm=1e-8, update_ratio=1e-9)
    ev = judge(f, T)
    assert [e.verdict for e in ev] == ["vanishing", "stalled"]
    assert "raise the learning rate" not in " ".join(advise(f, ev, CTX))
    # dead units make the gradient vanish: no initialisation advice
    f = figures(dead_fraction=1.0, relative_grad_norm=0.0)
    text = " ".join(advise(f, judge(f, T), CTX))
    assert "LeakyReLU" in text and "too small for this depth" not in text
