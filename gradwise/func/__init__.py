"""Function transforms (``grad``, ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vmap``...),
``functional_call`` and gradient checks."""

from gradwise.func import autograd_functional
from gradwise.func.functional_call import functional_call
from gradwise.func.grad_and_value import grad_and_value
from gradwise.func.gradcheck import GradcheckError, gradcheck, gradgradcheck
from gradwise.func.pytree import flatten, tree_map, unflatten
from gradwise.func.transforms import (
    TransformError,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)
from gradwise.func.vmap import VmapRandomnessError, vmap

__all__ = [
    "GradcheckError", "TransformError", "VmapRandomnessError", "autograd_functional", "flatten",
    "functional_call", "grad", "grad_and_value", "gradcheck", "gradgradcheck", "hessian", "hvp", "jacfwd",
    "jacobian", "jacrev", "jvp", "tree_map", "unflatten", "value_and_grad", "vjp", "vmap",
]
