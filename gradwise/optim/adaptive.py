"""Adaptive optimizers with PyTorch's exact updates: Adam (amsgrad), AdamW, RMSprop, Adagrad."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradwise.optim.optimizer import Optimizer, apply_weight_decay, check_hyper


def _check_betas(betas: tuple[float, float], eps: float) -> None:
    check_hyper("beta1", betas[0], 0.0, 1.0)
    check_hyper("beta2", betas[1], 0.0, 1.0)
    check_hyper("eps", eps)


class Adam(Optimizer):
    """Adam (Kingma & Ba), as PyTorch computes it:

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2`` (AMSGrad: ``v_max <- max(v_max, v)``,
    used instead of v), then ``p <- p - lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps)``.
    ``weight_decay`` adds ``wd p`` to the gradient (L2; see AdamW for decoupled decay).
    """

    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 maximize: bool = False) -> None:
        _check_betas(betas, eps)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _update(self, group: dict[str, Any]) -> None:
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p, g in self._grads(group):
            st = self.state.setdefault(p, {})
            if not st:
                st["step"] = 0
                st["exp_avg"] = np.zeros_like(p._data)
                st["exp_avg_sq"] = np.zeros_like(p._data)
                if group["amsgrad"]:
                    st["max_exp_avg_sq"] = np.zeros_like(p._data)
            st["step"] += 1
            t = st["step"]
            data, g = apply_weight_decay(p._data, g, lr, wd, self._decoupled)
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            if group["amsgrad"]:
                np.maximum(st["max_exp_avg_sq"], v, out=st["max_exp_avg_sq"])
                v = st["max_exp_avg_sq"]
            bc1 = 1 - b1 ** t
            bc2_sqrt = math.sqrt(1 - b2 ** t)
            denom = np.sqrt(v) / bc2_sqrt + eps
            self._set(p, data - (lr / bc1) * m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p <- p (1 - lr wd)`` before
    the Adam step; ``weight_decay`` defaults to 0.01 as in PyTorch."""

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    """RMSprop as PyTorch computes it: ``v <- alpha v + (1 - alpha) g^2``; centered: subtract
    the squared running mean of g; step ``g / (sqrt(v) + eps)``, through a momentum buffer
    when ``momentum > 0``."""

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False) -> None:
        check_hyper("alpha", alpha)
        check_hyper("eps", eps)
        check_hyper("momentum", momentum)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, group: dict[str, Any]) -> None:
        lr, alpha, eps, wd, mom = group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        for p, g in self._grads(group):
            st = self.state.setdefault(p, {})
            if not st:
                st["step"] = 0
                st["square_avg"] = np.zeros_like(p._data)
                if mom > 0:
                    st["momentum_buffer"] = np.zeros_like(p._data)
                if group["centered"]:
                    st["grad_avg"] = np.zeros_like(p._data)
            st["step"] += 1
            if wd:
                g = g + wd * p._data
            sq = st["square_avg"]
            sq *= alpha
            sq += (1 - alpha) * (g * g)
            if group["centered"]:
                ga = st["grad_avg"]
                ga *= alpha
                ga += (1 - alpha) * g
                avg = np.sqrt(sq - ga * ga) + eps
            else:
                avg = np.sqrt(sq) + eps
            if mom > 0:
                buf = st["momentum_buffer"]
                buf *= mom
                buf += g / avg
                self._set(p, p._data - lr * buf)
            else:
                self._set(p, p._data - lr * g / avg)


class Adagrad(Optimizer):
    """Adagrad as PyTorch computes it: ``lr_t = lr / (1 + (t - 1) lr_decay)``,
    ``s <- s + g^2``, ``p <- p - lr_t g / (sqrt(s) + eps)``."""

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, maximize: bool = False) -> None:
        check_hyper("lr_decay", lr_decay)
        check_hyper("initial_accumulator_value", initial_accumulator_value)
        check_hyper("eps", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))

    def _update(self, group: dict[str, Any]) -> None:
        for p, g in self._grads(group):
            st = self.state.setdefault(p, {})
            if not st:
                st["step"] = 0
                st["sum"] = np.full_like(p._data, group["initial_accumulator_value"])
            st["step"] += 1
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p._data
            clr = group["lr"] / (1 + (st["step"] - 1) * group["lr_decay"])
            st["sum"] += g * g
            self._set(p, p._data - clr * g / (np.sqrt(st["sum"]) + group["eps"]))
