"""Broadcasting, dtype casts and copies.

``sum_to`` is how the autograd node undoes broadcasting once for every op:
a gradient computed in the broadcast shape is summed over the dimensions that
broadcasting added or stretched.  ``broadcast_to`` is its adjoint.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.dtypes import resolve_dtype
from gradwise.errors import ShapeError, format_shape
from gradwise.ops.dims import shape_arg, shape_of
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import defop


def _sum_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # Sum over the leading dimensions broadcasting prepended, then over the
    # dimensions where the target has size 1 but x does not.
    xshape = np.shape(x)
    if xshape == shape:
        return x
    lead = len(xshape) - len(shape)
    if lead < 0:
        return np.broadcast_to(x, shape)
    stretched = tuple(lead + i for i, s in enumerate(shape) if s == 1 and xshape[lead + i] != 1)
    if not stretched:
        # Only leading dimensions were added (a bias over a batch): one reduction, no reshape.
        return np.add.reduce(x, axis=tuple(range(lead)))
    r = np.add.reduce(x, axis=tuple(range(lead)) + stretched, keepdims=True)
    return r.reshape(shape)


def _broadcast_to(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    try:
        return np.broadcast_to(x, shape)
    except ValueError:
        raise ShapeError(f"broadcast_to/expand: shape {format_shape(np.shape(x))} cannot be "
                         f"broadcast to {format_shape(shape)}; each dimension must match or be 1 "
                         "in the source") from None


def _prepare_shape(input: Any, *shape: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``f(input, 2, 3)`` or ``f(input, (2, 3))``: the input and the target ``shape``."""
    return (input,), {"shape": shape_arg(shape)}


def _prepare_cast(input: Any, dtype: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (input,), {"dtype": resolve_dtype(dtype)}


def _prepare_expand(input: Any, *sizes: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # PyTorch's expand: -1 keeps the size of that dimension.
    sizes = shape_arg(sizes)
    src = shape_of(input)
    lead = len(sizes) - len(src)
    if lead < 0:
        raise ShapeError(f"expand: target {sizes} has fewer dimensions than the input "
                         f"{format_shape(src)}")
    shape = tuple(src[i - lead] if (s == -1 and i >= lead) else s for i, s in enumerate(sizes))
    return (input,), {"shape": shape}


SUM_TO = defop(
    "sum_to", _sum_to,
    # The adjoint of summing is copying back along the summed dimensions.
    (lambda b, g, out, x, shape: b.broadcast_to(g, shape=np.shape(x)),),
    Domain(("real",), (((2, 3, 4),), ((3, 1),)), attrs=({"shape": (3, 1)},)),
    prepare=_prepare_shape, method=False, saves_out=False,
    doc="Sum ``input`` down to ``shape`` (the reverse of broadcasting).\n\n"
        ">>> import gradwise as gw\n>>> gw.sum_to(gw.ones(2, 3, 4), (3, 1)).tolist()\n[[8.0], [8.0], [8.0]]",
)

BROADCAST_TO = defop(
    "broadcast_to", _broadcast_to,
    # The node's sum_to reduces g back to the input's shape.
    (lambda b, g, out, x, shape: g,),
    Domain(("real",), (((3, 1),), ((4,),)), attrs=({"shape": (2, 3, 4)},)),
    prepare=_prepare_shape, saves_inputs=False, saves_out=False, view=True,
    doc="View ``input`` broadcast to ``shape`` (NumPy rules).\n\n"
        ">>> import gradwise as gw\n>>> gw.broadcast_to(gw.ones(3), (2, 3)).shape\n(2, 3)",
)

EXPAND = defop(
    "expand", _broadcast_to,
    (lambda b, g, out, x, shape: g,),
    Domain(("real",), (((3, 1),),), attrs=({"shape": (2, 3, 4)},)),
    prepare=_prepare_expand, saves_inputs=False, saves_out=False, view=True, function=False,
    doc="Like ``broadcast_to``; ``-1`` keeps a dimension's size (PyTorch's ``expand``).",
)

CAST = defop(
    "cast", lambda x, dtype: np.asarray(x).astype(dtype),
    # The node casts g back to the input's dtype.
    (lambda b, g, out, x, dtype: g,),
    Domain(("real",), (((3,),),), attrs=({"dtype": np.dtype(np.float64)},)),
    prepare=_prepare_cast, saves_inputs=False, saves_out=False, method=False,
    doc="Convert to ``dtype`` (``Tensor.to`` is the usual spelling).\n\n"
        ">>> import gradwise as gw\n>>> gw.cast(gw.ones(2), gw.float64).dtype\ndtype('float64')",
)

CLONE = defop(
    "clone", lambda x: np.array(x, copy=True),
    (lambda b, g, out, x: g,),
    Domain(("real",), (((2, 3),),)),
    saves_inputs=False, saves_out=False, method=False,
    doc="A copy of ``input`` that stays in the graph.",
)


def _copy_make(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.standard_normal((2, 3)), rng.standard_normal((3,))), {}, (0, 1))]


COPY = defop(
    "copy", lambda dst, src: np.array(np.broadcast_to(src, np.shape(dst)), dtype=np.asarray(dst).dtype),
    # dst is overwritten: it receives no gradient; src gets g summed over broadcasting.
    (lambda b, g, out, dst, src: g * 0, lambda b, g, out, dst, src: g),
    Domain(make=_copy_make),
    saves_inputs=False, saves_out=False, method=False, function=False,
    doc="Overwrite ``dst`` with ``src`` broadcast to its shape (``Tensor.copy_``).",
)
