"""Fit y = 3x - 2 by gradient descent with gradwise's autograd.

Each step computes the gradient of the mean squared error with respect to the
weight and the bias by backpropagation, then moves both against it:
    parameters(t+1) = parameters(t) - learning_rate * gradient(t)
"""

from __future__ import annotations

import gradwise as gw


def main() -> None:
    gen = gw.Generator().manual_seed(0)
    x = gw.randn(64, 1, generator=gen)
    y = 3.0 * x - 2.0 + 0.1 * gw.randn(64, 1, generator=gen)

    w = gw.zeros(1, 1, requires_grad=True)
    b = gw.zeros(1, requires_grad=True)
    lr = 0.1
    for step in range(101):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with gw.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = None
        b.grad = None
        if step % 20 == 0:
            print(f"step {step:3d}  loss {loss.item():.5f}  w {w.item():+.4f}  b {b.item():+.4f}")
    print(f"fitted y = {w.item():.3f} x {b.item():+.3f}   (true: y = 3x - 2)")


if __name__ == "__main__":
    main()
