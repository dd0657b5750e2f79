"""Run the benchmark suite: gradwise vs hand-written NumPy vs PyTorch, same run, same machine.

    python benchmarks/run.py                      # table + benchmarks/results/latest.json
    python benchmarks/run.py --markdown           # also the Markdown tables of benchmarks/RESULTS.md
    python benchmarks/run.py --only W1_tiny_mlp,W4_cnn --runs 1
    python benchmarks/run.py --torch-python /path/to/python-with-torch
    python benchmarks/run.py --compile            # gradwise.compile'd W1/W2 vs eager, NumPy, PyTorch

Each (workload, framework) pair runs in its own subprocess (no shared caches, threads or
allocator state) that checks, warms up, calibrates and times (benchmarks/measure.py).
The whole set of subprocesses is run ``--runs`` times, interleaved (gradwise, numpy,
torch, gradwise, ...), and each figure is the median over the runs of the per-subprocess
medians; ratios are ratios of those medians.  The JSON keeps every repeat of every run.

Correctness first: the check values (the first training steps' losses from the same
initial weights and batches, float32) of every framework must agree with gradwise's to
``--rtol`` (relative), else that workload is reported as DISAGREES, its timing is not
reported, and the command exits with status 1: a fast wrong answer cannot pass.

Clock (``--clock``): ``cpu`` (default) reads each repeat by the process's CPU time (user +
system, all threads), ``wall`` by wall-clock time; both are printed and kept.  With one
compute thread per framework they agree on an idle machine; on a shared one a descheduled
process's wall time grows while its CPU time does not, so CPU time is the steadier figure
(page faults and any helper threads still count).

Threads: every subprocess gets OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS
= ``--threads`` (default 1) and PyTorch additionally ``torch.set_num_threads(--threads)``,
so every framework computes on the same number of threads.

Allocator (``--malloc``): gradwise raises glibc's mmap/trim thresholds when asked to
(``gradwise.set_allocator_tuning(True)``, gradwise/allocator.py), so a training step
reuses the pages of the previous one; the benchmark asks, as ``gradwise train`` does.
``default``: gradwise with the tuning on, the hand-written NumPy code with the same setting (it is
the ceiling for a NumPy engine), PyTorch as shipped (glibc's defaults); ``all``: PyTorch
gets the setting too; ``none``: nobody (GRADWISE_MALLOC_TUNING=0).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.measure import import_time, run_sub  # noqa: E402
from benchmarks.report import FRAMEWORKS, TARGETS, disagreement, machine, table  # noqa: E402


def _median_of(runs: dict[str, list[dict[str, Any]]], key: str) -> dict[str, float]:
    return {fw: statistics.median(x[key] for x in r) for fw, r in runs.items() if r}


def run_workload(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """All runs of one workload; an ``error`` entry instead of medians when the frameworks disagree."""
    runs: dict[str, list[dict[str, Any]]] = {fw: [] for fw in FRAMEWORKS}
    for _ in range(args.runs):
        for fw in FRAMEWORKS:
            python = args.torch_python if fw == "torch" else sys.executable
            res = run_sub(python, name, fw, args.repeats, args.min_time, args.threads, args.malloc)
            if res is not None:
                runs[fw].append(res)
        error = disagreement({fw: r[-1]["check"] for fw, r in runs.items() if r}, args.rtol)
        if error:
            print(f"{name}: ABORTED, the frameworks disagree: {error}", file=sys.stderr)
            return {"runs": runs, "error": error}
    key = f"{args.clock}_seconds_per_step"
    spread = {fw: max(x[key] for x in r) / min(x[key] for x in r) - 1 for fw, r in runs.items() if r}
    print(f"{name}: done (run-to-run spread of {args.clock} time: "
          + ", ".join(f"{fw} {100 * s:.0f}%" for fw, s in spread.items()) + ")", file=sys.stderr)
    return {"runs": runs, "spread": spread,
            "median_cpu": _median_of(runs, "cpu_seconds_per_step"),
            "median_wall": _median_of(runs, "wall_seconds_per_step"),
            "peak_mib": _median_of(runs, "rss_peak_mib"), "import_mib": _median_of(runs, "rss_import_mib")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default=sys.executable,
                    help="Python interpreter that has torch installed (default: this one)")
    ap.add_argument("--runs", type=int, default=3, help="subprocesses per (workload, framework); median")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats per subprocess; median")
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per repeat")
    ap.add_argument("--threads", type=int, default=1, help="BLAS / PyTorch threads in every framework")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="the clock of the first table")
    ap.add_argument("--malloc", choices=("default", "all", "none"), default="default",
                    help="allocator setting (see above)")
    ap.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance of the agreement check")
    ap.add_argument("--only", default=None, help="comma-separated workload names")
    ap.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "latest.json"))
    ap.add_argument("--compile", action="store_true",
                    help="time gradwise.compile'd W1/W2/W3 steps against eager gradwise, NumPy by hand and "
                         "PyTorch (same run); writes benchmarks/results/compile.json")
    args = ap.parse_args()
    if args.compile:
        return compile_comparison(args)

    from benchmarks.workloads import WORKLOADS

    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    results = {name: run_workload(name, args) for name in names}
    imports = {"gradwise": import_time(sys.executable, "gradwise", args.threads),
               "torch": import_time(args.torch_python, "torch", args.threads)}

    clocks = (args.clock, "wall" if args.clock == "cpu" else "cpu")
    for clock in clocks:
        print(f"\n[{clock} time{', same run' if clock != args.clock else ''}]")
        print(table(results, imports, clock))
    if args.markdown:
        for clock in clocks:
            print(f"\n{clock} time:\n")
            print(table(results, imports, clock, markdown=True))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"date": started, "command": " ".join(["python", *sys.argv]), "machine": machine(),
              "threads": args.threads, "malloc": args.malloc, "clock": args.clock, "runs": args.runs,
              "repeats": args.repeats, "min_time": args.min_time, "rtol": args.rtol, "targets": TARGETS,
              "results": results, "import_seconds": imports}
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out}", file=sys.stderr)
    return 1 if any(r.get("error") for r in results.values()) else 0


def compile_comparison(args: argparse.Namespace) -> int:
    """``--compile``: each of eager gradwise, compiled gradwise, NumPy and PyTorch in its own
    subprocess, interleaved ``--runs`` times; medians and ratios as in the main table."""
    from benchmarks.compiled import COMPILED_WORKLOADS, compile_table, cpu_model, run_compiled_sub

    names = args.only.split(",") if args.only else ["W1_tiny_mlp", "W2_mlp_b128", "W3_op_overhead"]
    unknown = [n for n in names if n not in COMPILED_WORKLOADS]
    if unknown:
        raise SystemExit(f"--compile times {list(COMPILED_WORKLOADS)}; not {unknown}")
    results: dict[str, Any] = {}
    for name in names:
        runs: dict[str, list[dict[str, Any]]] = {fw: [] for fw in ("gradwise", "compiled", "numpy", "torch")}
        for _ in range(args.runs):
            for fw in runs:
                if fw == "compiled":
                    res = run_compiled_sub(name, args.repeats, args.min_time, args.threads, args.malloc)
                else:
                    python = args.torch_python if fw == "torch" else sys.executable
                    res = run_sub(python, name, fw, args.repeats, args.min_time, args.threads, args.malloc)
                if res is not None:
                    runs[fw].append(res)
        error = disagreement({fw: r[-1]["check"] for fw, r in runs.items() if r}, args.rtol)
        results[name] = {"runs": runs, "error": error} if error else {
            "runs": runs, "median_cpu": _median_of(runs, "cpu_seconds_per_step"),
            "median_wall": _median_of(runs, "wall_seconds_per_step")}
        print(f"{name}: done", file=sys.stderr)
    cpu = cpu_model()
    print(f"\nCPU: {cpu}; {args.threads} BLAS thread(s); malloc {args.malloc}; median of {args.runs} runs")
    for clock in (args.clock, "wall" if args.clock == "cpu" else "cpu"):
        print(f"\n{clock} time, steps/s:\n")
        print(compile_table(results, clock))
    out = Path(args.json).with_name("compile.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                               "command": " ".join(["python", *sys.argv]), "cpu": cpu, "machine": machine(),
                               "threads": args.threads, "malloc": args.malloc, "results": results}, indent=2))
    print(f"\nwrote {out}", file=sys.stderr)
    return 1 if any(r.get("error") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
