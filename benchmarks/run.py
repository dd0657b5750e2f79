"""Run the benchmark suite: gradwise vs hand-written NumPy vs PyTorch, same run, same machine.

    python benchmarks/run.py                 # table + benchmarks/results/latest.json
    python benchmarks/run.py --torch-python /path/to/python-with-torch

Each framework runs in its own subprocess (no shared caches or threads), is
warmed up, then timed as the median of several repeats.  PyTorch is optional
(`pip install torch==2.13.0`); without it the PyTorch column says "n/a".
Before timing, the frameworks' check values must agree, so a fast wrong
answer cannot pass.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("gradwise", "numpy", "torch")


def measure(workload: str, framework: str, repeats: int, min_time: float) -> dict:
    """Time one workload in this process (called in a subprocess)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.workloads import WORKLOADS

    step, check = WORKLOADS[workload](framework)
    values = check()
    for _ in range(3):
        step()
    n = 1
    while True:  # calibrate: enough steps per repeat to last min_time
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        if time.perf_counter() - t0 >= min_time:
            break
        n *= 2
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        times.append((time.perf_counter() - t0) / n)
    return {"seconds_per_step": statistics.median(times), "check": values}


def import_time(python: str, module: str, repeats: int = 5) -> float | None:
    """Median seconds of a fresh interpreter's ``import module``, with bytecode cached
    (as after any pip install): one untimed import first writes the .pyc files."""
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([python, "-c", f"import {module}"], capture_output=True, cwd=ROOT, env=env)
    out = []
    for _ in range(repeats):
        r = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
        if r.returncode != 0:
            return None
        out.append(float(r.stdout.strip()))
    return statistics.median(out)


def run_sub(python: str, workload: str, framework: str, repeats: int, min_time: float) -> dict | None:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.run import measure; "
            f"print(json.dumps(measure({workload!r}, {framework!r}, {repeats}, {min_time!r})))")
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    if r.returncode != 0:
        if framework == "torch" and "No module named 'torch'" in r.stderr:
            return None
        raise RuntimeError(f"{workload}/{framework} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _fmt(v: float | None, width: int, digits: int) -> str:
    return f"{v:{width}.{digits}f}" if v is not None else f"{'n/a':>{width}}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default=sys.executable,
                    help="Python interpreter that has torch installed (default: this one)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per repeat")
    ap.add_argument("--only", default=None, help="comma-separated workload names")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from benchmarks.workloads import PER_STEP, WORKLOADS

    names = args.only.split(",") if args.only else list(WORKLOADS)
    results: dict[str, dict] = {}
    for name in names:
        row = {}
        for fw in FRAMEWORKS:
            python = args.torch_python if fw == "torch" else sys.executable
            row[fw] = run_sub(python, name, fw, args.repeats, args.min_time)
        ref = row["gradwise"]["check"]
        for fw, res in row.items():
            if res is not None:
                import numpy as np

                if not np.allclose(res["check"], ref, rtol=1e-3, atol=1e-4):
                    raise SystemExit(f"{name}: {fw} disagrees with gradwise: {res['check']} vs {ref}")
        results[name] = row

    imports = {"gradwise": import_time(sys.executable, "gradwise"),
               "torch": import_time(args.torch_python, "torch")}

    print(f"{'workload':<18} {'unit':>7} {'gradwise':>10} {'numpy':>10} {'torch':>10} "
          f"{'gw/torch':>9} {'gw/numpy':>9}")
    for name, row in results.items():
        unit, scale = PER_STEP[name]
        vals = {fw: (r["seconds_per_step"] * scale if r else None) for fw, r in row.items()}
        rt = vals["gradwise"] / vals["torch"] if vals["torch"] else None
        rn = vals["gradwise"] / vals["numpy"] if vals["numpy"] else None
        print(f"{name:<18} {unit:>7} {_fmt(vals['gradwise'], 10, 3)} {_fmt(vals['numpy'], 10, 3)} "
              f"{_fmt(vals['torch'], 10, 3)} {_fmt(rt, 9, 2)} {_fmt(rn, 9, 2)}")
    for mod, t in imports.items():
        print(f"import {mod:<10} {f'{t:.3f} s' if t is not None else 'n/a'}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"results": results, "import_seconds": imports},
                                                indent=2))


if __name__ == "__main__":
    main()
