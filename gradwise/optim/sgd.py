"""Stochastic gradient descent: ``p <- p - lr * g``, with PyTorch's momentum, dampening,
Nesterov, weight decay and maximize."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.optim.optimizer import Optimizer, OptimizerError, check_hyper


class SGD(Optimizer):
    """PyTorch's SGD, step by step:

    ``g <- g + weight_decay p``; with momentum ``b <- momentum b + (1 - dampening) g``
    (``b <- g`` on the first step) and ``g <- g + momentum b`` (Nesterov) or ``g <- b``;
    then ``p <- p - lr g``.

    >>> import gradwise as gw
    >>> w = gw.nn.Parameter(gw.tensor([1.0]))
    >>> opt = gw.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); _ = opt.step()
    >>> round(w.item(), 6)
    0.8
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> None:
        check_hyper("momentum", momentum)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise OptimizerError("SGD: Nesterov momentum requires momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _update(self, group: dict[str, Any]) -> None:
        lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]
        for p, g in self._grads(group):
            if wd:
                g = g + wd * p._data
            if mom:
                st = self.state.setdefault(p, {})
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = np.array(g, dtype=p.dtype, copy=True)
                else:
                    buf *= mom
                    if damp:
                        buf += (1 - damp) * g
                    else:
                        buf += g
                st["momentum_buffer"] = buf
                g = g + mom * buf if nesterov else buf
            self._add_scaled(p, -lr, g)
