"""The one path every op goes through: :func:`apply`.

Tensor methods, operators and the public ``gradwise.<name>`` functions all end
here.  ``apply`` runs the op's forward on arrays and, when grad mode is on and
an input requires grad, records a :class:`Node` so backward can find it.
``make_unary``/``make_binary`` build the same path unrolled for one and two
inputs (the operators and unary methods that dominate small-model training).

Type promotion happens here, before the NumPy forward: the ops that declare a rule
(:data:`gradwise.dtypes.PROMOTION`) get their operands cast to the dtype
``torch.result_type`` gives (:func:`promote_operands`), so NumPy never promotes on its
own (it would make ``float32 * int64`` float64 and ``int_tensor / 2`` float64).  The
common case, one dtype on both sides or a float tensor with a Python number, skips it
after one check.  Each node still records its inputs' own dtypes, so every input's
gradient comes back in that input's dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradwise import dtypes as _dtypes
from gradwise.autograd.anomaly import _ANOMALY, checked_apply
from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.node import Node
from gradwise.autograd.tensor import Tensor, as_array
from gradwise.errors import DtypeError, ShapeError, format_shape
from gradwise.ops.registry import OpDef

_ndarray = np.ndarray
_asarray = np.asarray
_new = object.__new__
_NO_SAVE: dict[int, tuple[None, ...]] = {n: (None,) * n for n in range(8)}


def _broadcast_message(op: OpDef, datas: list[Any]) -> str:
    shapes = [np.shape(d) for d in datas if isinstance(d, (np.ndarray, np.generic))]
    text = " and ".join(format_shape(s) for s in shapes)
    detail = ""
    if len(shapes) >= 2:
        a, b = shapes[0], shapes[1]
        for k in range(1, min(len(a), len(b)) + 1):
            if a[-k] != b[-k] and a[-k] != 1 and b[-k] != 1:
                detail = f": dimension {-k} is {a[-k]} in the first and {b[-k]} in the second"
                break
    return (f"{op.name}: shapes {text} cannot be broadcast together{detail}. Broadcasting "
            "aligns trailing dimensions; each pair must be equal or one of them 1.")


def _forward_failed(op: OpDef, datas: list[Any], exc: ValueError) -> Exception:
    if isinstance(exc, ShapeError) or "broadcast" not in str(exc):
        return exc
    return ShapeError(_broadcast_message(op, datas))


def _wrap(out: Any) -> Tensor:
    return Tensor._make(out if type(out) is _ndarray else _asarray(out))


def _share_version(src: Any, t: Tensor) -> None:
    """Views share their base's version counter: writing through one bumps both."""
    if isinstance(src, Tensor):
        box = src._version
        if box is None:
            box = src._version = [0]
        t._version = box


def _cast(d: Any, dt: np.dtype) -> Any:
    """One operand (array, number or None) in dtype ``dt``."""
    if isinstance(d, np.ndarray):
        return d if d.dtype == dt else d.astype(dt)
    if d is None:
        return None
    try:
        return _constant(d, dt)
    except OverflowError:
        # an integer out of an integer dtype's range wraps around, as in PyTorch (NumPy refuses)
        return np.asarray(np.array(d, dtype=np.int64).astype(dt))


def _operand_keys(rule: str, first: int, out: list[Any]) -> tuple[tuple[int, np.dtype], ...] | None:
    """The :func:`gradwise.dtypes.describe` keys of inputs ``first..`` of ``out`` (lists and
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
    return tuple(keys)


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
    keys = _operand_keys(rule, first, out)
    if keys is None:
        return None
    dt = _dtypes.compute_dtype(rule, _dtypes.result_dtype(keys))
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


def _cacheable(c: type) -> bool:
    """Whether an operand's class alone (with an array's dtype and 0-d-ness) fixes how it promotes."""
    return c is _ndarray or c in (bool, int, float, complex) or issubclass(c, (np.number, np.bool_))


def _make_pair_promoter(op: OpDef) -> Callable[[Any, Any], Any] | None:
    """``make_binary``'s slow path: ``(x, y) -> (x, y)`` cast as ``op``'s rule says.

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


class _Promoters(dict[OpDef, Any]):
    """op -> its promoter or None, made on first use (ops may be declared after import)."""

    def __missing__(self, op: OpDef) -> Any:
        p = self[op] = _make_promoter(op)
        return p


_PROMOTERS = _Promoters()


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
    tdata = target.data if isinstance(target, Tensor) else np.asarray(target)
    kind = tdata.dtype.kind
    if kind in "fc" and rule != _dtypes.NO_BOOL:
        # a float or complex tensor holds any real result: only a complex operand is refused
        if kind == "c":
            return
        for o in others:
            d = o.data if isinstance(o, Tensor) else o
            c = d.__class__
            if c is _ndarray:
                if d.dtype.kind == "c":
                    break
            elif c is not float and c is not int and c is not bool:
                break
        else:
            return
    datas = [tdata] + [o.data if isinstance(o, Tensor) else o for o in others]
    keys = _operand_keys(rule, first, datas)
    if keys is None:
        return
    dt = _dtypes.compute_dtype(rule, _dtypes.result_dtype(keys))
    if not _dtypes.can_cast(dt, tdata.dtype):
        raise DtypeError(f"{op.name}_: result type {_dtypes.torch_name(dt)} can't be cast to the "
                         f"desired output type {_dtypes.torch_name(tdata.dtype)} (as in PyTorch: an "
                         f"in-place op keeps the tensor's dtype, {tdata.dtype.name}). Use the "
                         f"out-of-place op, or convert the tensor first (e.g. x = x.float()).")


def apply(op: OpDef, *args: Any, **attrs: Any) -> Tensor:
    """Run ``op`` on ``args`` (Tensors or constants) and record it for backward.

    >>> import gradwise as gw
    >>> from gradwise.ops.arithmetic import MUL
    >>> x = gw.tensor([1.0, 2.0], requires_grad=True)
    >>> apply(MUL, x, 3.0)
    tensor([3., 6.], grad_fn=<MulBackward0>)
    """
    if _ANOMALY[0]:  # anomaly mode: the checking path (gradwise.autograd.anomaly)
        return checked_apply(apply, op, args, attrs)
    need = False
    datas = []
    for a in args:
        if isinstance(a, Tensor):
            datas.append(a.data)
            if a.requires_grad:
                need = True
        else:
            datas.append(a)
    promote = _PROMOTERS[op]
    if promote is not None:
        datas = promote(datas)
    try:
        out = op.forward(*datas, **attrs)
    except ValueError as exc:
        raise _forward_failed(op, datas, exc) from None
    t = _wrap(out)
    if op.view:
        _share_version(args[0], t)
    if need and _STATE[0] and op.differentiable and t.data.dtype.kind in "fc":
        _record(op, args, datas, t, attrs)
    return t


def make_unary(op: OpDef) -> Callable[[Tensor], Tensor]:
    """A fast ``f(x)`` for a one-input op without attributes on a Tensor (see make_binary)."""
    fwd = op.forward
    differentiable = op.differentiable
    saves_inputs = op.saves_inputs
    saves_out = op.saves_out
    view = op.view
    state = _STATE
    anomaly = _ANOMALY

    def unary(x: Tensor) -> Tensor:
        if anomaly[0]:
            return checked_apply(apply, op, (x,), _NO_ATTRS)
        xd = x.data
        out = fwd(xd)
        if out.__class__ is not _ndarray:
            out = _asarray(out)
        t = _new(Tensor)
        t.data = out
        t.grad = None
        t._hooks = None
        t._version = None
        if x.requires_grad and state[0] and differentiable and out.dtype.kind in "fc":
            t.requires_grad = True
            edge = x.grad_fn
            if edge is None:
                edge = x
            meta = None if (xd.shape == out.shape and xd.dtype is out.dtype) else (xd.shape, xd.dtype)
            checks: Any = None
            if saves_inputs:
                box = x._version
                if box is None:
                    box = x._version = [0]
                checks = ((box, box[0], 0),)
                saved: tuple[Any, ...] = (xd,)
            else:
                saved = (None,)
            if saves_out:
                box = t._version = [0]
                checks = ((box, 0, -1),) if checks is None else checks + ((box, 0, -1),)
            t.grad_fn = Node(op, (edge,), saved, out if saves_out else None, _NO_ATTRS, (meta,),
                             checks)
        else:
            t.requires_grad = False
            t.grad_fn = None
        if view:
            _share_version(x, t)
        return t

    unary.__name__ = op.name
    return unary


def apply1(op: OpDef, x: Tensor) -> Tensor:
    """:func:`apply` for a one-input op without attributes on a Tensor."""
    f = _UNARY.get(op)
    if f is None:
        f = _UNARY[op] = make_unary(op)
    return f(x)


_UNARY: dict[OpDef, Callable[[Tensor], Tensor]] = {}


_CONSTANTS: dict[tuple[Any, np.dtype], np.ndarray] = {}


def _constant(value: Any, dtype: np.dtype) -> np.ndarray:
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


def make_binary(op: OpDef) -> Callable[[Any, Any], Tensor]:
    """A fast ``f(x, y)`` for a two-input op without attributes (the binary operators).

    The op's fields are bound once as closure variables and the recording is
    unrolled by hand: this is the hottest code of small-model training.
    ``op.fast_forward`` may name a plain ufunc to call instead of ``op.forward``
    (e.g. ``np.add`` for ``add``, whose forward also takes ``alpha``).
    """
    fwd = op.fast_forward or op.forward
    differentiable = op.differentiable
    g0, g1 = op.grads
    saves_inputs = op.saves_inputs
    saves_out = op.saves_out
    state = _STATE
    anomaly = _ANOMALY
    promote = _make_pair_promoter(op)   # None: the op does not promote (matmul checks dtypes itself)
    to_float = promote is not None and _dtypes.PROMOTION[op.name][0] == _dtypes.TO_FLOAT

    def binary(x: Any, y: Any) -> Tensor:
        if anomaly[0]:
            return checked_apply(apply, op, (x, y), _NO_ATTRS)
        xt = isinstance(x, Tensor)
        yt = isinstance(y, Tensor)
        # The common cases take one check: two tensors of one dtype (for true division a
        # float one), or a float tensor with a Python float or int (a cached 0-d array in
        # the tensor's dtype).  Anything else goes through the op's promotion rule.  xdt
        # and ydt stay the inputs' own dtypes: the node records them for the gradients.
        if xt:
            xd = x.data
            xr = x.requires_grad
            xdt = xd.dtype
            if yt:
                yd = y.data
                yr = y.requires_grad
                ydt = yd.dtype
                if (xdt is not ydt or to_float and xdt.kind != "f") and promote is not None:
                    xd, yd = promote(xd, yd)
            else:
                yr = False
                if (y.__class__ is float or y.__class__ is int) and xdt.kind == "f":
                    yd = _constant(y, xdt)
                elif promote is not None:
                    xd, yd = promote(xd, y)
                else:
                    yd = y
        elif yt:
            xr = False
            yd = y.data
            yr = y.requires_grad
            ydt = yd.dtype
            if (x.__class__ is float or x.__class__ is int) and ydt.kind == "f":
                xd = _constant(x, ydt)
            elif promote is not None:
                xd, yd = promote(x, yd)
            else:
                xd = x
        else:
            return apply(op, x, y)
        try:
            out = fwd(xd, yd)
        except ValueError as exc:
            raise _forward_failed(op, [xd, yd], exc) from None
        if out.__class__ is not _ndarray:
            out = _asarray(out)
        t = _new(Tensor)
        t.data = out
        t.grad = None
        t._hooks = None
        if (xr or yr) and state[0] and differentiable and out.dtype.kind in "fc":
            t.requires_grad = True
            oshape = out.shape
            odtype = out.dtype
            if xr and g0 is not None:
                ex = x.grad_fn
                if ex is None:
                    ex = x
                mx = None if (xd.shape == oshape and xdt is odtype) else (xd.shape, xdt)
            else:
                ex = mx = None
            if yr and g1 is not None:
                ey = y.grad_fn
                if ey is None:
                    ey = y
                my = None if (yd.shape == oshape and ydt is odtype) else (yd.shape, ydt)
            else:
                ey = my = None
            checks: Any = None
            if saves_inputs:
                saved = (xd, yd)
                if xt:
                    bx = x._version
                    if bx is None:
                        bx = x._version = [0]
                    checks = ((bx, bx[0], 0),)
                if yt:
                    by = y._version
                    if by is None:
                        by = y._version = [0]
                    checks = ((by, by[0], 1),) if checks is None else checks + ((by, by[0], 1),)
            else:
                saved = (None, None)
            if saves_out:
                box = [0]
                t._version = box
                checks = ((box, 0, -1),) if checks is None else checks + ((box, 0, -1),)
                saved_out = out
            else:
                t._version = None
                saved_out = None
            t.grad_fn = Node(op, (ex, ey), saved, saved_out, _NO_ATTRS, (mx, my), checks)
        else:
            t.requires_grad = False
            t.grad_fn = None
            t._version = None
        return t

    binary.__name__ = op.name
    return binary


_NO_ATTRS: dict[str, Any] = {}


def _record(op: OpDef, args: tuple[Any, ...], datas: Any, t: Tensor, attrs: dict[str, Any]) -> None:
    out = t.data
    oshape = out.shape
    odtype = out.dtype
    edges = []
    meta = []
    checks = []
    grads = op.grads
    save = op.saves_inputs
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad and grads[i] is not None:
            edges.append(a.grad_fn if a.grad_fn is not None else a)
            d = a.data
            meta.append(None if (d.shape == oshape and d.dtype == odtype) else (d.shape, d.dtype))
        else:
            edges.append(None)
            meta.append(None)
        if save and isinstance(a, Tensor):
            box = a._version
            if box is None:
                box = a._version = [0]
            checks.append((box, box[0], i))
    if op.saves_out:
        box = t._version
        if box is None:
            box = t._version = [0]
        checks.append((box, box[0], -1))
    t.requires_grad = True
    t.grad_fn = Node(op, tuple(edges), tuple(datas) if save else (_NO_SAVE.get(len(datas)) or (None,) * len(datas)),
                     out if op.saves_out else None, attrs, tuple(meta),
                     tuple(checks) if checks else None)


def call(op: OpDef, *args: Any, **kwargs: Any) -> Tensor:
    """Normalise public arguments with ``op.prepare`` and :func:`apply` the op."""
    if op.prepare is None:
        if kwargs:
            raise TypeError(f"{op.name}() takes no keyword arguments, got {sorted(kwargs)}")
        return apply(op, *args)
    inputs, attrs = op.prepare(*args, **kwargs)
    return apply(op, *inputs, **attrs)
