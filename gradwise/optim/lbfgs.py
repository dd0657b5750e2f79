"""L-BFGS with PyTorch's algorithm: two-loop recursion over a limited history, and an optional
strong-Wolfe line search with cubic interpolation (bracketing, then zoom: Nocedal & Wright, Alg. 3.5-3.6).

All parameters are seen as one flat vector (in parameter order); the state lives with the first
parameter, as in PyTorch, so ``state_dict()`` has PyTorch's layout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradwise.autograd.grad_mode import enable_grad
from gradwise.autograd.tensor import Tensor
from gradwise.optim.optimizer import Optimizer, OptimizerError, check_hyper

# Directional evaluation: (start point, step length t, direction d) -> (loss, flat gradient) at x + t d.
_Objective = Callable[[list[np.ndarray], float, np.ndarray], tuple[float, np.ndarray]]


def _cubic_minimizer(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                     bounds: tuple[float, float] | None = None) -> float:
    """Minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped to ``bounds``
    (default: the interval between the points); the interval's midpoint when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    # numpy scalars: a degenerate bracket gives inf/nan like PyTorch's tensors, not ZeroDivisionError.
    x1, f1, g1, x2, f2, g2 = (np.float64(v) for v in (x1, f1, g1, x2, f2, g2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        disc = d1 * d1 - g1 * g2
        if not disc >= 0:
            return float((lo + hi) / 2)
        d2 = np.sqrt(disc)
        # The stationary point of the cubic that is a minimum, written from the farther point.
        if x1 <= x2:
            x_min = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            x_min = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    # builtin min/max, so a nan minimiser propagates exactly as in PyTorch.
    return float(min(max(x_min, lo), hi))


def _strong_wolfe(obj: _Objective, x: list[np.ndarray], t: float, d: np.ndarray, f: float, g: np.ndarray,
                  gtd: float, c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple[float, np.ndarray, float, int]:
    """Find a step ``t`` along ``d`` with sufficient decrease ``f(t) <= f + c1 t gtd`` and small slope
    ``|g(t).d| <= c2 |gtd|``.  Returns ``(loss, flat gradient, t, evaluations)``.

    Phase 1 grows ``t`` (cubic extrapolation, at most 10x) until a step satisfies both conditions or
    an interval [t_lo, t_hi] must contain one; phase 2 shrinks that interval by cubic interpolation,
    kept at least 10% away from its ends when progress stalls.
    """
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = obj(x, t, d)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    bracket: list[float] = []
    bracket_f: list[float] = []
    bracket_g: list[np.ndarray] = []
    bracket_gtd: list[float] = []
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            # Too long (no sufficient decrease) or worse than the last trial: the minimum is behind us.
            bracket, bracket_f, bracket_g = [t_prev, t], [f_prev, f_new], [g_prev, g_new]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            # The slope turned positive: a minimum lies between the last two trials.
            bracket, bracket_f, bracket_g = [t_prev, t], [f_prev, f_new], [g_prev, g_new]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        # Still descending: extrapolate, at least 1% beyond t and at most 10 t.
        t_next = _cubic_minimizer(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                  bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    insufficient = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimizer(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        left, right = min(bracket), max(bracket)
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            # Too close to an end: accept once, but after a second time (or at an end) move inside.
            if insufficient or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            # No sufficient decrease, or not below the best point: t becomes the high end.
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # The slope points away from the high end: the old low end becomes the high end.
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


class LBFGS(Optimizer):
    """L-BFGS as PyTorch computes it.  ``step(closure)`` runs up to ``max_iter`` iterations (and
    ``max_eval`` closure calls); ``closure`` must zero the gradients, compute the loss, call
    ``backward()`` and return the loss.

    Each iteration, with ``g`` the flat gradient and ``(s_i, y_i)`` the last ``history_size`` pairs of
    parameter and gradient changes kept when ``y.s > 1e-10``::

        d = -H g      (two-loop recursion; initial H = (y.s / y.y) I from the newest pair)
        t = min(1, 1 / |g|_1) lr on the very first iteration, else lr
        t <- strong-Wolfe line search from t (line_search_fn="strong_wolfe"; c1=1e-4, c2=0.9;
             at most the evaluations left under max_eval)
        p <- p + t d

    It stops when ``max|g| <= tolerance_grad``, ``g.d > -tolerance_change``,
    ``max|t d| <= tolerance_change`` or ``|loss change| < tolerance_change``.  All parameters are
    one flat vector, so there is a single parameter group.  Returns the loss of the first closure call.

    >>> import gradwise as gw
    >>> x = gw.nn.Parameter(gw.tensor([3.0, -1.0], dtype="float64"))
    >>> opt = gw.optim.LBFGS([x], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((x - gw.tensor([1.0, 2.0], dtype="float64")) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> [round(v, 6) for v in x.tolist()]
    [1.0, 2.0]
    """

    def __init__(self, params: Any, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        _check_count("max_iter", max_iter)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise OptimizerError("LBFGS does not support parameter groups (it optimizes all parameters as one "
                                 "flat vector); pass a single list of parameters")
        super().add_param_group(param_group)

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        for name in ("max_iter", "max_eval", "history_size"):
            _check_count(name, group[name])
        check_hyper("tolerance_grad", group["tolerance_grad"])
        check_hyper("tolerance_change", group["tolerance_change"])
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise OptimizerError(f"LBFGS: invalid line_search_fn {group['line_search_fn']!r} "
                                 "(expected None or 'strong_wolfe')")

    # --------------------------------------------------------- flat vector view
    @property
    def _params(self) -> list[Tensor]:
        return self.param_groups[0]["params"]

    def _flat_dtype(self) -> np.dtype:
        return np.result_type(*(p.dtype for p in self._params))

    def _flat_grad(self) -> np.ndarray:
        # A parameter without a gradient contributes zeros (it does not influence the loss).
        return np.concatenate([p.grad._data.reshape(-1) if p.grad is not None else np.zeros(p.numel(), p.dtype)
                               for p in self._params]).astype(self._flat_dtype(), copy=False)

    def _add(self, t: float, d: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            self._set(p, p._data + t * d[offset:offset + n].reshape(p.shape))
            offset += n

    def _evaluate(self, closure: Callable[[], Any]) -> tuple[Any, float]:
        with enable_grad():
            loss = closure()
        return loss, float(loss)

    # --------------------------------------------------------------------- step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss at the starting point."""
        if closure is None:
            raise OptimizerError("LBFGS.step needs a closure: a function that zeroes the gradients, computes "
                                 "the loss, calls loss.backward() and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss, loss = self._evaluate(closure)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.max(np.abs(flat_grad)) <= tol_grad:
            return orig_loss  # already optimal

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                # n_iter > 1: an earlier iteration of this step, or state.update at the end of an
                # earlier step, set the direction, step and history
                assert d is not None and t is not None and h_diag is not None
                assert old_dirs is not None and old_stps is not None and ro is not None
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep only pairs with positive curvature, so H stays positive definite
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            t = min(1.0, 1.0 / float(np.sum(np.abs(flat_grad)))) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad @ d)
            if gtd > -tol_change:
                break  # not a descent direction (any more)

            ls_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x_init = [p._data.copy() for p in self._params]

                def directional(x: list[np.ndarray], step: float, direction: np.ndarray) -> tuple[float, np.ndarray]:
                    self._add(step, direction)
                    f = self._evaluate(closure)[1]
                    grad = self._flat_grad()
                    for p, xp in zip(self._params, x):
                        self._set(p, xp)
                    return f, grad

                # As in PyTorch, the search may spend only the evaluations left under max_eval, and
                # uses its own tolerance_change default (1e-9), not the group's.
                loss, flat_grad, t, ls_evals = _strong_wolfe(directional, x_init, t, d, loss, flat_grad, gtd,
                                                             max_ls=max_eval - evals)
                self._add(t, d)
                opt_cond = np.max(np.abs(flat_grad)) <= tol_grad
            else:
                self._add(t, d)
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's point is evaluated by the next step()
                    loss = self._evaluate(closure)[1]
                    flat_grad = self._flat_grad()
                    opt_cond = np.max(np.abs(flat_grad)) <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if np.max(np.abs(d * t)) <= tol_change or abs(loss - prev_loss) < tol_change:
                break  # no progress

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def _update(self, group: dict[str, Any]) -> None:
        raise OptimizerError("LBFGS updates only through step(closure)")

    # -------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout; the history lists hold tensors (copies), so the dict is a snapshot."""
        sd = super().state_dict()
        for st in sd["state"].values():
            for k, v in st.items():
                if isinstance(v, list):
                    st[k] = [Tensor(a) if isinstance(a, np.ndarray) else a for a in v]
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        dtype = self._flat_dtype()
        for st in self.state.values():
            for k, v in st.items():
                if isinstance(v, np.ndarray):
                    st[k] = v.astype(dtype, copy=False)
                elif isinstance(v, (list, tuple)):
                    # Fresh lists of fresh arrays: later steps append to and pop from them.
                    st[k] = [np.array(a._data if isinstance(a, Tensor) else a, dtype=dtype)
                             if isinstance(a, (Tensor, np.ndarray)) else a for a in v]


def _two_loop(g: np.ndarray, old_dirs: list[np.ndarray], old_stps: list[np.ndarray], ro: list[float],
              h_diag: float) -> np.ndarray:
    """``-H g`` for the L-BFGS inverse-Hessian estimate H built from pairs ``s_i`` (old_stps),
    ``y_i`` (old_dirs), ``ro_i = 1 / y_i.s_i`` on top of ``h_diag * I`` (Nocedal & Wright, Alg. 7.4)."""
    q = -g
    alpha = [0.0] * len(old_dirs)
    for i in range(len(old_dirs) - 1, -1, -1):
        alpha[i] = float(old_stps[i] @ q) * ro[i]
        q = q - alpha[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        beta = float(old_dirs[i] @ r) * ro[i]
        r = r + (alpha[i] - beta) * old_stps[i]
    return r


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OptimizerError(f"LBFGS: invalid {name}: {value!r} (expected an integer >= 1)")

