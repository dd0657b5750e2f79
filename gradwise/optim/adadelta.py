"""Adadelta (Zeiler, 2012) with PyTorch's exact update, including its ``lr`` factor."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.optim.optimizer import Optimizer, check_hyper


class Adadelta(Optimizer):
    """Adadelta: a step whose units match the parameter's, from running averages of squared
    gradients and squared updates, as PyTorch computes it.

    With ``g`` the gradient (negated when ``maximize``; plus ``weight_decay * p`` when set)::

        v  <- rho v + (1 - rho) g^2
        dx  = sqrt(u + eps) / sqrt(v + eps) * g      (u from the previous step)
        u  <- rho u + (1 - rho) dx^2
        p  <- p - lr dx

    The paper has no ``lr`` (it is PyTorch's addition; the default 1.0 gives the paper's rule).
    State per parameter (shape of the parameter): ``square_avg`` (v), ``acc_delta`` (u), ``step``.

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.tensor([1.0]))
    >>> opt = gw.optim.Adadelta([w])
    >>> (w * w).sum().backward(); _ = opt.step()
    >>> round(w.item(), 6)   # first step: sqrt(eps) / sqrt(0.1 * 4 + eps) * 2
    0.996838
    """

    def __init__(self, params: Any, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        check_hyper("Adadelta rho", group["rho"], 0.0, 1.0, inclusive_high=True)
        check_hyper("eps", group["eps"])

    def _update(self, group: dict[str, Any]) -> None:
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        for p, g in self._grads(group):
            st = self.state.setdefault(p, {})
            if not st:
                st["step"] = 0
                st["square_avg"] = np.zeros_like(p._data)
                st["acc_delta"] = np.zeros_like(p._data)
            st["step"] += 1
            if wd:
                g = g + wd * p._data
            v, u = st["square_avg"], st["acc_delta"]
            v *= rho
            v += (1 - rho) * (g * g)
            # eps inside both square roots: it also sets the size of the very first steps (u = 0).
            delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
            u *= rho
            u += (1 - rho) * (delta * delta)
            self._set(p, p._data - lr * delta)
