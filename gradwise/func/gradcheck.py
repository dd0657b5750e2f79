"""``gradcheck`` and ``gradgradcheck``: analytic gradients against finite differences.

The numeric Jacobian uses float64 central differences,
``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, whose error is O(eps^2)
(about 1e-12 for eps = 1e-6 on smooth functions, far below the tolerances),
against the analytic Jacobian assembled row by row with vector-Jacobian
products from the engine.  On failure it prints a table per input: the largest
absolute and relative error, where it happened, and both values there.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.autograd.engine import grad as autograd_grad
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError


class GradcheckError(GradwiseError, RuntimeError):
    """Analytic and numeric gradients disagree; the message holds the table."""


@dataclass(frozen=True)
class InputReport:
    """How one input's analytic Jacobian compares with the numeric one."""

    index: int
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]   # (output element, input element) of the worst entry
    analytic: float
    numeric: float
    passed: bool


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Tensor]:
    outs = _as_tuple(fn(*inputs))
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind in "fc"]


def _flat_outputs(fn: Callable[..., Any], inputs: list[Any]) -> np.ndarray:
    outs = _outputs(fn, inputs)
    return np.concatenate([o._data.reshape(-1) for o in outs]) if outs else np.zeros(0)


def _numeric_jacobian(fn: Callable[..., Any], inputs: list[Any], i: int, eps: float) -> np.ndarray:
    x = inputs[i]
    data = x._data
    cols = []
    # Perturb the array itself element by element (a reshape of a non-contiguous array would
    # be a copy), and always restore it, even when fn raises.  Grad mode stays on:
    # gradgradcheck's fn itself calls autograd.grad.
    for idx in np.ndindex(data.shape):
        orig = data[idx]
        try:
            data[idx] = orig + eps
            plus = _flat_outputs(fn, inputs)
            data[idx] = orig - eps
            minus = _flat_outputs(fn, inputs)
        finally:
            data[idx] = orig
        cols.append((plus - minus) / (2 * eps))
    n_out = cols[0].size if cols else 0
    return np.stack(cols, axis=1) if cols else np.zeros((n_out, 0))


def _analytic_jacobians(fn: Callable[..., Any], inputs: list[Any], diff: list[int]) -> list[np.ndarray]:
    outs = _outputs(fn, inputs)
    sizes = [o._data.size for o in outs]
    n_out = sum(sizes)
    jacs = [np.zeros((n_out, inputs[i]._data.size)) for i in diff]
    row = 0
    for o, size in zip(outs, sizes):
        for k in range(size):
            if not o.requires_grad:
                row += 1
                continue
            seed = np.zeros(o.shape, dtype=o.dtype)
            seed.reshape(-1)[k] = 1.0
            gs = autograd_grad(o, [inputs[i] for i in diff], grad_outputs=Tensor._make(seed),
                               retain_graph=True, allow_unused=True)
            for j, g in enumerate(gs):
                if g is not None:
                    jacs[j][row] = g._data.reshape(-1)
            row += 1
    return jacs


def _to_float64(inputs: Sequence[Any], where: str) -> list[Any]:
    out = []
    warned = False
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.kind == "f" and x.dtype != np.float64:
            if not warned:
                warnings.warn(f"{where}: inputs are {x.dtype.name}; converting to float64 (finite "
                              "differences in single precision are too inexact to check "
                              "gradients)", stacklevel=3)
                warned = True
            y = Tensor(x._data.astype(np.float64))
            y.requires_grad = x.requires_grad
            out.append(y)
        else:
            out.append(x)
    return out


def _compare(jac_a: np.ndarray, jac_n: np.ndarray, i: int, shape: tuple[int, ...],
             atol: float, rtol: float) -> InputReport:
    err = np.abs(jac_a - jac_n)
    # relative error where the numeric value is non-zero (no division overflow for the report)
    rel = np.divide(err, np.abs(jac_n), out=np.zeros_like(err), where=np.abs(jac_n) > 0)
    ok = bool(np.all(err <= atol + rtol * np.abs(jac_n)))
    if err.size == 0:
        return InputReport(i, shape, 0.0, 0.0, (), 0.0, 0.0, True)
    # the worst entry is the one furthest beyond its allowed tolerance
    excess = err - (atol + rtol * np.abs(jac_n))
    r, c = np.unravel_index(int(np.argmax(excess)), err.shape)
    worst = (int(r),) + tuple(int(v) for v in np.unravel_index(int(c), shape)) if shape else (int(r),)
    return InputReport(i, shape, float(err.max()), float(rel.max()), worst,
                       float(jac_a[r, c]), float(jac_n[r, c]), ok)


def format_reports(reports: Sequence[InputReport], title: str) -> str:
    """The readable table printed when a check fails."""
    lines = [title,
             f"{'input':>5} {'shape':>14} {'max abs err':>12} {'max rel err':>12} "
             f"{'worst (out, in...)':>20} {'analytic':>14} {'numeric':>14}  ok"]
    for r in reports:
        lines.append(f"{r.index:>5} {str(r.shape):>14} {r.max_abs_error:>12.3e} "
                     f"{r.max_rel_error:>12.3e} {str(r.worst_index):>20} {r.analytic:>14.7g} "
                     f"{r.numeric:>14.7g}  {'yes' if r.passed else 'NO'}")
    return "\n".join(lines)


def check_reports(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3) -> list[InputReport]:
    """One :class:`InputReport` per input that requires grad (no raising)."""
    xs = _to_float64(_as_tuple(inputs), "gradcheck")
    diff = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad; pass tensors with requires_grad=True")
    jac_a = _analytic_jacobians(fn, xs, diff)
    reports = []
    for j, i in enumerate(diff):
        jac_n = _numeric_jacobian(fn, xs, i, eps)
        reports.append(_compare(jac_a[j], jac_n, i, xs[i].shape, atol, rtol))
    return reports


def gradcheck(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check ``fn``'s gradients against float64 central differences.

    ``inputs`` is a tensor or a tuple of them; every one with
    ``requires_grad=True`` is checked, for every output of ``fn``.  float32
    inputs are converted to float64 with a warning.

    >>> import gradwise as gw
    >>> x = gw.randn(3, dtype=gw.float64, requires_grad=True)
    >>> gw.gradcheck(lambda t: (t.exp() * t).sum(), (x,))
    True
    """
    reports = check_reports(fn, inputs, eps, atol, rtol)
    ok = all(r.passed for r in reports)
    if not ok and raise_exception:
        raise GradcheckError(format_reports(
            reports, f"gradcheck: analytic and numeric gradients disagree (atol={atol}, "
                     f"rtol={rtol}, eps={eps})"))
    return ok


def gradgradcheck(fn: Callable[..., Any], inputs: Any, grad_outputs: Any = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives: the gradient of ``<grad_outputs, fn(inputs)>``,
    itself a differentiable function of the inputs, against finite differences.

    ``grad_outputs`` defaults to fixed random tensors (seeded), one per output.

    >>> import gradwise as gw
    >>> x = gw.randn(3, dtype=gw.float64, requires_grad=True)
    >>> gw.gradgradcheck(lambda t: t.sin() * t, (x,))
    True
    """
    xs = _to_float64(_as_tuple(inputs), "gradgradcheck")
    outs = _outputs(fn, xs)
    if grad_outputs is None:
        rng = np.random.default_rng(1234)
        gos = [Tensor(rng.standard_normal(o.shape)) for o in outs]
    else:
        gos = [g if isinstance(g, Tensor) else Tensor(np.asarray(g, dtype=np.float64))
               for g in _as_tuple(grad_outputs)]

    def first_order(*args: Any) -> tuple[Tensor, ...]:
        outs_now = _outputs(fn, args)
        pairs = [(o, g) for o, g in zip(outs_now, gos) if o.requires_grad]
        if not pairs:
            return ()
        ins = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        gs = autograd_grad([o for o, _ in pairs], ins, grad_outputs=[g for _, g in pairs],
                           create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    reports = check_reports(first_order, xs, eps, atol, rtol)
    ok = all(r.passed for r in reports)
    if not ok and raise_exception:
        raise GradcheckError(format_reports(
            reports, f"gradgradcheck: analytic and numeric second derivatives disagree "
                     f"(atol={atol}, rtol={rtol}, eps={eps})"))
    return ok
