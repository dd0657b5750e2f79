"""``gradwise.linalg``: linear algebra with ``torch.linalg``'s names.

Single-output functions are the op table's; ``slogdet`` and ``eigh`` return
pairs built from single-output ops (each factorization is recomputed per
output: twice the cost of one LAPACK call, which is small next to the rest of
a gradient computation at the sizes gradwise targets).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from gradwise.autograd.function import call
from gradwise.autograd.tensor import Tensor
from gradwise.ops.registry import REGISTRY


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


def inv(A: Tensor) -> Tensor:
    """Inverse of square matrices ``(..., n, n)``.

    >>> import gradwise as gw
    >>> gw.linalg.inv(gw.eye(2) * 4).tolist()
    [[0.25, 0.0], [0.0, 0.25]]
    """
    return call(REGISTRY["inv"], A)


def det(A: Tensor) -> Tensor:
    """Determinant of square matrices ``(..., n, n)`` -> ``(...)``.

    >>> import gradwise as gw
    >>> gw.linalg.det(gw.eye(2) * 3).item()
    9.0
    """
    return call(REGISTRY["det"], A)


def slogdet(A: Tensor) -> SlogdetResult:
    """``(sign, log|det A|)``: the determinant without overflow; only logabsdet has a gradient.

    >>> import gradwise as gw
    >>> gw.linalg.slogdet(gw.eye(3) * 2).logabsdet.item()
    2.079441...
    """
    return SlogdetResult(call(REGISTRY["slogdet_sign"], A), call(REGISTRY["logabsdet"], A))


def solve(A: Tensor, B: Tensor) -> Tensor:
    """``X`` with ``A X = B``; ``A (..., n, n)``, ``B (..., n)`` or ``(..., n, k)``."""
    return call(REGISTRY["solve"], A, B)


def cholesky(A: Tensor) -> Tensor:
    """Lower factor ``L`` with ``A = L L^T`` of symmetric positive-definite ``A``.

    Only the lower triangle of ``A`` is read, and the gradient is exact for that: PyTorch
    reports the symmetric gradient ``S`` instead; here the lower entries get ``2 S_ij``,
    the diagonal ``S_ii`` and the upper triangle 0 (equal along symmetric directions).
    """
    return call(REGISTRY["cholesky"], A)


def eigvalsh(A: Tensor) -> Tensor:
    """Eigenvalues (ascending) of symmetric ``A`` (lower triangle read)."""
    return call(REGISTRY["eigvalsh"], A)


def eigh(A: Tensor) -> EighResult:
    """``(eigenvalues, eigenvectors)`` of symmetric ``A``; eigenvector gradients need distinct eigenvalues.

    >>> import gradwise as gw
    >>> gw.linalg.eigh(gw.eye(2) * 3).eigenvalues.tolist()
    [3.0, 3.0]
    """
    return EighResult(call(REGISTRY["eigvalsh"], A), call(REGISTRY["eigh_vectors"], A))


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The ``ord``-norm of ``x`` viewed as a vector (over ``dim`` if given)."""
    return call(REGISTRY["norm"], x, ord, dim, keepdim)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1),
                keepdim: bool = False) -> Tensor:
    """Frobenius norm of matrices (``ord='fro'``); other orders are not supported."""
    if ord != "fro":
        raise ValueError(f"matrix_norm: ord={ord!r} is not supported; only 'fro'")
    return call(REGISTRY["norm"], A, 2.0, dim, keepdim)


def norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Vector norm (``ord`` a number) or Frobenius norm (``ord=None``/``'fro'``)."""
    return call(REGISTRY["norm"], x, 2.0 if ord in (None, "fro") else ord, dim, keepdim)


