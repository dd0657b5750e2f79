"""The ``gradwise`` command: the demo's accuracy, run folders, evaluate, resume, config files,
one-line errors with exit status 2, and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gradwise.cli import main

pytest.importorskip("sklearn")


def test_demo_trains_digits_to_95_percent_and_writes_a_run_folder(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in printed
    for name in ("config.json", "history.csv", "history_steps.csv", "history.json", "final.ckpt", "report.md"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == "digits" and config["optimizer"] == "adam"
    assert len((out / "history.csv").read_text().strip().splitlines()) == 1 + config["epochs"]
    assert "accuracy" in (out / "report.md").read_text()
    # evaluate rebuilds the model from the folder and finds the same figures
    assert main(["evaluate", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["accuracy"] == metrics["test_accuracy"]


def test_train_with_options_config_file_and_resume_to_more_epochs(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('dataset = "iris"\nmodel = "mlp:16"\nepochs = 3\nlr = 0.01\n')
    out = tmp_path / "iris"
    args = ["train", "--config", str(cfg), "--optimizer", "momentum", "--batch-size", "16", "--scheduler",
            "exponential", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["dataset"], config["model"], config["lr"], config["optimizer"], config["batch_size"]) == \
        ("iris", "mlp:16", 0.01, "momentum", 16)
    # continue the finished run to 5 epochs: the settings come from the folder, the exponential decay goes on
    assert main(["train", "--resume", str(out), "--epochs", "5", "--no-progress"]) == 0
    assert len((out / "history.csv").read_text().strip().splitlines()) == 1 + 5
    assert "resuming from" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 3 and config["history"][0]["changed"] == {"epochs": [3, 5]}


@pytest.mark.parametrize("mode, lr, epochs", [("full", "0.1", "150"), ("sgd", "0.01", "3")])
def test_train_regression_in_other_modes(tmp_path, mode, lr, epochs):
    out = tmp_path / mode
    assert main(["train", "--dataset", "diabetes", "--model", "linear", "--optimizer", "sgd", "--lr", lr,
                 "--mode", mode, "--epochs", epochs, "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"test_loss", "test_mse", "test_mae", "test_r2"} and metrics["test_r2"] > 0.3


@pytest.mark.parametrize("argv, needle", [
    (["train", "--optimizer", "adamm"], "argument --optimizer: invalid choice: 'adamm' (choose from 'sgd',"),
    (["train", "--lr", "-1"], "argument --lr: expected a positive finite number, got -1"),
    (["train", "--epochs", "x"], "argument --epochs: expected a positive integer, got 'x'"),
    (["train", "--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
    (["fly"], "argument COMMAND: invalid choice: 'fly'"),
])
def test_bad_options_exit_2_with_one_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_bad_values_found_after_parsing_exit_2_with_one_line(tmp_path, capsys):
    assert main(["train", "--model", "mlp:abc", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("gradwise train: error: --model: invalid spec 'mlp:abc'; valid: 'linear' or 'mlp:' followed by "
                   "hidden layer sizes, e.g. 'mlp:64,32'")
    bad = tmp_path / "bad.toml"
    bad.write_text('optimiser = "adam"\n')
    assert main(["train", "--config", str(bad)]) == 2
    assert "unknown setting(s) ['optimiser']" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "--resume: no such checkpoint or run folder" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is not a run folder (no config.json)" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["demo"], ["train"], ["evaluate"]])
def test_help_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0 and "usage: gradwise" in capsys.readouterr().out


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_saves_a_resumable_checkpoint_and_exits_128_plus_its_number(tmp_path, signum, status):
    out = tmp_path / "long"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gradwise", "train", "--dataset", "digits", "--epochs", "2000",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (out / "config.json").exists():    # written just before training starts
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(1.5)                               # well into training (2000 epochs take minutes)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr and f"gradwise train --resume {out}" in stderr
    assert f"interrupted ({signal.Signals(signum).name})" in stderr
    assert (out / "interrupted.ckpt").is_file() and not (out / "final.ckpt").exists()
    import numpy as np

    from gradwise.train import read_checkpoint

    done = read_checkpoint(out / "interrupted.ckpt")["counters"]["epoch"]
    assert main(["train", "--resume", str(out), "--epochs", str(done + 1), "--no-progress"]) == 0
    assert (out / "final.ckpt").is_file() and not (out / "interrupted.ckpt").exists()
    # the stopped-and-resumed run ends where a run that was never stopped ends, bit for bit
    straight = tmp_path / "straight"
    assert main(["train", "--dataset", "digits", "--epochs", str(done + 1), "--no-progress", "--out",
                 str(straight)]) == 0
    resumed, reference = read_checkpoint(out / "final.ckpt")["model"], read_checkpoint(straight / "final.ckpt")["model"]
    assert resumed.keys() == reference.keys()
    for k in reference:
        np.testing.assert_array_equal(resumed[k].numpy(), reference[k].numpy(), err_msg=k)


def write_idx(path, array):
    """An IDX file: magic (0, 0, type 0x08 = uint8, ndim), big-endian int32 dims, then the bytes."""
    import gzip
    import struct

    import numpy as np

    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_train_on_mnist_files_in_data_root(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, n in (("train", 80), ("t10k", 20)):
        labels = rng.integers(0, 10, n)
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        images[np.arange(n), labels, :] = 255        # class k lights up row k: learnable by a linear model
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--data-root", str(tmp_path), "--model", "linear", "--lr", "0.05",
                 "--epochs", "15", "--batch-size", "8", "--out", str(out), "--no-progress"]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] >= 0.9


def test_mnist_missing_files_is_one_clear_line(tmp_path, capsys):
    assert main(["train", "--dataset", "mnist", "--data-root", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not found in" in err[0] and "download" in err[0]
