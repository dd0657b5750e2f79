"""DataLoader's worker options: accepted and checked as PyTorch checks them; loading stays in-process."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import DataError, DataLoader, Dataset, DataTypeError, TensorDataset, get_worker_info


def _dataset() -> TensorDataset:
    return TensorDataset(gw.tensor(np.arange(30.0).reshape(10, 3)), gw.arange(10))


def _epochs(loader: DataLoader, n: int = 2) -> list[list[list[int]]]:
    return [[y.tolist() for _, y in loader] for _ in range(n)]


def test_workers_give_the_batches_of_num_workers_zero() -> None:
    options = dict(num_workers=4, pin_memory=True, persistent_workers=True, prefetch_factor=4, timeout=10.0,
                   multiprocessing_context=multiprocessing.get_all_start_methods()[0])
    plain = DataLoader(_dataset(), batch_size=3, shuffle=True, generator=gw.Generator(7))
    workers = DataLoader(_dataset(), batch_size=3, shuffle=True, generator=gw.Generator(7), **options)
    # same order and the same random draws, epoch after epoch
    assert _epochs(workers) == _epochs(plain)
    assert len(workers) == len(plain) == 4


class _Squares(Dataset):
    """A dataset without the TensorDataset fast path: every sample is built by __getitem__."""

    def __init__(self) -> None:
        self.seen_workers: list[object] = []

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> gw.Tensor:
        self.seen_workers.append(get_worker_info())
        return gw.tensor(float(i * i))


def test_samples_are_loaded_in_the_main_process() -> None:
    ds = _Squares()
    batches = [b.tolist() for b in DataLoader(ds, batch_size=2, num_workers=3)]
    assert batches == [[0.0, 1.0], [4.0, 9.0], [16.0]]
    assert ds.seen_workers == [None] * 5      # PyTorch's single-process case


def test_worker_init_fn_is_checked_but_never_called() -> None:
    calls: list[int] = []
    loader = DataLoader(_dataset(), batch_size=5, num_workers=2, worker_init_fn=calls.append)
    assert len(list(loader)) == 2
    assert calls == []                        # there is no worker process to initialise
    assert loader.worker_init_fn is not None
    with pytest.raises(DataTypeError, match="worker_init_fn must be callable"):
        DataLoader(_dataset(), num_workers=2, worker_init_fn=3)


def test_options_are_recorded() -> None:
    loader = DataLoader(_dataset(), num_workers=2, pin_memory=True)
    assert (loader.num_workers, loader.prefetch_factor, loader.pin_memory, loader.timeout) == (2, 2, True, 0.0)
    assert DataLoader(_dataset()).prefetch_factor is None


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_workers=-1), DataError, "num_workers must be >= 0 \\(got -1\\)"),
    (dict(num_workers=1.5), DataTypeError, "num_workers must be an int"),
    (dict(prefetch_factor=2), DataError, "prefetch_factor=2 can only be given with num_workers > 0"),
    (dict(num_workers=2, prefetch_factor=-1), DataError, "prefetch_factor must be >= 0"),
    (dict(persistent_workers=True), DataError, "persistent_workers=True needs num_workers > 0"),
    (dict(timeout=-1), DataError, "timeout must be >= 0"),
    (dict(timeout=5), DataError, "timeout=5 .* needs num_workers > 0"),
    (dict(multiprocessing_context="spawn"), DataError, "can only be used with num_workers > 0"),
    (dict(num_workers=1, multiprocessing_context="teleport"), DataError, "not a start method"),
    (dict(num_workers=1, multiprocessing_context=3), DataTypeError, "start method name or a multiprocessing"),
])
def test_bad_worker_options(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        DataLoader(_dataset(), **kwargs)


@pytest.mark.parametrize("kwargs", [
    dict(num_workers=-1), dict(prefetch_factor=2), dict(persistent_workers=True), dict(timeout=-1),
    dict(multiprocessing_context="spawn"),
])
def test_torch_refuses_the_same_options(kwargs: dict) -> None:
    torch = pytest.importorskip("torch")
    ds = torch.utils.data.TensorDataset(torch.arange(10.0))
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(ds, **kwargs)
    with pytest.raises(ValueError):           # gradwise's DataError is a ValueError too
        DataLoader(_dataset(), **kwargs)


def test_torch_accepts_what_gradwise_accepts_and_gives_the_same_batches() -> None:
    torch = pytest.importorskip("torch")
    data = np.arange(20.0).reshape(10, 2)
    options = dict(num_workers=2, pin_memory=False, prefetch_factor=2, persistent_workers=False)
    ours = [x.detach().numpy() for (x,) in DataLoader(TensorDataset(gw.tensor(data)), batch_size=4, **options)]
    theirs = [x.numpy() for (x,) in torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(data)),
                                                               batch_size=4, **options)]
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert torch.utils.data.get_worker_info() is None and get_worker_info() is None
