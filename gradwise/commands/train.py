"""``gradwise train``: train an MLP on a dataset by name and write a run folder; and the runner
that ``gradwise demo`` shares (allocator tuning, the one-line header, data-parallel launches,
Ctrl-C and errors on any rank).

Settings come from the defaults, then ``--config`` (TOML), then the options given; every
choice (dataset, activation, optimizer, scheduler, mode) is read from its registry.
``--resume`` continues a checkpoint or a run folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from pathlib import Path
from typing import Any

from gradwise.commands import EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_USAGE, positive_float, positive_int
from gradwise.errors import GradwiseError


def register(subparsers: Any) -> None:
    """Add ``train`` to the ``gradwise`` command's subparsers."""
    from gradwise.data.registry import dataset_names
    from gradwise.nn.registry import activation_names
    from gradwise.optim.lr_scheduler.registry import SCHEDULERS
    from gradwise.optim.registry import optimizer_names
    from gradwise.train.batches import MODE_UPDATES

    train = subparsers.add_parser("train", help="train a model on a dataset",
                                  description="Train an MLP by gradient descent. Settings come from the defaults, "
                                              "then --config, then the options given.")
    train.add_argument("--dataset", choices=dataset_names())
    train.add_argument("--model", help="'linear' or 'mlp:' + hidden sizes, e.g. mlp:64,32 (default)")
    train.add_argument("--activation", choices=activation_names())
    train.add_argument("--optimizer", choices=optimizer_names(trainable=True))
    train.add_argument("--lr", type=positive_float, help="learning rate (default 1e-3)")
    train.add_argument("--momentum", type=float, help="for --optimizer momentum/nesterov (default 0.9)")
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--epochs", type=positive_int)
    train.add_argument("--mode", choices=tuple(MODE_UPDATES),
                       help="; ".join(f"{mode}: {updates}" for mode, updates in MODE_UPDATES.items()))
    train.add_argument("--batch-size", type=positive_int)
    train.add_argument("--scheduler", choices=tuple(SCHEDULERS))
    train.add_argument("--seed", type=int)
    train.add_argument("--val-fraction", type=float, metavar="F",
                       help="share of the training data held out (seeded, stratified) for the val_* figures, "
                            "--scheduler plateau and early stopping; 0: no validation split (default 0.1)")
    train.add_argument("--data-root", help="folder with MNIST IDX files (mnist, fashion_mnist)")
    train.add_argument("--download", action="store_true", default=None, help="fetch MNIST files if missing")
    train.add_argument("--out", help="run folder (default: runs/<dataset>-<time>)")
    train.add_argument("--resume", help="a checkpoint file, or a run folder to continue (with --epochs: to train "
                                        "further; a cosine or onecycle schedule cannot be lengthened)")
    train.add_argument("--init-from", metavar="CKPT|RUN",
                       help="start a new run from the weights of a checkpoint or run folder (a fresh optimizer "
                            "and schedule; the same --model and --activation)")
    train.add_argument("--config", help="a TOML file of settings (keys as the options, with underscores)")
    train.add_argument("--checkpoint-every", metavar="N|Nepochs|Nsteps",
                       help="write last.ckpt every N epochs (default 1) or every N steps (e.g. 500steps); 0: never")
    train.add_argument("--allow-divergence", action="store_true",
                       help="train on when the loss becomes inf/NaN or grows a millionfold (default: stop, exit 3)")
    train.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    train.add_argument("--keep", type=int, metavar="K",
                       help="also keep the K newest periodic checkpoints as epoch-/step-*.ckpt (default 0)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel over MPI: launch as 'mpiexec -n R gradwise train ... --distributed'; "
                            "--batch-size is per process (needs pip install 'gradwise[mpi]')")
    train.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    cfg, out, ckpt = _train_config(args)
    if ckpt is None:
        refuse_to_overwrite(out, args.overwrite)
    return run_training(cfg, out, ckpt, "gradwise train", distributed=args.distributed,
                        allow_divergence=args.allow_divergence)


def _read_toml(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise GradwiseError("--config: reading TOML on Python 3.10 needs tomli: pip install tomli") from None
    p = Path(path)
    if not p.is_file():
        raise GradwiseError(f"--config: no such file {path}")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise GradwiseError(f"--config: {path} is not valid TOML: {exc}") from None


def _resume_target(resume: str) -> tuple[Path, Path | None]:
    """``(checkpoint, run folder or None)`` for ``--resume``."""
    p = Path(resume)
    if p.is_dir():
        found = [p / name for name in ("final.ckpt", "last.ckpt", "interrupted.ckpt") if (p / name).is_file()]
        if not found:
            raise GradwiseError(f"--resume: {p} holds no interrupted.ckpt, last.ckpt or final.ckpt")
        # the newest: a run stopped by a signal after a periodic save, or killed after a resumed run's
        # saves, continues from where it really got to (ties: interrupted, then last, then final)
        return max(found, key=lambda f: (f.stat().st_mtime_ns, found.index(f))), p
    if not p.is_file():
        raise GradwiseError(f"--resume: no such checkpoint or run folder {resume}")
    from gradwise.runs.folders import is_run_folder

    return p, (p.parent if is_run_folder(p.parent) else None)


def _refuse_ignored(cfg: Any, given: set[str]) -> None:
    """A setting that the chosen mode would ignore is an error, not a silent no-op (momentum for an
    optimizer without it is refused by ``RunConfig.validate``)."""
    if "batch_size" in given and cfg.mode != "minibatch":
        per_step = "the whole training set" if cfg.mode == "full" else "one sample"
        raise GradwiseError(f"--batch-size: mode {cfg.mode} uses {per_step} per step; use --mode minibatch "
                            "with --batch-size, or leave --batch-size out")


def _train_config(args: argparse.Namespace) -> tuple[Any, Path, Path | None]:
    from gradwise.runs.recipe import RunConfig

    values: dict[str, Any] = {}
    if args.resume is not None and args.init_from is not None:
        raise GradwiseError("--init-from: --resume continues a run from its checkpoint, --init-from starts a new "
                            "run from other weights; give one of them")
    ckpt, run_dir = (None, None) if args.resume is None else _resume_target(args.resume)
    if run_dir is not None:
        from gradwise.runs.folders import read_config

        values.update(dataclasses.asdict(read_config(run_dir, "--resume")))
    given: set[str] = set()      # settings the user asked for now (not a resumed run's or the defaults)
    if args.config:
        toml = {k.replace("-", "_"): v for k, v in _read_toml(args.config).items()}
        values.update(toml)
        given |= set(toml)
    for field in dataclasses.fields(RunConfig):
        value = getattr(args, field.name, None)
        if value is not None:
            values[field.name] = value
            given.add(field.name)
    if args.no_progress:
        values["progress"] = False
    cfg = RunConfig.from_dict(values, args.config or "settings").validate(args.config or "settings")
    _refuse_ignored(cfg, given)
    out = Path(args.out) if args.out else run_dir
    if out is not None and out.exists() and not out.is_dir():
        raise GradwiseError(f"--out: {out} is a file; give a folder for the run (it is created if missing)")
    if out is None:
        from gradwise.runs.folders import default_run_dir

        out = default_run_dir(cfg)
    return cfg, out, ckpt


def _world(distributed: bool) -> tuple[int, int]:
    """``(rank, world size)``; ``(0, 1)`` unless --distributed (which needs mpi4py: a one-line error otherwise)."""
    if not distributed:
        return 0, 1
    from gradwise import distributed as dist

    dist.init(required=True)
    return dist.rank(), dist.world_size()


def refuse_to_overwrite(out: Path, overwrite: bool) -> None:
    """A new run does not silently replace the run already in ``out`` (``--overwrite`` says it may)."""
    from gradwise.runs.folders import is_run_folder

    if not overwrite and is_run_folder(out):
        raise GradwiseError(f"--out: {out} already holds a run; continue it with --resume {out}, choose another "
                            "--out, or pass --overwrite to replace it")


def run_training(cfg: Any, out: Path, resume: Path | None, title: str, distributed: bool = False,
                 allow_divergence: bool = False) -> int:
    """Train the run ``cfg`` into the folder ``out`` (continuing ``resume``), printing a header line
    and the test figures; returns the exit status (130 after Ctrl-C, with how to resume)."""
    from gradwise.allocator import set_allocator_tuning
    from gradwise.runs.folders import RunDivergedError, train_run
    from gradwise.runs.model_summary import run_summary
    from gradwise.train.errors import TrainingInterrupted
    from gradwise.train.interrupts import exit_status

    set_allocator_tuning(True)   # a training process: reuse freed pages between steps (gradwise/allocator.py)
    rank, world = _world(distributed)
    if rank == 0:
        batch = f", batch {cfg.batch_size}" + (f" x {world} processes" if world > 1 else "")
        print(f"{title}: {cfg.dataset}, model {cfg.model} ({cfg.activation}), {cfg.optimizer} lr={cfg.lr}, "
              f"{cfg.epochs} epochs, mode {cfg.mode}" + (batch if cfg.mode == "minibatch" else "")
              + f" -> {out}" + (f" (resuming from {resume})" if resume else ""), flush=True)
    try:
        if rank == 0:       # the model first: layers, output shapes, parameters, memory (gw.summary)
            print(run_summary(cfg), flush=True)
        result = train_run(cfg, out, resume=resume, distributed=distributed, allow_divergence=allow_divergence)
    except RunDivergedError as exc:
        if rank == 0:
            print(f"{title}: error: {exc} (the run folder {out} holds the run up to that step)", file=sys.stderr)
        return EXIT_DIVERGED
    except TrainingInterrupted as exc:
        if rank == 0:
            name = signal.Signals(exc.signum).name
            print(f"\ninterrupted ({name}): checkpoint saved to {exc.checkpoint_path}; continue with: gradwise "
                  f"train --resume {out}" + (" --distributed" if distributed else ""), file=sys.stderr)
        return exit_status(exc.signum)
    except BaseException as exc:
        if world > 1:           # the other ranks may wait in a collective: end the whole job with this message
            _abort_job(exc)
        raise
    if rank != 0:
        return 0
    figures = ", ".join(f"test {k} {v:.4f}" for k, v in result.test_metrics.items())
    written = [n for n in ("report.html", "report.md", "history.csv", "final.ckpt") if (result.run_dir / n).exists()]
    print(f"{figures}\nrun folder: {result.run_dir} ({', '.join(written)})")
    return 0


def _abort_job(exc: BaseException) -> None:
    from gradwise import distributed as dist

    if isinstance(exc, (GradwiseError, FileNotFoundError, ImportError)):
        if not dist.is_main():
            # a bad setting or missing data usually fails every rank alike: let rank 0's abort, which
            # ends the job, be the one line shown; a rank that fails alone still ends it a moment later
            time.sleep(1.0)
        dist.abort(f"gradwise train: error: {exc}", EXIT_USAGE)
    if isinstance(exc, KeyboardInterrupt):
        dist.abort("interrupted", EXIT_INTERRUPTED)
    import traceback

    dist.abort("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), 1)
