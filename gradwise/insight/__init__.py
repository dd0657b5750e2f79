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
from gradwise.insight.batch_modes import (
    BatchModeComparison,
    BatchModeError,
    BatchModeRun,
    GradientVariance,
    compare_batch_modes,
    gradient_variance,
)
from gradwise.insight.computation_graph import ComputationGraph, GraphNode, GraphTraceError, trace_graph
from gradwise.insight.derivations import CASES, Derivation, DerivationShapeError, derive
from gradwise.insight.descent import OPTIMIZERS, Trajectory, descend, descend_many
from gradwise.insight.direction import (
    DirectionalDerivative,
    SteepestDescentCheck,
    directional_derivative,
    steepest_descent_check,
)
from gradwise.insight.function_views import (
    FunctionGrid,
    GradientArrows,
    TangentLines,
    function_grid,
    gradient_arrows,
    tangent_lines,
)
from gradwise.insight.functions import (
    FUNCTIONS,
    CriticalPoint,
    DescentError,
    DescentTypeError,
    Objective,
    get_function,
)
from gradwise.insight.histograms import HistogramError, HistogramRecorder, ParameterHistograms
from gradwise.insight.landscape import (
    Interpolation,
    LandscapeError,
    ParameterRecorder,
    Surface,
    filter_normalized_direction,
    interpolate,
    surface,
    trajectory,
)
from gradwise.insight.learning_rate import (
    LRBound,
    LRRules,
    LRVerdict,
    Triptych,
    classify_lr,
    lr_triptych,
    stable_lr_bound,
)
from gradwise.insight.lr_finder import LRFinderError, LRFinderResult, LRSuggestion, lr_find
from gradwise.insight.minima import BasinMap, PointCheck, basin_map, classify_point, find_critical_points
from gradwise.insight.monitor import GradientMonitor, LayerHistory, ParameterHistory
from gradwise.insight.race import RACE_OPTIMIZERS, Comparison, compare, race, suggest_lr
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
from gradwise.insight.weights import WeightSpaceError, dataset_loss, load_weights, snapshot
