"""Tensor, the graph, the backward walk and grad modes.

``gradwise.autograd.grad`` and ``gradwise.autograd.backward`` follow
``torch.autograd``'s signatures.
"""

from gradwise.autograd import tensor_methods as _tensor_methods
from gradwise.autograd.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from gradwise.autograd.custom_function import Function, FunctionCtx, once_differentiable
from gradwise.autograd.engine import backward, grad
from gradwise.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from gradwise.autograd.node import Node
from gradwise.autograd.tensor import Tensor

_tensor_methods.install()  # backward, to, clone, in-place ops: they record, so they live above tensor.py

__all__ = ["Node", "Tensor", "backward", "detect_anomaly", "enable_grad", "grad", "is_anomaly_enabled",
           "is_grad_enabled", "no_grad", "set_detect_anomaly", "set_grad_enabled"]
__all__ += ["Function", "FunctionCtx", "once_differentiable"]  # custom autograd functions
