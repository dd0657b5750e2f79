"""Type promotion for the recording path (:mod:`gradwise.autograd.function`).

The ops that declare a rule (:data:`gradwise.dtypes.PROMOTION`) get their operands cast
to the dtype ``torch.result_type`` gives (:func:`promote_operands`) before the NumPy
forward, so NumPy never promotes on its own (it would make ``float32 * int64`` float64
and ``int_tensor / 2`` float64).  ``apply`` runs :data:`PROMOTERS`' cast for its op,
``make_binary`` a :func:`make_pair_promoter`; both skip the work after one check in the
common case (one dtype on both sides, or a float tensor with a Python number).  In-place
ops first ask :func:`check_inplace` whether the promoted result fits their tensor.

:func:`constant` is the cached 0-d array that a Python number becomes: the promotion
casts scalars through it, and ``make_binary`` uses it for a float tensor with a number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradwise import dtypes as _dtypes
from gradwise.autograd.tensor import Tensor, as_array
from gradwise.errors import DtypeError
from gradwise.ops.registry import OpDef

_ndarray = np.ndarray

_CONSTANTS: dict[tuple[Any, np.dtype], np.ndarray] = {}


def constant(value: Any, dtype: np.dtype) -> np.ndarray:
    """A cached read-only 0-d array of ``value`` in a float tensor's dtype.

    NumPy's path for a Python-scalar operand costs ~0.85 us on a small array against
    ~0.5 us for a 0-d array; the result dtype is the same (NEP 50: a Python scalar
    takes the array's float dtype), so ``x * 0.9`` computes the same values, faster,
    in the forward and again in the backward (which reuses the saved constant).  The
    promotion path casts scalars to the computing dtype (any dtype) through it too.
    """
    key: tuple[Any, np.dtype] = (value, dtype)
    c = _CONSTANTS.get(key)
    if c is None:
        if value == 0:
            # 0, 0.0 and -0.0 are one dict key: zeros are kept under their repr, so that
            # ``x * -0.0`` gets a negative zero (as in NumPy and PyTorch)
            key = (repr(value), dtype)
            c = _CONSTANTS.get(key)
            if c is not None:
                return c
        if len(_CONSTANTS) > 4096:
            _CONSTANTS.clear()
        c = np.array(value, dtype=dtype)
        c.flags.writeable = False
        _CONSTANTS[key] = c
    return c


def _cast(d: Any, dt: np.dtype) -> Any:
    """One operand (array, number or None) in dtype ``dt``."""
    if isinstance(d, np.ndarray):
        return d if d.dtype == dt else d.astype(dt)
    if d is None:
        return None
    try:
        return constant(d, dt)
    except OverflowError:
        # an integer out of an integer dtype's range wraps around, as in PyTorch (NumPy refuses)
        return np.asarray(np.array(d, dtype=np.int64).astype(dt))


def _compute_dtype(rule: str, first: int, out: list[Any]) -> np.dtype | None:
    """The dtype an op of ``rule`` computes in on inputs ``first..`` of ``out`` (lists and
    tuples in it become arrays); ``None`` when one is neither an array nor a number."""
    keys = []
    for i in range(first, len(out)):
        d = out[i]
        if d is None:
            continue
        if not isinstance(d, np.ndarray):
            if isinstance(d, (list, tuple)):
                d = out[i] = as_array(d)
            elif _dtypes.scalar_dtype(d) is None:
                return None
        key = _dtypes.describe(d)
        if key is not None:
            keys.append(key)
    if rule == _dtypes.NO_BOOL and any(dt.kind == "b" for _, dt in keys):
        raise DtypeError("sub: subtraction, the `-` operator, with a bool tensor is not supported "
                         "(as in PyTorch). To invert a mask use `~` or logical_not(); to compute with "
                         "the values, convert first (x.long() or x.float()).")
    return _dtypes.compute_dtype(rule, _dtypes.result_dtype(tuple(keys)))


def promote_operands(rule: str, first: int, datas: Sequence[Any]) -> list[Any] | None:
    """``datas`` with inputs ``first..`` cast to the dtype an op of ``rule`` computes in.

    Arrays count as tensors, lists and tuples as ``gradwise.tensor(...)`` of them, numbers
    as Python scalars, ``None`` (an absent clamp bound) not at all (see
    :mod:`gradwise.dtypes`).  ``None`` when an operand is none of these: NumPy gets it as is.

    >>> import numpy as np
    >>> [d.dtype.name for d in promote_operands("to_float", 0, [np.arange(3), 2])]
    ['float32', 'float32']
    """
    out = list(datas)
    dt = _compute_dtype(rule, first, out)
    if dt is None:
        return None
    for i in range(first, len(out)):
        out[i] = _cast(out[i], dt)
    return out


def _make_promoter(op: OpDef) -> Callable[[list[Any]], list[Any]] | None:
    """The cast that ``apply`` runs on ``op``'s operands; ``None`` for an op without a rule."""
    entry = _dtypes.PROMOTION.get(op.name)
    if entry is None:
        return None
    rule, first = entry
    to_float = rule == _dtypes.TO_FLOAT

    def promote(datas: list[Any]) -> list[Any]:
        # Nothing to cast: arrays of one dtype (for to_float a float or complex one), with
        # Python floats and ints only beside a float dtype (NumPy then keeps that dtype).
        dt = None
        scalar = False
        for i in range(first, len(datas)):
            d = datas[i]
            c = d.__class__
            if c is _ndarray:
                if dt is None:
                    dt = d.dtype
                elif d.dtype is not dt:
                    break
            elif c is float or c is int:
                scalar = True
            else:
                break
        else:
            if dt is not None and (dt.kind == "f" or (not scalar and (dt.kind == "c" or not to_float))):
                return datas
        out = promote_operands(rule, first, datas)
        return datas if out is None else out

    return promote


class _Promoters(dict[OpDef, Any]):
    """op -> its promoter or None, made on first use (ops may be declared after import)."""

    def __missing__(self, op: OpDef) -> Any:
        p = self[op] = _make_promoter(op)
        return p


PROMOTERS = _Promoters()
"""op -> the cast ``apply`` runs on its operands' arrays, or ``None`` (the op does not promote)."""


def _cacheable(c: type) -> bool:
    """Whether an operand's class alone (with an array's dtype and 0-d-ness) fixes how it promotes."""
    return c is _ndarray or c in (bool, int, float, complex) or issubclass(c, (np.number, np.bool_))


def make_pair_promoter(op: OpDef) -> Callable[[Any, Any], Any] | None:
    """``make_binary``'s slow path: ``(x, y) -> (x, y)`` cast as ``op``'s rule says;
    ``None`` for an op without a rule.

    The dtype to compute in is cached per kind of operand pair (an array's dtype and
    whether it is 0-d, a Python scalar's type) and the default dtype.
    """
    entry = _dtypes.PROMOTION.get(op.name)
    if entry is None:
        return None
    rule = entry[0]
    cache: dict[tuple[Any, Any, np.dtype], np.dtype] = {}
    default = _dtypes._DEFAULT

    def promote_pair(x: Any, y: Any) -> Any:
        cx, cy = x.__class__, y.__class__
        kx = (x.dtype, x.ndim == 0) if cx is _ndarray else cx
        ky = (y.dtype, y.ndim == 0) if cy is _ndarray else cy
        key = (kx, ky, default[0])
        dt = cache.get(key)
        if dt is None:
            out = promote_operands(rule, 0, (x, y))
            if out is None:
                return x, y
            if _cacheable(cx) and _cacheable(cy):
                cache[key] = out[0].dtype
            return out
        return (x if cx is _ndarray and x.dtype is dt else _cast(x, dt),
                y if cy is _ndarray and y.dtype is dt else _cast(y, dt))

    return promote_pair


def check_inplace(op: OpDef, target: Any, others: Sequence[Any]) -> None:
    """Raise PyTorch's error when ``target.<op>_(*others)`` computes in a dtype that cannot be
    stored back in ``target`` (``int_tensor += 1.5``, ``int_tensor /= 2``, ``bool += 1``).

    An in-place op keeps ``target``'s dtype: the result is computed in the promoted dtype and
    cast back, which :func:`gradwise.dtypes.can_cast` must allow (no complex into a real
    dtype, no floating into an integer or bool, nothing but bool into bool).

    >>> import gradwise as gw
    >>> from gradwise.ops.arithmetic import ADD
    >>> check_inplace(ADD, gw.tensor([1, 2]), [1.5])
    Traceback (most recent call last):
    ...
    gradwise.errors.DtypeError: add_: result type Float can't be cast to the desired output type Long ...
    """
    entry = _dtypes.PROMOTION.get(op.name)
    if entry is None:
        return
    rule, first = entry
    tdata = target._data if isinstance(target, Tensor) else np.asarray(target)
    kind = tdata.dtype.kind
    if kind in "fc" and rule != _dtypes.NO_BOOL:
        # a float or complex tensor holds any real result: only a complex operand is refused
        if kind == "c":
            return
        for o in others:
            d = o._data if isinstance(o, Tensor) else o
            c = d.__class__
            if c is _ndarray:
                if d.dtype.kind == "c":
                    break
            elif c is not float and c is not int and c is not bool:
                break
        else:
            return
    datas = [tdata] + [o._data if isinstance(o, Tensor) else o for o in others]
    dt = _compute_dtype(rule, first, datas)
    if dt is None:
        return
    if not _dtypes.can_cast(dt, tdata.dtype):
        raise DtypeError(f"{op.name}_: result type {_dtypes.torch_name(dt)} can't be cast to the "
                         f"desired output type {_dtypes.torch_name(tdata.dtype)} (as in PyTorch: an "
                         f"in-place op keeps the tensor's dtype, {tdata.dtype.name}). Use the "
                         f"out-of-place op, or convert the tensor first (e.g. x = x.float()).")
