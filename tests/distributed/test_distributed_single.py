"""gradwise.distributed in one process, without mpiexec: a world of size 1 where every call works.

Two worlds of one are checked: the one this environment gives (mpi4py's singleton MPI when it is
installed) and the fallback without mpi4py (simulated by hiding the module)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

import gradwise as gw
import gradwise.distributed as dist
from gradwise import nn
from gradwise.distributed import comm
from gradwise.train import Trainer


@pytest.fixture(params=["installed", "without_mpi4py"])
def world(request, monkeypatch):
    """The process group as installed, or as if mpi4py were missing (restored afterwards)."""
    if request.param == "without_mpi4py":
        monkeypatch.setattr(comm, "_WORLD", None)
        monkeypatch.setitem(sys.modules, "mpi4py", None)     # `import mpi4py` raises ImportError
        for var in comm._RANK_VARS + comm._SIZE_VARS:
            monkeypatch.delenv(var, raising=False)
    dist.init()
    return request.param


def test_a_world_of_one(world):
    assert dist.is_initialized()
    assert (dist.rank(), dist.world_size(), dist.is_main()) == (0, 1, True)
    has_mpi4py = world == "installed" and importlib.util.find_spec("mpi4py") is not None
    assert dist.backend() == ("mpi" if has_mpi4py else "single")
    dist.barrier()
    a = np.array([1.0, -2.0, 3.0])
    for op in ("sum", "max", "min"):
        assert dist.allreduce(a.copy(), op).tolist() == [1.0, -2.0, 3.0]
    assert dist.broadcast(np.arange(4), root=0).tolist() == [0, 1, 2, 3]


def test_models_and_gradients_are_left_as_they_are(world):
    model = nn.Sequential(nn.Linear(3, 4, generator=gw.Generator(0)), nn.BatchNorm1d(4))
    before = [t.detach().numpy().copy() for t in list(model.parameters()) + list(model.buffers())]
    dist.broadcast_parameters(model)
    now = list(model.parameters()) + list(model.buffers())
    assert all(np.array_equal(b, t.detach().numpy()) for b, t in zip(before, now))
    model(gw.randn(5, 3, generator=gw.Generator(1))).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    assert dist.allreduce_gradients(model) == 0
    assert all(np.array_equal(g, p.grad.numpy()) for g, p in zip(grads, model.parameters()))


def test_single_process_fit_distributed_is_plain_fit(world):
    """Without mpiexec, fit(distributed=True) trains exactly like fit(distributed=False)."""
    rng = np.random.default_rng(0)
    x = gw.tensor(rng.standard_normal((40, 3)).astype(np.float32))
    y = gw.tensor((rng.standard_normal(40) > 0).astype(np.int64))
    runs = []
    for distributed in (False, True):
        model = nn.Linear(3, 2, generator=gw.Generator(2))
        trainer = Trainer(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                          batch_size=8, metrics=["accuracy"], progress=False, generator=gw.Generator(3),
                          distributed=distributed)
        history = trainer.fit((x, y), epochs=3, val_data=(x, y))
        assert (trainer.world_size, trainer.is_main) == (1, True)
        runs.append((model.weight.detach().numpy().copy(), history.epochs["loss"], history.epochs["val_accuracy"]))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_fit_advances_the_epoch_of_a_distributed_sampler(world):
    """The loop calls set_epoch on any sampler that has it, so each epoch is shuffled anew."""
    x = gw.arange(12).float().reshape(12, 1)
    ds = gw.data.TensorDataset(x, gw.arange(12))           # the targets are the sample indices
    sampler = dist.DistributedSampler(ds, num_replicas=1, rank=0, seed=4)
    seen = []

    def loss_fn(out, target):
        seen.append(target.tolist())
        return (out ** 2).mean()

    model = nn.Linear(1, 1)
    gw.train.fit(model, loss_fn, gw.optim.SGD(model.parameters(), lr=0.0),
                 gw.data.DataLoader(ds, batch_size=12, sampler=sampler), epochs=3, progress=False)
    assert sampler.epoch == 2
    expected = [gw.Generator().manual_seed(4 + e).np.permutation(12).tolist() for e in range(3)]
    assert seen == expected and seen[0] != seen[1]


def test_abort_in_a_world_of_one_exits_with_the_prefixed_message(world, capsys):
    with pytest.raises(SystemExit) as info:
        dist.abort("first line\nsecond line", code=3)
    assert info.value.code == 3
    assert capsys.readouterr().err == "rank 0: first line\nrank 0: second line\n"
    with pytest.raises(KeyError, match="kept"), dist.abort_on_error():
        raise KeyError("kept")                 # a world of one: the exception goes on as usual


@pytest.mark.parametrize("call, match", [
    (lambda: dist.allreduce([1.0]), r"allreduce: expected a NumPy array, got list"),
    (lambda: dist.allreduce(np.zeros(3), op="mean"),
     r"allreduce: op must be one of \['sum', 'max', 'min'\], got 'mean'"),
    (lambda: dist.allreduce(np.zeros((3, 4))[:, 1]), r"allreduce: the array must be C-contiguous and writeable"),
    (lambda: dist.broadcast(np.zeros(2), root=1), r"broadcast: root must be a rank in \[0, 1\), got 1"),
    (lambda: dist.broadcast_parameters(nn.Linear(2, 2), root=-1), r"broadcast_parameters: root must be a rank"),
    (lambda: dist.allreduce_gradients(nn.Linear(2, 2), bucket_size_mb=0),
     r"allreduce_gradients: bucket_size_mb must be a positive finite number of megabytes, got 0"),
    (lambda: dist.allreduce_gradients(3), r"allreduce_gradients: expected a Module, an Optimizer or an iterable"),
    (lambda: dist.allreduce_gradients([np.zeros(2)]), r"allreduce_gradients: expected tensors, got a ndarray"),
])
def test_bad_arguments_name_the_call(world, call, match):
    with pytest.raises(dist.DistributedError, match=match):
        call()


def test_a_process_started_by_mpiexec_without_mpi4py_refuses_to_train_alone(monkeypatch):
    monkeypatch.setattr(comm, "_WORLD", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setenv("PMI_RANK", "1")
    monkeypatch.setenv("PMI_SIZE", "4")
    with pytest.raises(dist.MPIUnavailableError, match=r"rank 1 of 4 but mpi4py cannot be imported .*"
                                                       r"pip install 'gradwise\[mpi\]'"):
        dist.init()
    assert not dist.is_initialized()


def test_cli_distributed_without_mpi4py_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    from gradwise.cli import main

    monkeypatch.setattr(comm, "_WORLD", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    for var in comm._RANK_VARS + comm._SIZE_VARS:
        monkeypatch.delenv(var, raising=False)
    code = main(["train", "--dataset", "moons", "--epochs", "1", "--out", str(tmp_path / "run"), "--distributed",
                 "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("gradwise train: error: ") and "pip install 'gradwise[mpi]'" in err
    assert not (tmp_path / "run").exists()


def test_data_parallel_overlap_must_be_a_bool():
    import gradwise.distributed as dist
    with pytest.raises(dist.DistributedError, match="overlap must be True or False, got 'yes'"):
        dist.DataParallel(overlap="yes")  # type: ignore[arg-type]
