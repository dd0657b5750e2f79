"""Debugging a NaN with ``gradwise.detect_anomaly``.

A small model measures the distance between points and their nearest
prototype.  One point sits exactly on a prototype: the distance
``sqrt(sum(d ** 2))`` is 0 there, which is a fine value, but the gradient of
sqrt at 0 is infinite, and the loss's gradient is NaN.  Without anomaly mode
the only symptom is a NaN gradient; with it, the error names the op, the line
below that created it, the values that went in and the usual fix.

Run: ``python examples/debugging_nans.py`` (well under a second).
"""

from __future__ import annotations

import numpy as np

import gradwise as gw


def loss_fn(points: gw.Tensor, prototypes: gw.Tensor) -> gw.Tensor:
    """Mean distance from each point to each prototype, shape () (the loss)."""
    diff = points.unsqueeze(1) - prototypes.unsqueeze(0)  # (points, prototypes, dim)
    dist = gw.sqrt((diff ** 2).sum(dim=-1))  # 0 where a point sits on a prototype
    return dist.mean()


def main() -> None:
    points = gw.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]])
    prototypes = gw.tensor([[0.0, 0.0], [2.0, 2.0]], requires_grad=True)

    # 1. Without anomaly mode: the loss is fine, the gradient silently contains NaN.
    with np.errstate(all="ignore"):  # (NumPy would also warn about 0/0)
        loss = loss_fn(points, prototypes)
        loss.backward()
    print(f"loss = {loss.item():.4f}")
    print(f"gradient of the prototypes:\n{prototypes.grad.numpy()}")
    print(f"NaN in the gradient: {bool(np.isnan(prototypes.grad.numpy()).any())}\n")

    # 2. With anomaly mode: the first op whose gradient is not finite raises.
    prototypes.grad = None
    try:
        with gw.detect_anomaly():
            loss_fn(points, prototypes).backward()
    except gw.AnomalyError as err:
        print(f"{type(err).__name__}: {err}\n")

    # 3. The fix the hint suggests: an epsilon inside the sqrt keeps its gradient finite.
    with gw.detect_anomaly():
        diff = points.unsqueeze(1) - prototypes.unsqueeze(0)
        loss = gw.sqrt((diff ** 2).sum(dim=-1) + 1e-12).mean()
        loss.backward()
    print(f"with sqrt(x + 1e-12): loss = {loss.item():.4f}, finite gradient: "
          f"{bool(np.isfinite(prototypes.grad.numpy()).all())}")


if __name__ == "__main__":
    main()
