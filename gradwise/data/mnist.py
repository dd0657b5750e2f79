"""MNIST and Fashion-MNIST from the standard IDX ``.gz`` files.

Files live in ``<root>/mnist/`` and ``<root>/fashion-mnist/`` (the two sets use
the same file names), under their usual names::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

``download=True`` fetches all four from a mirror, chosen by the ``mirror``
argument, else the environment variable (``GRADWISE_MNIST_MIRROR`` /
``GRADWISE_FASHION_MNIST_MIRROR``), else the default below; each file's
SHA-256 must match the known table (``checksums=`` overrides entries), and it
is written atomically.  A cached file whose SHA-256 matches is not fetched
again; one that does not match is fetched again.  With ``download=False``
nothing is hashed, but the IDX reader still checks every header and length.

Both loaders return ``(images, labels)`` for one split: images float32 of shape
``(N, 1, 28, 28)`` scaled to ``[0, 1]``, labels int64 class indices ``(N,)``
(the same dtypes as the bundled datasets' ``x`` and ``y``).  Wrap them with
``TensorDataset(images, labels)`` for a :class:`DataLoader`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradwise import dtypes
from gradwise.autograd.tensor import Tensor
from gradwise.data.checks import float_dtype
from gradwise.data.download import fetch, sha256_file
from gradwise.data.errors import DataError, DatasetNotFoundError, IDXFormatError
from gradwise.data.idx import read_idx

TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@dataclass(frozen=True)
class IDXSource:
    """Where an IDX dataset lives: cache subfolder, mirror settings and known SHA-256 sums."""

    title: str
    folder: str
    mirror_env: str
    default_mirror: str
    sha256: Mapping[str, str]


MNIST = IDXSource(
    title="mnist", folder="mnist", mirror_env="GRADWISE_MNIST_MIRROR",
    # PyTorch's mirror; https://storage.googleapis.com/cvdf-datasets/mnist/ serves the same files.
    default_mirror="https://ossci-datasets.s3.amazonaws.com/mnist/",
    sha256={
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    })

FASHION_MNIST = IDXSource(
    title="fashion_mnist", folder="fashion-mnist", mirror_env="GRADWISE_FASHION_MNIST_MIRROR",
    # The Fashion-MNIST authors' bucket (plain HTTP; integrity comes from the checksums).
    default_mirror="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    sha256={
        "train-images-idx3-ubyte.gz": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
        "train-labels-idx1-ubyte.gz": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
        "t10k-images-idx3-ubyte.gz": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
        "t10k-labels-idx1-ubyte.gz": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
    })


def _hashes(source: IDXSource, checksums: Mapping[str, str] | None) -> dict[str, str]:
    table = dict(source.sha256)
    for name, digest in (checksums or {}).items():
        if name not in table:
            raise DataError(f"{source.title}: checksums has an entry for {name!r}, which is not one of its files "
                            f"{sorted(table)}")
        if not isinstance(digest, str) or len(digest) != 64:
            raise DataError(f"{source.title}: checksums[{name!r}] must be a 64-character hex SHA-256, got {digest!r}")
        table[name] = digest.lower()
    return table


def _download(source: IDXSource, folder: Path, mirror: str | None, hashes: Mapping[str, str]) -> None:
    base = mirror or os.environ.get(source.mirror_env) or source.default_mirror
    for name in (*TRAIN_FILES, *TEST_FILES):
        target = folder / name
        if target.is_file() and sha256_file(target) == hashes[name]:
            continue  # cached and verified
        fetch(base.rstrip("/") + "/" + name, target, hashes[name])


def _check(arr: np.ndarray, ndim: int, path: Path, what: str) -> None:
    if arr.dtype != np.uint8 or arr.ndim != ndim:
        raise IDXFormatError(f"{path}: expected {what} ({ndim}-D uint8), found a {arr.ndim}-D {arr.dtype} array of "
                             f"shape {arr.shape}; is this the right file?")


def load_idx_split(source: IDXSource, root: str | os.PathLike[str], train: bool, download: bool,
                   mirror: str | None, checksums: Mapping[str, str] | None, dtype: Any) -> tuple[Tensor, Tensor]:
    """Images ``(N, 1, H, W)`` in ``[0, 1]`` and int64 labels ``(N,)`` of one split of ``source``."""
    dt = float_dtype(dtype, source.title)
    folder = Path(root).expanduser() / source.folder
    hashes = _hashes(source, checksums)
    if download:
        _download(source, folder, mirror, hashes)
    image_name, label_name = TRAIN_FILES if train else TEST_FILES
    missing = [n for n in (image_name, label_name) if not (folder / n).is_file()]
    if missing:
        # "{fetch}": download=True here; the gradwise command restates it as its --download option
        raise DatasetNotFoundError.from_template(
            f"{source.title}: {', '.join(missing)} not found in {folder}; pass {{fetch}} to fetch the files "
            f"(${source.mirror_env}, or mirror= in Python, picks the server), or put the IDX .gz files "
            f"{', '.join((*TRAIN_FILES, *TEST_FILES))} in that folder")
    images, labels = read_idx(folder / image_name), read_idx(folder / label_name)
    _check(images, 3, folder / image_name, "images (N, rows, cols)")
    _check(labels, 1, folder / label_name, "labels (N,)")
    if len(images) != len(labels):
        raise IDXFormatError(f"{source.title}: {folder / image_name} holds {len(images)} images but "
                             f"{folder / label_name} holds {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise IDXFormatError(f"{folder / label_name}: label {int(labels.max())} is outside the 10 classes 0..9")
    x = images.astype(dt)[:, None] / dt.type(255)  # bytes 0..255 -> [0, 1]
    return Tensor._make(x), Tensor._make(labels.astype(np.int64))


def mnist(root: str | os.PathLike[str], train: bool = True, download: bool = False, mirror: str | None = None,
          checksums: Mapping[str, str] | None = None, dtype: Any = dtypes.float32) -> tuple[Tensor, Tensor]:
    """MNIST handwritten digits: ``(images, labels)`` of the train (60,000) or test (10,000) split.

    Args:
        root: cache folder; the files are read from (and downloaded to) ``root/mnist``.
        train: the training split (else the ``t10k`` test split).
        download: fetch the four files first (those not already cached and verified).
        mirror: base URL of the files; default ``$GRADWISE_MNIST_MIRROR`` or
            ``https://ossci-datasets.s3.amazonaws.com/mnist/``.
        checksums: ``{file name: sha256}`` entries overriding the known table.
        dtype: float dtype of the images.

    Returns:
        images ``(N, 1, 28, 28)`` in ``[0, 1]`` and int64 labels ``(N,)``.

    >>> from gradwise.data import mnist
    >>> mnist("/nonexistent")
    Traceback (most recent call last):
    ...
    gradwise.data.errors.DatasetNotFoundError: mnist: ... pass download=True ...
    """
    return load_idx_split(MNIST, root, train, download, mirror, checksums, dtype)


def fashion_mnist(root: str | os.PathLike[str], train: bool = True, download: bool = False,
                  mirror: str | None = None, checksums: Mapping[str, str] | None = None,
                  dtype: Any = dtypes.float32) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST (Zalando article images, 10 classes): like :func:`mnist`, read from
    ``root/fashion-mnist``; the mirror defaults to ``$GRADWISE_FASHION_MNIST_MIRROR`` or
    ``http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/``.

    Classes: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal,
    6 shirt, 7 sneaker, 8 bag, 9 ankle boot (see ``FASHION_MNIST_CLASSES``).
    """
    return load_idx_split(FASHION_MNIST, root, train, download, mirror, checksums, dtype)


FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")
