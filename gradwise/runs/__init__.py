"""``gradwise.runs``: a run described by plain settings and the folder it writes.

* the recipe (:mod:`gradwise.runs.recipe`): :class:`RunConfig` (dataset, model spec, activation,
  optimizer, schedule, mode... by name) and the builders :func:`load_task`,
  :func:`build_model`, :func:`build_optimizer`, :func:`build_scheduler`;
* run folders (:mod:`gradwise.runs.folders`): :func:`train_run` (train and write
  ``config.json``, histories, ``final.ckpt``, ``metrics.json``, ``report.md`` and
  ``report.html``), :func:`build_run`, :func:`evaluate_run`, :func:`default_run_dir`;
* the run record (:mod:`gradwise.runs.record`): ``config.json``'s original settings and the
  history of every resume, :class:`RunRecord` and :func:`read_record`.

This layer sits above ``insight``, ``distributed`` and ``viz``: a run adds the gradient
monitor to its trainer, trains data-parallel on request and draws its report.
"""

from gradwise.runs.folders import RunResult, build_run, default_run_dir, evaluate_run, render_report, train_run
from gradwise.runs.recipe import (
    RecipeError,
    RunConfig,
    Task,
    build_model,
    build_optimizer,
    build_scheduler,
    hidden_sizes,
    load_task,
    steps_per_epoch,
)
from gradwise.runs.record import RunRecord, read_record

__all__ = ["RecipeError", "RunConfig", "RunRecord", "RunResult", "Task", "build_model", "build_optimizer", "build_run",
           "build_scheduler", "default_run_dir", "evaluate_run", "hidden_sizes", "load_task", "read_record",
           "render_report", "steps_per_epoch", "train_run"]
