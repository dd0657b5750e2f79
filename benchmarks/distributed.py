"""Data-parallel throughput of W2 (MLP 784-512-256-10, ReLU, SGD with momentum) on 1 and 2 MPI ranks.

    python benchmarks/distributed.py                  # table + benchmarks/results/distributed.json
    python benchmarks/distributed.py --ranks 1,2,4 --steps 40
    python benchmarks/distributed.py --overlap on,off --launches 3   # allreduce during vs after the backward

Each configuration is one ``mpiexec -n R`` launch of this file in ``--worker`` mode,
with one BLAS thread per rank (OMP/OPENBLAS/MKL_NUM_THREADS=1), so R ranks use R cores.
A rank trains with ``gradwise.train.fit(..., distributed=True)`` on synthetic MNIST-sized
data (so the figure includes loading batches, the gradient allreduce, the loss and flag
reductions and the optimizer step); the time of each epoch of ``--steps`` steps is taken
on rank 0 after a warm-up epoch, and the median over ``--repeats`` epochs is reported.

Two ways to scale:

* weak scaling: batch 128 per rank (global batch 128 * R), the usual data-parallel
  setting; efficiency = throughput(R) / (R * throughput(1)).
* strong scaling: global batch 128 split as 128 / R per rank (the same optimisation as
  one process); efficiency as above.

The gradient allreduce alone (the 535,818 float32 gradients of W2, 2.0 MiB, one bucket)
is timed separately as the median of 50 calls.  On a shared machine, ``--launches K``
launches every configuration K times (the configurations taking turns, so a slow spell
hits them alike) and keeps each one's fastest launch: the one least slowed by other processes.  The header names the CPU
(``lscpu``) and the load average at the start.  Requires ``pip install 'gradwise[mpi]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_BATCH = 128


def worker(per_rank_batch: int, steps: int, repeats: int, overlap: bool = True, bucket_mb: float = 25.0) -> None:
    """One rank: train W2 for ``1 + repeats`` epochs of ``steps`` steps; rank 0 prints JSON."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import gradwise as gw
    import gradwise.distributed as dist
    from gradwise import nn
    from gradwise.train import Callback, Trainer

    gw.set_allocator_tuning(True)   # as `gradwise train` does
    dist.init(required=True)
    world = dist.world_size()
    n = per_rank_batch * steps * world
    rng = np.random.default_rng(0)
    x = gw.tensor(rng.random((n, 784), dtype=np.float32))
    y = gw.tensor(rng.integers(0, 10, n))
    gen = gw.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512, generator=gen), nn.ReLU(), nn.Linear(512, 256, generator=gen),
                          nn.ReLU(), nn.Linear(256, 10, generator=gen))

    class EpochTimer(Callback):
        def __init__(self) -> None:
            self.seconds: list[float] = []

        def on_epoch_start(self, trainer, epoch):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, trainer, epoch, logs):
            self.seconds.append(time.perf_counter() - self.t0)

    timer = EpochTimer()
    trainer = Trainer(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                      batch_size=per_rank_batch, callbacks=[timer], progress=False, generator=gw.Generator(1),
                      strategy=dist.data_parallel(bucket_size_mb=bucket_mb, overlap=overlap))
    trainer.fit((x, y), epochs=1 + repeats)
    epoch_s = statistics.median(timer.seconds[1:])
    # the gradient allreduce on its own (grads are present after training)
    params = list(model.parameters())
    calls = [dist.allreduce_gradients(params)]
    times = []
    for _ in range(50):
        dist.barrier()
        t0 = time.perf_counter()
        calls.append(dist.allreduce_gradients(params))
        times.append(time.perf_counter() - t0)
    if dist.is_main():
        print(json.dumps({"ranks": world, "per_rank_batch": per_rank_batch, "steps": steps, "overlap": overlap,
                          "epoch_seconds": epoch_s, "samples_per_second": n / epoch_s,
                          "ms_per_step": 1e3 * epoch_s / steps, "allreduce_ms": 1e3 * statistics.median(times),
                          "allreduce_calls_per_step": calls[-1],
                          "gradient_mib": sum(p.detach().numpy().nbytes for p in params) / 2**20}), flush=True)


def _mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.is_file() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("benchmarks/distributed.py needs mpiexec: pip install 'gradwise[mpi]'")
    return found


def launch(ranks: int, per_rank_batch: int, steps: int, repeats: int, overlap: bool = True,
           bucket_mb: float = 25.0) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "HYDRA_"))}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [_mpiexec(), "-n", str(ranks), sys.executable, str(Path(__file__).resolve()), "--worker",
           "--per-rank-batch", str(per_rank_batch), "--steps", str(steps), "--repeats", str(repeats),
           "--overlap", "on" if overlap else "off", "--bucket-mb", str(bucket_mb)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    """The CPU's model name as ``lscpu`` reports it ("unknown" without lscpu)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name:")]
    return names[0] if names else "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", default="1,2", help="comma-separated numbers of ranks (default 1,2)")
    ap.add_argument("--steps", type=int, default=40, help="steps per timed epoch")
    ap.add_argument("--repeats", type=int, default=3, help="timed epochs (median reported)")
    ap.add_argument("--launches", type=int, default=1, help="launches per configuration; the fastest is kept")
    ap.add_argument("--overlap", default="on", help="gradient allreduce overlapped with the backward: on, off or "
                    "on,off (both, compared)")
    ap.add_argument("--bucket-mb", type=float, default=25.0, help="gradient bucket size in MB (default 25: W2's "
                    "2 MiB is one bucket, which can only start when the backward ends; 0.5 makes two)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--per-rank-batch", type=int, default=GLOBAL_BATCH, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.per_rank_batch, args.steps, args.repeats, args.overlap == "on", args.bucket_mb)
        return
    ranks = [int(r) for r in args.ranks.split(",")]
    modes = [m.strip() for m in args.overlap.split(",")]
    if not modes or any(m not in ("on", "off") for m in modes):
        raise SystemExit(f"--overlap: expected on, off or on,off, got {args.overlap!r}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"W2 data-parallel (MLP 784-512-256-10, SGD momentum), 1 BLAS thread per rank, {os.cpu_count()} cores "
          f"({cpu_name()}), load average {load:.2f}, fastest of {args.launches} launch(es), "
          f"buckets of {args.bucket_mb} MB")
    print(f"{'scaling':<8} {'ranks':>5} {'overlap':>7} {'batch/rank':>10} {'samples/s':>10} {'ms/step':>8} "
          f"{'allreduce ms':>12} {'efficiency':>10}")
    # one rank has nothing to overlap: it runs once, as the base of the efficiencies
    configs = [(mode, r, ov) for mode in ("weak", "strong") for r in ranks
               for ov in (modes[:1] if r == 1 else modes) if mode == "weak" or GLOBAL_BATCH % r == 0]
    best: dict[tuple[str, int, str], dict] = {}
    for _ in range(max(1, args.launches)):     # the configurations take turns, so slow spells hit all alike
        for mode, r, ov in configs:
            row = launch(r, GLOBAL_BATCH if mode == "weak" else GLOBAL_BATCH // r, args.steps, args.repeats,
                         ov == "on", args.bucket_mb)
            if (mode, r, ov) not in best or row["samples_per_second"] > best[mode, r, ov]["samples_per_second"]:
                best[mode, r, ov] = row
    results: dict[str, list[dict]] = {"weak": [], "strong": []}
    for mode, r, ov in configs:
        row = best[mode, r, ov]
        base = best[mode, 1, modes[0]]["samples_per_second"] if (mode, 1, modes[0]) in best else None
        row["efficiency"] = row["samples_per_second"] / (r * base) if base else None
        results[mode].append(row)
        eff = f"{row['efficiency']:.0%}" if row["efficiency"] is not None else "n/a"
        ar = f"{row['allreduce_ms']:.3f}" if r > 1 else "-"
        print(f"{mode:<8} {r:>5} {ov if r > 1 else '-':>7} {row['per_rank_batch']:>10} "
              f"{row['samples_per_second']:>10.0f} {row['ms_per_step']:>8.2f} {ar:>12} {eff:>10}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    meta = {"cpu": cpu_name(), "cores": os.cpu_count(), "load_average": load, "launches": args.launches,
            "bucket_mb": args.bucket_mb}
    (out / "distributed.json").write_text(json.dumps({"machine": meta, **results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
