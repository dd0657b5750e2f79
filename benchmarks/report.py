"""Turning measurements into the table: figures per unit, ratios, the issue's targets, the
agreement check and the machine description."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

FRAMEWORKS = ("gradwise", "numpy", "torch")
# The targets: (workload, against, comparison, ratio).  For steps/s the ratio is
# gradwise's throughput over the other's (higher is better); for us/op it is gradwise's
# time over the other's (lower is better).
TARGETS: list[tuple[str, str, str, float]] = [
    ("W1_tiny_mlp", "torch", ">=", 2.0),
    ("W2_mlp_b128", "torch", ">=", 1.0),
    ("W2_mlp_b128", "numpy", ">=", 0.9),
    ("W3_op_overhead", "torch", "<=", 0.5),
    ("W4_cnn", "torch", ">=", 0.75),
    ("W5_lstm", "torch", ">=", 1.0),
]
MEMORY_WORKLOAD, MEMORY_TARGET_MIB = "W2_mlp_b128", 100.0
IMPORT_TARGET_S = 0.2


def disagreement(checks: dict[str, list[float]], rtol: float) -> str | None:
    """A message naming the first framework whose check values differ from gradwise's, or None."""
    ref = checks["gradwise"]
    for fw, vals in checks.items():
        if len(vals) != len(ref):
            return f"{fw} returned {len(vals)} check values, gradwise {len(ref)}"
        for k, (a, b) in enumerate(zip(vals, ref)):
            scale = max(abs(a), abs(b), 1e-3)
            if not abs(a - b) <= rtol * scale:
                return (f"{fw} disagrees with gradwise at check value {k} (step {k + 1}'s loss for a "
                        f"training workload): {a!r} vs {b!r}, relative difference {abs(a - b) / scale:.2e} "
                        f"> {rtol:g}")
    return None


def figure(seconds: float, name: str) -> float:
    """Seconds per step in the workload's unit (steps/s, or us per op)."""
    from benchmarks.workloads import PER_STEP

    _, factor, higher = PER_STEP[name]
    return factor / seconds if higher else seconds * factor


def ratio(medians: dict[str, float], name: str, other: str) -> float | None:
    """gradwise's figure over ``other``'s (throughput ratio or time ratio, as the unit says)."""
    gw, ot = medians.get("gradwise"), medians.get(other)
    if gw is None or ot is None:
        return None
    return figure(gw, name) / figure(ot, name)


def machine() -> dict[str, Any]:
    import numpy as np

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = ""
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name', '')} {cfg.get('version', '')}".strip()
    except Exception:  # noqa: BLE001  (the config layout differs between NumPy versions)
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "blas": blas}


def _fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if abs(v) >= 10 or digits == 0 else f"{v:.{max(digits, 2)}f}"


def _met(value: float | None, cmp: str, goal: float) -> str:
    if value is None:
        return "?"
    return "yes" if (value >= goal if cmp == ">=" else value <= goal if cmp == "<=" else value < goal) else "no"


def rows(results: dict[str, Any], imports: dict[str, float | None], clock: str) -> list[list[str]]:
    """Table rows from the per-workload results (``clock``: 'cpu' or 'wall')."""
    from benchmarks.workloads import PER_STEP

    out = []
    for name, res in results.items():
        unit = PER_STEP[name][0]
        if res.get("error"):
            out.append([name, unit, "DISAGREES", "", "", "", "", "", "no"])
            continue
        med = res[f"median_{clock}"]
        vals = [_fmt(figure(med[fw], name) if med.get(fw) else None) for fw in FRAMEWORKS]
        goals = [(f"{cmp}{goal:g}x {other}", _met(ratio(med, name, other), cmp, goal))
                 for w, other, cmp, goal in TARGETS if w == name]
        out.append([name, unit, *vals, _fmt(ratio(med, name, "torch"), 2), _fmt(ratio(med, name, "numpy"), 2),
                    ", ".join(g for g, _ in goals), ", ".join(m for _, m in goals)])
    mem = results.get(MEMORY_WORKLOAD)
    if mem and not mem.get("error"):
        peak, base = mem["peak_mib"], mem["import_mib"]
        out.append([f"{MEMORY_WORKLOAD} peak RSS", "MiB", *[_fmt(peak.get(fw), 0) for fw in FRAMEWORKS], "", "",
                    f"<={MEMORY_TARGET_MIB:g} MiB", _met(peak.get("gradwise"), "<=", MEMORY_TARGET_MIB)])
        out.append(["  (after import)", "MiB", *[_fmt(base.get(fw), 0) for fw in FRAMEWORKS], "", "", "", ""])
    gi, ti = imports.get("gradwise"), imports.get("torch")
    out.append(["import", "s", _fmt(gi, 3), "-", _fmt(ti, 3), _fmt(gi / ti if gi and ti else None, 2), "",
                f"<{IMPORT_TARGET_S:g} s", _met(gi, "<", IMPORT_TARGET_S)])
    return out


HEAD = ["workload", "unit", "gradwise", "numpy", "torch", "gw/torch", "gw/numpy", "target", "met"]


def table(results: dict[str, Any], imports: dict[str, float | None], clock: str, markdown: bool = False) -> str:
    body = rows(results, imports, clock)
    if markdown:
        lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(r[k]) for r in [HEAD, *body]) for k in range(len(HEAD))]
    return "\n".join("  ".join(c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths)))
                     for r in [HEAD, *body])
