"""A gradient monitor's records as a file: what a run folder keeps so its report can be rebuilt.

:func:`monitor_records` takes what the report draws from a live
:class:`~gradwise.insight.GradientMonitor` (each layer's gradient norm per sampled step, the
health report, the sampling settings) into a :class:`MonitorRecords`;
:func:`save_monitor_records` writes it as JSON (atomically; non-finite numbers become
``null``) and :func:`load_monitor_records` reads it back.  A ``MonitorRecords`` offers the
parts of the monitor's interface the report uses (``layer_names``, ``layer_history(name)``,
``report()``), so the page drawn from a file is the page drawn at train time.

>>> import gradwise as gw, tempfile, os
>>> from gradwise import nn
>>> from gradwise.insight import GradientMonitor
>>> gen = gw.Generator().manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 8, generator=gen), nn.ReLU(), nn.Linear(8, 1, generator=gen))
>>> with GradientMonitor(model) as monitor:
...     model(gw.randn(16, 4, generator=gen)).pow(2).mean().backward()
...     monitor.observe_gradients()
>>> path = os.path.join(tempfile.mkdtemp(), "monitor.json")
>>> _ = save_monitor_records(monitor, path)
>>> back = load_monitor_records(path)
>>> back.layer_names, back.report().verdict, back.samples_in_window, back.every
(['0', '2'], 'healthy', 1, 1)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.atomic_files import write_text_atomic
from gradwise.errors import GradwiseError
from gradwise.insight.report import GradientReport, LayerVerdict
from gradwise.insight.verdicts import Evidence, LayerFigures, Thresholds

FORMAT = "gradwise-monitor-records"
VERSION = 1
MONITOR_FILE = "monitor.json"       # its name in a run folder


class MonitorRecordsError(GradwiseError, ValueError):
    """A monitor-records file that cannot be read: the message names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class LayerSeries:
    """One layer's gradient norm (applied, L2 over its parameters) per sampled step, oldest first."""

    name: str
    kind: str
    activation: str | None
    steps: np.ndarray           # (T,) int64
    grad_norm: np.ndarray       # (T,) float64, NaN where no gradient

    @property
    def label(self) -> str:
        """``name (Kind+Activation)``, as :attr:`LayerVerdict.label`."""
        return f"{self.name} ({self.kind}" + (f"+{self.activation})" if self.activation else ")")


@dataclass(frozen=True, eq=False)
class MonitorRecords:
    """What a report needs from a gradient monitor.

    ``every``: one step in ``every`` was sampled; ``window``: the most samples kept;
    ``samples_total``: samples taken over the run; ``samples_in_window``: those kept (the last
    ones); ``steps_seen``: optimizer steps the monitor saw.
    """

    layers: tuple[LayerSeries, ...]
    gradient_report: GradientReport
    every: int
    window: int
    samples_total: int
    steps_seen: int

    @property
    def layer_names(self) -> list[str]:
        return [s.name for s in self.layers]

    def layer_history(self, name: str) -> LayerSeries:
        for s in self.layers:
            if s.name == name:
                return s
        raise MonitorRecordsError(f"MonitorRecords.layer_history: no layer {name!r}; layers: {self.layer_names}")

    def report(self) -> GradientReport:
        return self.gradient_report

    @property
    def samples_in_window(self) -> int:
        return len(self.layers[0].steps) if self.layers else 0

    def window_text(self) -> str:
        """``sampled every 6 steps: 200 samples, steps 150-1344 (225 taken in all; the window keeps the last 200)``."""
        steps = self.layers[0].steps if self.layers else np.zeros(0, dtype=np.int64)
        n = len(steps)
        if n == 0:
            return "no steps sampled"
        every = "every step" if self.every == 1 else f"every {self.every} steps"
        span = f"step {int(steps[0])}" if n == 1 else f"steps {int(steps[0])}-{int(steps[-1])}"
        text = f"sampled {every}: {n} sample{'s' if n != 1 else ''}, {span}"
        if self.samples_total > n:
            text += f" ({self.samples_total} taken in all; the window keeps the last {self.window})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (non-finite numbers are ``None``)."""
        return {"format": FORMAT, "version": VERSION, "every": self.every, "window": self.window,
                "samples_total": self.samples_total, "steps_seen": self.steps_seen,
                "layers": [{"name": s.name, "kind": s.kind, "activation": s.activation,
                            "steps": [int(v) for v in s.steps], "grad_norm": [_clean(v) for v in s.grad_norm]}
                           for s in self.layers],
                "report": self.gradient_report.to_dict()}


def monitor_records(monitor: Any) -> MonitorRecords:
    """The records of a live :class:`~gradwise.insight.GradientMonitor` (which must have observed a step)."""
    if isinstance(monitor, MonitorRecords):
        return monitor
    rep = monitor.report()
    layers = []
    for name in monitor.layer_names:
        h = monitor.layer_history(name)
        layers.append(LayerSeries(h.name, h.kind, h.activation, np.asarray(h.steps, dtype=np.int64),
                                  np.asarray(h.grad_norm, dtype=np.float64)))
    return MonitorRecords(tuple(layers), rep, int(monitor.every), int(monitor.window), int(rep.steps_observed),
                          int(monitor.steps_seen))


def save_monitor_records(monitor: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``monitor``'s records (a GradientMonitor or MonitorRecords) to ``path`` as JSON, atomically."""
    records = monitor_records(monitor)
    write_text_atomic(path, json.dumps(records.to_dict(), allow_nan=False, separators=(",", ":")) + "\n")
    return Path(path)


def load_monitor_records(path: str | os.PathLike[str]) -> MonitorRecords:
    """Read a file written by :func:`save_monitor_records`; a damaged file raises
    :class:`MonitorRecordsError` naming it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MonitorRecordsError(f"load_monitor_records: {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MonitorRecordsError(f"load_monitor_records: {path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MonitorRecordsError(f"load_monitor_records: {path} is not a gradwise monitor-records file "
                                  f"(no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise MonitorRecordsError(f"load_monitor_records: {path} has version {data.get('version')!r}; this gradwise "
                                  f"reads version {VERSION}")
    try:
        layers = tuple(LayerSeries(d["name"], d["kind"], d["activation"], np.asarray(d["steps"], dtype=np.int64),
                                   np.asarray([math.nan if v is None else v for v in d["grad_norm"]],
                                              dtype=np.float64)) for d in data["layers"])
        return MonitorRecords(layers, _report_from_dict(data["report"]), int(data["every"]), int(data["window"]),
                              int(data["samples_total"]), int(data["steps_seen"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise MonitorRecordsError(f"load_monitor_records: {path} is damaged ({type(exc).__name__}: {exc})") from None


def _clean(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _nan(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with ``None`` turned back into NaN for the dataclass's float fields."""
    floats = {f.name for f in dataclasses.fields(cls) if f.type in ("float", float)}
    return {k: (math.nan if v is None and k in floats else v) for k, v in values.items()}


def _report_from_dict(d: dict[str, Any]) -> GradientReport:
    layers = tuple(LayerVerdict(lv["name"], lv["kind"], lv["activation"], lv["verdict"],
                                LayerFigures(**_nan(LayerFigures, lv["figures"])),
                                tuple(Evidence(**_nan(Evidence, e)) for e in lv["evidence"]), tuple(lv["advice"]))
                   for lv in d["layers"])
    rest = _nan(GradientReport, {k: v for k, v in d.items() if k not in ("layers", "thresholds", "advice")})
    return GradientReport(layers=layers, thresholds=Thresholds(**d["thresholds"]), advice=tuple(d["advice"]), **rest)
