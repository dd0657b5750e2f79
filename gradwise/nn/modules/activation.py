"""Activation modules: one per activation op of the engine, plus Softmax and LogSoftmax."""

from __future__ import annotations

from typing import Any

from gradwise.api import functions as _ops
from gradwise.autograd.tensor import Tensor
from gradwise.nn.module import Module


def _simple(name: str, fn: Any, doc: str) -> type[Module]:
    def forward(self: Module, x: Tensor) -> Tensor:
        return fn(x)
    return type(name, (Module,), {"forward": forward, "__doc__": doc, "__module__": __name__})


ReLU = _simple("ReLU", _ops.relu, "``max(x, 0)`` elementwise.")
ReLU6 = _simple("ReLU6", _ops.relu6, "``min(max(x, 0), 6)`` elementwise.")
Sigmoid = _simple("Sigmoid", _ops.sigmoid, "``1 / (1 + exp(-x))`` elementwise.")
Tanh = _simple("Tanh", _ops.tanh, "``tanh(x)`` elementwise.")
LogSigmoid = _simple("LogSigmoid", _ops.logsigmoid, "``log(sigmoid(x))`` elementwise.")
SiLU = _simple("SiLU", _ops.silu, "``x * sigmoid(x)`` elementwise.")
Mish = _simple("Mish", _ops.mish, "``x * tanh(softplus(x))`` elementwise.")
SELU = _simple("SELU", _ops.selu, "Scaled ELU with the self-normalising constants.")
Softsign = _simple("Softsign", _ops.softsign, "``x / (1 + |x|)`` elementwise.")


class LeakyReLU(Module):
    """``x`` for x > 0, ``negative_slope * x`` otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return _ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` for x > 0, ``alpha (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return _ops.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """``x Phi(x)``; ``approximate='tanh'`` for the tanh form."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return _ops.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta`` (linear above ``threshold``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return _ops.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """Clip to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x: Tensor) -> Tensor:
        return _ops.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return x.softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """``log(softmax(x))`` along ``dim``, computed stably."""

    def forward(self, x: Tensor) -> Tensor:
        return x.log_softmax(self.dim)
