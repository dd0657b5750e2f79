"""Linear algebra: dot, outer, einsum, tensordot, trace, inv, det, slogdet, solve,
cholesky, eigh.  (``matmul`` lives in matmul.py.)

Matrix rules follow Giles (2008), "An extended collection of matrix derivative
results", and Murray (2016) for the Cholesky factor.  They are written with
table ops (matmul, transpose, inv, ...), so they can be differentiated again.
Batched inputs ``(..., n, n)`` are supported throughout.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from gradwise.errors import GradwiseError, ShapeError, format_shape
from gradwise.ops.dims import shape_of
from gradwise.ops.domain import Domain, Sample
from gradwise.ops.registry import Prepared, VariadicGrads, defop


class LinAlgError(GradwiseError, ValueError):
    """A matrix the op cannot handle: singular, not positive definite, not square."""


def _mT(b: Any, m: Any) -> Any:
    return b.transpose(m, dim0=-1, dim1=-2)


def _square(op: str, a: Any) -> None:
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ShapeError(f"{op}: expected square matrices (..., n, n), got shape {format_shape(s)}")


def _linalg(op: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except np.linalg.LinAlgError as exc:
        shapes = " and ".join(format_shape(np.shape(a)) for a in args)
        raise LinAlgError(f"{op}: {exc} (input shape {shapes}). The matrix is singular or not "
                          "positive definite; check for repeated or zero rows/columns") from None


# --- products ---------------------------------------------------------------------

def _prepare_dot(input: Any, other: Any) -> Prepared:
    sa, sb = shape_of(input), shape_of(other)
    if len(sa) != 1 or len(sb) != 1 or sa != sb:
        raise ShapeError(f"dot: expected two 1-D tensors of the same length, got {format_shape(sa)} "
                         f"and {format_shape(sb)} (use matmul for matrices)")
    return (input, other), {}


DOT = defop(
    "dot", np.dot, (lambda b, g, out, x, y: g * y, lambda b, g, out, x, y: g * x),
    Domain(("real", "real"), (((4,), (4,)),)),
    prepare=_prepare_dot, saves_out=False, aliases=("inner",),
    doc="Dot product of two 1-D tensors.\n\n>>> import gradwise as gw\n"
        ">>> gw.dot(gw.tensor([1.0, 2.0]), gw.tensor([3.0, 4.0])).item()\n11.0",
)

OUTER = defop(
    "outer", np.outer,
    # out_ij = x_i y_j:  dx = g @ y,  dy = g^T @ x
    (lambda b, g, out, x, y: b.matmul(g, y), lambda b, g, out, x, y: b.matmul(x, g)),
    Domain(("real", "real"), (((3,), (4,)),)),
    saves_out=False, aliases=("ger",),
    doc="Outer product ``x[:, None] * y[None, :]`` of two 1-D tensors.",
)


def _expand_ellipsis(subs: list[str], shapes: list[tuple[int, ...]],
                     out: str | None) -> tuple[list[str], str]:
    """Explicit subscripts: '...' replaced by letters, implicit output made explicit."""
    used = set("".join(subs) + (out or ""))
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = max((len(sh) - (len(s) - 3) for s, sh in zip(subs, shapes) if "..." in s), default=0)
    ell = "".join(free[:n_ell])
    new = []
    for s, sh in zip(subs, shapes):
        if "..." in s:
            k = len(sh) - (len(s) - 3)
            s = s.replace("...", ell[n_ell - k:] if k else "")
        if len(s) != len(sh):
            raise ShapeError(f"einsum: subscripts '{s}' name {len(s)} dimensions but the operand has "
                             f"shape {format_shape(sh)}")
        new.append(s)
    if out is None:
        letters = "".join(new)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return new, out


def _prepare_einsum(equation: str, *operands: Any) -> Prepared:
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(operands):
        raise ShapeError(f"einsum: '{equation}' names {len(subs)} operands but {len(operands)} were given")
    subs, out = _expand_ellipsis(subs, [shape_of(o) for o in operands], rhs if "->" in eq else None)
    sizes: dict[str, int] = {}
    for s, o in zip(subs, operands):
        for c, n in zip(s, shape_of(o)):
            if sizes.setdefault(c, n) != n and 1 not in (n, sizes[c]):
                raise ShapeError(f"einsum: index '{c}' has size {sizes[c]} in one operand and {n} in "
                                 f"another ('{equation}')")
    return tuple(operands), {"equation": ",".join(subs) + "->" + out}


def _einsum(*xs: Any, equation: str) -> Any:
    return np.einsum(equation, *xs, optimize=len(xs) > 2)


def _einsum_rule(i: int) -> Any:
    # d out / d operand_i: an einsum of g with the other operands, producing operand i's
    # subscripts.  Letters summed only inside operand i come back through a ones vector;
    # a letter repeated in operand i (a diagonal, as in 'ii->') is placed back on the
    # diagonal with an identity matrix.
    def rule(b: Any, g: Any, out: Any, *xs: Any, equation: str) -> Any:
        lhs, rhs = equation.split("->")
        subs = lhs.split(",")
        target = subs[i]
        sizes = {c: n for s, x in zip(subs, xs) for c, n in zip(s, x.shape)}
        operands = [g]
        terms = [rhs]
        for k, (s, x) in enumerate(zip(subs, xs)):
            if k != i:
                operands.append(x)
                terms.append(s)
        have = set("".join(terms))
        dtype = g.dtype
        result = ""
        spare = iter(c for c in string.ascii_letters if c not in set(equation))
        for c in target:
            if c in result:  # repeated index: a new letter tied to c by the identity
                new = next(spare)
                operands.append(np.eye(sizes[c], dtype=dtype))
                terms.append(c + new)
                result += new
                continue
            if c not in have:
                operands.append(np.ones(sizes[c], dtype=dtype))
                terms.append(c)
                have.add(c)
            result += c
        return b.einsum(*operands, equation=",".join(terms) + "->" + result)
    return rule


EINSUM = defop(
    "einsum", _einsum, VariadicGrads(_einsum_rule),
    Domain(make=lambda rng: [
        Sample((rng.standard_normal((2, 3)), rng.standard_normal((3, 4))), {"equation": "ij,jk->ik"}, (0, 1)),
        Sample((rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3, 2))),
               {"equation": "bij,bjk->bik"}, (0, 1)),
        Sample((rng.standard_normal((3, 3)),), {"equation": "ii->"}, (0,)),
        Sample((rng.standard_normal((3, 4)),), {"equation": "ij->i"}, (0,)),
        Sample((rng.standard_normal((3,)), rng.standard_normal((4,)), rng.standard_normal((3, 4))),
               {"equation": "i,j,ij->"}, (0, 1, 2)),
        Sample((rng.standard_normal((3, 3)),), {"equation": "ii->i"}, (0,)),
    ]),
    prepare=_prepare_einsum, saves_out=False, method=False,
    doc="Einstein summation, NumPy's subscripts (``...``, implicit output, traces).\n\n"
        ">>> import gradwise as gw\n>>> gw.einsum('ij,jk->ik', gw.ones(2, 3), gw.ones(3, 4)).shape\n(2, 4)",
)


def _prepare_tensordot(a: Any, b: Any, dims: Any = 2) -> Prepared:
    na, nb = len(shape_of(a)), len(shape_of(b))
    if isinstance(dims, int):
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for x, y in zip(da, db):
        sb[y % nb] = sa[x % na]
    out = [c for k, c in enumerate(sa) if k not in [d % na for d in da]] + \
          [c for k, c in enumerate(sb) if k not in [d % nb for d in db]]
    return _prepare_einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


TENSORDOT = defop(
    "tensordot", _einsum, VariadicGrads(_einsum_rule),
    Domain(make=lambda rng: [Sample((rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4, 2))),
                                    {"equation": "abc,bcd->ad"}, (0, 1))]),
    prepare=_prepare_tensordot, saves_out=False, method=False,
    doc="Contract ``dims`` (an int: the last/first dims; or two lists) of ``a`` and ``b``.",
)


def _prepare_trace(input: Any) -> Prepared:
    if len(shape_of(input)) != 2:
        raise ShapeError(f"trace: expected a matrix, got shape {format_shape(shape_of(input))}")
    return (input,), {}


TRACE = defop(
    "trace", lambda x: np.trace(x),
    # d tr(X) = I (the leading square block for a non-square X)
    (lambda b, g, out, x: g * np.eye(x.shape[0], x.shape[1], dtype=x.dtype),),
    Domain(("real",), (((3, 3),), ((3, 4),))),
    prepare=_prepare_trace, saves_out=False,
    doc="Sum of the diagonal of a matrix.",
)

# --- inverse, determinants, solve --------------------------------------------------

def _well_conditioned(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    n = shape[-1]
    return np.eye(n) * 2.0 + 0.3 * rng.standard_normal(shape)


def _prepare_square(op: str) -> Any:
    def prepare(A: Any) -> Prepared:
        _square(op, A)
        return (A,), {}
    return prepare


INV = defop(
    "inv", lambda a: _linalg("inv", np.linalg.inv, a),
    # d inv(A) = -inv(A) dA inv(A)  =>  gA = -inv^T g inv^T
    (lambda b, g, out, a: -b.matmul(b.matmul(_mT(b, out), g), _mT(b, out)),),
    Domain(make=lambda rng: [Sample((_well_conditioned(rng, (3, 3)),)),
                             Sample((_well_conditioned(rng, (2, 2, 2)),))]),
    prepare=_prepare_square("inv"), saves_inputs=False, aliases=("inverse",),
    doc="Matrix inverse (batched).\n\n>>> import gradwise as gw\n"
        ">>> gw.inverse(gw.eye(2) * 2).tolist()\n[[0.5, 0.0], [0.0, 0.5]]",
)


def _expand_scalar(b: Any, g: Any) -> Any:
    return b.unsqueeze(b.unsqueeze(g, dim=-1), dim=-1)


DET = defop(
    "det", lambda a: _linalg("det", np.linalg.det, a),
    # Jacobi's formula: d det(A) = det(A) tr(inv(A) dA)  =>  gA = g det inv(A)^T
    (lambda b, g, out, a: _expand_scalar(b, g * out) * _mT(b, b.inv(a)),),
    Domain(make=lambda rng: [Sample((_well_conditioned(rng, (3, 3)),)),
                             Sample((_well_conditioned(rng, (2, 2, 2)),))]),
    prepare=_prepare_square("det"),
    doc="Determinant (batched).  Its gradient needs an invertible matrix.",
)

SLOGDET_SIGN = defop(
    "slogdet_sign", lambda a: np.linalg.slogdet(a)[0], (None,),
    Domain(make=lambda rng: [Sample((_well_conditioned(rng, (3, 3)),))]),
    prepare=_prepare_square("slogdet"), method=False, function=False,
    doc="The sign part of slogdet (no gradient).",
)

LOGABSDET = defop(
    "logabsdet", lambda a: np.linalg.slogdet(a)[1],
    # d log|det A| = tr(inv(A) dA)  =>  gA = g inv(A)^T
    (lambda b, g, out, a: _expand_scalar(b, g) * _mT(b, b.inv(a)),),
    Domain(make=lambda rng: [Sample((_well_conditioned(rng, (3, 3)),)),
                             Sample((_well_conditioned(rng, (2, 2, 2)),))]),
    prepare=_prepare_square("slogdet"), saves_out=False, method=False,
    doc="``log|det(A)|`` (batched); see ``gradwise.linalg.slogdet`` for (sign, logabsdet).",
)


def _prepare_solve(A: Any, B: Any, *, left: bool = True) -> Prepared:
    _square("solve", A)
    sa, sb = shape_of(A), shape_of(B)
    if not left:
        raise ValueError("solve: left=False is not supported; solve with A^T and transpose the result")
    vector = len(sb) == len(sa) - 1   # PyTorch: B is a (batch of) vector(s) when it has one dim fewer
    n = sb[-1] if vector else (sb[-2] if len(sb) >= 2 else -1)
    if n != sa[-1]:
        raise ShapeError(f"solve: A has shape {format_shape(sa)} (n = {sa[-1]}) but B has shape "
                         f"{format_shape(sb)}; B needs {sa[-1]} rows")
    return (A, B), {"vector": vector}


def _solve(a: Any, bm: Any, vector: bool) -> Any:
    if vector:
        return _linalg("solve", np.linalg.solve, a, np.asarray(bm)[..., None])[..., 0]
    return _linalg("solve", np.linalg.solve, a, bm)


def _solve_grad_b(b: Any, g: Any, out: Any, a: Any, bm: Any, vector: bool) -> Any:
    # X = A^-1 B  =>  gB = A^-T g
    return b.solve(_mT(b, a), g, vector=vector)


def _solve_grad_a(b: Any, g: Any, out: Any, a: Any, bm: Any, vector: bool) -> Any:
    # gA = -gB X^T
    gb = b.solve(_mT(b, a), g, vector=vector)
    if vector:
        return -(b.unsqueeze(gb, dim=-1) * b.unsqueeze(out, dim=-2))
    return -b.matmul(gb, _mT(b, out))


SOLVE = defop(
    "solve", _solve, (_solve_grad_a, _solve_grad_b),
    Domain(make=lambda rng: [
        Sample((_well_conditioned(rng, (3, 3)), rng.standard_normal((3,))), {"vector": True}, (0, 1)),
        Sample((_well_conditioned(rng, (3, 3)), rng.standard_normal((3, 2))), {"vector": False}, (0, 1)),
        Sample((_well_conditioned(rng, (2, 3, 3)), rng.standard_normal((2, 3))), {"vector": True}, (0, 1)),
    ]),
    prepare=_prepare_solve, method=False,
    doc="Solve ``A X = B`` (batched; B a vector when it has one dimension fewer than A).",
)

# --- factorizations of symmetric matrices (read the lower triangle, like PyTorch) ----
# Gradient convention: the forward reads only the lower triangle, so the gradient here is
# exact for that function (finite differences agree): an off-diagonal lower entry gets
# 2 S_ij, the diagonal S_ii, the upper triangle 0, where S is the symmetric gradient that
# torch.linalg reports.  Both give the same derivative along any symmetric direction.


def _sym_lower(a: Any) -> Any:
    # The symmetric matrix whose lower triangle is a's: the upper triangle is ignored.
    return np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)


def _lower_param_grad(b: Any, s: Any, eye: np.ndarray) -> Any:
    # s: gradient w.r.t. the symmetric matrix (symmetrized). Entry (i, j), i > j, of the
    # input feeds both (i, j) and (j, i): it gets 2 s_ij; the diagonal gets s_ii.
    return b.tril(s * 2.0, diagonal=0) - s * eye


def _spd(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    m = rng.standard_normal(shape)
    return m @ np.swapaxes(m, -1, -2) + np.eye(shape[-1]) * shape[-1]


def _cholesky(a: Any) -> Any:
    return _linalg("cholesky", np.linalg.cholesky, _sym_lower(a))


def _cholesky_grad(b: Any, g: Any, out: Any, a: Any) -> Any:
    # Murray (2016): P = Phi(L^T gL), Phi = lower triangle with the diagonal halved;
    # gradient w.r.t. the symmetric A is L^-T P L^-1, symmetrized.
    n = a.shape[-1]
    eye = np.eye(n, dtype=g.dtype)
    m = b.matmul(_mT(b, out), g)
    p = b.tril(m, diagonal=0) - m * eye * 0.5
    linv = b.inv(out)
    x = b.matmul(b.matmul(_mT(b, linv), p), linv)
    s = (x + _mT(b, x)) * 0.5
    return _lower_param_grad(b, s, eye)


CHOLESKY = defop(
    "cholesky", _cholesky, (_cholesky_grad,),
    Domain(make=lambda rng: [Sample((np.tril(_spd(rng, (3, 3))),)), Sample((_spd(rng, (2, 3, 3)),))]),
    prepare=_prepare_square("cholesky"), saves_inputs=True,
    doc="Lower Cholesky factor L with ``A = L L^T`` (reads A's lower triangle; batched).",
)


def _eigh_values(a: Any) -> Any:
    return np.linalg.eigh(_sym_lower(a))[0]


def _eigh_vectors(a: Any) -> Any:
    return np.linalg.eigh(_sym_lower(a))[1]


def _eigvals_grad(b: Any, g: Any, out: Any, a: Any) -> Any:
    # dw_k = v_k^T dA v_k  =>  gA = V diag(g) V^T
    v = b.eigh_vectors(a)
    s = b.matmul(v * b.unsqueeze(g, dim=-2), _mT(b, v))
    return _lower_param_grad(b, s, np.eye(a.shape[-1], dtype=g.dtype))


def _eigvecs_grad(b: Any, g: Any, out: Any, a: Any) -> Any:
    # gA = V (F o (V^T gV)) V^T with F_ij = 1/(w_j - w_i) off the diagonal (distinct eigenvalues)
    w = b.eigvalsh(a)
    n = a.shape[-1]
    eye = np.eye(n, dtype=g.dtype)
    diff = b.unsqueeze(w, dim=-2) - b.unsqueeze(w, dim=-1)        # w_j - w_i
    f = (1.0 - eye) / (diff + eye)                                  # eye avoids 0/0 on the diagonal
    inner = b.matmul(b.matmul(out, f * b.matmul(_mT(b, out), g)), _mT(b, out))
    s = (inner + _mT(b, inner)) * 0.5
    return _lower_param_grad(b, s, eye)


def _distinct_spd(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    w = np.arange(1, shape[-1] + 1) * 1.0 + rng.uniform(0, 0.3, shape[:-1])
    return np.tril((q * w[..., None, :]) @ np.swapaxes(q, -1, -2))


EIGVALSH = defop(
    "eigvalsh", _eigh_values, (_eigvals_grad,),
    Domain(make=lambda rng: [Sample((_distinct_spd(rng, (3, 3)),)),
                             Sample((_distinct_spd(rng, (2, 3, 3)),))]),
    prepare=_prepare_square("eigvalsh"), saves_out=False, method=False,
    doc="Eigenvalues (ascending) of symmetric matrices, read from the lower triangle.",
)

EIGH_VECTORS = defop(
    "eigh_vectors", _eigh_vectors, (_eigvecs_grad,),
    Domain(make=lambda rng: [Sample((_distinct_spd(rng, (3, 3)),))]),
    prepare=_prepare_square("eigh"), method=False, function=False,
    doc="Eigenvectors (columns) of symmetric matrices; see ``gradwise.linalg.eigh``. "
        "The gradient needs distinct eigenvalues.",
)
