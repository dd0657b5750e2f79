"""Backpropagation by hand, checked by autograd.

Derives the gradient of E = 1/2 * sum (y - yhat)^2 for a 2-layer sigmoid network on a batch
of 4 examples, step by step with every matrix shape, then shows that a transposed weight is
caught at the step that multiplies it.  Runs in well under a second:

    python examples/derive_by_hand.py
"""

from __future__ import annotations

from gradwise.insight.derivations import CASES, DerivationShapeError, derive, random_inputs


def main() -> None:
    trace = derive("two_layer_batch", seed=0)
    print(trace.to_text())
    print()
    print("all six cases, closed form vs autograd (max |difference|):")
    for name in CASES:
        print(f"  {name:<18} {derive(name, seed=1).max_difference:.2e}")
    print()
    bad = random_inputs("two_layer_batch", seed=0)
    bad["W1"] = bad["W1"].T            # a classic slip: weights stored as (outputs, inputs)
    try:
        derive("two_layer_batch", bad)
    except DerivationShapeError as err:
        print(f"with W1 transposed: {err}")


if __name__ == "__main__":
    main()
