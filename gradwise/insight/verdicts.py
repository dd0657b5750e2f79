"""Verdicts on a layer's gradient health: the thresholds, the rules and the advice.

The rules run on :class:`LayerFigures` (figures summarised over the monitor's window)
in a fixed priority order; every rule that fires leaves an :class:`Evidence` (the
figure, its value, the threshold and a sentence), the first one names the verdict.

How depth enters: vanishing and exploding are judged on the layer's gradient norm
*relative to the last layer's*, never on an absolute number.  The absolute size of a
gradient says little (it scales with the loss, the batch, the number of weights),
whereas the backward pass multiplies the signal by one Jacobian per layer, so a
network whose per-layer factor is ``r`` shows ``r ** d`` at ``d`` layers from the
output: the relative norm is exactly that product, and ``decay_per_layer`` (its
``d``-th root) is ``r``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradwise.errors import GradwiseError

# From worst to mildest; a report's overall verdict is the worst of its layers'.
VERDICTS = ("exploding", "dead", "vanishing", "saturated", "stalled", "noisy", "healthy")

# Layers whose gradients are sparse by design (only the rows looked up get one).
SPARSE_KINDS = frozenset(("Embedding", "EmbeddingBag"))
RECURRENT_KINDS = frozenset(("RNN", "LSTM", "GRU"))
NORM_KINDS = frozenset(("BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"))


class MonitorError(GradwiseError, ValueError):
    """A gradient-monitor option or call that cannot work; the message names it and what is valid."""


class MonitorTypeError(GradwiseError, TypeError):
    """A gradient-monitor argument of the wrong type (a model that is not a Module, ...)."""


@dataclass(frozen=True)
class Thresholds:
    """The limits the verdicts use (all configurable; the defaults are justified below).

    >>> Thresholds().vanishing_ratio, Thresholds(vanishing_ratio=1e-4).vanishing_ratio
    (0.001, 0.0001)
    """

    # Vanishing: a layer's gradient norm below 1e-3 x the last layer's.  In a well-initialised
    # net (He for ReLU, Xavier for tanh) the per-layer norms differ only by fan-in/fan-out
    # factors and the input's scale: measured at 0.05-0.5 x the last layer over 10-20 ReLU
    # layers.  With one learning rate a layer moves in proportion to its gradient, so at 1e-3
    # it learns a thousand times slower than the output layer, a gap initialisation factors
    # alone do not explain.  A 10-layer sigmoid net sits at ~1e-8: sigmoid' <= 1/4 times a
    # default-init weight gain of ~0.58 gives ~0.14 per layer, and 0.14**4 already < 1e-3.
    vanishing_ratio: float = 1e-3
    # Exploding (through depth): the mirror image, gradients 1000x the last layer's.
    exploding_ratio: float = 1e3
    # Update-to-weight ratio ||dw|| / ||w|| per step: ~1e-3 is the usual mark of healthy SGD
    # training (weights change by 0.1% per step).  Two orders of magnitude below, the layer
    # is stalled (a step of 1e-5 needs 1e5 steps to move the weights by their own size).
    update_ratio_low: float = 1e-5
    # Above 0.5 one step moves the weights by half their norm: no state survives a few
    # steps, the loss jumps or diverges.  This is what clipping the gradient norm cures.
    update_ratio_high: float = 0.5
    # Noisy: the coefficient of variation (std / mean) of the layer's gradient norm over the
    # window.  Mini-batch noise gives 0.1-0.8; even a steady trend that shrinks the norm
    # 1000-fold across the window gives only 1.6, so 2 means spikes or heavy tails.
    noisy_cv: float = 2.0
    # ...judged only once this many steps are in the window.
    min_noise_steps: int = 10
    # Dead: at least half of a ReLU layer's units output exactly 0 for the whole batch (a
    # He-initialised layer has a unit zero on all of 32 samples with probability 2**-32).
    dead_fraction: float = 0.5
    # ...measured only on batches of at least this many samples: with fewer, a healthy unit
    # (active for about half the samples) is zero for the whole batch by chance (2**-8 < 0.4%).
    dead_min_samples: int = 8
    # Dead, seen from the gradient: at least 90% of a dense layer's gradient entries exactly
    # zero; without dead units on either side a dense gradient has no exact zeros.
    zero_grad_fraction: float = 0.9
    # Saturated: at least half of a sigmoid/tanh layer's outputs in the flat tails, where they
    # pass under 4% (sigmoid) or 2% (tanh) of the gradient a unit near 0 passes.
    saturated_fraction: float = 0.5
    # "Within 1% of the bounds": sigmoid y < 0.01 or y > 0.99; tanh |y| > 0.99.
    saturation_margin: float = 0.01

    def __post_init__(self) -> None:
        for name in ("vanishing_ratio", "exploding_ratio", "update_ratio_low", "update_ratio_high", "noisy_cv"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise MonitorError(f"Thresholds: {name} must be a positive finite number, got {value!r}")
        for name in ("dead_fraction", "zero_grad_fraction", "saturated_fraction", "saturation_margin"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value <= 1):
                raise MonitorError(f"Thresholds: {name} must be a fraction in (0, 1], got {value!r}")
        if not self.vanishing_ratio < 1 < self.exploding_ratio:
            raise MonitorError(f"Thresholds: need vanishing_ratio < 1 < exploding_ratio, got "
                               f"{self.vanishing_ratio} and {self.exploding_ratio}")
        if not self.update_ratio_low < self.update_ratio_high:
            raise MonitorError(f"Thresholds: need update_ratio_low < update_ratio_high, got "
                               f"{self.update_ratio_low} and {self.update_ratio_high}")
        for name, low in (("min_noise_steps", 2), ("dead_min_samples", 1)):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
                raise MonitorError(f"Thresholds: {name} must be an int >= {low}, got {value!r}")


@dataclass(frozen=True)
class LayerFigures:
    """A layer's figures over the monitor's window (NaN where not measured).

    Gradient norms are medians over the window of the layer's L2 norm (all its parameters
    together); ``grad_norm`` is the gradient as applied (after clipping when the step was
    observed), ``raw_grad_norm`` the one right after backward.
    """

    name: str
    kind: str
    activation: str | None
    position: int                   # 0 = first layer in network order
    distance_to_last: int           # layers between this one and the last (0 for the last)
    numel: int
    steps: int                      # sampled steps in the window
    grad_norm: float
    raw_grad_norm: float
    relative_grad_norm: float       # grad_norm / the last layer's grad_norm
    decay_per_layer: float          # relative_grad_norm ** (1 / distance_to_last)
    grad_norm_cv: float
    update_ratio: float             # median ||dw|| / ||w|| per step
    weight_norm: float
    weight_rms: float               # weight_norm / sqrt(numel): the typical size of one weight
    zero_grad_fraction: float
    nonfinite_steps: int
    has_gradient: bool
    output_mean: float = math.nan
    output_std: float = math.nan
    activation_mean: float = math.nan
    activation_std: float = math.nan
    dead_fraction: float = math.nan
    saturated_fraction: float = math.nan


@dataclass(frozen=True)
class Evidence:
    """One rule that fired: ``figure`` (a LayerFigures field) ``comparison`` ``threshold``."""

    verdict: str
    figure: str
    value: float
    comparison: str                 # "<=", ">=" or "=="
    threshold: float
    text: str


@dataclass(frozen=True)
class ModelContext:
    """What the advice needs to know about the whole model."""

    depth: int                      # layers with parameters
    has_normalization: bool
    clipped: bool                   # the applied gradient was smaller than the raw one


def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else str(x)


def _finite(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def judge(f: LayerFigures, t: Thresholds) -> list[Evidence]:
    """Every rule that fires for ``f``, in priority order (empty: healthy).

    >>> f = LayerFigures("0", "Linear", "Sigmoid", 0, 9, 10, 1, 1e-9, 1e-9, 1e-8, 0.13, float("nan"),
    ...                  float("nan"), 1.0, 0.1, 0.0, 0, True)
    >>> [(e.verdict, e.figure) for e in judge(f, Thresholds())]
    [('vanishing', 'relative_grad_norm')]
    """
    found: list[Evidence] = []
    if not f.has_gradient:
        found.append(Evidence("dead", "has_gradient", 0.0, "==", 0.0,
                              "no gradient reached this layer in any observed step (p.grad is None)"))
        return found
    if f.nonfinite_steps > 0:
        found.append(Evidence("exploding", "nonfinite_steps", float(f.nonfinite_steps), ">=", 1.0,
                              f"the gradient was inf or NaN in {f.nonfinite_steps} of {f.steps} observed steps"))
    if _finite(f.relative_grad_norm) and f.relative_grad_norm >= t.exploding_ratio:
        found.append(Evidence("exploding", "relative_grad_norm", f.relative_grad_norm, ">=", t.exploding_ratio,
                              f"gradient norm is {_fmt(f.relative_grad_norm)} x the last layer's (grows "
                              f"x{_fmt(f.decay_per_layer)} per layer over {f.distance_to_last} layers; typical "
                              f"weight {_fmt(f.weight_rms)})"))
    if _finite(f.update_ratio) and f.update_ratio >= t.update_ratio_high:
        found.append(Evidence("exploding", "update_ratio", f.update_ratio, ">=", t.update_ratio_high,
                              f"one step changes the weights by {_fmt(f.update_ratio)} of their norm"))
    if _finite(f.dead_fraction) and f.dead_fraction >= t.dead_fraction:
        found.append(Evidence("dead", "dead_fraction", f.dead_fraction, ">=", t.dead_fraction,
                              f"{f.dead_fraction:.0%} of the {f.activation} units output 0 for every sample "
                              "of the batch"))
    elif f.kind not in SPARSE_KINDS and _finite(f.zero_grad_fraction) and f.zero_grad_fraction >= t.zero_grad_fraction:
        found.append(Evidence("dead", "zero_grad_fraction", f.zero_grad_fraction, ">=", t.zero_grad_fraction,
                              f"{f.zero_grad_fraction:.0%} of the gradient entries are exactly zero"))
    if _finite(f.relative_grad_norm) and f.relative_grad_norm <= t.vanishing_ratio:
        found.append(Evidence("vanishing", "relative_grad_norm", f.relative_grad_norm, "<=", t.vanishing_ratio,
                              f"gradient norm is {_fmt(f.relative_grad_norm)} x the last layer's (shrinks "
                              f"x{_fmt(f.decay_per_layer)} per layer over {f.distance_to_last} layers)"))
    # The output layer's activation is not judged for saturation: a trained classifier's
    # sigmoid should approach 0 or 1, and cross-entropy cancels its derivative anyway.
    if (f.distance_to_last > 0 and _finite(f.saturated_fraction)
            and f.saturated_fraction >= t.saturated_fraction):
        found.append(Evidence("saturated", "saturated_fraction", f.saturated_fraction, ">=", t.saturated_fraction,
                              f"{f.saturated_fraction:.0%} of the {f.activation} outputs are within "
                              f"{t.saturation_margin:g} of its bounds"))
    if _finite(f.update_ratio) and f.update_ratio <= t.update_ratio_low:
        found.append(Evidence("stalled", "update_ratio", f.update_ratio, "<=", t.update_ratio_low,
                              f"one step changes the weights by only {_fmt(f.update_ratio)} of their norm"))
    if _finite(f.grad_norm_cv) and f.steps >= t.min_noise_steps and f.grad_norm_cv >= t.noisy_cv:
        found.append(Evidence("noisy", "grad_norm_cv", f.grad_norm_cv, ">=", t.noisy_cv,
                              f"the gradient norm's coefficient of variation over {f.steps} steps is "
                              f"{_fmt(f.grad_norm_cv)}"))
    return found


def verdict_of(evidence: list[Evidence]) -> str:
    """The verdict the evidence decides: the first rule's, or ``"healthy"``."""
    return evidence[0].verdict if evidence else "healthy"


def worst(verdicts: list[str]) -> str:
    """The most severe of several verdicts (``VERDICTS`` order).

    >>> worst(["healthy", "noisy", "vanishing"])
    'vanishing'
    """
    return min(verdicts, key=VERDICTS.index, default="healthy")


# ----------------------------------------------------------------------------- advice
_NORMALISE = ("add normalisation between layers (nn.BatchNorm1d or nn.LayerNorm after each Linear) so every "
              "layer sees unit-scale inputs whatever the weights do")
_RESIDUAL = ("add residual (skip) connections, x + f(x): the identity path carries the gradient through depth "
             "undiminished")
_CLIP = ("clip the gradient norm (nn.utils.clip_grad_norm_(model.parameters(), 1.0) between backward and step, "
         "or fit(..., clip_grad_norm=1.0)) so one large gradient cannot produce a huge step")


def _vanishing_advice(f: LayerFigures, ctx: ModelContext) -> list[str]:
    out = []
    if f.kind in RECURRENT_KINDS:
        out.append("a plain RNN multiplies the gradient by W_hh^T diag(1 - h^2) at every time step; an LSTM or GRU "
                   "(nn.LSTM, nn.GRU) carries it through an additive cell state instead (with the forget-gate bias "
                   "initialised to 2 or 3, or it still halves every step)")
    if f.activation == "Sigmoid":
        out.append("sigmoid's derivative is at most 1/4, so every sigmoid layer multiplies the backward signal by at "
                   "most 0.25 x the weights' gain: use ReLU (or GELU) with He/Kaiming initialisation "
                   "(nn.init.kaiming_normal_(w, nonlinearity='relu'))")
    elif f.activation in ("Tanh", "Softsign"):
        out.append("tanh's derivative is at most 1 and far less once units saturate: use Xavier/Glorot "
                   "initialisation (nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain('tanh'))) or ReLU with "
                   "He initialisation")
    else:
        out.append("the weights are initialised too small for this depth (PyTorch's default U(+-1/sqrt(fan_in)) "
                   "has variance 1/(3 fan_in) and shrinks a ReLU net's gradient ~0.4x per layer): use He/Kaiming "
                   "initialisation (variance 2/fan_in, nn.init.kaiming_normal_) for ReLU, Xavier for tanh")
    if not ctx.has_normalization:
        out.append(_NORMALISE)
    if ctx.depth >= 6:
        out.append(_RESIDUAL)
    return out


def _exploding_advice(f: LayerFigures, ctx: ModelContext, figure: str) -> list[str]:
    out = []
    if figure == "nonfinite_steps":
        out.append("a gradient overflowed to inf/NaN: lower the learning rate, clip gradients, look for log(0) or a "
                   "division by zero in the loss, and rerun under gradwise.detect_anomaly() to find the op")
    if figure == "relative_grad_norm":
        if f.kind in RECURRENT_KINDS:
            out.append("the recurrent weights' gain exceeds 1, so the gradient grows at every time step: initialise "
                       "W_hh orthogonally (nn.init.orthogonal_), clip gradients, or use an LSTM/GRU")
        else:
            out.append("the weights are initialised too large (He/Kaiming uses std sqrt(2/fan_in), Xavier/Glorot "
                       "sqrt(2/(fan_in+fan_out))): re-initialise with nn.init.kaiming_normal_ (ReLU) or "
                       "nn.init.xavier_uniform_ (tanh, sigmoid)")
        if not ctx.has_normalization:
            out.append(_NORMALISE)
    if figure == "update_ratio":
        out.append("the updates are a large fraction of the weights where ~1e-3 is typical: lower the learning rate "
                   "(10x) or warm it up; gradients that are huge from the first step point to unstandardised inputs "
                   "or targets, or to an initialisation scale that is too large")
    if not ctx.clipped:
        out.append(_CLIP)
    return out


def _dead_advice(f: LayerFigures, figure: str) -> list[str]:
    if figure == "has_gradient":
        return ["the layer is not in the loss's graph: check that forward uses it and that nothing detaches its "
                "output or runs it under no_grad, or freeze it explicitly (requires_grad_(False))"]
    why = ("dead units pass no gradient, so the weights feeding them never change and they stay dead"
           if figure == "dead_fraction" else
           "exact zeros mean the units this layer feeds or the inputs it reads are dead (a ReLU that outputs 0 "
           "for the whole batch), or the layer is cut from the graph")
    return [why + ": causes are large negative biases, a learning rate so high that one step pushed the units "
            "negative, or a poor initialisation",
            "re-initialise with He/Kaiming weights and zero (or small positive) biases, lower the learning rate, "
            "or use LeakyReLU/ELU/GELU, which keep a gradient for negative inputs; normalisation before the "
            "activation keeps units from drifting negative"]


def _saturated_advice(f: LayerFigures, ctx: ModelContext) -> list[str]:
    out = [f"the inputs to the {f.activation} are too large (see the layer's output std): use Xavier/Glorot "
           "initialisation, standardise the inputs, or lower the learning rate",
           "or switch to ReLU-family activations, which do not saturate for positive inputs"]
    if not ctx.has_normalization:
        out.append(_NORMALISE)
    return out


def advise(f: LayerFigures, evidence: list[Evidence], ctx: ModelContext) -> tuple[str, ...]:
    """Plain-language causes and fixes for every rule that fired (duplicates removed, in order)."""
    out: list[str] = []
    for e in evidence:
        # consequences, not causes: dead units make the gradient vanish, and a vanishing gradient
        # makes the updates stall; the advice for the deciding verdict covers them
        if e.verdict == "vanishing" and evidence[0].verdict == "dead":
            continue
        if e.verdict == "stalled" and evidence[0].verdict in ("dead", "vanishing"):
            continue
        if e.verdict == "exploding":
            out += _exploding_advice(f, ctx, e.figure)
        elif e.verdict == "dead":
            out += _dead_advice(f, e.figure)
        elif e.verdict == "vanishing":
            out += _vanishing_advice(f, ctx)
        elif e.verdict == "saturated":
            out += _saturated_advice(f, ctx)
        elif e.verdict == "stalled":
            out.append("the updates are far below the ~1e-3 of their weights typical of healthy training: raise the "
                       "learning rate (try 10x), check that the optimizer was given these parameters, and that "
                       "weight decay or a finished schedule is not holding them")
        elif e.verdict == "noisy":
            out.append("the gradient jumps from step to step: use a larger batch, a lower or decaying learning "
                       "rate, clip the gradient norm to cut spikes, and check the data for outliers or wrong labels")
    return tuple(dict.fromkeys(out))
