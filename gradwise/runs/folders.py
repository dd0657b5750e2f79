"""Run folders: train from a :class:`RunConfig` and keep everything a run produced in one place.

A run folder holds ``config.json`` (the settings), ``history.csv`` (one row per
epoch), ``history_steps.csv`` (one row per step), ``history.json`` (both),
``final.ckpt`` (a full training checkpoint: load it or resume from it),
``metrics.json`` (test figures, in the targets' own units) and ``report.md`` (a readable summary);
``interrupted.ckpt`` appears when a run was stopped by Ctrl-C.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradwise import nn
from gradwise.api.random import Generator, manual_seed
from gradwise.atomic_files import write_text_atomic
from gradwise.errors import GradwiseError
from gradwise.optim.lr_scheduler.continuation import longer_than_planned
from gradwise.runs.recipe import (
    RecipeError,
    RunConfig,
    RunTask,
    build_model,
    build_optimizer,
    build_scheduler,
    checkpoint_interval,
    run_task,
    steps_per_epoch,
)
from gradwise.runs.record import CONFIG_FILE, RunRecord, read_record
from gradwise.serialization import CheckpointError
from gradwise.train.callbacks import Callback, ModelCheckpoint, TerminateOnNaN
from gradwise.train.checkpoint import LoadedCheckpoint, read_checkpoint
from gradwise.train.loop import Trainer
from gradwise.train.strategy import SingleProcess, Strategy


@dataclass(frozen=True)
class RunResult:
    """What :func:`train_run` produced: the folder, the test figures and the trainer."""

    run_dir: Path
    test_metrics: dict[str, float]
    trainer: Trainer


def default_run_dir(cfg: RunConfig, prefix: str | None = None, root: str | Path = "runs") -> Path:
    """``runs/<prefix or dataset>-<YYYYmmdd-HHMMSS>`` (with ``-2``, ``-3``... if it exists)."""
    base = Path(root) / f"{prefix or cfg.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


def build_run(cfg: RunConfig, distributed: bool = False) -> tuple[RunTask, Any, Any, Any, Trainer]:
    """``(task, model, optimizer, loss_fn, trainer)`` for ``cfg``, exactly as a run built them: seeded
    from ``cfg.seed``, so a run folder's ``config.json`` rebuilds its model's initial weights, its
    validation split and its target scaling too (see :func:`~gradwise.runs.recipe.run_task`)."""
    manual_seed(cfg.seed)
    task = run_task(cfg)
    init_gen = Generator().manual_seed(cfg.seed)
    model = build_model(cfg, task.in_features, task.out_features, generator=init_gen)
    optimizer = build_optimizer(cfg, model.parameters())
    strategy: Strategy = SingleProcess()
    if distributed:
        from gradwise.distributed import data_parallel

        strategy = data_parallel()
    scheduler, interval = build_scheduler(cfg, optimizer,
                                          steps_per_epoch(cfg, len(task.x_train), strategy.world_size))
    classification = task.kind == "classification"
    loss_fn = nn.CrossEntropyLoss() if classification else nn.MSELoss()
    metrics = ["accuracy"] if classification else ["mse", "mae", "r2"]
    trainer = Trainer(model, loss_fn, optimizer, mode=cfg.mode, batch_size=cfg.batch_size, metrics=metrics,
                      scheduler=scheduler, scheduler_interval=interval, progress=cfg.progress,
                      generator=Generator().manual_seed(cfg.seed + 1), strategy=strategy)
    return task, model, optimizer, loss_fn, trainer


class RunDivergedError(GradwiseError):
    """The training loss stopped being finite or grew past :data:`DIVERGENCE_FACTOR` times its start;
    the run was stopped there (the run folder holds everything up to that step)."""

    def __init__(self, step: int, loss: float, first: float, cfg: RunConfig) -> None:
        cause = ("the loss overflowed to inf or NaN" if not math.isfinite(loss)
                 else f"the loss grew from {first:.4g} to {loss:.4g}")
        super().__init__(f"diverged at step {step}: {cause}. The learning rate {cfg.lr:g} is probably too "
                         f"large for {cfg.optimizer}: try --lr {cfg.lr / 10:g} (or gradwise lr-find), or add "
                         "--allow-divergence to train on regardless")
        self.step, self.loss = step, loss


# a run whose training loss exceeds this multiple of its first step's loss has diverged
DIVERGENCE_FACTOR = 1e6


class _WriteConfig(Callback):
    """Writes the run folder's ``config.json`` (``record``) when training starts (after a resume has
    loaded): a refused or failed resume leaves the folder as it was."""

    def __init__(self, record: RunRecord, run_dir: Path) -> None:
        self.record, self.run_dir = record, run_dir

    def on_fit_start(self, trainer: Trainer) -> None:
        if trainer.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.record.write(self.run_dir)


def _check_more_to_do(cfg: RunConfig, ckpt: LoadedCheckpoint) -> None:
    """A resume must have epochs left: continuing a finished run to the same epoch count is refused."""
    done = ckpt.contents["counters"]["epoch"]   # epochs completed (a mid-epoch checkpoint: the one in flight is not)
    if done >= cfg.epochs:
        raise RecipeError(f"resume: {ckpt.path} has already finished {done} epoch(s) and the run asks for "
                          f"{cfg.epochs}; pass --epochs with more than {done} to train further (nothing was "
                          "changed)")


def _check_schedule_length(cfg: RunConfig, trainer: Trainer, ckpt: LoadedCheckpoint) -> None:
    """A schedule planned over the run's length (cosine, onecycle) cannot be lengthened by a resume
    (see :mod:`gradwise.optim.lr_scheduler.continuation`); the others go on as they were."""
    saved = ckpt.contents.get("scheduler")
    if trainer.scheduler is None or not isinstance(saved, dict):
        return
    longer = longer_than_planned(trainer.scheduler, saved)
    if longer is None:
        return
    planned, asked, why = longer
    unit = "steps" if cfg.scheduler == "onecycle" else "epochs"
    raise RecipeError(f"--epochs: the {cfg.scheduler} schedule of {ckpt.path} was planned over {planned} {unit} "
                      f"and this resume asks for {asked}; {why}, so a {cfg.scheduler} run cannot be lengthened. "
                      f"To train further, start a new run from its weights with a fresh schedule: gradwise train "
                      f"--init-from {ckpt.path} --epochs N --out NEW_FOLDER (nothing was changed)")


def _run_record(cfg: RunConfig, ckpt: LoadedCheckpoint | None, run_dir: Path) -> RunRecord:
    """What ``config.json`` will hold: a new run's settings, or the resumed run's record (from the run
    folder that holds the checkpoint, when there is one) with this resume appended (the checkpoint
    named by its file name when it lies in ``run_dir``, else by its path)."""
    if ckpt is None:
        return RunRecord(cfg)
    folder = ckpt.path.parent
    record = read_record(folder, "--resume") if is_run_folder(folder) else RunRecord(cfg)
    counters = ckpt.contents["counters"]
    return record.resumed(cfg, from_epoch=counters["epoch"], from_step=counters["global_step"],
                          checkpoint=ckpt.path.name if folder.resolve() == run_dir.resolve() else str(ckpt.path))


def init_weights(model: Any, source: str | Path) -> Path:
    """Load the model weights of ``source`` (a training checkpoint, or a run folder: its final.ckpt, else
    last.ckpt, else interrupted.ckpt) into ``model``; the checkpoint file used is returned."""
    path = Path(source)
    if path.is_dir():
        found = [path / n for n in ("final.ckpt", "last.ckpt", "interrupted.ckpt") if (path / n).is_file()]
        if not found:
            raise FileNotFoundError(f"--init-from: {path} holds no final.ckpt, last.ckpt or interrupted.ckpt")
        path = found[0]
    elif not path.is_file():
        raise FileNotFoundError(f"--init-from: no such checkpoint or run folder {source}")
    state = read_checkpoint(path)["model"]
    try:
        model.load_state_dict(state)
    except Exception as exc:  # another architecture: say which file and which model
        detail = " ".join(str(exc).split())      # one line
        raise CheckpointError(f"--init-from: the weights in {path} do not fit this run's model ({detail}); use the "
                              "same --model and --activation as the run that wrote it") from None
    return path


def train_run(cfg: RunConfig, run_dir: str | Path, resume: str | Path | LoadedCheckpoint | None = None,
              distributed: bool = False, allow_divergence: bool = False) -> RunResult:
    """Train as ``cfg`` says, writing the run folder ``run_dir``; ``resume`` continues from a checkpoint.

    ``cfg.val_fraction`` of the training data (0.1 by default, stratified by class, drawn from
    ``cfg.seed``) is held out as the validation split: the epoch records' ``val_*`` figures, the
    ``plateau`` scheduler and early stopping see only it.  The test split is used once, at the end
    (``metrics.json``).  Regression targets are standardised from the training part: the loss and
    ``val_*`` figures are on standardised targets, the test figures in the targets' own units.

    ``distributed=True`` (every rank of an ``mpiexec`` launch calls it): data-parallel with
    ``cfg.batch_size`` per rank; only rank 0 writes the run folder.

    A run whose loss stops being finite or grows a millionfold is stopped there, its folder is
    written, and :class:`RunDivergedError` is raised (``allow_divergence=True`` trains on regardless).
    """
    cfg.validate()
    run_dir = Path(run_dir)
    task, model, optimizer, loss_fn, trainer = build_run(cfg, distributed)
    trainer.checkpoint_dir = run_dir
    # the report's gradient-flow figure and health table; sampling keeps its cost to ~200 observations
    from gradwise.insight.monitor import GradientMonitor  # deferred: evaluating a run needs no insight

    total_steps = cfg.epochs * steps_per_epoch(cfg, len(task.x_train))
    monitor = GradientMonitor(model, every=max(1, total_steps // 200), window=200)
    trainer.callbacks.insert(0, monitor)
    ckpt = None
    if resume is not None:
        ckpt = resume if isinstance(resume, LoadedCheckpoint) else LoadedCheckpoint.read(resume)   # read once
        _check_more_to_do(cfg, ckpt)
        _check_schedule_length(cfg, trainer, ckpt)
    elif cfg.init_from is not None:       # a new run from another run's weights (a resume ignores it)
        init_weights(model, cfg.init_from)
    record = _run_record(cfg, ckpt, run_dir)
    # config.json is written once the run has started: a resume refused for a different model or
    # optimizer leaves the folder as it was
    trainer.callbacks.append(_WriteConfig(record, run_dir))
    watch = None if allow_divergence else TerminateOnNaN(max_growth=DIVERGENCE_FACTOR)
    if watch is not None:
        trainer.callbacks.append(watch)
    unit, every = checkpoint_interval(cfg.checkpoint_every)
    if unit != "off":           # a run killed with -9 loses at most this much: resume from last.ckpt
        trainer.callbacks.append(ModelCheckpoint(run_dir, monitor=None, save_best=False, keep=cfg.keep,
                                                 every_n_epochs=every if unit == "epochs" else 1,
                                                 every_n_steps=every if unit == "steps" else None))
    val_data = None if task.x_val is None else (task.x_val, task.y_val)
    trainer.fit((task.x_train, task.y_train), epochs=cfg.epochs, val_data=val_data, resume=ckpt)
    test = task.in_target_units(trainer.evaluate((task.x_test, task.y_test)))
    if not trainer.is_main:
        return RunResult(run_dir, test, trainer)
    trainer.save_checkpoint(run_dir / "final.ckpt")
    for superseded in ("interrupted.ckpt", "last.ckpt"):   # the run has finished: final.ckpt holds it all
        (run_dir / superseded).unlink(missing_ok=True)
    h = trainer.history
    h.to_csv(run_dir / "history.csv")
    h.to_csv(run_dir / "history_steps.csv", level="step")
    h.to_json(run_dir / "history.json")
    write_text_atomic(run_dir / "metrics.json", json.dumps({f"test_{k}": v for k, v in test.items()}, indent=1))
    write_text_atomic(run_dir / "report.md", render_report(cfg, trainer, test))
    from gradwise.runs.run_facts import write_train_report  # run_facts.json, monitor.json, report.html

    write_train_report(run_dir, cfg, task, model, optimizer, loss_fn, h, monitor)
    if watch is not None and watch.diverged is not None:
        raise RunDivergedError(watch.diverged[0], watch.diverged[1], watch.first or 0.0, cfg)
    return RunResult(run_dir, test, trainer)


def is_run_folder(path: str | Path) -> bool:
    """Whether ``path`` holds a run (its ``config.json``, written once training started)."""
    return (Path(path) / CONFIG_FILE).is_file()


def read_config(run_dir: str | Path, what: str = "run folder") -> RunConfig:
    """The settings in force in ``run_dir``: ``config.json``'s original settings with every resume's
    changes applied (:mod:`gradwise.runs.record`), checked: a missing file raises FileNotFoundError,
    a truncated or edited one a :class:`RecipeError` naming it (never a raw JSONDecodeError)."""
    return read_record(run_dir, what).current()


def evaluate_run(run_dir: str | Path) -> dict[str, float]:
    """Rebuild a run's model from ``config.json``, load ``final.ckpt`` and evaluate on its test split
    (the figures of the run's ``metrics.json``: regression in the targets' own units)."""
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    cfg = read_config(run_dir, "evaluate")
    cfg.progress = False
    ckpt_path = run_dir / "final.ckpt"
    if not ckpt_path.is_file():
        ckpt_path = run_dir / "interrupted.ckpt"
    if not ckpt_path.is_file():
        raise FileNotFoundError(f"evaluate: {run_dir} has no final.ckpt or interrupted.ckpt to evaluate")
    task, model, _, _, trainer = build_run(cfg)
    ckpt = read_checkpoint(ckpt_path)
    try:
        model.load_state_dict(ckpt["model"])
    except Exception as exc:  # a state dict from another model: say which file
        raise CheckpointError(f"evaluate: {ckpt_path} does not fit the model in {config_path}: {exc}") from None
    return task.in_target_units(trainer.evaluate((task.x_test, task.y_test)))


def render_report(cfg: RunConfig, trainer: Trainer, test: dict[str, float]) -> str:
    """A Markdown summary: settings, test figures and the per-epoch table."""
    h = trainer.history.epochs
    lines = [f"# gradwise run: {cfg.dataset}, {cfg.model} ({cfg.activation}), {cfg.optimizer} lr={cfg.lr}", "",
             f"{trainer.summary()}", ""]
    if trainer.world_size > 1:
        lines += [f"Data-parallel over {trainer.world_size} processes: batch {cfg.batch_size} per process, "
                  f"{trainer.world_size * cfg.batch_size} per step.", ""]
    lines += ["## Test", ""]
    lines += [f"- {k}: {v:.4f}" for k, v in test.items()]
    if cfg.val_fraction > 0:
        lines += ["", f"The `val_*` columns come from {cfg.val_fraction:g} of the training data, held out "
                  "(seeded); the test split was used only for the figures above."]
    else:
        lines += ["", "No validation split (val_fraction 0): the test split was used only for the figures above."]
    if trainer.history.epochs and "mse" in test:
        lines += ["", "Targets were standardised from the training part: the loss and `val_*` figures below are "
                  "on standardised targets, the test figures above in the targets' own units."]
    keys = [k for k in h if k not in ("samples_seen",)]
    lines += ["", "## Epochs", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for i in range(len(trainer.history)):
        cells = [str(int(h[k][i]) + 1) if k == "epoch" else f"{h[k][i]:.4g}" for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Settings: `" + json.dumps(dataclasses.asdict(cfg)) + "`", ""]
    return "\n".join(lines)
