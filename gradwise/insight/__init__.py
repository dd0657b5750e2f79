"""``gradwise.insight``: tools that explain what the gradients are doing.

Gradient health: :class:`GradientMonitor` records per-parameter gradient and update
statistics through hooks and :meth:`GradientMonitor.report` judges every layer
(healthy, vanishing, exploding, dead, saturated, stalled, noisy) with the figures and
thresholds behind each verdict and advice; :func:`gradient_through_time` measures
``d loss / d h_t`` across the time steps of a recurrent layer.

Understanding: :mod:`~gradwise.insight.derivations` derives backprop by hand for six small
sigmoid networks with every matrix shape checked against autograd; :func:`shapes` audits a
model's dimensions layer by layer; :func:`directional_derivative` and
:func:`steepest_descent_check` show why ``-grad f`` is the steepest way down.
"""

from gradwise.insight import derivations
from gradwise.insight.derivations import CASES, Derivation, DerivationShapeError, derive
from gradwise.insight.direction import (
    DirectionalDerivative,
    SteepestDescentCheck,
    directional_derivative,
    steepest_descent_check,
)
from gradwise.insight.monitor import GradientMonitor, LayerHistory, ParameterHistory
from gradwise.insight.report import GradientReport, LayerVerdict
from gradwise.insight.shapes import LayerShapes, ShapeAudit, ShapeFailure, shapes
from gradwise.insight.through_time import TimeGradients, gradient_through_time
from gradwise.insight.verdicts import (
    VERDICTS,
    Evidence,
    LayerFigures,
    MonitorError,
    MonitorTypeError,
    Thresholds,
)
