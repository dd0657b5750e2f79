"""``insight.diagnosis.diagnose`` on synthetic histories: each rule fires exactly where it says."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from gradwise.insight.diagnosis import DiagnosisError, chance_level, diagnose


def _cls(loss, acc, val_loss=None, val_acc=None):
    epochs = {"loss": loss, "accuracy": acc}
    if val_loss is not None:
        epochs["val_loss"] = val_loss
    if val_acc is not None:
        epochs["val_accuracy"] = val_acc
    return epochs


def test_learned_well():
    d = diagnose(_cls([1.0, 0.5, 0.3, 0.2, 0.15], [0.6, 0.85, 0.93, 0.96, 0.97], [1.0, 0.55, 0.35, 0.27, 0.24],
                      [0.6, 0.84, 0.92, 0.94, 0.95]), [2.3, 1.0, 0.5], chance=0.1)
    assert d.kinds == ("learned_well",)
    assert d.headline.severity == "good"
    assert any("95.0%" in e for e in d.headline.evidence)


def test_overfitting_flat_validation_loss_names_the_epoch():
    # val loss flat from epoch 4 (index 3) on, train loss keeps falling to 0.0013
    loss = [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.0013]
    val = [1.0, 0.6, 0.45, 0.40, 0.40, 0.401, 0.399, 0.41, 0.405, 0.402]
    d = diagnose(_cls(loss, [0.9] * 4 + [0.99] * 6, val, [0.9] * 10), chance=0.1)
    f = d.headline
    assert f.kind == "overfitting" and f.epoch == 4
    assert f.title == "Overfitting since epoch 4"
    assert "stayed flat near 0.4" in f.evidence[0] and "0.0013" in f.evidence[0]
    assert any("early stopping" in a for a in f.advice)


def test_overfitting_rising_validation_loss():
    loss = [1.0, 0.6, 0.4, 0.25, 0.15, 0.08, 0.04]
    val = [1.0, 0.7, 0.55, 0.6, 0.7, 0.85, 1.0]
    d = diagnose(_cls(loss, [0.95] * 7, val, [0.8] * 7), chance=0.1)
    assert d.headline.kind == "overfitting" and d.headline.epoch == 3
    assert "rising" in d.headline.title and "rose from 0.55 to 1" in d.headline.evidence[0]


def test_not_overfitting_when_validation_still_improves_or_too_few_epochs_follow():
    loss = [1.0, 0.5, 0.3, 0.2, 0.1]
    assert diagnose(_cls(loss, [0.95] * 5, [1.0, 0.6, 0.45, 0.40, 0.35], [0.95] * 5), chance=0.1).headline.kind \
        == "learned_well"
    # best at the 3rd of 5 epochs: only 2 epochs follow (patience 3)
    assert diagnose(_cls(loss, [0.95] * 5, [1.0, 0.6, 0.4, 0.41, 0.42], [0.95] * 5), chance=0.1).headline.kind \
        == "learned_well"
    # train loss did not fall by 25% since the best validation epoch
    assert diagnose(_cls([1.0, 0.5, 0.45, 0.44, 0.43, 0.42], [0.95] * 6, [1.0, 0.6, 0.6, 0.61, 0.6, 0.62],
                         [0.95] * 6), chance=0.1).headline.kind == "learned_well"


def test_underfitting_flat_and_still_improving():
    d = diagnose(_cls([2.0, 1.5, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4], [0.3, 0.5, 0.55, 0.56, 0.56, 0.56, 0.56, 0.56],
                      [2.0, 1.5, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4], [0.3, 0.5, 0.55, 0.55, 0.55, 0.55, 0.55, 0.55]),
                 chance=0.1)
    assert d.headline.kind == "underfitting" and d.headline.title == "Underfitting"
    assert "56.0%" in d.headline.evidence[0] and "flat" in d.headline.evidence[1]
    d = diagnose(_cls([2.0, 1.5, 1.0, 0.7], [0.3, 0.5, 0.6, 0.7]), chance=0.1)
    assert d.headline.title == "Underfitting (still improving)" and "Train longer" in d.headline.advice[0]


def test_did_not_learn_at_chance_and_memorised():
    d = diagnose(_cls([2.3] * 4, [0.11, 0.1, 0.1, 0.1], [2.3] * 4, [0.1, 0.1, 0.12, 0.1]), chance=0.11)
    assert d.headline.kind == "did_not_learn" and d.headline.severity == "bad"
    assert "11.0%" in d.headline.evidence[0]
    # shuffled labels: training accuracy high, validation at chance
    d = diagnose(_cls([2.3, 1.0, 0.2, 0.01], [0.1, 0.6, 0.95, 1.0], [2.3, 2.6, 3.0, 3.5], [0.1, 0.1, 0.09, 0.1]),
                 chance=0.1)
    assert d.headline.kind == "did_not_learn" and "memorised" in d.headline.evidence[1]


def test_did_not_learn_regression():
    d = diagnose({"loss": [1.0, 1.0, 1.0], "r2": [0.0, 0.0, 0.01], "val_loss": [1.1] * 3, "val_r2": [-0.1] * 3},
                 task="regression")
    assert d.headline.kind == "did_not_learn" and "-0.1" in d.headline.evidence[0]
    d = diagnose({"loss": [1.0, 0.2, 0.1, 0.09], "r2": [0.0, 0.8, 0.9, 0.91]}, task="regression")
    assert d.headline.kind == "learned_well"


def test_diverged_at_a_step():
    d = diagnose(_cls([2.3, math.inf], [0.1, 0.1]), [2.3, 2.0, 50.0, 300.0, math.nan], chance=0.1)
    assert d.headline.kind == "diverged" and d.headline.step == 3
    assert d.headline.title == "Diverged at step 3" and "more than 100 x" in d.headline.evidence[0]
    d = diagnose(_cls([2.3, 2.2], [0.1, 0.1]), [2.3, 2.2, math.nan], chance=0.1)
    assert d.headline.step == 2 and "nan" in d.headline.evidence[0]
    # without steps: an epoch loss that is not finite
    d = diagnose(_cls([2.3, math.nan], [0.1, 0.1]), chance=0.1)
    assert d.headline.title == "Diverged in epoch 2"


@dataclass
class _Ev:
    text: str


@dataclass
class _Layer:
    label: str
    verdict: str
    evidence: tuple
    advice: tuple


@dataclass
class _Report:
    layers: tuple


def test_gradient_problem_names_the_layers():
    rep = _Report((_Layer("0 (Linear+Sigmoid)", "vanishing", (_Ev("grad norm 1e-6 x the last layer's"),),
                          ("Use ReLU.",)),
                   _Layer("2 (Linear+Sigmoid)", "saturated", (_Ev("80% of outputs in the tails"),), ("Use ReLU.",)),
                   _Layer("4 (Linear)", "healthy", (), ())))
    d = diagnose(_cls([1.0, 0.5, 0.3, 0.2], [0.5, 0.8, 0.95, 0.97]), chance=0.1, gradient=rep)
    assert d.kinds == ("learned_well", "gradient")
    g = d.findings[1]
    assert g.layers == ("0 (Linear+Sigmoid)", "2 (Linear+Sigmoid)")
    assert "saturated, vanishing" in g.title and g.advice == ("Use ReLU.",)
    assert "grad norm 1e-6" in g.evidence[0]
    healthy = _Report((_Layer("0 (Linear)", "healthy", (), ()),))
    assert diagnose(_cls([1.0], [0.95]), gradient=healthy).kinds == ("learned_well",)


def test_chance_level_and_bad_input():
    assert chance_level([1, 1, 1, 0]) == 0.75
    with pytest.raises(DiagnosisError, match="chance_level: no labels"):
        chance_level([])
    with pytest.raises(DiagnosisError, match="task must be 'classification' or 'regression', got 'ranking'"):
        diagnose({"loss": [1.0]}, task="ranking")
    with pytest.raises(DiagnosisError, match="one value per epoch \\(2 for 'loss'\\), got 1 for 'accuracy'"):
        diagnose({"loss": [1.0, 0.5], "accuracy": [0.5]})
    with pytest.raises(DiagnosisError, match="chance must be an accuracy in \\[0, 1\\], got 1.5"):
        diagnose({"loss": [1.0]}, chance=1.5)


def test_no_records():
    d = diagnose({})
    assert d.kinds == ("no_records",) and d.headline.severity == "bad"


def test_every_kind_has_its_rule_written_down():
    from gradwise.insight.diagnosis import KINDS, RULES

    assert set(RULES) == set(KINDS)


def test_regression_underfitting_uses_r2_below_one_half():
    flat = {"loss": [1.0, 0.8, 0.75, 0.75, 0.75], "r2": [0.0, 0.2, 0.25, 0.25, 0.25]}
    d = diagnose(flat, task="regression")
    assert d.headline.title == "Underfitting" and "final training r2 0.25 is below 0.5" in d.headline.evidence[0]
    noisy = {"loss": [1.0, 0.5, 0.42, 0.4, 0.4], "r2": [0.0, 0.5, 0.58, 0.6, 0.6]}     # diabetes-like
    assert diagnose(noisy, task="regression").headline.kind == "learned_well"
