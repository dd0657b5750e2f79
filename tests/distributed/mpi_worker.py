"""Scenarios run under ``mpiexec -n 2 python mpi_worker.py <scenario> [args]`` by test_mpi.py.

Each scenario checks its own results on every rank (plain ``assert``) and rank 0 prints
``OK <scenario>`` at the end; any failure raises, and ``abort_on_error`` turns it into a
whole-job abort with the rank's traceback, so the test sees a non-zero exit instead of a hang.
Nothing runs on import (pytest's doctest collection imports this file).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import numpy as np

import gradwise as gw
import gradwise.distributed as dist
from gradwise import nn
from gradwise.data import DataLoader, TensorDataset
from gradwise.train import Callback, ModelCheckpoint, Trainer, TrainingInterrupted

N, IN, OUT = 64, 5, 3


def dataset() -> tuple[gw.Tensor, gw.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, IN)).astype(np.float32)
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1.0)
    return gw.tensor(x), gw.tensor(y)


def model(seed: int) -> nn.Module:
    gen = gw.Generator().manual_seed(seed)
    return nn.Sequential(nn.Linear(IN, 16, generator=gen), nn.Tanh(), nn.Linear(16, OUT, generator=gen))


def optimizer(name: str, params):
    if name == "momentum":
        return gw.optim.SGD(params, lr=0.1, momentum=0.9)
    return gw.optim.Adam(params, lr=0.01)


def flat(m: nn.Module) -> np.ndarray:
    return np.concatenate([p.detach().numpy().astype(np.float64).ravel() for p in m.parameters()])


def same_on_all_ranks(values: np.ndarray) -> bool:
    hi = dist.allreduce(np.array(values, dtype=np.float64), "max")
    lo = dist.allreduce(np.array(values, dtype=np.float64), "min")
    return bool(np.array_equal(hi, lo))


def equivalence(opt_name: str, via: str) -> None:
    """2 ranks with per-rank batch b reach the parameters of a real one-process ``fit`` with batch 2b
    (float64, so only rounding separates them): the same shuffle from the same generator, each global
    batch split between the ranks.  61 samples: the last batch of each epoch holds 13, split 7 + 6."""
    b, epochs, n = 8, 3, 61
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((n, IN))
    x = gw.tensor(x_np, dtype="float64")
    y = gw.tensor((x_np[:, 0] - 0.5 * x_np[:, 1] > 0).astype(np.int64) + (x_np[:, 2] > 1.0))

    def train(batch: int, distributed: bool, seed: int):
        m = model(seed).double()
        gen = gw.Generator().manual_seed(5 + 100 * dist.rank() if distributed else 5)
        if via == "loader":     # a plain shuffled DataLoader with its own generator
            data = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True, generator=gen)
            fit_gen = None
        else:                   # fit builds the loader from (x, y) and shuffles with fit's generator
            data, fit_gen = (x, y), gen
        trainer = Trainer(m, nn.CrossEntropyLoss(), optimizer(opt_name, m.parameters()), batch_size=batch,
                          metrics=["accuracy"], progress=False, generator=fit_gen,
                          strategy=dist.data_parallel() if distributed else None)
        return m, trainer.fit(data, epochs=epochs)

    # rank 1 starts from other weights and another generator state: fit copies rank 0's to it first
    m, history = train(b, True, seed=1 if dist.rank() == 0 else 99)
    ref, ref_history = train(dist.world_size() * b, False, seed=1)       # one process, on every rank
    assert same_on_all_ranks(flat(m)), "replicas drifted apart"
    np.testing.assert_allclose(flat(m), flat(ref), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(history.steps["loss"], ref_history.steps["loss"], rtol=1e-12)
    np.testing.assert_array_equal(history.steps["samples_seen"], ref_history.steps["samples_seen"])
    assert history.steps["samples_seen"][-1] == epochs * n
    np.testing.assert_allclose(history.epochs["loss"], ref_history.epochs["loss"], rtol=1e-12)
    # the epoch accuracy counts every rank's samples (sums reduced over ranks), as one process would
    np.testing.assert_array_equal(history.epochs["accuracy"], ref_history.epochs["accuracy"])
    for key in ("loss", "accuracy"):
        assert same_on_all_ranks(history.epochs[key]), key
    # 49 samples: the last global batch holds 1 < 2 ranks, so the order is padded by one sample and
    # both ranks still take 4 steps (no rank waits alone in a collective)
    m3 = model(1).double()
    h3 = Trainer(m3, nn.CrossEntropyLoss(), optimizer(opt_name, m3.parameters()), batch_size=b, progress=False,
                 generator=gw.Generator().manual_seed(5), strategy=dist.data_parallel()).fit((x[:49], y[:49]), 1)
    assert len(h3.steps["step"]) == 4 and h3.steps["samples_seen"][-1] == 50 and same_on_all_ranks(flat(m3))
    # a user's DistributedSampler is kept as is: its order comes from (seed + epoch), not the generator
    ds = TensorDataset(x, y)
    sampler = dist.DistributedSampler(ds, seed=7)
    loader = DataLoader(ds, batch_size=b, sampler=sampler)
    m2 = model(1).double()
    Trainer(m2, nn.CrossEntropyLoss(), optimizer(opt_name, m2.parameters()), batch_size=b, progress=False,
            strategy=dist.data_parallel()).fit(loader, epochs=1)
    assert sampler.epoch == 0 and same_on_all_ranks(flat(m2))


def full_batch() -> None:
    """mode='full' with 63 samples on 2 ranks (shards of 32 and 31): the weighted average is the
    gradient of the whole set, as with one process."""
    x, y = dataset()
    x, y = x[:63], y[:63]
    m = model(seed=1)
    opt = gw.optim.SGD(m.parameters(), lr=0.5)
    gw.train.fit(m, nn.CrossEntropyLoss(), opt, (x, y), epochs=3, mode="full", progress=False, distributed=True)
    ref = model(seed=1)
    ref_opt = gw.optim.SGD(ref.parameters(), lr=0.5)
    for _ in range(3):
        ref_opt.zero_grad()
        nn.functional.cross_entropy(ref(x), y).backward()
        ref_opt.step()
    np.testing.assert_allclose(flat(m), flat(ref), rtol=2e-5, atol=2e-6)


def collectives() -> None:
    r, size = dist.rank(), dist.world_size()
    assert dist.backend() == "mpi" and size == 2
    # broadcast_parameters: parameters and buffers (BatchNorm running statistics) from the root
    net = nn.Sequential(nn.Linear(3, 4, generator=gw.Generator().manual_seed(r)), nn.BatchNorm1d(4))
    net[1].running_mean.data[...] = r + 1.0
    dist.broadcast_parameters(net, root=1)
    twin = nn.Sequential(nn.Linear(3, 4, generator=gw.Generator().manual_seed(1)), nn.BatchNorm1d(4))
    np.testing.assert_array_equal(flat(net), flat(twin))
    np.testing.assert_array_equal(net[1].running_mean.detach().numpy(), np.full(4, 2.0, dtype=np.float32))
    # different models on the ranks: every rank raises (nobody hangs)
    try:
        dist.broadcast_parameters(nn.Linear(3, 4 + r))
    except dist.DistributedError as exc:
        assert "different models" in str(exc)
    else:
        raise AssertionError("broadcast_parameters accepted different models")
    # allreduce_gradients: averages; a gradient missing on one rank counts as zero there; one missing
    # everywhere stays None; float64 parameters get their own bucket
    a = nn.Parameter(gw.zeros(1000))
    b = nn.Parameter(gw.zeros(3, dtype="float64"))
    c = nn.Parameter(gw.zeros(2))
    unused = nn.Parameter(gw.zeros(2))
    frozen = gw.zeros(2)
    a.grad = gw.full((1000,), float(r + 1))                 # ranks hold 1 and 2: mean 1.5
    b.grad = gw.tensor([1.0, 2.0, 3.0], dtype="float64") * (r + 1)
    c.grad = gw.tensor([4.0, 8.0]) if r == 0 else None      # rank 1 never used c
    calls = dist.allreduce_gradients([a, b, c, unused, frozen], bucket_size_mb=1000 * 4 / 2**20)
    assert calls == 3, calls                                # a fills one float32 bucket, c another, b float64
    np.testing.assert_array_equal(a.grad.numpy(), np.full(1000, 1.5, dtype=np.float32))
    np.testing.assert_array_equal(b.grad.numpy(), np.array([1.5, 3.0, 4.5]))
    np.testing.assert_array_equal(c.grad.numpy(), np.array([2.0, 4.0], dtype=np.float32))
    assert unused.grad is None and frozen.grad is None
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64 and c.grad.shape == (2,)
    a.grad = gw.full((1000,), float(r + 1))
    assert dist.allreduce_gradients([a, b, c], average=False) == 2     # 25 MB: one bucket per dtype
    np.testing.assert_array_equal(a.grad.numpy(), np.full(1000, 3.0, dtype=np.float32))
    # metric sums over ranks, when one rank saw nothing
    from gradwise.distributed.training import reduce_metric_states
    from gradwise.train.metrics import Accuracy, ConfusionMatrix

    acc, cm = Accuracy(), ConfusionMatrix(2)
    if r == 0:
        acc.update(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.array([0, 1, 1]))
        cm.update(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    else:
        cm.update(np.array([[0.0, 1.0]]), np.array([1]))
    reduce_metric_states([acc, cm])
    assert acc.compute() == 2 / 3
    assert cm.compute().tolist() == [[1, 0], [1, 2]] and cm.compute().dtype == np.int64
    dist.barrier()


class FailOnRank(Callback):
    def __init__(self, rank: int, step: int) -> None:
        self.rank, self.step = rank, step

    def on_batch_end(self, trainer, logs):
        if dist.rank() == self.rank and trainer.global_step == self.step:
            raise RuntimeError(f"synthetic failure on rank {self.rank} at step {self.step}")


def failure() -> None:
    x, y = dataset()
    m = model(seed=1)
    gw.train.fit(m, nn.CrossEntropyLoss(), optimizer("adam", m.parameters()), (x, y), epochs=50, batch_size=4,
                 callbacks=[FailOnRank(1, 3)], progress=False, distributed=True)
    print("unreachable: training finished despite the failure", flush=True)


class CtrlCOnRank(Callback):
    """A SIGINT delivered to one rank only, in the middle of a step."""

    def __init__(self, rank: int, step: int) -> None:
        self.rank, self.step = rank, step

    def on_after_backward(self, trainer):
        if dist.rank() == self.rank and trainer.global_step + 1 == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def run(folder: Path | None, epochs: int, resume=None, callbacks=()):
    x, y = dataset()
    m = model(seed=1)
    cbs = list(callbacks)
    if folder is not None:
        cbs.append(ModelCheckpoint(folder, monitor=None))
    trainer = Trainer(m, nn.CrossEntropyLoss(), optimizer("adam", m.parameters()), batch_size=4,
                      metrics=["accuracy"], progress=False, generator=gw.Generator().manual_seed(3),
                      checkpoint_dir=folder, callbacks=cbs, distributed=True)
    trainer.fit((x, y), epochs=epochs, resume=resume)
    return m, trainer


def resume(folder: str) -> None:
    """Resume at an epoch boundary and after a Ctrl-C that reached one rank mid-epoch: the result
    equals an uninterrupted run, bit for bit, and only rank 0 wrote files."""
    root = Path(folder)
    whole, whole_trainer = run(None, epochs=3)
    # epoch boundary: 2 epochs, then continue from last.ckpt to 3
    run(root / "a", epochs=2)
    assert (root / "a" / "last.ckpt").is_file()
    resumed, t = run(root / "a", epochs=3, resume=root / "a" / "last.ckpt")
    np.testing.assert_array_equal(flat(resumed), flat(whole))
    np.testing.assert_array_equal(t.history.epochs["loss"], whole_trainer.history.epochs["loss"])
    # Ctrl-C on rank 1 during step 13 (epoch 2 of 3, 8 steps per epoch): both ranks stop after step 13
    try:
        run(root / "b", epochs=3, callbacks=[CtrlCOnRank(1, 13)])
    except TrainingInterrupted as exc:
        assert exc.checkpoint_path == root / "b" / "interrupted.ckpt"
    else:
        raise AssertionError("no TrainingInterrupted")
    dist.barrier()
    resumed, t = run(root / "b", epochs=3, resume=root / "b" / "interrupted.ckpt")
    np.testing.assert_array_equal(flat(resumed), flat(whole))
    np.testing.assert_array_equal(t.history.steps["loss"], whole_trainer.history.steps["loss"])
    np.testing.assert_allclose(t.history.epochs["accuracy"], whole_trainer.history.epochs["accuracy"])
    assert same_on_all_ranks(flat(resumed))


def overlap(opt_name: str) -> None:
    """overlap=True (buckets reduced during the backward) gives bit-identical parameters and losses to
    overlap=False, with two buckets (reverse registration order) and 61 samples, so the last step of each
    epoch has 7 + 6 samples (the weighted fallback); and buckets really start before the backward ends."""
    x, y = dataset()
    x, y = x[:61], y[:61]
    bucket_mb = 200 / 2**20          # 2.bias + 2.weight (204 bytes) close the first bucket; layer 0 the second

    def train(overlapped: bool):
        m = model(1)
        strategy = dist.data_parallel(bucket_size_mb=bucket_mb, overlap=overlapped)
        started: list[int] = []

        def probe(p) -> None:        # layer 0's weight is final last: has the last layer's bucket started?
            red = getattr(strategy, "_reducer", None)
            if red is not None and red.armed:
                started.append(len(red.requests))

        m[0].weight.register_post_accumulate_grad_hook(probe)
        h = Trainer(m, nn.CrossEntropyLoss(), optimizer(opt_name, m.parameters()), batch_size=8, progress=False,
                    generator=gw.Generator().manual_seed(3), strategy=strategy).fit((x, y), epochs=3)
        return m, h, started

    m_on, h_on, started = train(True)
    m_off, h_off, started_off = train(False)
    np.testing.assert_array_equal(flat(m_on), flat(m_off))
    np.testing.assert_array_equal(h_on.steps["loss"], h_off.steps["loss"])
    assert same_on_all_ranks(flat(m_on))
    assert started and min(started) >= 1, started        # every armed step had started bucket 0 already
    assert started_off == []


SCENARIOS = {"equivalence": equivalence, "full_batch": full_batch, "collectives": collectives,
             "failure": failure, "resume": resume, "overlap": overlap}


def main(argv: list[str]) -> None:
    name, args = argv[0], argv[1:]
    with dist.abort_on_error():
        SCENARIOS[name](*args)
    if dist.is_main():
        print(f"OK {name} {' '.join(args)}".rstrip(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
