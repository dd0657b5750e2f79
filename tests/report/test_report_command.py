"""``gradwise report``: a rebuilt page keeps every section of the train-time page, the run's facts
(optimizer settings as used, loss, sizes, command, versions), the classification section, the
comparison of several runs, and one-line errors (exit 2) that write nothing."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from gradwise.cli import main
from gradwise.commands.networks import CommandError

pytest.importorskip("matplotlib")


def _ids(page: str) -> list[str]:
    """Every section, figure and table id of a page, in order."""
    return re.findall(r'<(?:section|figure|table)[^>]* id="([^"]+)"', page)


def _table(page: str, table_id: str) -> str:
    m = re.search(rf'<table[^>]* id="{table_id}".*?</table>', page, re.S)
    assert m is not None, table_id
    return m.group(0)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from gradwise.runs.folders import train_run
    from gradwise.runs.recipe import RunConfig

    root = tmp_path_factory.mktemp("runs")
    digits = train_run(RunConfig(dataset="digits", model="mlp:16", epochs=3, batch_size=64, progress=False),
                       root / "digits").run_dir
    iris = train_run(RunConfig(dataset="iris", model="mlp:6", optimizer="sgd", lr=0.05, epochs=3, batch_size=16,
                               progress=False), root / "iris").run_dir
    iris_mom = train_run(RunConfig(dataset="iris", model="mlp:6", optimizer="momentum", lr=0.05, epochs=3,
                                   batch_size=16, progress=False), root / "iris-momentum").run_dir
    return {"digits": digits, "iris": iris, "iris_mom": iris_mom}


def test_regenerating_keeps_every_section(runs, capsys):
    run = runs["digits"]
    trained = (run / "report.html").read_text(encoding="utf-8")
    assert main(["report", str(run)]) == 0
    rebuilt = (run / "report.html").read_text(encoding="utf-8")
    assert _ids(rebuilt) == _ids(trained)
    for needed in ("diagnosis", "summary", "setup", "curves", "health", "fig-gradient-flow", "verdicts",
                   "classification", "confusion", "fig-worst-misclassified", "epochs", "glossary"):
        assert needed in _ids(rebuilt), needed
    assert _table(rebuilt, "verdicts") == _table(trained, "verdicts")
    assert _table(rebuilt, "confusion") == _table(trained, "confusion")
    assert "No gradient monitor" not in rebuilt and "No gradient records" not in rebuilt
    assert f"report: {run / 'report.html'}" in capsys.readouterr().out


def test_the_window_says_what_it_holds(runs):
    from gradwise.insight.monitor_records import load_monitor_records

    rec = load_monitor_records(runs["digits"] / "monitor.json")
    steps = rec.layers[0].steps
    page = (runs["digits"] / "report.html").read_text(encoding="utf-8")
    every = "every step" if rec.every == 1 else f"every {rec.every} steps"
    text = f"sampled {every}: {len(steps)} samples, steps {steps[0]}-{steps[-1]}"
    assert text in page
    assert rec.samples_in_window == len(steps) <= rec.window


def test_layer_labels_and_explained_columns(runs):
    page = (runs["digits"] / "report.html").read_text(encoding="utf-8")
    verdicts = _table(page, "verdicts")
    assert "0 (Linear+ReLU)" in verdicts and "2 (Linear)" in verdicts
    for column in ("grad norm", "x last layer", "update/weight", "cv", "dead", "saturated"):
        assert re.search(rf'<th><abbr title="[^"]+">{re.escape(column)}</abbr></th>', verdicts), column
    assert "Coefficient of variation" in page
    glossary = page[page.index('id="glossary"'):]
    for entry in ("cv", "x last layer", "filter normalisation", "2/λ bound", "val_loss", "confusion matrix"):
        assert f">{entry}</dt>" in glossary, entry
    epoch_table = _table(page, "epoch-table")
    for column in re.findall(r"<th>(.*?)</th>", epoch_table):
        assert column.startswith("<abbr title="), column       # every column of the epoch table is explained


def test_setup_shows_what_the_optimizer_really_used(runs):
    adam = _table((runs["digits"] / "report.html").read_text(encoding="utf-8"), "run-setup")
    assert "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0)" in adam
    assert "momentum" not in adam
    sgd = _table((runs["iris"] / "report.html").read_text(encoding="utf-8"), "run-setup")
    assert "SGD(lr=0.05, weight_decay=0)" in sgd and "momentum" not in sgd
    mom = _table((runs["iris_mom"] / "report.html").read_text(encoding="utf-8"), "run-setup")
    assert "SGD(lr=0.05, momentum=0.9, dampening=0, weight_decay=0)" in mom
    facts = json.loads((runs["digits"] / "run_facts.json").read_text())
    assert facts["parameters"]["total"] == 64 * 16 + 16 + 16 * 10 + 10
    assert facts["splits"] == {"train": 1292, "val": 145, "test": 360}
    assert set(facts["versions"]) == {"gradwise", "numpy", "python"}
    for shown in ("CrossEntropyLoss", "train 1,292, val 145, test 360", "1,210", "numpy"):
        assert shown in adam, shown
    summary = _table((runs["digits"] / "report.html").read_text(encoding="utf-8"), "model-summary-table")
    assert "0 (Linear)" in summary and "(1, 16)" in summary and "1 (ReLU)" in summary
    assert facts["model_summary"]["total_parameters"] == 1210
    config_table = _table((runs["digits"] / "report.html").read_text(encoding="utf-8"), "config")
    assert "momentum" not in config_table       # config.json's momentum setting is not used by Adam


def test_classification_facts_are_consistent(runs):
    c = json.loads((runs["digits"] / "run_facts.json").read_text())["classification"]
    confusion = c["confusion"]
    assert sum(map(sum, confusion)) == c["samples"] == 360
    assert c["samples"] - sum(confusion[i][i] for i in range(10)) == c["misclassified"]
    losses = [w["loss"] for w in c["worst"]]
    assert losses == sorted(losses, reverse=True) and all(w["true"] != w["predicted"] for w in c["worst"])
    assert c["image_shape"] == [8, 8] and all(len(w["pixels"]) == 64 for w in c["worst"])
    pixels = [v for w in c["worst"] for v in w["pixels"]]
    assert min(pixels) >= -1e-3 and max(pixels) <= 16 + 1e-3       # un-standardised: digits' ink 0..16


def test_an_old_folder_without_records_is_not_overwritten_with_less(runs, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(runs["digits"], old)
    (old / "monitor.json").unlink()
    (old / "run_facts.json").unlink()
    before = (old / "report.html").read_bytes()
    assert main(["report", str(old)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has no monitor.json" in err and "--replay" in err
    assert (old / "report.html").read_bytes() == before
    # --out elsewhere is allowed, and rebuilds the facts from config.json and final.ckpt
    assert main(["report", str(old), "--out", str(tmp_path / "other.html")]) == 0
    page = (tmp_path / "other.html").read_text(encoding="utf-8")
    assert "Adam(lr=0.001" in page and 'id="confusion"' in page and "No gradient monitor records" in page
    # --replay rebuilds the records; afterwards a plain rebuild keeps the gradient section
    assert main(["report", str(old), "--replay"]) == 0
    assert (old / "monitor.json").is_file()
    assert main(["report", str(old)]) == 0
    assert 'id="verdicts"' in (old / "report.html").read_text(encoding="utf-8")


def test_comparing_runs(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(runs["iris"]), str(runs["iris_mom"]), str(runs["digits"])]) == 0
    page = (tmp_path / "compare.html").read_text(encoding="utf-8")
    assert "3 runs compared" in capsys.readouterr().out
    settings = _table(page, "differing-settings")
    for differs in ("dataset", "optimizer", "model", "parameters"):
        assert f"<td>{differs}</td>" in settings, differs
    assert "<td>epochs</td>" not in settings                      # the same in all three
    results = _table(page, "results-table")
    assert all(name in results for name in ("iris", "iris-momentum", "digits"))
    assert 'id="fig-compare-curves"' in page
    out = tmp_path / "sub" / "two.html"
    assert main(["report", str(runs["iris"]), str(runs["iris_mom"]), "--out", str(out)]) == 0
    assert out.is_file()


def test_compare_figure_overlays_one_line_per_run(runs):
    from gradwise.viz.report_compare import compare_figure, load_runs

    fig = compare_figure(load_runs([runs["iris"], runs["iris_mom"]]))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["training loss", "validation loss", "val_accuracy"]
    for ax in fig.axes:
        assert len(ax.get_lines()) == 2 and ax.get_xlabel() == "epoch" and ax.get_ylabel()


@pytest.mark.parametrize("bad", ["missing", "empty", "damaged"])
def test_bad_run_folders_exit_2_with_one_line_and_write_nothing(runs, tmp_path, monkeypatch, capsys, bad):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / bad
    if bad != "missing":
        folder.mkdir()
    if bad == "damaged":
        shutil.copy(runs["iris"] / "config.json", folder / "config.json")
        (folder / "history.json").write_text("{not json", encoding="utf-8")
    for argv in (["report", str(folder)], ["report", str(runs["iris"]), str(folder)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("gradwise report: error: RUN_DIR: ")
        assert str(folder) in err
    assert not (tmp_path / "compare.html").exists() and not (folder / "report.html").exists()


def test_bad_options(runs, tmp_path):
    import argparse

    from gradwise.commands.report import register

    parser = argparse.ArgumentParser(prog="gradwise")
    register(parser.add_subparsers())

    def run(argv):
        args = parser.parse_args(argv)
        return args.handler(args)

    with pytest.raises(CommandError, match="--out: the report file must end in .html, got '.*r.txt'"):
        run(["report", str(runs["iris"]), "--out", str(tmp_path / "r.txt")])
    with pytest.raises(CommandError, match="--replay: works on one run folder at a time, got 2"):
        run(["report", str(runs["iris"]), str(runs["iris_mom"]), "--replay"])
