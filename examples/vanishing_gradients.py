"""Vanishing gradients, seen by gradwise's gradient monitor.

Two 10-layer networks learn the same classification task:

* sigmoid activations with PyTorch's default initialisation: sigmoid's derivative
  is at most 1/4, so each layer multiplies the backward signal by ~0.14 and the first
  layer receives a gradient ~1e-8 times the last layer's: it does not learn;
* ReLU activations with He (Kaiming) initialisation: the gradient keeps its size
  through depth, every layer learns.

Then a plain tanh RNN and an LSTM over 50 time steps: the gradient reaching the first
step from a loss at the last one (backpropagation through time).

Run: ``python examples/vanishing_gradients.py`` (a few seconds).
"""

from __future__ import annotations

import gradwise as gw
from gradwise import nn
from gradwise.insight import GradientMonitor, gradient_through_time
from gradwise.train import fit

DEPTH, WIDTH, INPUTS = 10, 32, 8


def task(gen: gw.Generator) -> tuple[gw.Tensor, gw.Tensor]:
    """512 points in 8 dimensions; the class is the sign of x0 + x1 - x2 (a linear rule a shallow net learns)."""
    x = gw.randn(512, INPUTS, generator=gen)
    y = (x[:, 0] + x[:, 1] - x[:, 2] > 0).long()
    return x, y


def deep_net(activation: type[nn.Module], he_init: bool, gen: gw.Generator) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(DEPTH):
        last = k == DEPTH - 1
        layer = nn.Linear(INPUTS if k == 0 else WIDTH, 2 if last else WIDTH, generator=gen)
        if he_init and not last:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=gen)
            nn.init.zeros_(layer.bias)
        layers.append(layer)
        if not last:
            layers.append(activation())
    return nn.Sequential(*layers)


def train_and_report(title: str, model: nn.Module, lr: float, data: tuple[gw.Tensor, gw.Tensor]) -> None:
    monitor = GradientMonitor(model, window=50)
    history = fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=lr, momentum=0.9), data,
                  epochs=6, batch_size=64, metrics=["accuracy"], callbacks=[monitor], progress=False,
                  generator=gw.Generator().manual_seed(1))
    e = history.epochs
    print(f"=== {title}: loss {e['loss'][0]:.3f} -> {e['loss'][-1]:.3f}, "
          f"accuracy {e['accuracy'][0]:.2f} -> {e['accuracy'][-1]:.2f}")
    print(monitor.report())
    print()


def through_time() -> None:
    x = gw.randn(50, 8, 4, generator=gw.Generator().manual_seed(2))
    rnn = nn.RNN(4, 32, generator=gw.Generator().manual_seed(0))
    print(gradient_through_time(rnn, x))
    print()
    lstm = nn.LSTM(4, 32, generator=gw.Generator().manual_seed(0))
    default = gradient_through_time(lstm, x)
    print(f"LSTM, default initialisation: {default.verdict}, |dL/dh_0| / |dL/dh_49| = "
          f"{default.first_to_last_ratio:.2e} (forget gates start at sigmoid(0) = 0.5)")
    with gw.no_grad():      # forget-gate bias (second quarter of the gates) to 3 in total
        for name in ("bias_ih_l0", "bias_hh_l0"):
            getattr(lstm, name)[32:64] = 1.5
    print(gradient_through_time(lstm, x))


def main() -> None:
    gen = gw.Generator().manual_seed(0)
    data = task(gen)
    train_and_report("10 sigmoid layers, default init", deep_net(nn.Sigmoid, False, gen), 0.1, data)
    train_and_report("10 ReLU layers, He init", deep_net(nn.ReLU, True, gen), 0.01, data)
    through_time()


if __name__ == "__main__":
    main()
