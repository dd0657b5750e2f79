"""More of PyTorch's everyday names found missing by the PyTorch corpus (``tests/corpus``):
``masked_select`` (differentiable, through boolean indexing), ``cdist`` (pairwise p-norm
distances, differentiable through the ``norm`` op, whose gradient at a zero distance is 0 as in
PyTorch) and ``bincount`` (integer counting, no gradient, as in PyTorch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.autograd.function import call
from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import require_same_dtype
from gradwise.errors import DtypeError, ShapeError, format_shape
from gradwise.ops.registry import REGISTRY


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where the boolean ``mask`` is True, as a 1-D tensor.

    ``input`` and ``mask`` broadcast to a common shape first (as in PyTorch), and the
    elements come in row-major order of that shape.  The gradient flows back to the selected
    elements of ``input`` (summed over broadcast copies); the others get zero.

    Shapes: ``input`` (*), ``mask`` (*) broadcastable -> ``(number of True in the broadcast mask,)``.

    >>> import gradwise as gw
    >>> x = gw.tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
    >>> gw.masked_select(x, x > 0)
    tensor([1., 3., 5.])
    >>> x.masked_select(gw.tensor([True, False, False])).tolist()
    [1.0, -4.0]
    """
    x, m = _as_tensor(input), _as_tensor(mask)
    if m.dtype != np.bool_:
        raise DtypeError(f"masked_select: expected a bool mask, got dtype {m.dtype}; "
                         "compare to build one (x > 0) or convert with mask.bool()")
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise ShapeError(f"masked_select: input of shape {format_shape(x.shape)} and mask of shape "
                         f"{format_shape(m.shape)} do not broadcast") from None
    if x.shape != shape:
        x = x.expand(*shape)
    if m.shape != shape:
        m = Tensor._make(np.broadcast_to(m._data, shape))
    out: Tensor = x.reshape(-1)[m.reshape(-1)]
    return out


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """Pairwise distances ``out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p``.

    Computed as the ``p``-norm of the broadcast difference (exact, no ``|a|^2 + |b|^2 - 2ab``
    shortcut, so ``compute_mode`` is accepted and has no effect).  ``p`` is any number >= 0,
    ``inf`` included; the gradient of a zero distance is 0, as in PyTorch.

    Shapes: ``x1`` (*B, P, M), ``x2`` (*B, R, M) -> (*B, P, R), the batch dims broadcast.

    >>> import gradwise as gw
    >>> gw.cdist(gw.tensor([[0.0, 0.0], [1.0, 1.0]]), gw.tensor([[3.0, 4.0]]))
    tensor([[5.0000],
            [3.6056]])
    """
    a, b = _as_tensor(x1), _as_tensor(x2)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"cdist: x1 and x2 must be (..., P, M) and (..., R, M) with the same M, got shapes "
                         f"{format_shape(a.shape)} and {format_shape(b.shape)}")
    if not isinstance(p, (int, float)) or p < 0:
        raise ValueError(f"cdist: p must be a number >= 0 (inf included), got {p!r}")
    if compute_mode not in (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"cdist: unknown compute_mode {compute_mode!r}; valid: None, "
                         "'use_mm_for_euclid_dist_if_necessary', 'use_mm_for_euclid_dist', "
                         "'donot_use_mm_for_euclid_dist'")
    require_same_dtype("cdist", ("x1", "x2"), a, b)
    diff = a.unsqueeze(-2) - b.unsqueeze(-3)  # (*B, P, R, M)
    out: Tensor = call(REGISTRY["norm"], diff, float(p), -1, False)
    return out


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count each value of a 1-D tensor of non-negative integers: ``out[v]`` is how many times
    ``v`` occurs (or, with ``weights``, the sum of the weights where it occurs).

    Shapes: ``input`` (n,) integers >= 0, ``weights`` (n,) -> ``(max(max(input) + 1, minlength),)``;
    int64 without weights, the weights' dtype with float weights.  No gradient (PyTorch
    defines none either).

    >>> import gradwise as gw
    >>> gw.bincount(gw.tensor([0, 2, 2, 5]), minlength=7)
    tensor([1, 0, 2, 0, 0, 1, 0])
    >>> gw.bincount(gw.tensor([1, 1]), weights=gw.tensor([0.5, 2.0]))
    tensor([0.0000, 2.5000])
    """
    x = _as_tensor(input)
    a = x._data
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer) or (a.size and int(a.min()) < 0):
        raise ShapeError(f"bincount: input must be a 1-D tensor of non-negative integers, got shape "
                         f"{format_shape(a.shape)} and dtype {a.dtype}"
                         + (f" with minimum {int(a.min())}" if a.size and np.issubdtype(a.dtype, np.integer) else ""))
    if not isinstance(minlength, int) or minlength < 0:
        raise ValueError(f"bincount: minlength must be a non-negative int, got {minlength!r}")
    if weights is None:
        return Tensor._make(np.bincount(a, minlength=minlength).astype(np.int64))
    w = _as_tensor(weights)
    if w.shape != a.shape:
        raise ShapeError(f"bincount: weights must have the input's shape {format_shape(a.shape)}, "
                         f"got {format_shape(w.shape)}")
    dtype = w._data.dtype if np.issubdtype(w._data.dtype, np.floating) else np.dtype(np.float64)
    return Tensor._make(np.bincount(a, weights=w._data, minlength=minlength).astype(dtype))


# public functions of this module; METHODS: those also bound as Tensor methods (by gradwise.api.bind)
FUNCTIONS = {"masked_select": masked_select, "cdist": cdist, "bincount": bincount}
METHODS = ("masked_select", "bincount")
