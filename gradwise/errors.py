"""Error types shared by every layer.

Each subclasses the builtin a Python user would expect (``ValueError`` for bad
shapes or values, ``TypeError`` for bad dtypes, ``RuntimeError`` for misuse of
the graph), so ``except ValueError`` keeps working, while the gradwise name lets
tests and users catch exactly gradwise's own complaints.
"""

from __future__ import annotations

from typing import Any


class GradwiseError(Exception):
    """Base class of every error gradwise raises on purpose."""


class ShapeError(GradwiseError, ValueError):
    """Operands whose shapes do not fit the op; the message names both shapes."""

    # Set on an instance (never on the class, so read it with getattr(exc, name, False)) once
    # nn.Sequential has noted which layer raised it: an outer Sequential adds no second note.
    _gradwise_located: bool


class DimError(GradwiseError, IndexError, ValueError):
    """A ``dim`` argument outside ``[-ndim, ndim)`` or repeated."""


class IndexOutOfRangeError(GradwiseError, IndexError):
    """An index outside its dimension; the message names the dimension, its size and the index."""


class DtypeError(GradwiseError, TypeError):
    """A dtype the op or the gradient cannot work with."""


class GraphError(GradwiseError, RuntimeError):
    """Misuse of the autograd graph: freed graph, non-scalar backward, in-place on a saved tensor."""


class AnomalyError(GraphError):
    """Anomaly mode found a NaN or an Inf: the first op that produced one, forward or backward.

    ``report`` is the :class:`gradwise.autograd.anomaly_report.AnomalyReport` behind
    the message: the op, the pass, the user's line, the input statistics and the hints.
    """

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


def format_shape(shape: tuple[int, ...]) -> str:
    """Render a shape the way PyTorch users read it: ``(32, 64)``, ``()``, ``(5,)``."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"
