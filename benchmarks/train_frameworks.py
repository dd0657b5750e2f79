"""The training workloads (W1, W2, W4, W5) in gradwise and in PyTorch, written as a user would.

Both use their framework's public layers, loss and optimizer: ``nn.Sequential`` of
``Linear``/activations, ``Conv2d``/``MaxPool2d``, ``nn.LSTM`` with a ``Linear`` head,
``cross_entropy`` (mean over the batch) and ``optim.SGD``.  One step is
``zero_grad(); loss = cross_entropy(model(x), y); loss.backward(); opt.step()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.spec import CHECK_STEPS, LSTM_SIZES, Problem

Step = Callable[[], Any]
Check = Callable[[], list[float]]


def _mlp(nn: Any, sizes: tuple[int, ...], act: str) -> Any:
    layers: list[Any] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if k < len(sizes) - 2:
            layers.append(nn.Sigmoid() if act == "sigmoid" else nn.ReLU())
    return nn.Sequential(*layers)


def _cnn(nn: Any) -> Any:
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 10))


def _lstm(nn: Any) -> Any:
    s = LSTM_SIZES

    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(s["input"], s["hidden"], s["layers"])
            self.head = nn.Linear(s["hidden"], s["classes"])

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)          # (L, N, H): the top layer's hidden states
            return self.head(out[-1])      # loss on the last time step

    return LSTMClassifier()


def build(nn: Any, model: str, sizes: tuple[int, ...] = (), act: str = "relu") -> Any:
    if model == "mlp":
        return _mlp(nn, sizes, act)
    if model == "cnn":
        return _cnn(nn)
    if model == "lstm":
        return _lstm(nn)
    raise ValueError(f"unknown model {model!r}")


def _loop(model: Any, opt: Any, ce: Callable[..., Any], batches: list[tuple[Any, Any]],
          item: Callable[[Any], float]) -> tuple[Step, Check]:
    state = {"i": 0}

    def step() -> Any:
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        opt.zero_grad()
        loss = ce(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def check() -> list[float]:
        return [item(step()) for _ in range(CHECK_STEPS)]

    return step, check


def gradwise_training(problem: Problem, model: str, sizes: tuple[int, ...] = (),
                      act: str = "relu") -> tuple[Step, Check]:
    import gradwise as gw

    net = build(gw.nn, model, sizes, act)
    params = dict(net.named_parameters())
    for name, w in problem.weights.items():
        params[name].data[...] = w
    opt = gw.optim.SGD(net.parameters(), lr=problem.lr, momentum=problem.momentum)
    batches = [(gw.from_numpy(x), gw.from_numpy(y)) for x, y in problem.batches]
    return _loop(net, opt, gw.nn.functional.cross_entropy, batches, lambda t: float(t.item()))


def torch_training(problem: Problem, model: str, sizes: tuple[int, ...] = (), act: str = "relu",
                   threads: int = 1) -> tuple[Step, Check]:
    import torch

    torch.set_num_threads(threads)
    net = build(torch.nn, model, sizes, act)
    params = dict(net.named_parameters())
    with torch.no_grad():
        for name, w in problem.weights.items():
            params[name].copy_(torch.from_numpy(w))
    opt = torch.optim.SGD(net.parameters(), lr=problem.lr, momentum=problem.momentum)
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in problem.batches]
    return _loop(net, opt, torch.nn.functional.cross_entropy, batches, lambda t: float(t.item()))
