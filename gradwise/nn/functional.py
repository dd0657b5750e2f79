"""``gradwise.nn.functional``: PyTorch's functional API.

Ops with rules of their own come from the table (``linear``, ``conv2d``...);
normalisations are composites written with existing ops, so their gradients
(first and second order) follow from the engine.

Layers do not promote, as in PyTorch: ``linear``, the convolutions, ``bilinear`` and
the normalisations raise when the input's dtype differs from the parameters' (a float64
input to a float32 layer), naming the op, both dtypes and the conversion to make.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.api import functions as _ops
from gradwise.autograd.function import call
from gradwise.autograd.grad_mode import no_grad
from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import require_same_dtype
from gradwise.errors import ShapeError, format_shape
from gradwise.nn.interpolation import interpolate  # noqa: F401  (re-exported)
from gradwise.nn.loss_functions import (  # noqa: F401  (re-exported)
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cross_entropy,
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    multi_margin_loss,
    nll_loss,
    smooth_l1_loss,
)
from gradwise.ops.registry import REGISTRY

# Layers whose ops live in the table (re-exported under PyTorch's functional names).
conv1d = _ops.conv1d
conv2d = _ops.conv2d
conv_transpose2d = _ops.conv_transpose2d
max_pool2d = _ops.max_pool2d
avg_pool2d = _ops.avg_pool2d
adaptive_avg_pool2d = _ops.adaptive_avg_pool2d
embedding = _ops.embedding
dropout = _ops.dropout
pad = _ops.pad
relu, relu6, leaky_relu, elu, selu, gelu = _ops.relu, _ops.relu6, _ops.leaky_relu, _ops.elu, _ops.selu, _ops.gelu
silu, softplus, mish, hardtanh, softsign = _ops.silu, _ops.softplus, _ops.mish, _ops.hardtanh, _ops.softsign
sigmoid, tanh, logsigmoid = _ops.sigmoid, _ops.tanh, _ops.logsigmoid
softmax, log_softmax = _ops.softmax, _ops.log_softmax


def _same_dtype(op: str, input: Any, **params: Any) -> None:
    """PyTorch's "mixed dtype: all inputs must share same datatype" for a layer's input and
    parameters (``None`` entries are absent ones)."""
    for name, p in params.items():
        if p is not None:
            require_same_dtype(op, ("input", name), input, p, layer=True)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: input ``(..., in)``, weight ``(out, in)``, bias ``(out,)``.

    >>> import gradwise as gw
    >>> gw.nn.functional.linear(gw.ones(2, 3), gw.ones(4, 3)).shape
    (2, 4)
    """
    if bias is None:
        return call(REGISTRY["linear"], input, weight)
    return call(REGISTRY["linear"], input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k``: weight ``(out, in1, in2)``."""
    _same_dtype("bilinear", input1, input2=input2, weight=weight, bias=bias)
    out = call(REGISTRY["einsum"], "...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding, a new last dimension of size ``num_classes`` (max + 1 if -1).

    >>> import gradwise as gw
    >>> gw.nn.functional.one_hot(gw.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    idx = np.asarray(tensor._data if isinstance(tensor, Tensor) else tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects integer class indices, got {idx.dtype.name}")
    n = int(idx.max()) + 1 if num_classes < 0 else int(num_classes)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"one_hot: class values must be in [0, {n - 1}], got {int(idx.min())}..{int(idx.max())}")
    return Tensor._make(np.eye(n, dtype=np.int64)[idx])


def _norm_shape(x: Tensor, dims: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if d in dims else s for d, s in enumerate(x.shape))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise over the batch (and spatial) dimensions per channel (dim 1):
    ``y = (x - mean) / sqrt(var + eps) * weight + bias``.

    Training uses the batch's mean and biased variance and updates the running statistics
    in place: ``running = (1 - momentum) running + momentum batch_stat`` (the running
    variance gets the unbiased batch variance, as in PyTorch).  Evaluation uses the
    running statistics.
    """
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected (N, C, ...) input, got {format_shape(input.shape)}")
    _same_dtype("batch_norm", input, running_mean=running_mean, running_var=running_var, weight=weight,
                bias=bias)
    dims = (0,) + tuple(range(2, input.ndim))
    shape = _norm_shape(input, dims)
    if training:
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got "
                             f"input of shape {format_shape(input.shape)}")
        mean = input.mean(dim=dims, keepdim=True)
        var = input.var(dim=dims, keepdim=True, correction=0)
        if running_mean is not None and running_var is not None:
            with no_grad():
                m = mean._data.reshape(-1)
                v = var._data.reshape(-1) * (n / (n - 1))
                running_mean._write((1 - momentum) * running_mean._data + momentum * m)
                running_var._write((1 - momentum) * running_var._data + momentum * v)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
        mean = running_mean.reshape(shape)
        var = running_var.reshape(shape)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dimensions (biased variance)."""
    _same_dtype("layer_norm", input, weight=weight, bias=bias)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[-len(ns):]) != ns:
        raise ShapeError(f"layer_norm: normalized_shape {ns} does not match the input's trailing "
                         f"dimensions {format_shape(input.shape)}")
    dims = tuple(range(input.ndim - len(ns), input.ndim))
    mean = input.mean(dim=dims, keepdim=True)
    var = input.var(dim=dims, keepdim=True, correction=0)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each of ``num_groups`` channel groups per sample; affine per channel."""
    _same_dtype("group_norm", input, weight=weight, bias=bias)
    n, c = input.shape[:2]
    if c % num_groups:
        raise ShapeError(f"group_norm: {c} channels are not divisible into {num_groups} groups")
    g = input.reshape(n, num_groups, -1)
    mean = g.mean(dim=2, keepdim=True)
    var = g.var(dim=2, keepdim=True, correction=0)
    out = ((g - mean) * (var + eps).rsqrt()).reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 . x2 / max(||x1|| ||x2||, eps)`` along ``dim``."""
    dot = (x1 * x2).sum(dim=dim)
    return dot / (x1.norm(dim=dim) * x2.norm(dim=dim)).clamp(min=eps)
