"""``gradwise report``: a run folder's self-contained HTML report, or several runs compared.

- ``report RUN [--out FILE]``: rebuild ``RUN/report.html`` from the folder (``history.json``,
  ``config.json``, ``metrics.json``, ``run_facts.json``, ``monitor.json``): the same sections as
  the page written at the end of training.  A folder written before gradwise saved
  ``run_facts.json`` gets it rebuilt from ``config.json`` and ``final.ckpt`` (no training).  A
  folder without ``monitor.json`` whose existing page has a gradient section is not overwritten
  (that would drop the section): ``--replay`` rebuilds the records, ``--out`` writes elsewhere.
- ``report RUN --replay``: retrain the run from its seed with a gradient monitor, a histogram
  recorder and a parameter recorder, and add their sections and loss landscapes (saves the
  monitor's records as ``monitor.json`` when the folder has none).
- ``report RUN1 RUN2 ... [--out FILE]``: one page overlaying the runs' curves with a table of the
  settings in which they differ; ``--out`` defaults to ``compare.html`` in the current folder.

Every folder is checked before anything is written: a missing or damaged one ends the command
with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gradwise.commands.networks import CommandError

COMPARE_DEFAULT = "compare.html"


def register(subparsers: Any) -> None:
    """Add ``report`` to ``subparsers``."""
    p = subparsers.add_parser("report", help="write a run folder's HTML report, or compare several runs",
                              description="One run folder: build its self-contained report.html (diagnosis, "
                                          "setup, curves, gradient health, confusion matrix...) from the files "
                                          "the run saved. Several run folders: one page overlaying their curves "
                                          "with the settings in which they differ.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="folders written by 'gradwise train' or 'gradwise demo'")
    p.add_argument("--out", help=f"the HTML file (default: RUN_DIR/report.html for one run, ./{COMPARE_DEFAULT} "
                                 "for several)")
    p.add_argument("--replay", action="store_true",
                   help="one run only: retrain it from its seed with a gradient monitor to add gradient flow, "
                        "health verdicts, weight histograms and loss landscapes (takes as long as the run did)")
    p.set_defaults(handler=_report)


def _check_folder(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise CommandError(f"RUN_DIR: {run_dir} is not a folder; pass a folder written by 'gradwise train' or "
                           "'gradwise demo'")
    if not (run_dir / "history.json").is_file():
        raise CommandError(f"RUN_DIR: {run_dir} has no history.json; pass a folder written by 'gradwise train' or "
                           "'gradwise demo' (a finished run)")


def _out_path(text: str) -> Path:
    out = Path(text)
    if out.suffix.lower() not in (".html", ".htm"):
        raise CommandError(f"--out: the report file must end in .html, got {text!r}")
    return out


def _report(args: argparse.Namespace) -> int:
    from gradwise.viz.html_report import ReportError, read_run

    dirs = [Path(d) for d in args.run_dirs]
    for d in dirs:
        _check_folder(d)
    try:
        for d in dirs:
            read_run(d)         # damaged JSON fails here, before anything is written
    except ReportError as exc:
        raise CommandError(str(exc).replace("report: ", "RUN_DIR: ", 1)) from None
    if len(dirs) > 1:
        if args.replay:
            raise CommandError("--replay: works on one run folder at a time, got "
                               f"{len(dirs)}; replay each, then compare them")
        from gradwise.viz.report_compare import compare_runs

        path = compare_runs(dirs, _out_path(args.out or COMPARE_DEFAULT))
        print(f"report: {path} ({len(dirs)} runs compared)")
        return 0
    run_dir = dirs[0]
    out = _out_path(args.out) if args.out else run_dir / "report.html"
    if args.replay:
        return _replay(run_dir, out)
    from gradwise.viz.html_report import FACTS_FILE, MONITOR_FILE, report

    if not (run_dir / MONITOR_FILE).is_file() and out.resolve() == (run_dir / "report.html").resolve() \
            and _has_gradient_section(out):
        raise CommandError(f"RUN_DIR: {run_dir} has no {MONITOR_FILE} (written before gradwise saved the gradient "
                           "records), and rebuilding report.html would drop its gradient section; pass --replay to "
                           "rebuild the records, or --out FILE to write the page elsewhere")
    if not (run_dir / FACTS_FILE).is_file():
        _rebuild_facts(run_dir)
    path = report(run_dir, path=out)
    print(f"report: {path}")
    return 0


def _has_gradient_section(page: Path) -> bool:
    return page.is_file() and 'id="verdicts"' in page.read_text(encoding="utf-8", errors="replace")


def _rebuild_facts(run_dir: Path) -> None:
    """``run_facts.json`` for an older folder, from config.json and final.ckpt (skipped with a note
    when the run cannot be rebuilt: no final.ckpt, or its data is not here)."""
    from gradwise.commands.networks import _Run
    from gradwise.runs.run_facts import run_facts, save_run_facts

    try:
        run = _Run(str(run_dir))
    except Exception as exc:        # the page is still written, without the facts
        print(f"report: note: the optimizer settings, split sizes and confusion matrix are left out: {exc}")
        return
    facts = run_facts(run.cfg, run.task, run.model, run.trainer.optimizer, run.loss_fn)
    facts["command"] = None         # not known: the run was not started by this process
    save_run_facts(run_dir, facts)


def _replay(run_dir: Path, out: Path) -> int:
    from gradwise.commands.networks import _Run, _steps
    from gradwise.insight import GradientMonitor, HistogramRecorder
    from gradwise.insight import landscape as ls
    from gradwise.insight.monitor_records import save_monitor_records
    from gradwise.insight.weights import snapshot
    from gradwise.runs.run_facts import run_facts, save_run_facts
    from gradwise.viz.html_report import FACTS_FILE, MONITOR_FILE, report

    run = _Run(str(run_dir))
    total = run.cfg.epochs * _steps(run)
    monitor = GradientMonitor(run.model, every=max(1, total // 200), window=200)
    hist, recorder = HistogramRecorder(), ls.ParameterRecorder()
    history = run.replay(monitor, hist, recorder)
    data = run.data(2000)
    scapes: list[ls.Interpolation | ls.Surface]
    scapes = [ls.interpolate(run.model, run.loss_fn, data, run.init, snapshot(run.model),
                             labels=("initial", "trained"))]
    if len(recorder.snapshots) >= 3:
        scapes.append(ls.trajectory(run.model, run.loss_fn, data, recorder.snapshots, steps=15))
    if not (run_dir / MONITOR_FILE).is_file():
        save_monitor_records(monitor, run_dir / MONITOR_FILE)
    if not (run_dir / FACTS_FILE).is_file():
        facts = run_facts(run.cfg, run.task, run.model, run.trainer.optimizer, run.loss_fn)
        facts["command"] = None
        save_run_facts(run_dir, facts)
    path = report(run_dir, monitor, out, histograms=hist, landscapes=scapes)
    if not run.replay_matches():
        print("report: note: the replayed run did not end at final.ckpt's weights (was it resumed or distributed?)")
    print(f"report: {path} (replayed {len(history)} epochs)")
    return 0
