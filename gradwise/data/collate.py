"""``default_collate``: a list of samples -> one batch, stacking along a new dimension 0.

The rules follow ``torch.utils.data.default_collate``:

* tensors, NumPy arrays and NumPy scalars are stacked into one tensor of shape
  ``(B, *sample_shape)``, keeping their dtype;
* Python floats become a tensor of the default dtype (float32; PyTorch gives
  float64), ints int64 and bools bool;
* strings and bytes are gathered into a list;
* a mapping becomes a mapping of the same type with each value collated;
* a namedtuple or tuple becomes the same type of tuple of collated fields
  (PyTorch returns a list for a plain tuple), any other sequence a list.

Batches are plain data: the stacked tensors have ``requires_grad=False``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gradwise import dtypes
from gradwise.autograd.tensor import Tensor
from gradwise.data.errors import DataError, DataTypeError
from gradwise.errors import format_shape


def _stack(arrays: list[np.ndarray], path: str) -> Tensor:
    first = arrays[0].shape
    for k, a in enumerate(arrays):
        if a.shape != first:
            raise DataError(f"default_collate: samples at {path} have different shapes: sample 0 is "
                            f"{format_shape(first)}, sample {k} is {format_shape(a.shape)}; pad or crop them, "
                            "or pass a collate_fn")
    if arrays[0].dtype.kind not in "biufc":
        raise DataTypeError(f"default_collate: cannot make a tensor of dtype {arrays[0].dtype} at {path}")
    return Tensor._make(np.stack(arrays))


def _numbers(batch: list[Any], path: str) -> Tensor:
    """Python numbers: all bools -> bool, all ints -> int64, ints and floats -> the default float dtype."""
    if any(isinstance(b, (Tensor, np.ndarray)) or not isinstance(b, (bool, int, float, np.number, np.bool_))
           for b in batch):
        raise DataTypeError(f"default_collate: mixed sample types at {path}: sample 0 is a number, others are "
                            f"{sorted({type(b).__name__ for b in batch})}")
    if all(isinstance(b, (bool, np.bool_)) for b in batch):
        return Tensor._make(np.array(batch, dtype=np.bool_))
    if all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in batch):
        return Tensor._make(np.array(batch, dtype=np.int64))
    return Tensor._make(np.array(batch, dtype=dtypes.get_default_dtype()))


def _collate(batch: list[Any], path: str) -> Any:
    elem = batch[0]
    kind = type(elem)
    if isinstance(elem, Tensor):
        if any(not isinstance(b, Tensor) for b in batch):
            raise DataTypeError(f"default_collate: mixed sample types at {path}: sample 0 is a Tensor, others are not")
        return _stack([b._data for b in batch], path)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        return _stack([np.asarray(b) for b in batch], path)
    if isinstance(elem, (bool, int, float)):
        return _numbers(batch, path)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        keys = list(elem.keys())
        for k, b in enumerate(batch):
            if not isinstance(b, Mapping) or set(b.keys()) != set(keys):
                raise DataError(f"default_collate: sample {k} at {path} has keys "
                                f"{sorted(map(str, b.keys())) if isinstance(b, Mapping) else type(b).__name__}, "
                                f"sample 0 has {sorted(map(str, keys))}; every sample needs the same keys")
        out = {key: _collate([b[key] for b in batch], f"{path}[{key!r}]") for key in keys}
        try:
            return kind(out)
        except TypeError:  # a Mapping type that cannot be built from a dict
            return out
    if isinstance(elem, Sequence):
        size = len(elem)
        for k, b in enumerate(batch):
            if not isinstance(b, Sequence) or len(b) != size:
                got = len(b) if isinstance(b, Sequence) else type(b).__name__
                raise DataError(f"default_collate: sample {k} at {path} has {got} fields, sample 0 has {size}; "
                                "every sample needs the same number of fields")
        fields = [_collate([b[i] for b in batch], f"{path}[{i}]") for i in range(size)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return kind(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise DataTypeError(f"default_collate: cannot batch a sample of type {kind.__name__} at {path}; supported: "
                        "tensors, NumPy arrays, numbers, strings, and dicts/tuples/lists of them "
                        "(or pass collate_fn=)")


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch (see the module docstring for the rules).

    >>> import gradwise as gw
    >>> from gradwise.data import default_collate
    >>> b = default_collate([(gw.tensor([1.0, 2.0]), 0), (gw.tensor([3.0, 4.0]), 1)])
    >>> b[0].shape, b[1].tolist()
    ((2, 2), [0, 1])
    >>> default_collate([{"x": 1.5, "name": "a"}, {"x": 2.5, "name": "b"}])
    {'x': tensor([1.5000, 2.5000]), 'name': ['a', 'b']}
    """
    batch = list(batch)
    if not batch:
        raise DataError("default_collate: got an empty batch; a batch needs at least one sample")
    return _collate(batch, "batch")
