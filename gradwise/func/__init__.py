"""Function transforms (``grad``, ``vjp``, ``jvp``, ``jacobian``, ``hessian``...) and gradient checks."""

from gradwise.func.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
