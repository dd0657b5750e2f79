"""fit's progress output: a text bar only on a terminal (or with force=True), nothing while training
when standard error is a pipe, and a final summary line that keeps NaN figures and says where the
run stopped being finite."""

from __future__ import annotations

import re

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.train import fit
from gradwise.train.progress import ProgressBar, first_non_finite, in_notebook


def _data(nan_at: int | None = None) -> tuple[gw.Tensor, gw.Tensor]:
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(40, 3, generator=gen).detach().numpy().copy()
    y = (x.sum(axis=1) > 0).astype(np.int64)
    if nan_at is not None:
        x[nan_at, 1] = np.nan
    return gw.tensor(x), gw.tensor(y)


def _fit(data: tuple[gw.Tensor, gw.Tensor], **kw: object) -> gw.train.History:
    gen = gw.Generator().manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4, generator=gen), nn.ReLU(), nn.Linear(4, 2, generator=gen))
    return fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), data, epochs=3,
               batch_size=8, metrics=["accuracy"], generator=gen, **kw)


def test_piped_stderr_gets_no_bar_and_stdout_one_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    _fit(_data(), progress=True)
    out, err = capsys.readouterr()
    assert err == ""                                    # not a terminal: nothing redrawn into a log
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"fit: 3 epochs, 15 steps, [\d.]+ s, loss [\d.]+, accuracy [\d.]+", lines[0])


def test_nan_in_the_data_shows_the_nan_loss_and_where_it_began(capsys: pytest.CaptureFixture[str]) -> None:
    h = _fit(_data(nan_at=5), progress=True)
    line = capsys.readouterr().out.strip()
    bad = np.flatnonzero(~np.isfinite(h.steps["loss"]))
    assert len(bad) > 0
    step, epoch = int(h.steps["step"][bad[0]]), int(h.steps["epoch"][bad[0]]) + 1
    assert "loss nan" in line and "accuracy" in line
    assert line.endswith(f"(loss became nan at step {step}, epoch {epoch})")


def test_force_draws_a_text_bar_and_epoch_lines_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    _fit(_data(), progress=False, callbacks=[ProgressBar(force=True)])
    err = capsys.readouterr().err
    assert "epoch 1/3" in err and "step" in err
    assert re.search(r"epoch 3/3: loss=[\d.]+ lr=0.1 accuracy=[\d.]+", err)


def test_outside_ipython_is_not_a_notebook() -> None:
    assert in_notebook() is False


def test_first_non_finite_falls_back_to_the_gradient_norm() -> None:
    steps = {"step": np.array([1, 2, 3]), "epoch": np.array([0, 0, 0]), "loss": np.array([1.0, 0.9, 0.8]),
             "grad_norm": np.array([1.0, np.inf, np.nan])}
    assert first_non_finite(steps) == "gradient norm became inf at step 2, epoch 1"
