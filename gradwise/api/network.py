"""Public network functions with PyTorch's signatures: convolutions (with bias),
adaptive pooling, embedding, dropout and the classification losses.

They validate arguments (errors name the op, the shapes and what would be
valid; the input, weight and bias of a convolution must share a dtype, as in
PyTorch), then call ops from the table; ``adaptive_avg_pool2d``, ``dropout`` and
``nll_loss`` are composites that need no rule of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.api.random import Generator, resolve
from gradwise.autograd.function import apply
from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import require_same_dtype
from gradwise.errors import IndexOutOfRangeError, ShapeError, format_shape
from gradwise.ops.conv import CONV, CONV_TRANSPOSE
from gradwise.ops.linalg import EINSUM
from gradwise.ops.network import CROSS_ENTROPY, EMBEDDING, cross_entropy_coefficients

_PADDING_STRINGS = ("valid", "same")
_REDUCTIONS = ("mean", "sum", "none")


def _tuple(v: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(x) for x in v)
    return (int(v),) * n


def _check_dtypes(op: str, x: Tensor, w: Tensor, bias: Tensor | None) -> None:
    # PyTorch: "Input type (double) and weight type (float) should be the same"; no promotion
    require_same_dtype(op, ("input", "weight"), x, w, layer=True)
    if bias is not None:
        require_same_dtype(op, ("bias", "weight"), bias, w)


def _conv_attrs(op: str, x: Tensor, w: Tensor, stride: Any, padding: Any, dilation: Any,
                groups: int, nd: int) -> dict[str, Any]:
    if x.ndim != nd + 2 or w.ndim != nd + 2:
        layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
        raise ShapeError(f"{op}: expected a {nd + 2}-D input {layout} and a {nd + 2}-D weight, got "
                         f"input {format_shape(x.shape)} and weight {format_shape(w.shape)}")
    c, o = x.shape[1], w.shape[0]
    if groups < 1 or c % groups or o % groups or w.shape[1] * groups != c:
        raise ShapeError(
            f"{op}: input {format_shape(x.shape)} has {c} channels but weight {format_shape(w.shape)} "
            f"with groups={groups} expects {w.shape[1] * groups} (weight.shape[1] * groups); the "
            f"channels and the {o} output channels must be divisible by groups")
    stride_t = _tuple(stride, nd, "stride", op)
    dil = _tuple(dilation, nd, "dilation", op)
    kernel = tuple(w.shape[2:])
    if isinstance(padding, str):
        if padding not in _PADDING_STRINGS:
            raise ValueError(f"{op}: padding={padding!r} is not valid; use an int, a tuple, or one of "
                             f"{_PADDING_STRINGS}")
        if padding == "valid":
            pads = [(0, 0)] * nd
        else:
            if any(s != 1 for s in stride_t):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride_t}")
            # total padding d(k-1), the extra one (even kernels) on the right, like PyTorch
            pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for d, k in zip(dil, kernel)]
    else:
        pads = [(p, p) for p in _tuple(padding, nd, "padding", op)]
    if nd == 1:
        stride_t, dil, kernel, pads = (1,) + stride_t, (1,) + dil, (1,) + kernel, [(0, 0)] + pads
    in_hw = (1,) + tuple(x.shape[2:]) if nd == 1 else tuple(x.shape[2:])
    for ax in range(2):
        span = in_hw[ax] + sum(pads[ax]) - dil[ax] * (kernel[ax] - 1)
        if span < 1:
            raise ShapeError(f"{op}: kernel {tuple(w.shape[2:])} (dilation {dil[-nd:]}) is larger than "
                             f"the padded input {tuple(x.shape[2:])}; the output would be empty")
    return {"stride": stride_t, "pad": (pads[0][0], pads[0][1], pads[1][0], pads[1][1]),
            "dilation": dil, "groups": int(groups), "in_hw": in_hw, "kernel": kernel}


def _add_bias(out: Tensor, bias: Tensor | None, nd: int, op: str) -> Tensor:
    if bias is None:
        return out
    if bias.shape != (out.shape[1],):
        raise ShapeError(f"{op}: bias must have shape ({out.shape[1]},), got {format_shape(bias.shape)}")
    return out + bias.reshape((1, -1) + (1,) * nd)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation: input ``(N, C, H, W)``, weight ``(O, C/groups, kH, kW)``,
    bias ``(O,)`` -> ``(N, O, H_out, W_out)``; padding an int, a pair, ``'valid'`` or ``'same'``.

    >>> import gradwise as gw
    >>> gw.conv2d(gw.ones(1, 3, 8, 8), gw.ones(4, 3, 3, 3), padding="same").shape
    (1, 4, 8, 8)
    """
    _check_dtypes("conv2d", input, weight, bias)
    attrs = _conv_attrs("conv2d", input, weight, stride, padding, dilation, groups, 2)
    return _add_bias(apply(CONV, input, weight, **attrs), bias, 2, "conv2d")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation: input ``(N, C, L)``, weight ``(O, C/groups, k)`` -> ``(N, O, L_out)``.

    >>> import gradwise as gw
    >>> gw.conv1d(gw.ones(2, 1, 10), gw.ones(3, 1, 3), stride=2).shape
    (2, 3, 4)
    """
    _check_dtypes("conv1d", input, weight, bias)
    attrs = _conv_attrs("conv1d", input, weight, stride, padding, dilation, groups, 1)
    return _add_bias(apply(CONV, input, weight, **attrs), bias, 1, "conv1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """Transposed convolution (the input-gradient of conv2d): input ``(N, C_in, H, W)``,
    weight ``(C_in, C_out/groups, kH, kW)`` -> ``(N, C_out, H_out, W_out)`` with
    ``H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1``.

    >>> import gradwise as gw
    >>> gw.conv_transpose2d(gw.ones(1, 4, 5, 5), gw.ones(4, 2, 3, 3), stride=2).shape
    (1, 2, 11, 11)
    """
    op = "conv_transpose2d"
    _check_dtypes(op, input, weight, bias)
    if input.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"{op}: expected 4-D input and weight, got {format_shape(input.shape)} and "
                         f"{format_shape(weight.shape)}")
    if input.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ShapeError(f"{op}: input {format_shape(input.shape)} has {input.shape[1]} channels but "
                         f"weight {format_shape(weight.shape)} expects {weight.shape[0]} "
                         f"(weight.shape[0], divisible by groups={groups})")
    s = _tuple(stride, 2, "stride", op)
    p = _tuple(padding, 2, "padding", op)
    op_ = _tuple(output_padding, 2, "output_padding", op)
    d = _tuple(dilation, 2, "dilation", op)
    if any(a >= max(b, c) for a, b, c in zip(op_, s, d)):
        raise ValueError(f"{op}: output_padding {op_} must be smaller than stride {s} or dilation {d}")
    k = tuple(weight.shape[2:])
    out_hw = tuple((input.shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op_[i] + 1
                   for i in range(2))
    if min(out_hw) < 1:
        raise ShapeError(f"{op}: the output size {out_hw} would be empty")
    out = apply(CONV_TRANSPOSE, input, weight, stride=s, pad=(p[0], p[0], p[1], p[1]), dilation=d,
                groups=int(groups), in_hw=out_hw, kernel=k)
    return _add_bias(out, bias, 2, op)


def _adaptive_matrix(n: int, m: int, dtype: np.dtype) -> np.ndarray:
    # PyTorch's windows: [floor(i n / m), ceil((i + 1) n / m)), averaged
    mat = np.zeros((m, n), dtype=dtype)
    for i in range(m):
        start, end = (i * n) // m, -((-(i + 1) * n) // m)
        mat[i, start:end] = 1.0 / (end - start)
    return mat


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed ``output_size`` (an int, a pair, None entries keep a size),
    with PyTorch's window boundaries ``[floor(i H/h), ceil((i+1) H/h))``.

    A composite: ``einsum('nchw,ih,jw->ncij', x, P_h, P_w)`` with constant averaging matrices.

    >>> import gradwise as gw
    >>> gw.adaptive_avg_pool2d(gw.ones(2, 3, 7, 5), (3, 2)).shape
    (2, 3, 3, 2)
    """
    if input.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d: expected (N, C, H, W) or (C, H, W), got "
                         f"{format_shape(input.shape)}")
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    h, w = input.shape[-2:]
    oh, ow = (h if size[0] is None else int(size[0])), (w if size[1] is None else int(size[1]))
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    ph, pw = _adaptive_matrix(h, oh, input.dtype), _adaptive_matrix(w, ow, input.dtype)
    eq = "nchw,ih,jw->ncij" if input.ndim == 4 else "chw,ih,jw->cij"
    return apply(EINSUM, input, ph, pw, equation=eq)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight (num_embeddings, dim)`` at integer ``input``: shape ``input.shape + (dim,)``.
    Repeated indices accumulate gradient; the ``padding_idx`` row receives none.

    >>> import gradwise as gw
    >>> gw.embedding(gw.tensor([[0, 2]]), gw.eye(3)).tolist()
    [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]
    """
    idx = np.asarray(input._data if isinstance(input, Tensor) else input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {idx.dtype.name}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise IndexOutOfRangeError(f"embedding: index {bad} is out of range for {n} embeddings "
                                   f"(valid: 0 to {n - 1})")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    return apply(EMBEDDING, weight, indices=idx.astype(np.intp, copy=False), padding_idx=padding_idx)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)`` so the expected value is unchanged; the identity when not training.

    >>> import gradwise as gw
    >>> g = gw.Generator().manual_seed(0)
    >>> (gw.dropout(gw.ones(1000), 0.5, generator=g) == 0).float().mean().item() > 0.4
    True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    keep = resolve(generator).random(input.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(input.dtype) * input.dtype.type(scale)
    return input * mask


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction={reduction!r} is not valid; choose one of {_REDUCTIONS}")


def _target_array(target: Any) -> np.ndarray:
    return np.asarray(target._data if isinstance(target, Tensor) else target)


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input (N, C)`` or ``(N, C, d1, ...)`` against class
    indices ``(N, d1, ...)`` or class probabilities (the input's shape), fused with
    log-softmax for speed and stability:

    ``loss_n = -sum_c w_c y_nc log softmax(x_n)_c``, with ``y`` the (smoothed) target.
    'mean' divides by the summed weights of the kept targets (by N for probabilities).

    >>> import gradwise as gw
    >>> logits = gw.tensor([[2.0, 0.0, 0.0]])
    >>> gw.cross_entropy(logits, gw.tensor([0])).item()
    0.2395...
    """
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = _target_array(target)
    unbatched = input.ndim == 1
    x = input.unsqueeze(0) if unbatched else input
    if unbatched:
        t = t[None] if t.dtype.kind == "f" else t.reshape(1)
    if x.ndim < 2:
        raise ShapeError(f"cross_entropy: input must be (C,), (N, C) or (N, C, d1, ...), got "
                         f"{format_shape(input.shape)}")
    w = None if weight is None else _target_array(weight)
    coef = cross_entropy_coefficients(x.shape, x.dtype, t, w, ignore_index, reduction, label_smoothing)
    out = apply(CROSS_ENTROPY, x, coef=coef, reduce_all=reduction != "none")
    return out.squeeze(0) if unbatched and reduction == "none" else out


def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input (N, C, ...)`` at class indices.

    >>> import gradwise as gw
    >>> gw.nll_loss(gw.tensor([[-0.5, -1.0]]), gw.tensor([1])).item()
    1.0
    """
    _check_reduction("nll_loss", reduction)
    t = _target_array(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices, got {t.dtype.name}")
    w = None if weight is None else _target_array(weight)
    coef = cross_entropy_coefficients(input.shape, input.dtype, t, w, ignore_index, reduction, 0.0)
    per = -(input * coef).sum(dim=1)
    return per if reduction == "none" else per.sum()


# public functions of this module (none is a Tensor method)
FUNCTIONS = {"conv1d": conv1d, "conv2d": conv2d, "conv_transpose2d": conv_transpose2d,
             "adaptive_avg_pool2d": adaptive_avg_pool2d, "embedding": embedding, "dropout": dropout,
             "cross_entropy": cross_entropy, "nll_loss": nll_loss}
METHODS: tuple[str, ...] = ()
