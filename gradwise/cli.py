"""The ``gradwise`` command: ``demo``, ``train`` and ``evaluate``.

Bad options or values end with one line naming the option and the valid choices
and exit status 2; Ctrl-C during training saves ``interrupted.ckpt`` in the run
folder, prints how to resume, and exits with status 130.

``mpiexec -n R gradwise train ... --distributed`` trains data-parallel on R
processes (``--batch-size`` per process); only rank 0 prints and writes the run
folder, and an error on any rank ends the whole job with that rank's message.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from gradwise.commands import positive_float, positive_int
from gradwise.errors import GradwiseError

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130

# modules whose register(subparsers) adds more commands (pictures of gradient descent)
COMMAND_MODULES: tuple[str, ...] = ("gradwise.commands.functions", "gradwise.commands.networks")

DEMO = {"dataset": "digits", "model": "mlp:128,64", "activation": "relu", "optimizer": "adam", "lr": 1e-3,
        "epochs": 30, "batch_size": 32, "mode": "minibatch", "seed": 0}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (no usage block, no traceback)."""

    def error(self, message: str) -> NoReturn:
        from gradwise.distributed.comm import launcher_world

        launched = launcher_world()      # under mpiexec every rank parses the same options: rank 0 reports
        quiet = launched is not None and launched[0] != 0
        self.exit(EXIT_USAGE, None if quiet else f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from gradwise.insight.derivations import CASES
    from gradwise.train.recipe import ACTIVATIONS, DATASETS, OPTIMIZERS, SCHEDULERS

    parser = _Parser(prog="gradwise", description="Train networks by gradient descent and see what the gradients do.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    demo = sub.add_parser("demo", help="train an MLP on the bundled digits (a few seconds) and write a run folder",
                          description="Train an MLP (64-128-64-10, ReLU) on scikit-learn's bundled 8x8 digits with "
                                      "Adam, show progress, print the test accuracy and write a run folder.")
    demo.add_argument("--out", help="run folder (default: runs/demo-<time>)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")

    train = sub.add_parser("train", help="train a model on a dataset", description="Train an MLP by gradient descent. "
                           "Settings come from the defaults, then --config, then the options given.")
    train.add_argument("--dataset", choices=DATASETS)
    train.add_argument("--model", help="'linear' or 'mlp:' + hidden sizes, e.g. mlp:64,32 (default)")
    train.add_argument("--activation", choices=tuple(ACTIVATIONS))
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--lr", type=positive_float, help="learning rate (default 1e-3)")
    train.add_argument("--momentum", type=float, help="for --optimizer momentum/nesterov (default 0.9)")
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--epochs", type=positive_int)
    train.add_argument("--mode", choices=("full", "sgd", "minibatch"),
                       help="full: one update per epoch; sgd: one per sample; minibatch: one per batch")
    train.add_argument("--batch-size", type=positive_int)
    train.add_argument("--scheduler", choices=SCHEDULERS)
    train.add_argument("--seed", type=int)
    train.add_argument("--data-root", help="folder with MNIST IDX files (mnist, fashion_mnist)")
    train.add_argument("--download", action="store_true", default=None, help="fetch MNIST files if missing")
    train.add_argument("--out", help="run folder (default: runs/<dataset>-<time>)")
    train.add_argument("--resume", help="a checkpoint file, or a run folder to continue")
    train.add_argument("--config", help="a TOML file of settings (keys as the options, with underscores)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel over MPI: launch as 'mpiexec -n R gradwise train ... --distributed'; "
                            "--batch-size is per process (needs pip install 'gradwise[mpi]')")

    evaluate = sub.add_parser("evaluate", help="evaluate a run folder's final model on its test split")
    evaluate.add_argument("run_dir", help="a folder written by 'gradwise train' or 'gradwise demo'")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    derive = sub.add_parser("derive", help="derive a small sigmoid network's gradients by hand, checked by autograd",
                            description="Backpropagation by hand for one of six sigmoid networks (no bias, squared "
                                        "error): every intermediate with its formula and matrix shapes, then the "
                                        "closed-form gradients beside autograd's.")
    derive.add_argument("case", choices=tuple(CASES), help="which network")
    derive.add_argument("--seed", type=int, default=0, help="seed of the random inputs and weights (default 0)")
    derive.add_argument("--no-values", action="store_true", help="formulas and shapes only")
    derive.set_defaults(handler=_derive)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def _derive(args: argparse.Namespace) -> int:
    from gradwise.insight.derivations import derive

    print(derive(args.case, seed=args.seed).to_text(values=not args.no_values))
    return 0


def _read_toml(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
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
        for name in ("interrupted.ckpt", "last.ckpt", "final.ckpt"):
            if (p / name).is_file():
                return p / name, p
        raise GradwiseError(f"--resume: {p} holds no interrupted.ckpt, last.ckpt or final.ckpt")
    if not p.is_file():
        raise GradwiseError(f"--resume: no such checkpoint or run folder {resume}")
    return p, (p.parent if (p.parent / "config.json").is_file() else None)


def _train_config(args: argparse.Namespace) -> tuple[Any, Path, Path | None]:
    from gradwise.train.recipe import RunConfig

    values: dict[str, Any] = {}
    ckpt, run_dir = (None, None) if args.resume is None else _resume_target(args.resume)
    if run_dir is not None:
        values.update(json.loads((run_dir / "config.json").read_text(encoding="utf-8")))
    if args.config:
        values.update({k.replace("-", "_"): v for k, v in _read_toml(args.config).items()})
    for field in dataclasses.fields(RunConfig):
        given = getattr(args, field.name, None)
        if given is not None:
            values[field.name] = given
    if args.no_progress:
        values["progress"] = False
    cfg = RunConfig.from_dict(values, args.config or "settings").validate()
    out = Path(args.out) if args.out else run_dir
    if out is None:
        from gradwise.train.runs import default_run_dir

        out = default_run_dir(cfg)
    return cfg, out, ckpt


def _world(distributed: bool) -> tuple[int, int]:
    """``(rank, world size)``; ``(0, 1)`` unless --distributed (which needs mpi4py: a one-line error otherwise)."""
    if not distributed:
        return 0, 1
    from gradwise import distributed as dist

    dist.init(required=True)
    return dist.rank(), dist.world_size()


def _run(cfg: Any, out: Path, resume: Path | None, title: str, distributed: bool = False) -> int:
    from gradwise.allocator import set_allocator_tuning
    from gradwise.train.errors import TrainingInterrupted
    from gradwise.train.runs import train_run

    set_allocator_tuning(True)   # a training process: reuse freed pages between steps (gradwise/allocator.py)
    rank, world = _world(distributed)
    if rank == 0:
        batch = f", batch {cfg.batch_size}" + (f" x {world} processes" if world > 1 else "")
        print(f"{title}: {cfg.dataset}, model {cfg.model} ({cfg.activation}), {cfg.optimizer} lr={cfg.lr}, "
              f"{cfg.epochs} epochs, mode {cfg.mode}" + (batch if cfg.mode == "minibatch" else "")
              + f" -> {out}" + (f" (resuming from {resume})" if resume else ""), flush=True)
    try:
        result = train_run(cfg, out, resume=resume, distributed=distributed)
    except TrainingInterrupted as exc:
        if rank == 0:
            print(f"\ninterrupted: checkpoint saved to {exc.checkpoint_path}; continue with: gradwise train "
                  f"--resume {out}" + (" --distributed" if distributed else ""), file=sys.stderr)
        return EXIT_INTERRUPTED
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


def _quiet(args: argparse.Namespace) -> bool:
    """Whether this process is a rank other than 0 of a --distributed launch (it prints nothing)."""
    if not getattr(args, "distributed", False):
        return False
    from gradwise import distributed as dist

    if dist.is_initialized():
        return dist.rank() != 0
    launched = dist.launcher_world()
    return launched is not None and launched[0] != 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradwise`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "handler"):
            return args.handler(args)
        if args.command == "demo":
            from gradwise.train.recipe import RunConfig
            from gradwise.train.runs import default_run_dir

            cfg = RunConfig(**DEMO, progress=not args.no_progress).validate()
            out = Path(args.out) if args.out else default_run_dir(cfg, prefix="demo")
            return _run(cfg, out, None, "gradwise demo")
        if args.command == "train":
            cfg, out, ckpt = _train_config(args)
            return _run(cfg, out, ckpt, "gradwise train", distributed=args.distributed)
        from gradwise.train.runs import evaluate_run

        figures = evaluate_run(args.run_dir)
        if args.json:
            print(json.dumps(figures))
        else:
            print(", ".join(f"test {k} {v:.4f}" for k, v in figures.items()))
        return 0
    except KeyboardInterrupt:
        if not _quiet(args):
            print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (GradwiseError, FileNotFoundError, ImportError) as exc:
        if not _quiet(args):      # every rank fails alike on a bad setting: one line, from rank 0
            print(f"gradwise {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
