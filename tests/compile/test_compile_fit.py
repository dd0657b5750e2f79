"""fit(..., compile=True): the same history as eager training, with one trace per batch shape."""

from __future__ import annotations

import warnings

import numpy as np

import gradwise as gw
from gradwise import nn
from gradwise.compile import CompileWarning


def _run(compile: bool) -> tuple[list[float], list[np.ndarray]]:  # noqa: A002
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(50, 4, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(4, 8, generator=gen), nn.Tanh(), nn.Linear(8, 2, generator=gen))
    opt = gw.optim.Adam(model.parameters(), lr=0.05)
    sched = gw.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    history = gw.train.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=3, batch_size=16,
                           scheduler=sched, clip_grad_norm=0.5, metrics=["accuracy"], progress=False,
                           generator=gen, val_data=(x, y), compile=compile)
    return list(history.steps["loss"]), [p.detach().numpy().copy() for p in model.parameters()]


def test_fit_compiled_equals_eager() -> None:
    eager_losses, eager_params = _run(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)    # compiled, not a silent eager fallback
        losses, params = _run(True)
    assert losses == eager_losses          # 50 samples, batches of 16: the last batch of 2 retraces once
    for a, b in zip(eager_params, params):
        np.testing.assert_array_equal(a, b)
