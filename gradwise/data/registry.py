"""The dataset registry: the data sets a run names (``gradwise train --dataset``), each loaded as
train/test tensors with the number of inputs and outputs and the task kind.

``source`` says where the data comes from: ``"bundled"`` (scikit-learn's copies, no
network), ``"synthetic"`` (generated from the seed) or ``"files"`` (IDX files under the run's
``data_root``, fetched with ``download=True``).  ``tests/test_registries.py`` loads every
bundled and synthetic entry and checks that each file-based one says how to get its files.

>>> task = load_dataset("iris", seed=0)
>>> task.x_train.shape, task.out_features, task.kind
((120, 4), 3, 'classification')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradwise.api.random import Generator
from gradwise.data.bundled import Bundle, breast_cancer, diabetes, digits, iris, wine
from gradwise.data.errors import DataError
from gradwise.data.mnist import fashion_mnist, mnist
from gradwise.data.preprocess import train_test_split
from gradwise.data.synthetic import moons, spirals

SOURCES = ("bundled", "synthetic", "files")


@dataclass(frozen=True)
class Task:
    """The data of a run: train/test tensors, the number of inputs and outputs and the task kind."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    in_features: int
    out_features: int
    kind: str            # "classification" or "regression"


@dataclass(frozen=True)
class DatasetEntry:
    """One data set: ``load(seed, root, download) -> Task``, its ``source`` (one of :data:`SOURCES`)
    and a one-line ``summary`` (for ``"files"``, where the files go and how to get them)."""

    name: str
    load: Callable[[int, str, bool], Task]
    source: str
    summary: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise DataError(f"dataset {self.name!r}: source must be one of {SOURCES}, got {self.source!r}")


DATASETS: dict[str, DatasetEntry] = {}


def register_dataset(entry: DatasetEntry) -> DatasetEntry:
    """Add ``entry`` under its name (a name is registered once)."""
    if entry.name in DATASETS:
        raise DataError(f"dataset {entry.name!r} is registered already")
    DATASETS[entry.name] = entry
    return entry


def dataset_names() -> tuple[str, ...]:
    return tuple(DATASETS)


def load_dataset(name: str, *, seed: int = 0, root: str = "data", download: bool = False) -> Task:
    """The data set ``name``, split into train and test with ``seed`` (``root``/``download``: for
    file-based sets)."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name].load(seed, root, download)


def _bundled(reader: Callable[..., Bundle]) -> Callable[[int, str, bool], Task]:
    def load(seed: int, root: str, download: bool) -> Task:
        b = reader(seed=seed, standardize=True)
        out = b.num_classes if b.task == "classification" and b.num_classes is not None else b.y_train.shape[1]
        return Task(b.x_train, b.y_train, b.x_test, b.y_test, b.x_train.shape[1], out, b.task)
    return load


def _idx(reader: Callable[..., Any]) -> Callable[[int, str, bool], Task]:
    def load(seed: int, root: str, download: bool) -> Task:
        xtr, ytr = reader(root, train=True, download=download)
        xte, yte = reader(root, train=False, download=download)
        xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)    # (N, 1, 28, 28) -> (N, 784)
        return Task(xtr, ytr, xte, yte, xtr.shape[1], 10, "classification")
    return load


def _synthetic(make: Callable[[Generator], tuple[Any, Any]]) -> Callable[[int, str, bool], Task]:
    def load(seed: int, root: str, download: bool) -> Task:
        x, y = make(Generator().manual_seed(seed))
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, seed=seed, stratify=y)
        return Task(xtr, ytr, xte, yte, x.shape[1], int(y.max().item()) + 1, "classification")
    return load


for _entry in (
    DatasetEntry("digits", _bundled(digits), "bundled", "8x8 handwritten digits, 1797 samples, 10 classes"),
    DatasetEntry("iris", _bundled(iris), "bundled", "iris flowers, 150 samples, 4 features, 3 classes"),
    DatasetEntry("wine", _bundled(wine), "bundled", "wine cultivars, 178 samples, 13 features, 3 classes"),
    DatasetEntry("breast_cancer", _bundled(breast_cancer), "bundled",
                 "breast cancer diagnosis, 569 samples, 30 features, 2 classes"),
    DatasetEntry("diabetes", _bundled(diabetes), "bundled", "diabetes progression, 442 samples, regression"),
    DatasetEntry("spirals", _synthetic(lambda gen: spirals(n_samples=600, generator=gen)), "synthetic",
                 "two interleaved spirals, 600 points"),
    DatasetEntry("moons", _synthetic(lambda gen: moons(n_samples=600, noise=0.2, generator=gen)), "synthetic",
                 "two half moons, 600 points, noise 0.2"),
    DatasetEntry("mnist", _idx(mnist), "files",
                 "MNIST digits from IDX files in <data_root>/mnist (--download fetches them)"),
    DatasetEntry("fashion_mnist", _idx(fashion_mnist), "files",
                 "Fashion-MNIST from IDX files in <data_root>/fashion-mnist (--download fetches them)"),
):
    register_dataset(_entry)
del _entry
