"""Network primitives that need a rule of their own: embedding and fused cross-entropy.

``cross_entropy`` is a primitive for speed and stability: one log-softmax and one
weighted sum, with the gradient ``G - softmax * sum(G)`` where ``G`` is the
incoming gradient times the loss's constant coefficients (targets, class
weights, label smoothing and the mean's denominator folded together by
:func:`cross_entropy_coefficients`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.errors import DtypeError, IndexOutOfRangeError, ShapeError, format_shape
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.reduce import _log_softmax
from gradwise.ops.registry import defop


def _embedding(weight: Any, indices: np.ndarray, padding_idx: int | None) -> Any:
    return np.asarray(weight)[indices]


def _embedding_grad(b: Any, g: Any, out: Any, weight: Any, indices: np.ndarray,
                    padding_idx: int | None) -> Any:
    # Rows used several times accumulate; the padding row gets no gradient.
    if padding_idx is not None:
        g = g * (indices != padding_idx)[..., None]
    return b.index_scatter(g, shape=weight.shape, key=(indices,))


EMBEDDING = defop(
    "embedding_lookup", _embedding, (_embedding_grad,),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((5, 3)),), {"indices": np.array([[0, 2, 0], [4, 4, 1]]),
                                                "padding_idx": None}),
        # (padding_idx deliberately gives its row no gradient although the row is read, as in
        # PyTorch, so it is not a derivative finite differences could check: see the op tests.)
    ]),
    saves_out=False, method=False, function=False,
    doc="Rows of ``weight`` at ``indices`` (see gradwise.embedding).",
)


def cross_entropy_coefficients(shape: tuple[int, ...], dtype: np.dtype, target: np.ndarray,
                               weight: np.ndarray | None, ignore_index: int, reduction: str,
                               label_smoothing: float) -> np.ndarray:
    """Constants ``c`` with ``loss = -sum_c c * log_softmax(input)`` (per sample for 'none').

    Class-index targets: ``(1 - eps) w[t]`` at the target class plus ``eps/C w_c`` on every
    class, zero for ignored samples; 'mean' divides by the summed ``w[t]`` of the kept
    samples (PyTorch).  Probability targets: ``w_c ((1 - eps) y_c + eps/C)``; 'mean'
    divides by the number of samples.
    """
    n_classes = shape[1]
    if (weight is None and not label_smoothing and len(shape) == 2 and target.dtype.kind in "iu"
            and target.shape == shape[:1] and target.size and reduction in ("mean", "sum", "none")):
        # The common case (class indices, no class weights or smoothing): one entry per row,
        # 1/N for 'mean'.  Same values as the general path below, without its one-hot algebra.
        lo, hi = int(target.min()), int(target.max())
        if lo >= 0 and hi < n_classes and not 0 <= ignore_index < n_classes:
            coef = np.zeros(shape, dtype=dtype)
            coef[np.arange(shape[0]), target] = 1.0 / shape[0] if reduction == "mean" else 1.0
            return coef
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    if w.shape != (n_classes,):
        raise ShapeError(f"cross_entropy: weight must have one entry per class ({n_classes}), got "
                         f"shape {format_shape(w.shape)}")
    class_shape = (1, n_classes) + (1,) * (len(shape) - 2)
    eps = float(label_smoothing)
    if target.dtype.kind == "f":  # class probabilities
        if target.shape != shape:
            raise ShapeError(f"cross_entropy: probability targets must have the input's shape "
                             f"{format_shape(shape)}, got {format_shape(target.shape)}")
        coef = w.reshape(class_shape) * (target * (1.0 - eps) + eps / n_classes)
        denom = float(np.prod(shape, dtype=np.int64) // n_classes)
    else:
        if target.dtype.kind not in "iu":
            raise DtypeError(f"cross_entropy: target must hold class indices (int64) or class "
                             f"probabilities (float), got {target.dtype.name}")
        expect = (shape[0],) + shape[2:]
        if target.shape != expect:
            raise ShapeError(f"cross_entropy: input of shape {format_shape(shape)} needs class-index "
                             f"targets of shape {format_shape(expect)}, got {format_shape(target.shape)}")
        keep = target != ignore_index
        bad = keep & ((target < 0) | (target >= n_classes))
        if bad.any():
            raise IndexOutOfRangeError(
                f"cross_entropy: target {int(target[bad].flat[0])} is out of range for {n_classes} "
                f"classes (valid: 0 to {n_classes - 1}, or ignore_index={ignore_index})")
        t = np.where(keep, target, 0)
        wt = w[t] * keep
        onehot = np.moveaxis(np.eye(n_classes)[t], -1, 1)
        coef = onehot * (1.0 - eps) * np.expand_dims(wt, 1) \
            + (eps / n_classes) * w.reshape(class_shape) * np.expand_dims(keep, 1)
        denom = float(wt.sum())
    if reduction == "mean":
        coef = coef / denom if denom else coef * np.nan   # all ignored: nan, like PyTorch
    return coef.astype(dtype)


def _cross_entropy(x: Any, coef: np.ndarray, reduce_all: bool) -> Any:
    coef = coef.astype(np.asarray(x).dtype, copy=False)
    terms = coef * _log_softmax(x, 1)
    if reduce_all:
        return -np.add.reduce(terms, axis=None)
    return -np.add.reduce(terms, axis=1)


def _cross_entropy_grad(b: Any, g: Any, out: Any, x: Any, coef: np.ndarray, reduce_all: bool) -> Any:
    # loss = -sum coef * log_softmax(x):  with G = -g * coef, dx = G - softmax(x) * sum_c G
    coef = coef.astype(x.dtype, copy=False)
    big_g = (g * -1.0) * coef if reduce_all else b.unsqueeze(g, dim=1) * -1.0 * coef
    return big_g - b.softmax(x, dim=1) * b.sum(big_g, dim=(1,), keepdim=True)


def _ce_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((4, 3))
    t = np.array([0, 2, 1, -100])
    w = np.array([1.0, 2.0, 0.5])
    c1 = cross_entropy_coefficients(x.shape, np.dtype(np.float64), t, w, -100, "mean", 0.1)
    probs = rng.dirichlet(np.ones(3), size=(2, 5)).transpose(0, 2, 1)    # (2, 3, 5): K-dim targets
    c2 = cross_entropy_coefficients((2, 3, 5), np.dtype(np.float64), probs, None, -100, "none", 0.0)
    return [Sample((x,), {"coef": c1, "reduce_all": True}),
            Sample((rng.standard_normal((2, 3, 5)),), {"coef": c2, "reduce_all": False})]


CROSS_ENTROPY = defop(
    "cross_entropy_loss", _cross_entropy, (_cross_entropy_grad,),
    Domain(make=_ce_samples),
    saves_out=False, method=False, function=False,
    doc="``-sum coef * log_softmax(input, dim=1)`` (see gradwise.cross_entropy).",
)
