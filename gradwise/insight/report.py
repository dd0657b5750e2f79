"""``GradientReport`` and ``LayerVerdict``: what :meth:`GradientMonitor.report` returns.

Plain frozen dataclasses: viz draws them, tests assert on them, ``to_dict()`` gives
JSON-ready data (non-finite numbers become ``None``) and ``to_text()``/``str()``
a table for people.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from gradwise.insight.html_repr import gradient_report_html
from gradwise.insight.verdicts import Evidence, LayerFigures, Thresholds


@dataclass(frozen=True)
class LayerVerdict:
    """One layer's verdict, the figures behind it, the rules that fired and the advice."""

    name: str
    kind: str
    activation: str | None
    verdict: str
    figures: LayerFigures
    evidence: tuple[Evidence, ...]      # every rule that fired; the first decided the verdict
    advice: tuple[str, ...]

    @property
    def label(self) -> str:
        """``name (Kind+Activation)``, e.g. ``0 (Linear+Sigmoid)``."""
        kind = self.kind + (f"+{self.activation}" if self.activation else "")
        return f"{self.name} ({kind})"


@dataclass(frozen=True)
class GradientReport:
    """The health of every layer, in network order, and of the whole model.

    ``first_to_last_ratio`` is the first layer's gradient norm over the last layer's and
    ``decay_per_layer`` its geometric mean per layer (``ratio ** (1 / (layers - 1))``): about
    1 in a healthy net, far below 1 when gradients vanish, far above when they explode.
    ``clip_factor`` is the median ratio of the applied to the raw global gradient norm
    (1.0 when nothing was clipped, NaN when no optimizer step was observed).
    """

    layers: tuple[LayerVerdict, ...]
    verdict: str
    first_to_last_ratio: float
    decay_per_layer: float
    steps_observed: int
    first_step: int
    last_step: int
    clip_factor: float
    thresholds: Thresholds
    advice: tuple[str, ...]

    def layer(self, name: str) -> LayerVerdict:
        """The verdict of the layer called ``name`` (its module path, e.g. ``"0"`` or ``"encoder.fc1"``)."""
        for lv in self.layers:
            if lv.name == name:
                return lv
        raise KeyError(f"GradientReport.layer: no layer {name!r}; layers are {[lv.name for lv in self.layers]}")

    @property
    def flagged(self) -> tuple[LayerVerdict, ...]:
        """The layers whose verdict is not ``healthy``."""
        return tuple(lv for lv in self.layers if lv.verdict != "healthy")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``json.dumps`` (NaN and infinities become ``None``)."""
        return _clean(asdict(self))

    def to_text(self) -> str:
        """A readable table: one row per layer, then the findings and the advice."""
        n = len(self.layers)
        span = f"step {self.first_step}" if self.first_step == self.last_step else \
            f"steps {self.first_step}-{self.last_step}"
        steps = f"{self.steps_observed} step" + ("s" if self.steps_observed != 1 else "")
        lines = [f"Gradient health: {self.verdict.upper()}  ({n} layer{'s' if n != 1 else ''}; {steps} observed, "
                 f"window {span})"]
        if n > 1:
            lines.append(f"first/last layer gradient norm: {_num(self.first_to_last_ratio)} "
                         f"(x{_num(self.decay_per_layer)} per layer)")
        clipped = math.isfinite(self.clip_factor) and self.clip_factor < 0.999
        if clipped:
            lines.append(f"gradients clipped: applied norm = {_num(self.clip_factor)} x raw norm (median); the "
                         "figures below are for the applied gradients")
        head = ["#", "layer", "verdict", "grad norm"] + (["raw norm"] if clipped else []) + \
            ["x last", "upd/w", "cv", "dead", "sat"]
        rows = []
        for i, lv in enumerate(self.layers):
            f = lv.figures
            rows.append([str(i), lv.label, lv.verdict, _num(f.grad_norm)] + ([_num(f.raw_grad_norm)] if clipped else [])
                        + [_num(f.relative_grad_norm), _num(f.update_ratio), _num(f.grad_norm_cv),
                           _pct(f.dead_fraction), _pct(f.saturated_fraction)])
        widths = [max(len(r[k]) for r in [head] + rows) for k in range(len(head))]
        for r in [head] + rows:
            lines.append("  ".join(c.ljust(w) if k < 3 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))))
        if self.flagged:
            lines.append("")
            lines.append("Findings:")
            for lv in self.flagged:
                lines.append(f"  {lv.label}: {lv.verdict}")
                for e in lv.evidence:
                    lines.append(f"    - {e.text} [{e.figure} {e.comparison} {_num(e.threshold)}: {e.verdict}]")
            lines.append("")
            lines.append("Advice:")
            lines += [f"  * {a}" for a in self.advice]
        t = self.thresholds
        lines.append("")
        lines.append(f"thresholds: vanishing <= {t.vanishing_ratio:g} x last layer, exploding >= "
                     f"{t.exploding_ratio:g} x last or update/weight >= {t.update_ratio_high:g}, stalled <= "
                     f"{t.update_ratio_low:g}, noisy cv >= {t.noisy_cv:g}, dead >= {t.dead_fraction:.0%} units, "
                     f"saturated >= {t.saturated_fraction:.0%} outputs")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        """Jupyter's display: the verdicts as a table with the findings and advice (self-contained HTML)."""
        return gradient_report_html(self)


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}" if abs(x) >= 1e-3 and abs(x) < 1e4 or x == 0 or math.isinf(x) else f"{x:.2e}"


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.0%}"


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj
