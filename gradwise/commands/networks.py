"""``gradwise lr-find``, ``batch-modes`` and ``landscape``: descent on real networks.

- ``lr-find --dataset D --out FILE``: the LR range test on a fresh model, its three suggestions;
- ``batch-modes --dataset D --out FILE``: full-batch, stochastic and mini-batch descent from the same
  initial weights, and the mini-batch gradient variance against the batch size;
- ``landscape RUN_DIR --out FILE``: the loss landscape of a trained run (rebuilt from ``config.json``
  and ``final.ckpt``): a random filter-normalised plane, the line from the initial to the trained
  weights, or the training path (replayed exactly from the run's seed) on its PCA plane;

The run folder rebuilt here (``_Run``) also serves ``gradwise report`` (:mod:`gradwise.commands.report`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gradwise.commands import positive_float, positive_int
from gradwise.commands.animate_option import add_animate_option, maybe_animate
from gradwise.errors import GradwiseError

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
LANDSCAPE_KINDS = ("surface", "interpolation", "trajectory")


class CommandError(GradwiseError, ValueError):
    """A command-line value that cannot work; the message names the option and what is valid."""


def _figure_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise CommandError(f"--out: the figure file must end in {', '.join(FIGURE_SUFFIXES)}, got {text!r}")
    return path


def _common(parser: argparse.ArgumentParser, model: str, optimizer: bool = True) -> None:
    from gradwise.data.registry import dataset_names
    from gradwise.nn.registry import activation_names
    from gradwise.optim.registry import optimizer_names

    parser.add_argument("--dataset", choices=dataset_names(), default="digits", help="data set (default digits)")
    parser.add_argument("--model", default=model, help=f"'linear' or 'mlp:' + hidden sizes (default {model})")
    parser.add_argument("--activation", choices=activation_names(), default="relu")
    if optimizer:
        parser.add_argument("--optimizer", choices=optimizer_names(trainable=True), default="sgd",
                            help="optimizer (default sgd)")
        parser.add_argument("--momentum", type=float, default=None, help="for momentum/nesterov (default 0.9)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the shuffling")
    parser.add_argument("--data-root", default="data", help="folder with MNIST IDX files (mnist, fashion_mnist)")
    parser.add_argument("--download", action="store_true", help="fetch the MNIST files if missing")
    parser.add_argument("--out", required=True, help="figure file: .png, .svg or .pdf")
    parser.add_argument("--dpi", type=positive_int, default=90, help="resolution of a PNG (default 90)")


def register(subparsers: Any) -> None:
    """Add ``lr-find``, ``batch-modes`` and ``landscape`` to ``subparsers``."""
    p = subparsers.add_parser("lr-find", help="LR range test: where the loss falls fastest and where it diverges",
                              description="Train a fresh model for num-iter mini-batches while the learning rate "
                                          "grows exponentially from --start-lr to --end-lr; plot the smoothed loss "
                                          "and print the suggested rates (steepest, valley, minimum/10).")
    _common(p, "mlp:64,32")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--start-lr", type=positive_float, default=1e-7)
    p.add_argument("--end-lr", type=positive_float, default=10.0)
    p.add_argument("--num-iter", type=positive_int, default=100)
    p.add_argument("--smooth", type=float, default=0.98, help="EMA factor of the loss, in [0, 1) (default 0.98)")
    p.add_argument("--diverge-factor", type=positive_float, default=4.0,
                   help="stop once the smoothed loss exceeds this many times the best (default 4)")
    p.set_defaults(handler=_lr_find)

    p = subparsers.add_parser("batch-modes", help="full-batch vs stochastic vs mini-batch descent, same start",
                              description="Train the same model from the same initial weights with plain SGD in "
                                          "the three modes and plot the loss against epochs, gradient evaluations "
                                          "and wall time, with the mini-batch gradient variance against the batch "
                                          "size.")
    _common(p, "mlp:32", optimizer=False)
    p.add_argument("--epochs", type=positive_int, default=5)
    p.add_argument("--batch-size", type=positive_int, default=32, help="mini-batch size (default 32)")
    p.add_argument("--lr", type=positive_float, default=0.05,
                   help="one learning rate for every mode, so the modes are compared alone (default 0.05)")
    p.add_argument("--lr-full", type=positive_float, help="a rate for the full-batch mode only (default: --lr)")
    p.add_argument("--lr-sgd", type=positive_float, help="a rate for the stochastic mode only (default: --lr)")
    p.add_argument("--lr-minibatch", type=positive_float, help="a rate for the mini-batch mode only (default: --lr)")
    p.add_argument("--variance-batches", type=positive_int, default=200,
                   help="random batches per batch size for the variance table (default 200)")
    add_animate_option(p)
    p.set_defaults(handler=_batch_modes)

    p = subparsers.add_parser("landscape", help="loss landscape of a trained run folder",
                              description="Rebuild a run's model from config.json and final.ckpt and draw its loss "
                                          "landscape on the training data.")
    p.add_argument("run_dir", help="a folder written by 'gradwise train' or 'gradwise demo'")
    p.add_argument("--out", required=True, help="figure file: .png, .svg or .pdf")
    p.add_argument("--dpi", type=positive_int, default=90, help="resolution of a PNG (default 90)")
    p.add_argument("--kind", choices=LANDSCAPE_KINDS, default="trajectory",
                   help="trajectory: the training path on its PCA plane, over the loss surface of that plane "
                        "(default; retrains the run from its seed); surface: a random filter-normalised plane "
                        "around the trained weights (no path: random directions miss it); interpolation: the line "
                        "from the initial to the trained weights")
    p.add_argument("--steps", type=positive_int, default=21, help="grid points per axis (default 21)")
    p.add_argument("--span", type=positive_float, default=1.0, help="surface: half-width of the plane (default 1)")
    p.add_argument("--samples", type=positive_int, default=2000,
                   help="training samples the loss is averaged over (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random directions (default 0)")
    p.set_defaults(handler=_landscape)


# ---------------------------------------------------------------------------- lr-find / batch-modes
def _task(args: argparse.Namespace, **extra: Any) -> tuple[Any, Any, Any]:
    """``(config, task, model)`` for the options (the model built with the seed, as ``gradwise train`` does)."""
    from gradwise.api.random import Generator
    from gradwise.runs.recipe import RunConfig, build_model, load_task

    cfg = RunConfig(dataset=args.dataset, model=args.model, activation=args.activation, seed=args.seed,
                    data_root=args.data_root, download=args.download, progress=False, **extra).validate()
    task = load_task(cfg)
    model = build_model(cfg, task.in_features, task.out_features, generator=Generator().manual_seed(cfg.seed))
    return cfg, task, model


def _loss_fn(task: Any) -> Any:
    from gradwise import nn

    return nn.CrossEntropyLoss() if task.kind == "classification" else nn.MSELoss()


def _lr_find(args: argparse.Namespace) -> int:
    from gradwise.api.random import Generator
    from gradwise.data import DataLoader, TensorDataset
    from gradwise.insight.lr_finder import lr_find
    from gradwise.runs.recipe import build_optimizer
    from gradwise.viz.descent_plots import plot_lr_finder
    from gradwise.viz.figure_files import save

    out = _figure_path(args.out)
    if not 0 <= args.smooth < 1:
        raise CommandError(f"--smooth: must be in [0, 1), got {args.smooth}")
    if not args.end_lr > args.start_lr:
        raise CommandError(f"--end-lr: must be greater than --start-lr ({args.start_lr}), got {args.end_lr}")
    cfg, task, model = _task(args, optimizer=args.optimizer, momentum=args.momentum, lr=args.start_lr)
    optimizer = build_optimizer(cfg, model.parameters())
    loader = DataLoader(TensorDataset(task.x_train, task.y_train), batch_size=args.batch_size, shuffle=True,
                        generator=Generator().manual_seed(cfg.seed + 1))
    result = lr_find(model, _loss_fn(task), optimizer, loader, start_lr=args.start_lr, end_lr=args.end_lr,
                     num_iter=args.num_iter, smooth=args.smooth, diverge_factor=args.diverge_factor)
    save(plot_lr_finder(result), out, args.dpi)
    print(f"lr-find: {cfg.dataset}, model {cfg.model} ({cfg.activation}), {cfg.optimizer}, batch {args.batch_size}")
    print(result.to_text())
    print(f"figure: {out}")
    return 0


def _batch_modes(args: argparse.Namespace) -> int:
    from gradwise.api.random import Generator
    from gradwise.insight.batch_modes import compare_batch_modes
    from gradwise.train.batches import MODES
    from gradwise.viz.descent_plots import plot_batch_modes
    from gradwise.viz.figure_files import save

    out = _figure_path(args.out)
    cfg, task, model = _task(args)
    own = {"full": args.lr_full, "sgd": args.lr_sgd, "minibatch": args.lr_minibatch}
    rates = {m: args.lr if own.get(m) is None else own[m] for m in MODES}
    if args.variance_batches < 2:
        raise CommandError(f"--variance-batches: must be at least 2, got {args.variance_batches}")
    result = compare_batch_modes(model, _loss_fn(task), (task.x_train, task.y_train), epochs=args.epochs,
                                 batch_size=args.batch_size, lr=rates, variance_batches=args.variance_batches,
                                 generator=Generator().manual_seed(cfg.seed))
    save(plot_batch_modes(result), out, args.dpi)
    maybe_animate(args, "batch-modes", comparison=result)
    print(f"batch-modes: {cfg.dataset}, model {cfg.model} ({cfg.activation}), plain SGD, {args.epochs} epochs")
    print(result.to_text())
    print(f"figure: {out}")
    return 0


# ---------------------------------------------------------------------------- run folders
class _Run:
    """A run folder rebuilt: its settings, data, model (trained weights loaded), the initial weights
    and a trainer set up exactly as the run's was (for a replay)."""

    def __init__(self, run_dir: str) -> None:
        from gradwise.insight.weights import snapshot
        from gradwise.runs.folders import build_run, read_config
        from gradwise.serialization import CheckpointError
        from gradwise.train.checkpoint import read_checkpoint

        self.dir = Path(run_dir)
        try:
            self.cfg = read_config(self.dir, "RUN_DIR")
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        ckpt_path = self.dir / "final.ckpt"
        if not ckpt_path.is_file():
            raise CommandError(f"RUN_DIR: {self.dir} has no final.ckpt (an unfinished run); finish it with "
                               f"'gradwise train --resume {self.dir}'")
        self.cfg.progress = False
        self.task, self.model, _, self.loss_fn, self.trainer = build_run(self.cfg)
        self.init = snapshot(self.model)            # build_run builds the model from the run's seed: its start
        state = read_checkpoint(ckpt_path)["model"]
        try:
            self.model.load_state_dict(state)
        except Exception as exc:
            raise CheckpointError(f"RUN_DIR: {ckpt_path} does not fit the model in "
                                  f"{self.dir / 'config.json'}: {exc}") from None
        self.final = snapshot(self.model)

    def data(self, samples: int | None = None) -> tuple[Any, Any]:
        x, y = self.task.x_train, self.task.y_train
        return (x, y) if samples is None or samples >= len(y) else (x[:samples], y[:samples])

    def replay(self, *callbacks: Any) -> Any:
        """Retrain from the initial weights with ``callbacks``; returns the replayed History."""
        from gradwise.insight.weights import load_weights

        load_weights(self.model, self.init)
        self.trainer.callbacks.extend(callbacks)
        x_val, y_val = getattr(self.task, "x_val", None), getattr(self.task, "y_val", None)
        return self.trainer.fit((self.task.x_train, self.task.y_train), epochs=self.cfg.epochs,
                                val_data=None if x_val is None else (x_val, y_val))

    def replay_matches(self) -> bool:
        import numpy as np

        from gradwise.insight.weights import snapshot

        now = snapshot(self.model)
        return all(np.array_equal(now[k], self.final[k]) for k in now)


def _landscape(args: argparse.Namespace) -> int:
    from gradwise.api.random import Generator
    from gradwise.insight import landscape as ls
    from gradwise.viz.figure_files import save
    from gradwise.viz.landscape_plots import plot_interpolation, plot_surface

    out = _figure_path(args.out)
    if args.steps < 3:
        raise CommandError(f"--steps: must be at least 3, got {args.steps}")
    run = _Run(args.run_dir)
    data = run.data(args.samples)
    if args.kind == "interpolation":
        line = ls.interpolate(run.model, run.loss_fn, data, run.init, run.final,
                              alphas=[round(-0.25 + 1.5 * i / (args.steps - 1), 12) for i in range(args.steps)],
                              labels=("initial", "trained"))
        save(plot_interpolation(line), out, args.dpi)
        print(f"landscape: loss {line.start_loss:.4g} at the initial weights, {line.end_loss:.4g} trained, distance "
              f"{line.distance:.4g}; minimum along the line {line.losses.min():.4g}")
    elif args.kind == "surface":
        s = ls.surface(run.model, run.loss_fn, data, span=(-args.span, args.span), steps=args.steps,
                       generator=Generator().manual_seed(args.seed))
        save(plot_surface(s), out, args.dpi)
        print(f"landscape: loss {s.center_loss:.4g} at the trained weights; over the plane "
              f"{s.losses.min():.4g} to {s.losses.max():.4g}")
    else:
        recorder = ls.ParameterRecorder()
        run.replay(recorder)
        if not run.replay_matches():
            print("landscape: note: the replayed run did not end at final.ckpt's weights (was it resumed or "
                  "distributed?); the path shown is the replay's")
        s = ls.trajectory(run.model, run.loss_fn, data, recorder.snapshots, steps=args.steps)
        save(plot_surface(s), out, args.dpi)
        ev, losses = s.explained_variance, s.path_losses
        assert ev is not None and losses is not None   # a trajectory surface always has both
        print(f"landscape: {len(recorder.snapshots)} points on the path; the two directions explain {ev[0]:.1%} and "
              f"{ev[1]:.1%} of its variance; loss {losses[0]:.4g} -> {losses[-1]:.4g}")
    print(f"figure: {out}")
    return 0


def _steps(run: _Run) -> int:
    from gradwise.runs.recipe import steps_per_epoch

    return steps_per_epoch(run.cfg, len(run.task.y_train))
