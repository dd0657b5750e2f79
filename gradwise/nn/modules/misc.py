"""Dropout (element-wise and channel-wise) and Embedding modules."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gradwise.api.creation import empty
from gradwise.api.random import Generator, resolve
from gradwise.autograd.grad_mode import no_grad
from gradwise.autograd.tensor import Tensor
from gradwise.errors import ShapeError, format_shape
from gradwise.nn import functional as F
from gradwise.nn import init
from gradwise.nn.module import Module
from gradwise.nn.parameter import Parameter


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False, generator: Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability ``p`` in training (scaling the rest by 1/(1-p));
    the identity in ``eval()`` mode.  ``inplace`` is accepted and ignored (a new tensor
    is returned).

    >>> import gradwise as gw
    >>> drop = gw.nn.Dropout(0.25)
    >>> drop(gw.ones(8, 4)).shape, drop
    ((8, 4), Dropout(p=0.25, inplace=False))
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, generator=self.generator)


def _feature_dropout(m: _DropoutNd, x: Tensor, unbatched: bool) -> Tensor:
    """Zero whole channels in training: one draw per ``(n, c)`` of ``x (N, C, ...)`` (per ``c``
    of an unbatched ``(C, ...)``), kept ones scaled by 1/(1-p); ``x`` itself otherwise."""
    if not m.training or m.p == 0.0:
        return x
    lead = (1, x.shape[0]) if unbatched else x.shape[:2]
    keep = resolve(m.generator).random(lead) >= m.p
    scale = 0.0 if m.p == 1.0 else 1.0 / (1.0 - m.p)
    mask = (keep.astype(x.dtype) * x.dtype.type(scale)).reshape(lead + (1,) * (x.ndim - (1 if unbatched else 2)))
    return x * (mask[0] if unbatched else mask)


class Dropout1d(_DropoutNd):
    """Channel-wise dropout for ``(N, C, L)`` or unbatched ``(C, L)``: in training each channel
    ``(n, c)`` is zeroed entirely with probability ``p`` and the others scaled by 1/(1-p);
    the identity in ``eval()`` mode.

    >>> import gradwise as gw
    >>> y = gw.nn.Dropout1d(0.5, generator=gw.Generator().manual_seed(0))(gw.ones(4, 8, 5))
    >>> sorted(set(y.numpy().std(axis=2).ravel().tolist())), sorted(set(y.numpy().ravel().tolist()))
    ([0.0], [0.0, 2.0])
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3):
            raise ShapeError(f"Dropout1d: expected (N, C, L) or (C, L) input, got {format_shape(x.shape)}")
        return _feature_dropout(self, x, unbatched=x.ndim == 2)


class Dropout2d(_DropoutNd):
    """Channel-wise dropout for ``(N, C, H, W)``: in training each feature map ``(n, c)`` is
    zeroed entirely with probability ``p`` and the others scaled by 1/(1-p); the identity in
    ``eval()`` mode.

    As in PyTorch 2.x, a 3-D input is taken as ``(N, C, L)`` (one draw per ``(n, c)``, with
    PyTorch's warning), not as an unbatched ``(C, H, W)``: use ``Dropout1d`` for that layout
    or add the batch dimension (``x.unsqueeze(0)``) for an unbatched image.

    >>> import gradwise as gw
    >>> y = gw.nn.Dropout2d(0.5, generator=gw.Generator().manual_seed(0))(gw.ones(4, 8, 3, 3))
    >>> sorted(set(y.numpy().std(axis=(2, 3)).ravel().tolist())), sorted(set(y.numpy().ravel().tolist()))
    ([0.0], [0.0, 2.0])
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2:
            raise ShapeError(f"Dropout2d: expected (N, C, H, W) input, got {format_shape(x.shape)}")
        if x.ndim != 4:
            warnings.warn(_dropout_nd_warning("dropout2d", x.ndim, 4), UserWarning, stacklevel=2)
        return _feature_dropout(self, x, unbatched=False)


class Dropout3d(_DropoutNd):
    """Channel-wise dropout for ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)``: each volume
    ``(n, c)`` is zeroed with probability ``p`` in training, the others scaled by 1/(1-p).

    >>> import gradwise as gw
    >>> drop = gw.nn.Dropout3d(0.5)
    >>> drop(gw.ones(2, 4, 3, 3, 3)).shape, drop.eval()(gw.ones(4, 3, 3, 3)).sum().item()
    ((2, 4, 3, 3, 3), 108.0)
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (4, 5):
            warnings.warn(_dropout_nd_warning("dropout3d", x.ndim, 5), UserWarning, stacklevel=2)
        if x.ndim < 2:
            raise ShapeError(f"Dropout3d: expected (N, C, D, H, W) input, got {format_shape(x.shape)}")
        return _feature_dropout(self, x, unbatched=x.ndim == 4)


def _dropout_nd_warning(name: str, ndim: int, batched: int) -> str:
    if name == "dropout2d" and ndim == 3:
        return ("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
                "desired - input is interpreted as shape (N, C, L), where C is the channel dim. To maintain the 1D "
                "channel-wise dropout behavior, use Dropout1d instead.")
    return (f"{name}: Received a {ndim}-D input to {name}, which PyTorch deprecates; it expects "
            f"{batched - 1}-D or {batched}-D input (with or without the batch dimension). Each (n, c) slice is "
            "dropped as a whole.")


class Embedding(Module):
    """A lookup table ``(num_embeddings, embedding_dim)``, initialised N(0, 1) (PyTorch);
    the ``padding_idx`` row starts at zero and receives no gradient.

    ``max_norm`` renormalises (in place, like PyTorch) each looked-up row whose ``norm_type``
    norm exceeds it; ``scale_grad_by_freq`` divides each row's gradient by how often it
    occurs in the mini-batch.  ``sparse=True`` is not supported (gradients are dense).

    >>> import gradwise as gw
    >>> emb = gw.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(gw.tensor([[0, 2], [4, 9]])).shape, emb.weight[0].tolist()
    ((2, 2, 3), [0.0, 0.0, 0.0])
    >>> pre = gw.nn.Embedding.from_pretrained(gw.eye(3), freeze=True)
    >>> pre(gw.tensor([2])).tolist(), pre.weight.requires_grad
    ([[0.0, 0.0, 1.0]], False)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, _freeze: bool = False, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__()
        if sparse:
            raise NotImplementedError("Embedding: sparse=True is not supported; gradwise computes dense gradients "
                                      "(the same values), so use sparse=False")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), "
                                 f"got {padding_idx}")
            if padding_idx < 0:
                padding_idx += num_embeddings
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype), requires_grad=not _freeze)
            init.normal_(self.weight, generator=generator)
            if padding_idx is not None:
                with no_grad():
                    self.weight._data[padding_idx] = 0
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"Embedding: _weight has shape {format_shape(_weight.shape)}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose weight is ``embeddings (num, dim)`` (shared, not copied; its
        ``padding_idx`` row is kept as given), frozen unless ``freeze=False``."""
        if len(embeddings.shape) != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D, got {format_shape(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, indices: Any) -> Tensor:
        if self.max_norm is not None:
            self._renorm(indices)
        out = F.embedding(indices, self.weight, self.padding_idx)
        if self.scale_grad_by_freq and out.requires_grad:
            idx = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
            _, inverse, counts = np.unique(idx, return_inverse=True, return_counts=True)
            scale = (1.0 / counts[inverse.reshape(idx.shape)]).astype(out.dtype)[..., None]
            out.register_hook(lambda g: g * scale)
        return out

    def _renorm(self, indices: Any) -> None:
        # PyTorch's embedding_renorm_: rows read by this call whose norm exceeds max_norm are
        # scaled (in place, outside autograd) to max_norm / (norm + 1e-7) of their size.
        assert self.max_norm is not None
        idx = np.unique(np.asarray(indices._data if isinstance(indices, Tensor) else indices))
        w = self.weight._data
        rows = w[idx]
        norms = np.linalg.norm(rows, ord=self.norm_type, axis=1)
        big = norms > self.max_norm
        if big.any():
            scale = (self.max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            with no_grad():
                w[idx[big]] = rows[big] * scale[:, None]

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s
