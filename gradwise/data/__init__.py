"""``gradwise.data``: datasets, batching, and data to learn from.

* datasets and loading: :class:`Dataset`, :class:`TensorDataset`, :class:`Subset`,
  :class:`ConcatDataset`, :func:`random_split`, :class:`DataLoader`, samplers,
  :func:`default_collate`;
* real data bundled with scikit-learn (no network): :func:`digits`, :func:`iris`,
  :func:`wine`, :func:`breast_cancer`, :func:`diabetes`, each a :class:`Bundle`;
* MNIST and Fashion-MNIST from IDX files: :func:`mnist`, :func:`fashion_mnist`;
* synthetic sets (NumPy only, seeded by a :class:`gradwise.Generator`):
  :func:`spirals`, :func:`moons`, :func:`circles`, :func:`xor`, :func:`blobs`,
  :func:`linear_regression`, :func:`polynomial_regression`;
* preprocessing: :func:`standardize`, :func:`one_hot`, :func:`train_test_split`;
* the dataset registry (the names a run trains on, ``gradwise train --dataset``):
  :func:`load_dataset`, :func:`dataset_names`, :func:`register_dataset`.
"""

from gradwise.data.bundled import Bundle, breast_cancer, diabetes, digits, iris, wine
from gradwise.data.collate import default_collate
from gradwise.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from gradwise.data.errors import (
    ChecksumError,
    DataError,
    DatasetNotFoundError,
    DataTypeError,
    DownloadError,
    IDXFormatError,
)
from gradwise.data.idx import read_idx
from gradwise.data.loader import DataLoader
from gradwise.data.mnist import FASHION_MNIST_CLASSES, fashion_mnist, mnist
from gradwise.data.preprocess import one_hot, standardize, train_test_split
from gradwise.data.registry import DatasetEntry, dataset_names, load_dataset, register_dataset
from gradwise.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from gradwise.data.synthetic import blobs, circles, moons, spirals, xor
from gradwise.data.synthetic_regression import LinearData, PolynomialData, linear_regression, polynomial_regression
from gradwise.data.workers import get_worker_info

__all__ = [
    "FASHION_MNIST_CLASSES", "BatchSampler", "Bundle", "ChecksumError", "ConcatDataset", "DataError",
    "DataLoader", "DataTypeError", "Dataset", "DatasetEntry", "DatasetNotFoundError", "DownloadError",
    "IDXFormatError", "LinearData", "PolynomialData", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
    "TensorDataset", "blobs", "breast_cancer", "circles", "dataset_names", "default_collate", "diabetes", "digits",
    "fashion_mnist", "get_worker_info", "iris", "linear_regression", "load_dataset", "mnist", "moons", "one_hot",
    "polynomial_regression", "random_split", "read_idx", "register_dataset", "spirals", "standardize",
    "train_test_split", "wine", "xor",
]
