"""Optimizers that step by the sign of a gradient statistic: Rprop (PyTorch's update) and Lion."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.optim.adam_family import check_betas
from gradwise.optim.optimizer import Optimizer, OptimizerError


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun, 1993), as PyTorch computes it.

    Every element keeps its own step size ``eta`` (``lr`` at first). With ``g`` the gradient
    (negated when ``maximize``) and ``g_prev`` the gradient kept from the previous step (0 at first)::

        g g_prev > 0:  eta <- min(eta * etaplus, max_step)
        g g_prev < 0:  eta <- max(eta * etaminus, min_step),  g <- 0  (no move; forget the sign)
        g g_prev = 0:  eta <- clamp(eta, min_step, max_step)
        p <- p - eta sign(g),   g_prev <- g

    ``etas = (etaminus, etaplus)`` with ``0 < etaminus < 1 < etaplus``; ``step_sizes = (min_step, max_step)``.
    State per parameter (shape of the parameter): ``prev`` (g_prev), ``step_size`` (eta), ``step``.

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.tensor([1.0]))
    >>> opt = gw.optim.Rprop([w], lr=0.1)
    >>> for _ in range(3):
    ...     opt.zero_grad(); (w * w).sum().backward(); _ = opt.step()
    >>> round(w.item(), 6)   # steps 0.1, 0.12, 0.144
    0.636
    """

    def __init__(self, params: Any, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0), maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        etas, sizes = group["etas"], group["step_sizes"]
        if not (isinstance(etas, (tuple, list)) and len(etas) == 2
                and all(isinstance(e, (int, float)) for e in etas) and 0.0 < etas[0] < 1.0 < etas[1]):
            raise OptimizerError(f"Rprop: invalid etas {etas!r} (expected (etaminus, etaplus) with "
                                 "0 < etaminus < 1 < etaplus, e.g. (0.5, 1.2))")
        if not (isinstance(sizes, (tuple, list)) and len(sizes) == 2
                and all(isinstance(s, (int, float)) for s in sizes) and 0.0 <= sizes[0] <= sizes[1]):
            raise OptimizerError(f"Rprop: invalid step_sizes {sizes!r} (expected (min_step, max_step) with "
                                 "0 <= min_step <= max_step, e.g. (1e-6, 50))")
        group["etas"], group["step_sizes"] = tuple(etas), tuple(sizes)

    def _update(self, group: dict[str, Any]) -> None:
        (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
        for p, g in self._grads(group):
            st = self.state.setdefault(p, {})
            if not st:
                st["step"] = 0
                st["prev"] = np.zeros_like(p._data)
                st["step_size"] = np.full_like(p._data, group["lr"])
            st["step"] += 1
            agree = np.sign(g * st["prev"])
            factor = np.where(agree > 0, etaplus, np.where(agree < 0, etaminus, 1.0))
            eta = st["step_size"]
            np.clip(eta * factor, lo, hi, out=eta)
            # After a sign change the step is skipped and g_prev is zeroed, so the next
            # step neither grows nor shrinks eta.
            g = np.where(agree < 0, 0.0, g)
            self._set(p, p._data - np.sign(g) * eta)
            st["prev"] = np.asarray(g, dtype=p.dtype)


class Lion(Optimizer):
    """Lion, "EvoLved Sign Momentum" (Chen et al., 2023, Algorithm 2).

    With ``g`` the gradient (negated when ``maximize``)::

        c  = b1 m + (1 - b1) g
        p <- p (1 - lr wd) - lr sign(c)       (decoupled weight decay)
        m <- b2 m + (1 - b2) g

    Every element moves by exactly ``lr`` (plus decay), so Lion wants an ``lr`` 3-10 times smaller
    than AdamW's and a ``weight_decay`` as many times larger.  PyTorch has no Lion; the defaults
    follow the paper (``betas=(0.9, 0.99)``).  State per parameter: ``exp_avg`` (m), ``step``.

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.tensor([1.0, -2.0]))
    >>> opt = gw.optim.Lion([w], lr=0.1)
    >>> (w * w).sum().backward(); _ = opt.step()
    >>> [round(v, 6) for v in w.tolist()]   # each element moves by lr against its gradient's sign
    [0.9, -1.9]
    """

    def __init__(self, params: Any, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        # No bias correction divides by 1 - beta, so beta = 1 (a frozen momentum) is allowed.
        check_betas("Lion", group["betas"], inclusive_high=True)
        group["betas"] = tuple(group["betas"])

    def _update(self, group: dict[str, Any]) -> None:
        lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
        for p, g in self._grads(group):
            st = self.state.setdefault(p, {})
            if not st:
                st["step"] = 0
                st["exp_avg"] = np.zeros_like(p._data)
            st["step"] += 1
            m = st["exp_avg"]
            direction = np.sign(b1 * m + (1 - b1) * g)
            self._set(p, p._data * (1 - lr * wd) - lr * direction)
            m *= b2
            m += (1 - b2) * g
