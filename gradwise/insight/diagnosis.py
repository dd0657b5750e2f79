"""What went right or wrong in a training run, from its records alone: the report's headline.

:func:`diagnose` is a pure function: per-epoch and per-step figures (plain sequences, as in a
:class:`~gradwise.train.History`), the task kind, the chance level and, optionally, the gradient
monitor's report go in; a :class:`Diagnosis` comes out, its findings most important first, each
with the numbers behind it and one or two lines of advice.

The run's outcome is exactly one of these, checked in this order (the first that holds wins;
``no_records`` when there is neither an epoch nor a step):

``diverged``
    A step's training loss is not finite, or exceeds ``divergence_factor`` (100) times the first
    step's loss.  Step ``s`` is the first such step.
``did_not_learn``
    Classification: the final accuracy (validation if there is a validation split, else training)
    is at most ``chance + margin``, with ``chance`` the majority-class rate of the training labels
    and ``margin = max(0.05, 0.1 * (1 - chance))``.  Regression: the final r2 (validation, else
    training) is at most 0 (no better than predicting the mean).
``overfitting``
    Needs validation losses.  ``k`` is the earliest epoch after which the validation loss never
    improves by more than ``val_tolerance`` (2%) of its value at ``k``: every later epoch ``j``
    has ``val_loss[j] > (1 - val_tolerance) * val_loss[k]``.  Overfitting since ``k`` when at
    least ``patience`` (3) epochs follow ``k``, the training loss kept falling since ``k`` (by at
    least ``train_drop`` = 25%: ``loss[-1] <= 0.75 * loss[k]``) and the final validation loss is
    above the final training loss.  The validation loss is called *rising* when it ends more
    than ``val_tolerance`` above its value at ``k``, *flat* otherwise.
``underfitting``
    The model does not fit even its training data: classification with a final training accuracy
    below ``fit_accuracy`` (0.9), regression with a final training r2 below ``fit_r2`` (0.5: the
    model explains less than half the variance of its own training targets).  It
    is *still improving* when the training loss fell by more than 5% over the last quarter of the
    epochs (train longer), *flat* otherwise (more capacity or a higher learning rate).
``learned_well``
    None of the above.

A ``gradient`` finding follows the outcome when the monitor's report flags layers (any verdict
other than ``healthy``); it names them.

>>> d = diagnose({"loss": [1.0, 0.5, 0.2, 0.1], "accuracy": [0.6, 0.8, 0.95, 0.99],
...               "val_loss": [1.0, 0.6, 0.4, 0.38], "val_accuracy": [0.6, 0.8, 0.9, 0.91]},
...              task="classification", chance=0.1)
>>> d.headline.kind, d.headline.title
('learned_well', 'Learned well')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gradwise.errors import GradwiseError

OUTCOMES = ("no_records", "diverged", "did_not_learn", "overfitting", "underfitting", "learned_well")
KINDS = OUTCOMES + ("gradient",)

# Each finding's rule in one sentence, with the default thresholds (the report prints it under the finding).
RULES: dict[str, str] = {
    "no_records": "no epoch and no step was recorded.",
    "diverged": "the first step whose training loss is not finite or above 100 x the first step's loss.",
    "did_not_learn": "classification: the final accuracy (validation, else training) is at most chance + "
                     "max(5%, 10% of (1 - chance)), chance being the majority-class rate of the training labels; "
                     "regression: the final r2 is at most 0.",
    "overfitting": "k is the first epoch after which the validation loss never improves by more than 2%; at least "
                   "3 epochs follow k, the training loss fell by at least 25% since k, and the final validation "
                   "loss is above the final training loss.",
    "underfitting": "final training accuracy below 90% (regression: training r2 below 0.5); 'still improving' "
                    "when the training loss fell by more than 5% over the last quarter of the epochs.",
    "learned_well": "none of diverged, did not learn, overfitting or underfitting holds.",
    "gradient": "the gradient monitor's verdict for these layers is not healthy (see the gradient section).",
}


class DiagnosisError(GradwiseError, ValueError):
    """:func:`diagnose` was given figures it cannot judge; the message says what is valid."""


@dataclass(frozen=True)
class Finding:
    """One diagnosis: ``kind`` (one of :data:`KINDS`), a short title, the evidence (sentences with
    the numbers), the advice, and ``epoch``/``step`` where it started (1-based epoch, ``None`` if
    it does not apply)."""

    kind: str
    title: str
    evidence: tuple[str, ...]
    advice: tuple[str, ...]
    epoch: int | None = None
    step: int | None = None
    layers: tuple[str, ...] = ()

    @property
    def severity(self) -> str:
        """``good``, ``warning`` or ``bad`` (for colouring)."""
        if self.kind == "learned_well":
            return "good"
        return "bad" if self.kind in ("diverged", "did_not_learn", "no_records") else "warning"


@dataclass(frozen=True)
class Diagnosis:
    """The findings, most important first: the run's outcome, then a gradient finding if any."""

    findings: tuple[Finding, ...]

    @property
    def headline(self) -> Finding:
        return self.findings[0]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(f.kind for f in self.findings)

    def to_text(self) -> str:
        lines = []
        for f in self.findings:
            lines.append(f"{f.title}")
            lines += [f"  - {e}" for e in f.evidence]
            lines += [f"  > {a}" for a in f.advice]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _series(epochs: Mapping[str, Sequence[float]], key: str) -> list[float]:
    values = epochs.get(key)
    if values is None:
        return []
    return [float(v) for v in values]


def _last_finite(xs: Sequence[float]) -> float | None:
    for v in reversed(xs):
        if math.isfinite(v):
            return v
    return None


def _g(x: float) -> str:
    return f"{x:.4g}"


def diagnose(epochs: Mapping[str, Sequence[float]], step_losses: Sequence[float] = (), *,
             task: str = "classification", chance: float | None = None, gradient: Any = None,
             divergence_factor: float = 100.0, val_tolerance: float = 0.02, patience: int = 3,
             train_drop: float = 0.25, fit_accuracy: float = 0.9, fit_r2: float = 0.5) -> Diagnosis:
    """Judge a run from its records (the rules are in the module's docstring).

    Args:
        epochs: per-epoch figures by name, each a sequence of length E: ``loss`` (required),
            ``accuracy``/``r2`` and ``val_loss``/``val_accuracy``/``val_r2`` when measured.
        step_losses: the training loss of every optimizer step, in order (may be empty).
        task: ``"classification"`` or ``"regression"``.
        chance: classification: the accuracy of always predicting the majority class of the
            training labels (``None``: ``did_not_learn`` is judged from r2/accuracy only if known).
        gradient: a :class:`~gradwise.insight.GradientReport` (or anything with ``layers``, each
            with ``label``, ``verdict``, ``evidence`` and ``advice``), or ``None``.

    >>> diagnose({"loss": [2.3, 2.3]}, [2.3, 2.4, float("nan")]).headline.title
    'Diverged at step 2'
    """
    if task not in ("classification", "regression"):
        raise DiagnosisError(f"diagnose: task must be 'classification' or 'regression', got {task!r}")
    if chance is not None and not 0 <= chance <= 1:
        raise DiagnosisError(f"diagnose: chance must be an accuracy in [0, 1], got {chance!r}")
    loss = _series(epochs, "loss")
    for key, values in epochs.items():
        if len(values) != len(loss):
            raise DiagnosisError(f"diagnose: every epoch series must have one value per epoch ({len(loss)} for "
                                 f"'loss'), got {len(values)} for {key!r}")
    findings = [_outcome(epochs, [float(v) for v in step_losses], task, chance, divergence_factor, val_tolerance,
                         patience, train_drop, fit_accuracy, fit_r2)]
    g = _gradient(gradient)
    if g is not None:
        findings.append(g)
    return Diagnosis(tuple(findings))


def _outcome(epochs: Mapping[str, Sequence[float]], steps: list[float], task: str, chance: float | None,
             divergence_factor: float, val_tolerance: float, patience: int, train_drop: float,
             fit_accuracy: float, fit_r2: float) -> Finding:
    if not _series(epochs, "loss") and not steps:
        return Finding("no_records", "No training records", ("the run recorded no epoch and no step",),
                       ("Train for at least one epoch to get a diagnosis.",))
    return (_diverged(epochs, steps, divergence_factor)
            or _did_not_learn(epochs, task, chance)
            or _overfitting(epochs, val_tolerance, patience, train_drop)
            or _underfitting(epochs, task, fit_accuracy, fit_r2)
            or _learned_well(epochs, task))


def _diverged(epochs: Mapping[str, Sequence[float]], steps: list[float], factor: float) -> Finding | None:
    """The first step whose loss is not finite or above ``factor`` x the first step's loss."""
    where: int | None = None
    cause = ""
    if steps:
        first = steps[0]
        for s, v in enumerate(steps):
            if not math.isfinite(v):
                where, cause = s, f"the loss at step {s} is {v}"
                break
            if math.isfinite(first) and first > 0 and v > factor * first:
                where, cause = s, f"the loss grew from {_g(first)} (step 0) to {_g(v)} at step {s}, more than " \
                                  f"{factor:g} x its start"
                break
    if where is None:
        loss = _series(epochs, "loss")
        bad = next((e for e, v in enumerate(loss) if not math.isfinite(v)), None)
        if bad is None:
            return None
        return Finding("diverged", f"Diverged in epoch {bad + 1}", (f"the mean training loss of epoch {bad + 1} is "
                                                                   f"{loss[bad]}",),
                       _DIVERGED_ADVICE, epoch=bad + 1)
    return Finding("diverged", f"Diverged at step {where}", (cause,), _DIVERGED_ADVICE, step=where)


_DIVERGED_ADVICE = ("Lower the learning rate (by 10x), or find one with 'gradwise lr-find'.",
                    "Clip the gradient norm (nn.utils.clip_grad_norm_) if the loss spikes only now and then.")


def _final(epochs: Mapping[str, Sequence[float]], name: str) -> tuple[float | None, str]:
    """The last finite value of ``val_<name>`` (if measured) else of ``name``, and which it was."""
    v = _last_finite(_series(epochs, "val_" + name))
    if v is not None:
        return v, "validation " + name
    return _last_finite(_series(epochs, name)), "training " + name


def _did_not_learn(epochs: Mapping[str, Sequence[float]], task: str, chance: float | None) -> Finding | None:
    if task == "regression":
        r2, which = _final(epochs, "r2")
        if r2 is None or r2 > 0:
            return None
        return Finding("did_not_learn", "Did not learn", (
            f"final {which} {_g(r2)} <= 0: no better than always predicting the mean target",),
            _DNL_ADVICE)
    acc, which = _final(epochs, "accuracy")
    if acc is None or chance is None:
        return None
    margin = max(0.05, 0.1 * (1 - chance))
    if acc > chance + margin:
        return None
    evidence = [f"final {which} {acc:.1%} is at chance level: always predicting the most common class scores "
                f"{chance:.1%} (a run that learned scores above {chance + margin:.1%})"]
    train = _last_finite(_series(epochs, "accuracy"))
    if which.startswith("validation") and train is not None and train > chance + 2 * margin:
        evidence.append(f"the training accuracy reached {train:.1%}: the model memorised its training samples "
                        "without learning anything that holds on new data (are the labels shuffled or noise?)")
    return Finding("did_not_learn", "Did not learn (chance level)", tuple(evidence), _DNL_ADVICE)


_DNL_ADVICE = ("Check the learning rate is not 0 or tiny and the labels match the inputs.",
               "Run 'gradwise lr-find'; check the gradient section for vanishing or dead layers.")


def _overfitting(epochs: Mapping[str, Sequence[float]], tol: float, patience: int,
                 train_drop: float) -> Finding | None:
    loss, val = _series(epochs, "loss"), _series(epochs, "val_loss")
    n = len(val)
    if n < patience + 1 or not all(math.isfinite(v) for v in val + loss):
        return None
    # k: the earliest epoch that no later epoch beats by more than tol (relative)
    k = next(e for e in range(n) if all(val[j] > (1 - tol) * val[e] for j in range(e + 1, n)))
    if n - 1 - k < patience or not loss[-1] <= (1 - train_drop) * loss[k] or not val[-1] > loss[-1]:
        return None
    rising = val[-1] > (1 + tol) * val[k]
    trend = f"rose from {_g(val[k])} to {_g(val[-1])}" if rising else f"stayed flat near {_g(val[k])} " \
        f"(ends at {_g(val[-1])})"
    evidence: tuple[str, ...] = (f"since epoch {k + 1} the validation loss {trend} while the training loss fell from "
                f"{_g(loss[k])} to {_g(loss[-1])}",
                f"final gap: validation loss {_g(val[-1])} vs training loss {_g(loss[-1])} "
                f"({val[-1] / loss[-1]:.3g} x)" if loss[-1] > 0 else f"final validation loss {_g(val[-1])}")
    va = _series(epochs, "val_accuracy")
    if va and math.isfinite(va[k]) and math.isfinite(va[-1]):
        evidence += (f"validation accuracy {va[k]:.1%} at epoch {k + 1}, {va[-1]:.1%} at the end",)
    return Finding("overfitting", f"Overfitting since epoch {k + 1}" + (" (validation loss rising)" if rising else ""),
                   evidence,
                   (f"Stop near epoch {k + 1} (early stopping on val_loss) or keep the best checkpoint.",
                    "Regularise: weight decay, dropout, a smaller model or more training data."), epoch=k + 1)


def _underfitting(epochs: Mapping[str, Sequence[float]], task: str, fit_accuracy: float,
                  fit_r2: float) -> Finding | None:
    loss = _series(epochs, "loss")
    if task == "classification":
        name, bar = "accuracy", fit_accuracy
    else:
        name, bar = "r2", fit_r2
    train = _last_finite(_series(epochs, name))
    if train is None or train >= bar or not loss:
        return None
    n = len(loss)
    q = max(1, n // 4)
    start = loss[-1 - q] if n > q else loss[0]
    improving = n > 1 and loss[-1] < 0.95 * start
    shown = f"{train:.1%}" if name == "accuracy" else _g(train)
    evidence = (f"final training {name} {shown} is below {bar:.0%}" if name == "accuracy" else
                f"final training r2 {shown} is below {bar:g}",
                f"training loss {_g(start)} -> {_g(loss[-1])} over the last {q} epoch(s): "
                + ("still falling" if improving else "flat"))
    advice = (("Train longer, or raise the learning rate: the loss is still falling.",) if improving else
              ("Give the model more capacity (wider or deeper), raise the learning rate or remove regularisation.",
               "If the data are noisy this may be near the best any model reaches: compare with a simpler one."))
    return Finding("underfitting", "Underfitting" + (" (still improving)" if improving else ""), evidence, advice)


def _learned_well(epochs: Mapping[str, Sequence[float]], task: str) -> Finding:
    name = "accuracy" if task == "classification" else "r2"
    evidence = []
    for key in (name, "val_" + name):
        v = _last_finite(_series(epochs, key))
        if v is not None:
            label = ("validation " if key.startswith("val_") else "training ") + name
            evidence.append(f"final {label} {v:.1%}" if name == "accuracy" else f"final {label} {_g(v)}")
    loss, val = _last_finite(_series(epochs, "loss")), _last_finite(_series(epochs, "val_loss"))
    if loss is not None and val is not None:
        evidence.append(f"final training loss {_g(loss)}, validation loss {_g(val)}: no sign of overfitting")
    elif loss is not None:
        evidence.append(f"final training loss {_g(loss)} (no validation split to check generalisation)")
    return Finding("learned_well", "Learned well", tuple(evidence),
                   ("Check the test figures in the summary; try a smaller model or fewer epochs for the same result.",))


def _gradient(report: Any) -> Finding | None:
    if report is None:
        return None
    flagged = [lv for lv in report.layers if lv.verdict != "healthy"]
    if not flagged:
        return None
    evidence = tuple(f"{lv.label}: {lv.verdict}" + (f": {lv.evidence[0].text}" if lv.evidence else "")
                     for lv in flagged)
    advice = tuple(dict.fromkeys(a for lv in flagged for a in lv.advice))[:2]
    names = tuple(lv.label for lv in flagged)
    kinds = sorted({lv.verdict for lv in flagged})
    title = f"Gradient problem ({', '.join(kinds)}) in layer{'s' if len(names) > 1 else ''} {', '.join(names)}"
    return Finding("gradient", title, evidence, advice or ("See the gradient section.",), layers=names)


def chance_level(labels: Sequence[int] | Any) -> float:
    """The accuracy of always predicting the most common label: the majority-class rate.

    >>> chance_level([0, 0, 1, 2])
    0.5
    """
    import numpy as np

    y = np.asarray(labels).reshape(-1)
    if y.size == 0:
        raise DiagnosisError("chance_level: no labels given")
    _, counts = np.unique(y, return_counts=True)
    return float(counts.max() / y.size)
