"""One measurement, in a fresh subprocess: check values, warm-up, calibrated timed repeats,
peak memory; and the import time of a framework.

Timing: after the check (the first training steps from the fresh model) and three warm-up
steps, the number of steps per repeat is doubled until one repeat lasts ``min_time``
seconds; then ``repeats`` repeats are timed, each by wall-clock (``time.perf_counter``)
and by the process's CPU time (user + system, all threads: ``time.process_time``).

Memory: ``rss_peak_mib`` is the subprocess's peak resident set size,
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the interpreter, NumPy or PyTorch and the
workload together); ``rss_import_mib`` is the same figure right after importing the
framework, before the workload is built.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODULES = {"gradwise": "gradwise", "numpy": "numpy", "torch": "torch"}


def rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    scale = 1.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def measure(workload: str, framework: str, repeats: int, min_time: float, threads: int,
            malloc: str = "default") -> dict[str, Any]:
    """Time one workload in this process (called in a fresh subprocess by :func:`run_sub`)."""
    __import__(MODULES[framework])
    rss_import = rss_mib()
    sys.path.insert(0, str(ROOT))
    from benchmarks.workloads import WORKLOADS

    if (framework == "numpy" and malloc != "none") or (framework == "torch" and malloc == "all"):
        from benchmarks.malloc import keep_freed_memory

        keep_freed_memory()
    if framework == "gradwise" and malloc != "none":   # opt-in since gradwise 0.1 (as `gradwise train` does)
        import gradwise

        gradwise.set_allocator_tuning(True)
    step, check = WORKLOADS[workload](framework, threads)
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
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            step()
        t1, c1 = time.perf_counter(), time.process_time()
        wall.append((t1 - t0) / n)
        cpu.append((c1 - c0) / n)
    info: dict[str, Any] = {}
    if framework == "torch":
        import torch

        info = {"torch_threads": torch.get_num_threads(), "torch_version": torch.__version__}
    return {"wall_seconds_per_step": statistics.median(wall), "cpu_seconds_per_step": statistics.median(cpu),
            "wall_seconds": wall, "cpu_seconds": cpu, "steps_per_repeat": n,
            "check": values, "rss_import_mib": rss_import, "rss_peak_mib": rss_mib(), **info}


def subprocess_env(threads: int, malloc: str = "default") -> dict[str, str]:
    """The same thread counts for every BLAS/OpenMP runtime; GRADWISE_MALLOC_TUNING=0 for ``none``."""
    t = str(threads)
    env = dict(os.environ, OMP_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, MKL_NUM_THREADS=t)
    if malloc == "none":
        env["GRADWISE_MALLOC_TUNING"] = "0"
    else:
        env.pop("GRADWISE_MALLOC_TUNING", None)
    return env


def run_sub(python: str, workload: str, framework: str, repeats: int, min_time: float, threads: int,
            malloc: str) -> dict[str, Any] | None:
    """:func:`measure` in a fresh interpreter; None when PyTorch is not installed there."""
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.measure import measure; "
            f"print(json.dumps(measure({workload!r}, {framework!r}, {repeats}, {min_time!r}, {threads}, "
            f"{malloc!r})))")
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=subprocess_env(threads, malloc))
    if r.returncode != 0:
        if framework == "torch" and "No module named 'torch'" in r.stderr:
            return None
        raise RuntimeError(f"{workload}/{framework} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def import_time(python: str, module: str, threads: int, repeats: int = 5) -> float | None:
    """Median seconds of a fresh interpreter's ``import module``, with bytecode cached
    (as after any pip install): one untimed import first writes the .pyc files."""
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    env = {k: v for k, v in subprocess_env(threads).items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([python, "-c", f"import {module}"], capture_output=True, cwd=ROOT, env=env)
    out = []
    for _ in range(repeats):
        r = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
        if r.returncode != 0:
            return None
        out.append(float(r.stdout.strip()))
    return statistics.median(out)
