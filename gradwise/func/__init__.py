"""Function transforms (``grad``, ``vjp``, ``jvp``, ``jacobian``, ``hessian``...) and gradient checks."""

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

__all__ = ["GradcheckError", "TransformError", "flatten", "grad", "gradcheck", "gradgradcheck",
           "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp", "tree_map", "unflatten",
           "value_and_grad", "vjp"]
