"""``GradientMonitor``: per-parameter and per-layer gradient health, recorded through hooks.

What it watches, and how (public hooks only):

* forward hooks (``Module.register_forward_hook``) on every module that owns parameters
  (a "layer": Linear, Conv, RNN, BatchNorm...) and on every activation module (ReLU,
  Sigmoid, Tanh...): output mean and std, dead-unit fraction, saturated fraction.  A layer's
  activation is the first activation module called after it in the forward pass;
* ``p.grad`` read right after backward (:meth:`~GradientMonitor.observe_gradients`): the
  *raw* gradient, before any clipping;
* ``p.grad`` and ``p._data`` read after the optimizer step
  (:meth:`~GradientMonitor.observe_update`): the gradient as *applied* (after clipping) and
  the weight change ``dw``.

Per parameter and sampled step it keeps, in a ring buffer of the last ``window`` steps:
raw and applied gradient L2 norm, mean ``|g|``, max ``|g|``, std, fraction of exact zeros,
weight norm, update norm and update-to-weight ratio ``||dw|| / ||w||``.
:meth:`~GradientMonitor.report` turns the window into verdicts (see
:mod:`gradwise.insight.verdicts`); verdicts use the applied gradient, and the report shows
the raw norms next to it whenever clipping changed them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.autograd.grad_mode import is_grad_enabled
from gradwise.autograd.tensor import Tensor
from gradwise.insight.report import GradientReport, LayerVerdict
from gradwise.insight.ring import Ring
from gradwise.insight.stats import (
    LAYER_FIELDS,
    PARAM_FIELDS,
    activation_stats,
    gradient_stats,
    l2_norm,
    output_stats,
)
from gradwise.insight.verdicts import (
    NORM_KINDS,
    VERDICTS,
    LayerFigures,
    ModelContext,
    MonitorError,
    MonitorTypeError,
    Thresholds,
    advise,
    judge,
    verdict_of,
    worst,
)
from gradwise.nn.module import Module
from gradwise.nn.registry import activation_of
from gradwise.train.callbacks import Callback

_NAN5 = (math.nan,) * 5


@dataclass(frozen=True, eq=False)
class ParameterHistory:
    """One parameter's records over the window, oldest first (arrays of shape ``(steps,)``).

    ``update_norm``/``update_ratio`` are NaN for steps whose optimizer step was not observed.
    """

    name: str
    steps: np.ndarray
    raw_grad_norm: np.ndarray
    grad_norm: np.ndarray
    grad_mean_abs: np.ndarray
    grad_max_abs: np.ndarray
    grad_std: np.ndarray
    zero_fraction: np.ndarray
    weight_norm: np.ndarray
    update_norm: np.ndarray
    update_ratio: np.ndarray


@dataclass(frozen=True, eq=False)
class LayerHistory:
    """One layer's records over the window, oldest first (arrays of shape ``(steps,)``).

    Gradient, weight and update norms are L2 norms over all of the layer's parameters.
    """

    name: str
    kind: str
    activation: str | None
    steps: np.ndarray
    grad_norm: np.ndarray
    raw_grad_norm: np.ndarray
    weight_norm: np.ndarray
    update_ratio: np.ndarray
    zero_grad_fraction: np.ndarray
    nonfinite: np.ndarray           # bool: a gradient entry was inf or NaN
    has_gradient: np.ndarray        # bool: at least one parameter had a .grad
    output_mean: np.ndarray
    output_std: np.ndarray
    activation_mean: np.ndarray
    activation_std: np.ndarray
    dead_fraction: np.ndarray
    saturated_fraction: np.ndarray


class _Layer:
    """A module that owns parameters, with its parameters' and its own ring buffers."""

    def __init__(self, name: str, module: Module, params: list[tuple[str, Any]], window: int) -> None:
        self.name, self.module, self.kind = name, module, type(module).__name__
        self.params = params
        self.numels = np.array([p.numel() for _, p in params], dtype=np.float64)
        self.rings = {pname: Ring(window, PARAM_FIELDS) for pname, _ in params}
        self.ring = Ring(window, LAYER_FIELDS)
        self.activation: str | None = None


def _is_activation(module: Module) -> bool:
    """Whether ``module`` is an elementwise activation (by its class in the activation registry)."""
    entry = activation_of(module)
    return entry is not None and entry.elementwise


def _first_tensor(out: Any) -> Tensor | None:
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else math.nan


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else math.nan


class GradientMonitor(Callback):
    """Records gradient statistics of ``model`` and judges each layer's gradient health.

    Args:
        model: the :class:`~gradwise.nn.Module` to watch.
        every: sample every ``every``-th step (1: every step).
        window: number of sampled steps kept per parameter (ring buffers).
        thresholds: a :class:`~gradwise.insight.Thresholds` (defaults documented there).

    Use it as a fit callback, ``fit(..., callbacks=[monitor])`` (it attaches at the start
    of fit and detaches at the end), or around any loop::

        with GradientMonitor(model) as monitor:      # attach() ... detach()
            for x, y in batches:
                optimizer.zero_grad()
                loss_fn(model(x), y).backward()
                monitor.observe_gradients()          # after backward: raw gradients
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)   # optional
                optimizer.step()
                monitor.observe_update()             # after the step: applied gradients, dw
        print(monitor.report())

    ``observe_update`` is optional (without it there are no update ratios, and no
    "stalled" or update-based "exploding" verdicts).  Records stay after ``detach()``.

    >>> import gradwise as gw
    >>> from gradwise import nn
    >>> gen = gw.Generator().manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(4, 8, generator=gen), nn.ReLU(), nn.Linear(8, 1, generator=gen))
    >>> with GradientMonitor(model) as monitor:
    ...     model(gw.randn(16, 4, generator=gen)).pow(2).mean().backward()
    ...     monitor.observe_gradients()
    >>> report = monitor.report()
    >>> report.verdict, [lv.label for lv in report.layers]
    ('healthy', ['0 (Linear+ReLU)', '2 (Linear)'])
    """

    def __init__(self, model: Module, every: int = 1, window: int = 50, thresholds: Thresholds | None = None) -> None:
        if not isinstance(model, Module):
            raise MonitorTypeError(f"GradientMonitor: model must be a gradwise.nn.Module, got {type(model).__name__}")
        for name, value, low in (("every", every, 1), ("window", window, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise MonitorError(f"GradientMonitor: {name} must be an int >= {low}, got {value!r}")
        if thresholds is None:
            thresholds = Thresholds()
        if not isinstance(thresholds, Thresholds):
            raise MonitorTypeError("GradientMonitor: thresholds must be a gradwise.insight.Thresholds or None, got "
                                   f"{type(thresholds).__name__}")
        self.model, self.every, self.window, self.thresholds = model, every, window, thresholds
        self._layers: dict[str, _Layer] = {}
        self._activations: list[Module] = []
        seen: set[int] = set()
        for mname, m in model.named_modules():
            own = [(n, p) for n, p in m.named_parameters(prefix=mname, recurse=False)
                   if p.requires_grad and id(p) not in seen]
            seen.update(id(p) for _, p in own)
            if own:
                self._layers[mname or type(m).__name__] = _Layer(mname or type(m).__name__, m, own, window)
            elif _is_activation(m):
                self._activations.append(m)
        if not self._layers:
            raise MonitorError(f"GradientMonitor: {type(model).__name__} has no parameters that require grad; "
                               "there is nothing to monitor")
        self._handles: list[Any] = []
        self._trace: list[tuple[str | None, tuple[float, ...], str]] = []
        self._trace_cap = 4 * (len(self._layers) + len(self._activations)) + 16
        self._order: list[str] = list(self._layers)
        self._step = 0              # observe_gradients calls so far (sampled or not)
        self._sampled = 0           # sampled steps recorded
        self._before: dict[str, np.ndarray] = {}
        self._awaiting_update = False
        self._attached_by_fit = False

    # ----------------------------------------------------------------- hooks
    @property
    def attached(self) -> bool:
        """Whether the forward hooks are registered."""
        return bool(self._handles)

    @property
    def steps_seen(self) -> int:
        """Steps observed so far (``observe_gradients`` calls), sampled or not."""
        return self._step

    @property
    def layer_names(self) -> list[str]:
        """The layers (modules that own parameters), in network order once a forward was seen."""
        return list(self._order)

    @property
    def parameter_names(self) -> list[str]:
        return [pname for layer in self._layers.values() for pname, _ in layer.params]

    def attach(self) -> GradientMonitor:
        """Register the forward hooks (idempotent); returns ``self``."""
        if self.attached:
            return self
        for layer in self._layers.values():
            self._handles.append(layer.module.register_forward_hook(self._layer_hook(layer.name)))
        for m in self._activations:
            self._handles.append(m.register_forward_hook(self._activation_hook))
        self._trace.clear()
        return self

    def detach(self) -> None:
        """Remove every hook this monitor registered; the records are kept."""
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._trace.clear()

    def __enter__(self) -> GradientMonitor:
        return self.attach()

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def reset(self) -> None:
        """Forget every record (the hooks stay as they are)."""
        for layer in self._layers.values():
            layer.ring.clear()
            for ring in layer.rings.values():
                ring.clear()
        self._step = self._sampled = 0
        self._before.clear()
        self._awaiting_update = False
        self._trace.clear()

    def _recording(self) -> bool:
        # Only forwards that build a graph belong to a training step (evaluation under
        # no_grad is skipped), and only on sampled steps.
        return (self._step % self.every == 0 and is_grad_enabled()
                and len(self._trace) < self._trace_cap)

    def _layer_hook(self, name: str) -> Any:
        def hook(module: Module, args: Any, out: Any) -> None:
            y = _first_tensor(out)
            if y is not None and self._recording():
                self._trace.append((name, output_stats(y._data), ""))
        return hook

    def _activation_hook(self, module: Module, args: Any, out: Any) -> None:
        y = _first_tensor(out)
        if y is not None and self._recording():
            t = self.thresholds
            self._trace.append((None, activation_stats(module, y._data, t.saturation_margin, t.dead_min_samples),
                                type(module).__name__))

    # ------------------------------------------------------------- observing
    def observe_gradients(self) -> None:
        """Record the gradients now in ``p.grad`` (call after ``backward``, before clipping and
        the optimizer step) and the activations of the forward pass that produced them."""
        step = self._step
        self._step += 1
        if step % self.every != 0:
            self._trace.clear()
            return
        acts = self._consume_trace()
        self._before.clear()
        for layer in self._layers.values():
            layer.ring.push(step, acts.get(layer.name, (math.nan,) * len(LAYER_FIELDS)))
            for pname, p in layer.params:
                stats = _NAN5 if p.grad is None else gradient_stats(p.grad._data)
                layer.rings[pname].push(step, (stats[0],) + stats + (l2_norm(p._data), math.nan, math.nan))
                self._before[pname] = np.array(p._data, copy=True)
        self._sampled += 1
        self._awaiting_update = True

    def observe_update(self) -> None:
        """Record the step just taken: the gradient as applied (after any clipping) and the
        weight change ``dw`` since :meth:`observe_gradients` (call after ``optimizer.step()``)."""
        if self._step == 0:
            raise MonitorError("GradientMonitor.observe_update: no step observed yet; call observe_gradients() "
                               "after loss.backward() and before optimizer.step(), then observe_update()")
        if (self._step - 1) % self.every != 0:
            return      # not a sampled step
        if not self._awaiting_update:
            raise MonitorError(f"GradientMonitor.observe_update: called twice for step {self._step - 1}; call it "
                               "once per step, after optimizer.step()")
        self._awaiting_update = False
        for layer in self._layers.values():
            for pname, p in layer.params:
                ring = layer.rings[pname]
                stats = _NAN5 if p.grad is None else gradient_stats(p.grad._data)
                for field, value in zip(PARAM_FIELDS[1:6], stats):
                    ring.update_last(field, value)
                before = self._before.get(pname)
                if before is None or before.shape != p._data.shape:
                    continue
                with np.errstate(all="ignore"):
                    upd = l2_norm(np.asarray(p._data, dtype=np.float64) - before)
                w = ring.last("weight_norm")
                ring.update_last("update_norm", upd)
                ring.update_last("update_ratio", upd / w if w > 0 else (math.inf if upd > 0 else math.nan))
        self._before.clear()

    def _consume_trace(self) -> dict[str, tuple[float, ...]]:
        """Pair each layer's first call with the activation module called right after it."""
        out: dict[str, list[float]] = {}
        order: list[str] = []
        current: str | None = None
        for name, stats, act in self._trace:
            if name is not None:
                current = None
                if name not in out:
                    out[name] = [stats[0], stats[1]] + [math.nan] * (len(LAYER_FIELDS) - 2)
                    order.append(name)
                    current = name
            elif current is not None:
                out[current][2:] = stats
                self._layers[current].activation = act
                current = None
        self._trace.clear()
        if order:
            self._order = order + [n for n in self._layers if n not in out]
        return {k: tuple(v) for k, v in out.items()}

    # ------------------------------------------------------------- callbacks
    def on_fit_start(self, trainer: Any) -> None:
        if trainer.model is not self.model:
            raise MonitorError("GradientMonitor: the trainer's model is not the model this monitor watches; create "
                               "it with GradientMonitor(model) for the model passed to fit")
        if not self.attached:
            self.attach()
            self._attached_by_fit = True

    def on_batch_start(self, trainer: Any, batch_index: int) -> None:
        self._trace.clear()

    def on_after_backward(self, trainer: Any) -> None:
        self.observe_gradients()

    def on_batch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        self.observe_update()

    def on_fit_end(self, trainer: Any) -> None:
        if self._attached_by_fit:
            self.detach()
            self._attached_by_fit = False

    def on_exception(self, trainer: Any, exc: BaseException) -> None:
        self.on_fit_end(trainer)        # a failed fit leaves no hooks behind either

    # ------------------------------------------------------------- histories
    def parameter_history(self, name: str) -> ParameterHistory:
        """The records of parameter ``name`` (as in ``model.named_parameters()``)."""
        for layer in self._layers.values():
            if name in layer.rings:
                ring = layer.rings[name]
                return ParameterHistory(name, ring.steps(), *(ring.column(f) for f in PARAM_FIELDS))
        raise MonitorError(f"GradientMonitor.parameter_history: no monitored parameter {name!r}; monitored: "
                           f"{self.parameter_names}")

    def layer_history(self, name: str) -> LayerHistory:
        """The records of layer ``name`` (a module path, e.g. ``"0"``), its parameters combined."""
        if name not in self._layers:
            raise MonitorError(f"GradientMonitor.layer_history: no layer {name!r}; layers: {self.layer_names}")
        layer = self._layers[name]
        rings = [layer.rings[p] for p, _ in layer.params]

        def cols(field: str) -> np.ndarray:
            return np.stack([r.column(field) for r in rings])       # (params, steps)

        has = ~np.isnan(cols("zero_fraction"))                      # p.grad existed
        with np.errstate(all="ignore"):
            raw, applied = cols("raw_grad_norm"), cols("grad_norm")
            nonfinite = (has & (~np.isfinite(raw) | ~np.isfinite(applied))).any(axis=0)
            any_grad = has.any(axis=0)

            def combine(x: np.ndarray) -> np.ndarray:
                total = np.sqrt(np.sum(np.where(has, x, 0.0) ** 2, axis=0))
                return np.where(any_grad, total, math.nan)

            numel = layer.numels[:, None] * has
            zero = np.where(any_grad, np.sum(np.where(has, cols("zero_fraction"), 0.0) * numel, axis=0)
                            / np.maximum(numel.sum(axis=0), 1), math.nan)
            w = np.sqrt(np.sum(cols("weight_norm") ** 2, axis=0))
            upd_cols = cols("update_norm")
            upd = np.where(np.isnan(upd_cols).all(axis=0), math.nan, np.sqrt(np.nansum(upd_cols ** 2, axis=0)))
            ratio = np.where(w > 0, upd / np.where(w > 0, w, 1.0), np.where(upd > 0, math.inf, math.nan))
        return LayerHistory(name, layer.kind, layer.activation, layer.ring.steps(), combine(applied), combine(raw),
                            w, ratio, zero, nonfinite, any_grad, *(layer.ring.column(f) for f in LAYER_FIELDS))

    # ---------------------------------------------------------------- report
    def report(self) -> GradientReport:
        """Judge every layer over the window (see :class:`~gradwise.insight.Thresholds`)."""
        if self._sampled == 0:
            raise MonitorError("GradientMonitor.report: no gradients observed yet; call observe_gradients() after "
                               "loss.backward() (or pass the monitor to fit(callbacks=[...]))")
        hist = [self.layer_history(n) for n in self._order]
        norms = [_median(h.grad_norm) for h in hist]
        ref = max((i for i, g in enumerate(norms) if math.isfinite(g) and g > 0), default=None)
        figures = [self._figures(h, i, norms[i], ref, norms) for i, h in enumerate(hist)]
        clip = self._clip_factor(hist)
        ctx = ModelContext(depth=len(hist),
                           has_normalization=any(type(m).__name__ in NORM_KINDS for m in self.model.modules()),
                           clipped=math.isfinite(clip) and clip < 0.999)
        verdicts = []
        for f in figures:
            ev = judge(f, self.thresholds)
            verdicts.append(LayerVerdict(f.name, f.kind, f.activation, verdict_of(ev), f, tuple(ev),
                                         advise(f, ev, ctx)))
        first = next((f for f in figures if math.isfinite(f.relative_grad_norm)), None)
        ratio = first.relative_grad_norm if first is not None else math.nan
        decay = first.decay_per_layer if first is not None else math.nan
        advice: list[str] = []
        for lv in sorted(verdicts, key=lambda v: VERDICTS.index(v.verdict)):
            advice += lv.advice
        steps = hist[0].steps
        return GradientReport(tuple(verdicts), worst([v.verdict for v in verdicts]), ratio, decay, self._sampled,
                              int(steps[0]), int(steps[-1]), clip, self.thresholds, tuple(dict.fromkeys(advice)))

    def _figures(self, h: LayerHistory, i: int, g: float, ref: int | None, norms: list[float]) -> LayerFigures:
        layer = self._layers[h.name]
        rel = g / norms[ref] if ref is not None and math.isfinite(g) else math.nan
        dist = (ref - i) if ref is not None else 0
        with np.errstate(all="ignore"):
            decay = rel ** (1.0 / dist) if dist > 0 and math.isfinite(rel) else math.nan
        finite = h.grad_norm[np.isfinite(h.grad_norm)]
        cv = float(finite.std() / finite.mean()) if finite.size >= 2 and finite.mean() > 0 else math.nan
        numel = int(layer.numels.sum())
        w = float(h.weight_norm[-1])
        return LayerFigures(
            name=h.name, kind=h.kind, activation=h.activation, position=i, distance_to_last=max(dist, 0),
            numel=numel, steps=len(h.steps), grad_norm=g, raw_grad_norm=_median(h.raw_grad_norm),
            relative_grad_norm=rel, decay_per_layer=decay, grad_norm_cv=cv, update_ratio=_median(h.update_ratio),
            weight_norm=w, weight_rms=w / math.sqrt(max(numel, 1)), zero_grad_fraction=_nanmean(h.zero_grad_fraction),
            nonfinite_steps=int(h.nonfinite.sum()), has_gradient=bool(h.has_gradient.any()),
            output_mean=_nanmean(h.output_mean), output_std=_nanmean(h.output_std),
            activation_mean=_nanmean(h.activation_mean), activation_std=_nanmean(h.activation_std),
            dead_fraction=_nanmean(h.dead_fraction), saturated_fraction=_nanmean(h.saturated_fraction))

    @staticmethod
    def _clip_factor(hist: list[LayerHistory]) -> float:
        """Median over observed optimizer steps of the applied / raw global gradient norm."""
        with np.errstate(all="ignore"):
            applied = np.sqrt(np.nansum(np.stack([h.grad_norm for h in hist]) ** 2, axis=0))
            raw = np.sqrt(np.nansum(np.stack([h.raw_grad_norm for h in hist]) ** 2, axis=0))
            stepped = np.stack([~np.isnan(h.update_ratio) for h in hist]).any(axis=0)
            ratio = np.where(stepped & (raw > 0), applied / np.where(raw > 0, raw, 1.0), math.nan)
        return _median(ratio)
