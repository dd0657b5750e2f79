"""Dtypes under PyTorch's names (they are NumPy dtypes), and PyTorch's type promotion.

Type promotion (:func:`result_type`) follows ``torch.result_type``:

* categories ``bool < integer < floating < complex``; between two tensors of one category the
  wider dtype wins (``int8`` with ``int32`` is ``int32``, ``uint8`` with ``int8`` is
  ``int16``); between categories the higher one's dtype wins (``int64`` with ``float16`` is
  ``float16``, ``float64`` with ``complex64`` is ``complex128``);
* a Python scalar (``bool``, ``int``, ``float``, ``complex``; NumPy scalars count as Python
  scalars), and a 0-d tensor against a tensor with dimensions, only matters when its category
  is higher; it then gives that category's default (a Python float with an int tensor gives
  :func:`get_default_dtype`, a complex its complex counterpart, a 0-d tensor its own dtype):
  ``float32`` with a 0-d ``float64`` or with ``2.5`` stays ``float32``, ``int64`` with ``2.5``
  is ``float32``;
* a NumPy array is a tensor of its dtype (PyTorch has no array operands), not a scalar.

>>> import numpy as np
>>> result_type(np.ones(3, np.float32), np.ones(3, np.int64)).name
'float32'
>>> result_type(np.ones(3, np.int64), 2.5).name
'float32'
>>> result_type(np.ones(3, np.float32), np.array(2.0)).name   # a 0-d float64: same category
'float32'
>>> result_type(np.ones(3, np.uint8), np.ones(3, np.int8)).name
'int16'

The ops that promote declare it next to their definition with :func:`promotes`
(``PROMOTION``); ``gradwise.autograd.function`` casts their operands before the NumPy
forward.  Dtypes PyTorch does not have (``uint16``..., ``datetime64``) fall back to
NumPy's ``result_type``; ``float16`` with a complex gives ``complex64`` (PyTorch's
``complex32`` has no NumPy counterpart).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from gradwise.errors import DtypeError

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # noqa: A001  (PyTorch's name)
float64 = double = np.dtype(np.float64)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # noqa: A001
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)  # noqa: A001

_DEFAULT: list[np.dtype] = [float32]


def get_default_dtype() -> np.dtype:
    """The float dtype that Python floats become (float32 unless changed)."""
    return _DEFAULT[0]


def set_default_dtype(dtype: np.dtype | str | type) -> None:
    """Make Python floats become ``dtype`` (float32 or float64)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: only float dtypes are allowed, got {dt.name}")
    _DEFAULT[0] = dt
    _RESULT_CACHE.clear()


_NAMES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
          "int": "int32", "short": "int16", "bool": "bool"}


def resolve_dtype(dtype: Any) -> np.dtype:
    """A NumPy dtype from ``gradwise.float64``, ``"float64"``, ``np.float64`` or ``float``."""
    if isinstance(dtype, str):
        dtype = _NAMES.get(dtype, dtype)
    if dtype is builtins.float:   # the Python type (this module's `float` is float32)
        return get_default_dtype()
    try:
        return np.dtype(dtype)
    except TypeError:
        raise DtypeError(f"unknown dtype {dtype!r}; use e.g. gradwise.float32, gradwise.float64, "
                         "gradwise.int64 or gradwise.bool") from None


# --- type promotion: torch.result_type ------------------------------------------------

BOOL, INTEGER, FLOATING, COMPLEX = 0, 1, 2, 3
"""The categories, lowest first."""
_CATEGORY = {"b": BOOL, "u": INTEGER, "i": INTEGER, "f": FLOATING, "c": COMPLEX}
_TORCH_DTYPES = frozenset(np.dtype(t) for t in (
    np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64,
    np.complex64, np.complex128))
_TORCH_NAMES = {bool: "Bool", uint8: "Byte", int8: "Char", int16: "Short", int32: "Int", int64: "Long",
                float16: "Half", float32: "Float", float64: "Double", complex64: "ComplexFloat",
                complex128: "ComplexDouble"}


def category(dtype: np.dtype) -> builtins.int:
    """0 bool, 1 integer, 2 floating, 3 complex (``-1``: none of them, e.g. a string dtype)."""
    return _CATEGORY.get(dtype.kind, -1)


def torch_name(dtype: np.dtype) -> str:
    """PyTorch's name of ``dtype`` in its messages: ``Float``, ``Double``, ``Long``..."""
    return _TORCH_NAMES.get(np.dtype(dtype), np.dtype(dtype).name)


def default_complex_dtype() -> np.dtype:
    """The complex dtype of a Python complex: complex64, or complex128 when floats are float64."""
    return complex128 if _DEFAULT[0] == float64 else complex64


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """``torch.promote_types``: the dtype two tensors of dtypes ``a`` and ``b`` compute in.

    >>> promote_types(int64, float16).name, promote_types(int64, complex64).name
    ('float16', 'complex64')
    """
    if a == b:
        return a
    if a not in _TORCH_DTYPES or b not in _TORCH_DTYPES:
        return np.result_type(a, b)    # dtypes PyTorch lacks: NumPy's rule
    ca, cb = category(a), category(b)
    if ca == cb:
        return np.promote_types(a, b)  # the wider (uint8 with int8: int16), as PyTorch
    if ca > cb:
        a, b, ca, cb = b, a, cb, ca
    if cb == COMPLEX and ca == FLOATING:
        return np.promote_types(a, b)  # float64 with complex64: complex128
    return b


def scalar_dtype(value: Any) -> np.dtype | None:
    """The dtype a Python (or NumPy) scalar promotes as: bool, int64, the default float or
    its complex; ``None`` for anything that is not a number."""
    if isinstance(value, (builtins.bool, np.bool_)):
        return bool
    if isinstance(value, (builtins.int, np.integer)):
        return int64
    if isinstance(value, (builtins.float, np.floating)):
        return _DEFAULT[0]
    if isinstance(value, (builtins.complex, np.complexfloating)):
        return default_complex_dtype()
    return None


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    # PyTorch's combine_categories: a lower-priority group counts only when its category is higher.
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = category(higher), category(lower)
    if ch == COMPLEX:
        return higher
    if cl == COMPLEX:
        return np.promote_types(higher, complex64) if ch == FLOATING else lower
    if ch == FLOATING:
        return higher
    if ch == BOOL or cl == FLOATING:
        return promote_types(higher, lower)
    return higher


_RESULT_CACHE: dict[tuple[Any, ...], np.dtype] = {}


def result_dtype(operands: tuple[tuple[builtins.int, np.dtype], ...]) -> np.dtype:
    """:func:`result_type` of operands described as ``(group, dtype)``: group 0 a tensor with
    dimensions, 1 a 0-d tensor, 2 a scalar (``dtype`` then :func:`scalar_dtype`'s answer).
    Cached: the recording path calls it with a few dozen distinct keys."""
    r = _RESULT_CACHE.get(operands)
    if r is None:
        groups: list[np.dtype | None] = [None, None, None]
        for g, dt in operands:
            cur = groups[g]
            groups[g] = dt if cur is None else promote_types(cur, dt)
        r = _combine(groups[0], _combine(groups[1], groups[2]))
        if r is None:
            raise TypeError("result_type: needs at least one operand")
        if len(_RESULT_CACHE) > 4096:
            _RESULT_CACHE.clear()
        _RESULT_CACHE[operands] = r
    return r


def describe(operand: Any) -> tuple[builtins.int, np.dtype] | None:
    """``(group, dtype)`` of an operand for :func:`result_dtype`; ``None`` for ``None``.

    Raises ``TypeError`` for something that is neither an array nor a number."""
    if isinstance(operand, np.ndarray):
        return (0 if operand.ndim else 1), operand.dtype
    data = getattr(operand, "_data", None)      # a Tensor (this module sits below autograd: duck-typed)
    if isinstance(data, np.ndarray):
        return (0 if data.ndim else 1), data.dtype
    if operand is None:
        return None
    dt = scalar_dtype(operand)
    if dt is None:
        raise TypeError(f"result_type: expected arrays or numbers, got {type(operand).__name__}")
    return 2, dt


def result_type(*operands: Any) -> np.dtype:
    """``torch.result_type`` on tensors, arrays and Python scalars (see the module doc).

    >>> result_type(np.ones(2, np.int32), 1j).name
    'complex64'
    """
    return result_dtype(tuple(d for d in map(describe, operands) if d is not None))


def can_cast(from_: np.dtype, to: np.dtype) -> builtins.bool:
    """``torch.can_cast``: whether an in-place op may store a ``from_`` result in ``to``:
    never complex into a real dtype, floating into an integer or bool, or non-bool into bool."""
    cf, ct = category(from_), category(to)
    if cf == COMPLEX and ct != COMPLEX:
        return False
    if cf == FLOATING and ct in (BOOL, INTEGER):
        return False
    return not (cf != BOOL and ct == BOOL)


# --- which ops promote: declared by the op modules, read by the recording path ------------

COMMON = "common"
"""Operands are cast to :func:`result_type` (add, mul, comparisons, maximum, where...)."""
TO_FLOAT = "to_float"
"""As ``COMMON``, but an integer or bool result type becomes the default float (true division, atan2)."""
NO_BOOL = "no_bool"
"""As ``COMMON``, but a bool operand is refused, as PyTorch's ``sub`` does."""
_RULES = (COMMON, TO_FLOAT, NO_BOOL)

PROMOTION: dict[str, tuple[str, builtins.int]] = {}
"""Op name -> (rule, index of the first input that takes part): ``where``'s condition does not."""


def promotes(rule: str, *ops: Any, first: builtins.int = 0) -> None:
    """Declare that ``ops`` (OpDefs, or anything with a ``name``) promote their operands by ``rule``."""
    if rule not in _RULES:
        raise ValueError(f"promotes: unknown rule {rule!r}; use one of {_RULES}")
    for op in ops:
        PROMOTION[op.name] = (rule, first)


def compute_dtype(rule: str, result: np.dtype) -> np.dtype:
    """The dtype an op of ``rule`` computes in, given the operands' :func:`result_type`."""
    if rule == TO_FLOAT and result.kind in "biu":
        return _DEFAULT[0]
    return result


_CONVERT = {float32: ".float()", float64: ".double()", float16: ".half()", int64: ".long()",
            int32: ".int()", bool: ".bool()"}


def convert_call(dtype: np.dtype) -> str:
    """The method that converts a tensor to ``dtype``: ``.float()``, ``.double()``, ``.to(gradwise.int8)``."""
    dt = np.dtype(dtype)
    return _CONVERT.get(dt, f".to(gradwise.{dt.name})")


def dtype_mismatch(op: str, names: tuple[str, str], dtypes: tuple[Any, Any],
                   layer: builtins.bool = False) -> DtypeError:
    """PyTorch's error for operands that must share a dtype (``linear``, ``matmul``, ``conv``),
    naming the op and both dtypes, with how to make them agree (``layer``: the first operand
    is a layer's input and the second its parameter).

    >>> str(dtype_mismatch("linear", ("mat1", "mat2"), (float64, float32), layer=True)).split(" (")[0]
    'linear: mat1 and mat2 must have the same dtype, but got Double and Float'
    """
    a, b = np.dtype(dtypes[0]), np.dtype(dtypes[1])
    if layer:
        hint = f"convert the input with x{convert_call(b)}, or the layer with model{convert_call(a)}"
    else:
        hint = f"convert one side: {names[0]}{convert_call(b)} or {names[1]}{convert_call(a)}"
    return DtypeError(f"{op}: {names[0]} and {names[1]} must have the same dtype, but got "
                      f"{torch_name(a)} and {torch_name(b)} ({a.name} and {b.name}), as in PyTorch; "
                      f"{hint}.")


def require_same_dtype(op: str, names: tuple[str, str], a: Any, b: Any, layer: builtins.bool = False) -> None:
    """Raise :func:`dtype_mismatch` unless ``a`` and ``b`` (arrays or tensors) have one dtype:
    products and layers never promote, as in PyTorch (``layer``: the hint names ``model.double()``)."""
    if a.dtype != b.dtype:
        raise dtype_mismatch(op, names, (a.dtype, b.dtype), layer=layer)
