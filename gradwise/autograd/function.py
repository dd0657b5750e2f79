"""The one path every op goes through: :func:`apply`.

Tensor methods, operators and the public ``gradwise.<name>`` functions all end
here.  ``apply`` runs the op's forward on arrays and, when grad mode is on and
an input requires grad, records a :class:`Node` so backward can find it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.autograd.grad_mode import _STATE
from gradwise.autograd.node import Node
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.ops.registry import OpDef

_ndarray = np.ndarray
_asarray = np.asarray
_FLOAT_KINDS = "fc"


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


def apply(op: OpDef, *args: Any, **attrs: Any) -> Tensor:
    """Run ``op`` on ``args`` (Tensors or constants) and record it for backward.

    >>> import gradwise as gw
    >>> from gradwise.ops.arithmetic import MUL
    >>> x = gw.tensor([1.0, 2.0], requires_grad=True)
    >>> apply(MUL, x, 3.0)
    tensor([3., 6.], grad_fn=<MulBackward0>)
    """
    datas = []
    need = False
    for a in args:
        if isinstance(a, Tensor):
            datas.append(a.data)
            if a.requires_grad:
                need = True
        else:
            datas.append(a)
    try:
        out = op.forward(*datas, **attrs)
    except ValueError as exc:
        if isinstance(exc, ShapeError) or "broadcast" not in str(exc):
            raise
        raise ShapeError(_broadcast_message(op, datas)) from None
    if type(out) is not _ndarray:
        out = _asarray(out)
    t = Tensor._make(out)
    if op.view:
        t._version = args[0]._version
    if need and _STATE[0] and out.dtype.kind in _FLOAT_KINDS and op.differentiable:
        t.requires_grad = True
        t.grad_fn = _record(op, args, datas, out, t, attrs)
    return t


def _record(op: OpDef, args: tuple[Any, ...], datas: list[Any], out: np.ndarray,
            t: Tensor, attrs: dict[str, Any]) -> Node:
    edges = []
    meta = []
    checks = []
    grads = op.grads
    save = op.saves_inputs
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            if a.requires_grad and grads[i] is not None:
                edges.append(a.grad_fn if a.grad_fn is not None else a)
                meta.append((a.data.shape, a.data.dtype))
            else:
                edges.append(None)
                meta.append(None)
            if save:
                checks.append((a._version, a._version[0], i))
        else:
            edges.append(None)
            meta.append(None)
    if op.saves_out:
        checks.append((t._version, t._version[0], -1))
    node = Node(op, tuple(edges), tuple(datas) if save else (None,) * len(datas),
                out if op.saves_out else None, attrs, tuple(meta), tuple(checks))
    if _STATE[1]:
        from gradwise.autograd.anomaly import capture_trace
        node.trace = capture_trace()
    return node


def call(op: OpDef, *args: Any, **kwargs: Any) -> Tensor:
    """Normalise public arguments with ``op.prepare`` and :func:`apply` the op."""
    if op.prepare is None:
        if kwargs:
            raise TypeError(f"{op.name}() takes no keyword arguments, got {sorted(kwargs)}")
        return apply(op, *args)
    inputs, attrs = op.prepare(*args, **kwargs)
    return apply(op, *inputs, **attrs)
