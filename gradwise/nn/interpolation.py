"""``interpolate`` (``nn.functional.interpolate``, ``nn.Upsample``): resize the spatial
dimensions of ``(N, C, *spatial)`` by nearest-neighbour or (bi/tri)linear interpolation,
with PyTorch's sampling positions.

Each output index ``j`` along a spatial axis reads the input at a source position ``s(j)``
(``scale = in / out``, or ``1 / scale_factor`` when a scale factor is given and not
recomputed, as PyTorch):

* ``nearest``:        ``floor(j * scale)``, at most ``in - 1``;
* ``nearest-exact``:  ``floor((j + 0.5) * scale)``, at most ``in - 1``;
* linear, ``align_corners=True``:  ``s = j (in - 1) / (out - 1)`` (the corner pixels' centres
  coincide; 0 when ``out == 1``);
* linear, ``align_corners=False``: ``s = max((j + 0.5) scale - 0.5, 0)`` (pixel areas align);
  then ``out_j = (1 - l) x[i0] + l x[i1]`` with ``i0 = floor(s)``, ``i1 = min(i0 + 1, in - 1)``,
  ``l = s - i0``.

Bilinear and trilinear interpolation are the linear rule applied along each axis in turn (the
weights of the 2 or 4 or 8 neighbours are products of the per-axis weights).  Every step is
an ``index_select`` and a weighted sum of table ops, so the gradient (a scatter-add of the
weighted output gradient onto the neighbours) is the engine's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradwise.api import functions as _ops
from gradwise.api.creation import tensor
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape

# mode -> the number of spatial dimensions it works on (None: any of 1, 2, 3)
_MODES: dict[str, int | None] = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "trilinear": 3}


def _per_axis(value: Any, n: int, what: str, cast: type) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"interpolate: {what} {tuple(value)} must have one entry per spatial dimension ({n} "
                             f"for an input with {n} spatial dimensions), or be a single number")
        return [cast(v) for v in value]
    return [cast(value)] * n


def _source_positions(in_size: int, out_size: int, scale_factor: float | None, mode: str,
                      align_corners: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(i0, i1, l)`` along one axis: output j reads ``(1 - l) x[i0] + l x[i1]`` (``i1`` and ``l``
    None for the nearest modes)."""
    j = np.arange(out_size, dtype=np.float64)
    if mode.startswith("nearest") or not align_corners:
        scale = 1.0 / scale_factor if scale_factor is not None and scale_factor > 0 else in_size / out_size
    else:
        scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    if mode == "nearest":
        return np.minimum(np.floor(j * scale).astype(np.int64), in_size - 1), None, None
    if mode == "nearest-exact":
        return np.minimum(np.floor((j + 0.5) * scale).astype(np.int64), in_size - 1), None, None
    src = j * scale if align_corners else np.maximum((j + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    return i0, i1, src - i0


def _resize_axis(x: Tensor, axis: int, i0: np.ndarray, i1: np.ndarray | None, lam: np.ndarray | None) -> Tensor:
    if np.array_equal(i0, np.arange(x.shape[axis])) and (lam is None or not lam.any()):
        return x                                                    # the identity along this axis
    a = _ops.index_select(x, axis, tensor(i0))
    if i1 is None or lam is None:
        return a
    shape = [1] * x.ndim
    shape[axis] = lam.size
    w1 = tensor(lam.reshape(shape).astype(x.dtype))
    b = _ops.index_select(x, axis, tensor(i1))
    return a * (1.0 - w1) + b * w1


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize ``input (N, C, *spatial)`` (1 to 3 spatial dimensions) to ``size`` or by
    ``scale_factor`` (output ``floor(in * scale_factor)``), with ``mode`` one of
    ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D input), ``'bilinear'`` (4-D),
    ``'trilinear'`` (5-D).  ``align_corners`` (linear modes only, default False) maps the
    corner pixels' centres onto each other; see the module doc for the sampling positions.

    >>> import gradwise as gw
    >>> x = gw.tensor([[[1.0, 2.0, 4.0]]])                        # (N=1, C=1, W=3)
    >>> gw.nn.functional.interpolate(x, scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0, 4.0, 4.0]]]
    >>> gw.nn.functional.interpolate(x, size=5, mode="linear", align_corners=True).tolist()
    [[[1.0, 1.5, 2.0, 3.0, 4.0]]]
    """
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode={mode!r} is not supported; choose one of {tuple(_MODES)} "
                         "(bicubic and area are not implemented)")
    if input.ndim < 3 or input.ndim > 5:
        raise ShapeError(f"interpolate: input must be (N, C, W), (N, C, H, W) or (N, C, D, H, W), got "
                         f"{input.ndim}-D input of shape {format_shape(input.shape)}")
    spatial = input.ndim - 2
    need = _MODES[mode]
    if need is not None and need != spatial:
        raise ShapeError(f"interpolate: got {input.ndim}D input, but {mode} mode needs {need + 2}D input "
                         f"(N, C and {need} spatial dimension{'s' if need > 1 else ''}); input shape "
                         f"{format_shape(input.shape)}")
    if not mode.startswith("nearest") and input.dtype.kind != "f":
        raise TypeError(f"interpolate: {mode} mode needs a floating-point input, got {input.dtype.name}; convert "
                        "it with x.float()")
    if mode.startswith("nearest"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                             f"linear | bilinear | trilinear, not with mode={mode!r}")
        corners = False
    else:
        corners = bool(align_corners)
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported (it only affects downsampling in the "
                         "bilinear and bicubic modes); pass antialias=False")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be given, got "
                         f"size={size!r} and scale_factor={scale_factor!r}")
    if size is not None and recompute_scale_factor:
        raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size")
    in_sizes = list(input.shape[2:])
    sizes = _per_axis(size, spatial, "size", int)
    scales = _per_axis(scale_factor, spatial, "scale_factor", float)
    if sizes is None and scales is not None:
        if any(not s > 0 or not math.isfinite(s) for s in scales):
            raise ValueError(f"interpolate: scale_factor must be positive and finite, got {scale_factor!r}")
        sizes = [math.floor(n * s) for n, s in zip(in_sizes, scales)]
        if recompute_scale_factor:
            scales = None                   # sample with in / out, as if size had been given
    assert sizes is not None
    if any(s <= 0 for s in sizes) or any(n <= 0 for n in in_sizes):
        raise ValueError(f"interpolate: input spatial sizes {tuple(in_sizes)} and output sizes {tuple(sizes)} "
                         "must all be positive")
    out = input
    for k in range(spatial):
        i0, i1, lam = _source_positions(in_sizes[k], sizes[k], None if scales is None else scales[k], mode,
                                        corners)
        out = _resize_axis(out, 2 + k, i0, i1, lam)
    return input.clone() if out is input else out          # a new tensor even when nothing moved
