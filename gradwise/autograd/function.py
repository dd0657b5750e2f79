"""The one path every op goes through: :func:`apply`.

Tensor methods, operators and the public ``gradwise.<name>`` functions all end
here.  ``apply`` runs the op's forward on arrays and, when grad mode is on and
an input requires grad, records a :class:`Node` so backward can find it.
``make_unary``/``make_binary`` build the same path unrolled for one and two
inputs (the operators and unary methods that dominate small-model training).

Type promotion (:mod:`gradwise.autograd.promotion`) runs before the NumPy forward:
``apply`` casts through the op's promoter, ``make_binary`` through its pair promoter,
and both skip it after one check in the common case (one dtype on both sides, or a
float tensor with a Python number).  Each node still records its inputs' own dtypes,
so every input's gradient comes back in that input's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradwise import dtypes as _dtypes
from gradwise.autograd.anomaly import _ANOMALY, checked_apply
from gradwise.autograd.grad_mode import _MODE, _OFF
from gradwise.autograd.node import Node
from gradwise.autograd.promotion import PROMOTERS as _PROMOTERS
from gradwise.autograd.promotion import check_inplace as check_inplace  # re-exported: its old home
from gradwise.autograd.promotion import constant as _constant
from gradwise.autograd.promotion import make_pair_promoter
from gradwise.autograd.promotion import promote_operands as promote_operands  # re-exported
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
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
            datas.append(a._data)
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
    if need and (not _OFF or _MODE.enabled) and op.differentiable and t._data.dtype.kind in "fc":
        _record(op, args, datas, t, attrs)
    return t


def make_unary(op: OpDef) -> Callable[[Tensor], Tensor]:
    """A fast ``f(x)`` for a one-input op without attributes on a Tensor (see make_binary)."""
    fwd = op.forward
    differentiable = op.differentiable
    saves_inputs = op.saves_inputs
    saves_out = op.saves_out
    view = op.view
    off = _OFF   # grad mode: not off or mode.enabled (gradwise.autograd.grad_mode)
    mode = _MODE
    anomaly = _ANOMALY

    def unary(x: Tensor) -> Tensor:
        if anomaly[0]:
            return checked_apply(apply, op, (x,), _NO_ATTRS)
        xd = x._data
        out = fwd(xd)
        if out.__class__ is not _ndarray:
            out = _asarray(out)
        t = _new(Tensor)
        t._data = out
        t.grad = None
        t._hooks = None
        t._version = None
        if x.requires_grad and (not off or mode.enabled) and differentiable and out.dtype.kind in "fc":
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
    off = _OFF   # grad mode: not off or mode.enabled (gradwise.autograd.grad_mode)
    mode = _MODE
    anomaly = _ANOMALY
    promote = make_pair_promoter(op)   # None: the op does not promote (matmul checks dtypes itself)
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
            xd = x._data
            xr = x.requires_grad
            xdt = xd.dtype
            if yt:
                yd = y._data
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
            yd = y._data
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
        t._data = out
        t.grad = None
        t._hooks = None
        if (xr or yr) and (not off or mode.enabled) and differentiable and out.dtype.kind in "fc":
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
    out = t._data
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
            d = a._data
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
