"""``gradwise.viz``: pictures of what the gradients do (matplotlib figures, Graphviz graphs, HTML reports).

Every function draws a record computed elsewhere (``gradwise.train.History``, the records of
``gradwise.insight``) and returns a ``matplotlib.figure.Figure`` (written to ``path`` when given:
``.png``, ``.svg`` or ``.pdf``).  matplotlib is imported on first use: ``pip install 'gradwise[viz]'``.
"""

from gradwise.viz.compgraph import GraphvizNotFoundWarning, graph, save_graph
from gradwise.viz.curves import gradient_flow, training_curves, weight_histograms
from gradwise.viz.descent_plots import plot_batch_modes, plot_lr_finder
from gradwise.viz.function_plots import plot_descent, plot_function_surface, plot_lr_triptych
from gradwise.viz.html_report import ReportError, report, write_run_report
from gradwise.viz.landscape_plots import plot_interpolation, plot_surface
from gradwise.viz.minima_plots import plot_basins, plot_tangents
from gradwise.viz.report_compare import compare_runs
