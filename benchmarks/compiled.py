"""W1/W2 with ``gradwise.compile``: the same model, weights, batches and step as the eager
gradwise workload (benchmarks/train_frameworks.py), with the step compiled.

``benchmarks/run.py --compile`` times it in its own subprocess through
:func:`measure_compiled`, which is :func:`benchmarks.measure.measure` with the workload's
gradwise step replaced by the compiled one (same calibration, repeats and allocator setting).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benchmarks.measure import ROOT, subprocess_env
from benchmarks.spec import CHECK_STEPS, Problem

COMPILED_WORKLOADS = ("W1_tiny_mlp", "W2_mlp_b32", "W2_mlp_b128", "W2_mlp_b512", "W3_op_overhead")


def compiled_training(problem: Problem, sizes: tuple[int, ...], act: str) -> tuple[Any, Any]:
    """``(step, check)`` of a compiled MLP training step (the first check step traces)."""
    import gradwise as gw
    from benchmarks.train_frameworks import build

    net = build(gw.nn, "mlp", sizes, act)
    params = dict(net.named_parameters())
    for name, w in problem.weights.items():
        params[name].data[...] = w
    opt = gw.optim.SGD(net.parameters(), lr=problem.lr, momentum=problem.momentum)
    batches = [(gw.from_numpy(x), gw.from_numpy(y)) for x, y in problem.batches]
    ce = gw.nn.functional.cross_entropy

    @gw.compile
    def train_step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = ce(net(x), y)
        loss.backward()
        opt.step()
        return loss

    state = {"i": 0}

    def step() -> Any:
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        return train_step(x, y)

    def check() -> list[float]:
        values = [float(step().item()) for _ in range(CHECK_STEPS)]
        if train_step.traces != 1 or train_step.retraces:
            raise RuntimeError(f"compiled step traced {train_step.traces} times; expected once")
        return values

    return step, check


def compiled_w3() -> tuple[Any, Any]:
    """W3 (200 elementwise ops on 16 floats, then backward) as a compiled step of ``x``."""
    import gradwise as gw
    from benchmarks.workloads import N_OPS, _w3_constants

    x0, c, d = _w3_constants()
    x = gw.tensor(x0, requires_grad=True)

    @gw.compile
    def chain(x: Any) -> Any:
        y = x
        for i in range(N_OPS):
            k = i % 3
            y = y * c if k == 0 else (y + d if k == 1 else y.tanh())
        x.grad = None
        y.sum().backward()
        return y

    def step() -> Any:
        return chain(x)

    def check() -> list[float]:
        y = step()
        y = step()          # the second call replays the plan
        return [float(y.numpy().sum()), float(x.grad.detach().numpy().sum())]

    return step, check


def measure_compiled(workload: str, repeats: int, min_time: float, threads: int, malloc: str) -> dict[str, Any]:
    """:func:`benchmarks.measure.measure` for the compiled step of ``workload``."""
    from benchmarks import workloads
    from benchmarks.measure import measure

    original = workloads.WORKLOADS[workload]
    sizes = workloads.W1_SIZES if workload.startswith("W1") else workloads.W2_SIZES
    act = "sigmoid" if workload.startswith("W1") else "relu"

    def make(framework: str, threads: int = 1) -> tuple[Any, Any]:
        if framework != "gradwise":
            return original(framework, threads)
        if workload == "W3_op_overhead":
            return compiled_w3()
        from benchmarks import spec

        batch = {"W1_tiny_mlp": 32, "W2_mlp_b32": 32, "W2_mlp_b128": 128, "W2_mlp_b512": 512}[workload]
        lr, momentum = (0.1, 0.0) if workload.startswith("W1") else (0.01, 0.9)
        return compiled_training(spec.mlp_problem(sizes, batch, lr, momentum), sizes, act)

    workloads.WORKLOADS[workload] = make
    try:
        return measure(workload, "gradwise", repeats, min_time, threads, malloc)
    finally:
        workloads.WORKLOADS[workload] = original


def run_compiled_sub(workload: str, repeats: int, min_time: float, threads: int, malloc: str) -> dict[str, Any]:
    """:func:`measure_compiled` in a fresh interpreter (as ``run_sub`` does for the others)."""
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.compiled import "
            f"measure_compiled; print(json.dumps(measure_compiled({workload!r}, {repeats}, {min_time!r}, "
            f"{threads}, {malloc!r})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=subprocess_env(threads, malloc))
    if r.returncode != 0:
        raise RuntimeError(f"{workload}/compiled failed:\n{r.stderr}")
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def cpu_model() -> str:
    """The CPU's model name and its vector extensions, as ``lscpu`` reports them."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, env={"LC_ALL": "C"}).stdout
    except OSError:
        return "unknown (no lscpu)"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    model = fields.get("Model name", "unknown").strip()
    flags = fields.get("Flags", "").split()
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile", "neon") if f in flags]
    return f"{model} ({', '.join(simd) or 'no AVX2'})"


def compile_table(results: dict[str, dict[str, Any]], clock: str) -> str:
    """Markdown: steps/s of eager, compiled, NumPy by hand and PyTorch, and the ratios."""
    rows = ["| workload | eager gradwise | compiled | NumPy by hand | PyTorch eager | compiled / eager "
            "| compiled / PyTorch | compiled / NumPy |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, res in results.items():
        if res.get("error"):
            rows.append(f"| {name} | DISAGREES: {res['error']} |")
            continue
        sec = res[f"median_{clock}"]
        rate = {fw: 1.0 / s for fw, s in sec.items()}

        def ratio(a: str, b: str) -> str:
            return f"{rate[a] / rate[b]:.2f}x" if a in rate and b in rate else "-"

        rows.append(f"| {name} | " + " | ".join(f"{rate[fw]:.0f}" if fw in rate else "-"
                                                for fw in ("gradwise", "compiled", "numpy", "torch"))
                    + f" | {ratio('compiled', 'gradwise')} | {ratio('compiled', 'torch')} | "
                    f"{ratio('compiled', 'numpy')} |")
    rows.append("")
    rows.append("W3 is 200 ops and their backward per step: its time per op is 5000 / (steps/s) us.")
    return "\n".join(rows)
