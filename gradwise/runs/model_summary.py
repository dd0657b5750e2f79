"""The model summary of a run (``gradwise train`` prints it first; the report can show it).

:func:`run_summary` builds the model a :class:`~gradwise.runs.recipe.RunConfig` trains, exactly as
:func:`~gradwise.runs.recipe.build_model` builds it, and summarises one sample of the data set's
input width at the run's batch size (:func:`gradwise.insight.summary.summary`).  It reads only ``cfg``, so it works the
same for a new run, a resumed one and a finished run's ``config.json``; it touches neither the
global random generators nor the run folder.

>>> from gradwise.runs.recipe import RunConfig
>>> s = run_summary(RunConfig(dataset="iris", model="mlp:8", activation="relu"))
>>> [row.label for row in s.layers], s.total_parameters
(['0 (Linear)', '1 (ReLU)', '2 (Linear)'], 67)
"""

from __future__ import annotations

from gradwise.api.random import Generator
from gradwise.insight.summary import ModelSummary, summary
from gradwise.runs.recipe import RunConfig, build_model, run_task


def run_summary(cfg: RunConfig) -> ModelSummary:
    """The summary of ``cfg``'s model on an input of shape ``(batch, in_features)``, where ``batch`` is
    what one step of the run's mode takes: ``cfg.batch_size`` (minibatch), 1 (sgd) or the whole
    training part (full)."""
    task = run_task(cfg)
    model = build_model(cfg, task.in_features, task.out_features, generator=Generator().manual_seed(cfg.seed))
    batch = {"minibatch": min(cfg.batch_size, len(task.x_train)), "sgd": 1}.get(cfg.mode, len(task.x_train))
    return summary(model, input_size=(batch, task.in_features))
