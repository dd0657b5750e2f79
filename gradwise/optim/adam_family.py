"""Adam's relatives with PyTorch's exact updates: Adamax (infinity norm), NAdam (Nesterov momentum)
and RAdam (rectified variance).

Each follows the algorithm box of the PyTorch documentation line by line, including
where PyTorch departs from the paper (NAdam's ``momentum_decay`` schedule, the
``decoupled_weight_decay`` switches of NAdam and RAdam).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.optim.optimizer import Optimizer, OptimizerError, apply_weight_decay, check_hyper


def check_betas(owner: str, betas: Any, inclusive_high: bool = False) -> None:
    """``betas`` must be a pair of numbers in ``[0, 1)`` (``[0, 1]`` with ``inclusive_high``)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise OptimizerError(f"{owner}: invalid betas {betas!r} (expected a pair (beta1, beta2))")
    check_hyper(f"{owner} beta1 (betas[0])", betas[0], 0.0, 1.0, inclusive_high)
    check_hyper(f"{owner} beta2 (betas[1])", betas[1], 0.0, 1.0, inclusive_high)


class _AdamLike(Optimizer):
    """Shared validation and first-step state (``step``, ``exp_avg`` and a second buffer)."""

    _second = "exp_avg_sq"

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        check_betas(type(self).__name__, group["betas"])
        group["betas"] = tuple(group["betas"])
        check_hyper("eps", group["eps"])

    def _state(self, p: Any) -> dict[str, Any]:
        st = self.state.setdefault(p, {})
        if not st:
            st["step"] = 0
            st["exp_avg"] = np.zeros_like(p._data)
            st[self._second] = np.zeros_like(p._data)
        return st


class Adamax(_AdamLike):
    """Adamax (Kingma & Ba, section 7.1): Adam with the infinity norm, as PyTorch computes it.

    With ``g`` the gradient (negated when ``maximize``; plus ``weight_decay * p`` when set)::

        m <- b1 m + (1 - b1) g
        u <- max(b2 u, |g| + eps)
        p <- p - lr / (1 - b1^t) * m / u

    State per parameter (shape of the parameter): ``exp_avg`` (m), ``exp_inf`` (u), and ``step`` (t).

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.tensor([1.0]))
    >>> opt = gw.optim.Adamax([w], lr=0.1)
    >>> (w * w).sum().backward(); _ = opt.step()
    >>> round(w.item(), 6)   # first step: m / (1 - b1) = g and u = |g| + eps: a move by lr
    0.9
    """

    _second = "exp_inf"

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def _update(self, group: dict[str, Any]) -> None:
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p, g in self._grads(group):
            st = self._state(p)
            st["step"] += 1
            if wd:
                g = g + wd * p._data
            m, u = st["exp_avg"], st["exp_inf"]
            m += (1 - b1) * (g - m)  # lerp towards g, as PyTorch does
            u *= b2
            np.maximum(u, np.abs(g) + eps, out=u)
            clr = lr / (1 - b1 ** st["step"])
            self._set(p, p._data - clr * m / u)


class NAdam(_AdamLike):
    """NAdam (Dozat, 2016): Adam with Nesterov momentum, as PyTorch computes it.

    With ``g`` the gradient (negated when ``maximize``), ``psi = momentum_decay``::

        weight decay: p <- p (1 - lr wd) if decoupled_weight_decay, else g <- g + wd p
        mu_t     = b1 (1 - 0.5 * 0.96^(t psi)),   mu_{t+1} = b1 (1 - 0.5 * 0.96^((t+1) psi))
        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
        m_hat = mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i)
        v_hat = v / (1 - b2^t)
        p <- p - lr m_hat / (sqrt(v_hat) + eps)

    State per parameter: ``exp_avg`` (m), ``exp_avg_sq`` (v), ``step`` (t) and ``mu_product``
    (the running product of the mu_i, a float).

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.tensor([1.0]))
    >>> opt = gw.optim.NAdam([w], lr=0.1)
    >>> (w * w).sum().backward(); _ = opt.step()
    >>> round(w.item(), 4)   # lr * g / sqrt(v_hat) = 0.1 from the gradient term, 0.0056 from the momentum
    0.8944
    """

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        check_hyper("momentum_decay", group["momentum_decay"])

    def _update(self, group: dict[str, Any]) -> None:
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        psi = group["momentum_decay"]
        for p, g in self._grads(group):
            st = self._state(p)
            st.setdefault("mu_product", 1.0)
            st["step"] += 1
            t = st["step"]
            data, g = apply_weight_decay(p._data, g, lr, wd, group["decoupled_weight_decay"])
            # The momentum schedule mu_t warms up from b1/2 towards b1 (psi sets the speed).
            mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            st["mu_product"] = mu_product = st["mu_product"] * mu
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v / (1 - b2 ** t)) + eps
            # Two terms of m_hat: the current gradient (weight 1 - mu_t) and the look-ahead momentum.
            data = data - (lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
            data = data - (lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom
            self._set(p, data)


class RAdam(_AdamLike):
    """RAdam (Liu et al., 2019): Adam whose adaptive step is switched on only once the variance
    of the adaptive learning rate is tractable, as PyTorch computes it.

    With ``g`` the gradient (negated when ``maximize``), ``rho_inf = 2 / (1 - b2) - 1``::

        weight decay: p <- p (1 - lr wd) if decoupled_weight_decay, else g <- g + wd p
        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,   m_hat = m / (1 - b1^t)
        rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
        if rho_t > 5:
            l = sqrt(1 - b2^t) / (sqrt(v) + eps)
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p <- p - lr m_hat r l
        else:
            p <- p - lr m_hat            (plain momentum SGD during warm-up)

    State per parameter: ``exp_avg`` (m), ``exp_avg_sq`` (v) and ``step`` (t).

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.tensor([1.0]))
    >>> opt = gw.optim.RAdam([w], lr=0.1)
    >>> (w * w).sum().backward(); _ = opt.step()
    >>> round(w.item(), 6)   # warm-up: p - lr * g
    0.8
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, group: dict[str, Any]) -> None:
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        rho_inf = 2 / (1 - b2) - 1
        for p, g in self._grads(group):
            st = self._state(p)
            st["step"] += 1
            t = st["step"]
            data, g = apply_weight_decay(p._data, g, lr, wd, group["decoupled_weight_decay"])
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * (g * g)
            bc2 = 1 - b2 ** t
            m_hat = m / (1 - b1 ** t)
            # rho_t: length of the approximated simple moving average of the squared gradient.
            rho_t = rho_inf - 2 * t * b2 ** t / bc2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = math.sqrt(bc2) / (np.sqrt(v) + eps)
                data = data - m_hat * lr * adaptive * rect
            else:
                data = data - m_hat * lr
            self._set(p, data)
