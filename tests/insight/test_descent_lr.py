"""The learning rate on a quadratic bowl: the 2 / lambda_max bound, the run labels, the triptych."""

from __future__ import annotations

import numpy as np
import pytest

from gradwise.insight import (
    FUNCTIONS,
    DescentError,
    DescentTypeError,
    LRRules,
    classify_lr,
    descend,
    lr_triptych,
    stable_lr_bound,
)

# f = x^2 / 2 + 25 y^2: Hessian diag(1, 50), so plain GD is stable exactly for 0 < lr < 2 / 50
LAMBDA_MAX = 50.0
BOUND = 2.0 / LAMBDA_MAX


def test_bound_on_quadratics_is_two_over_lambda_max():
    b = stable_lr_bound("bowl")
    np.testing.assert_allclose(b.eigenvalues, [1.0, LAMBDA_MAX])
    assert b.lambda_max == LAMBDA_MAX and b.bound == pytest.approx(BOUND)
    # Booth: Hessian [[10, 8], [8, 10]], eigenvalues 2 and 18, anywhere
    b = stable_lr_bound("booth", (5.0, -2.0))
    np.testing.assert_allclose(b.eigenvalues, [2.0, 18.0])
    assert b.bound == pytest.approx(2.0 / 18.0)
    # the saddle has a negative eigenvalue too: only the positive one limits the step
    assert stable_lr_bound("saddle", (0.0, 0.0)).bound == pytest.approx(1.0)
    assert stable_lr_bound(lambda p: -(p ** 2).sum(), [1.0, 1.0]).bound == float("inf")


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.99])
def test_lrs_inside_the_bound_converge_along_the_steep_direction(fraction):
    # along y each step multiplies by (1 - lr * 50), |.| < 1 inside the bound
    t = descend("bowl", (0.0, 1.0), "sgd", lr=fraction * BOUND, steps=2000)
    assert not t.diverged and abs(t.final[1]) < 1e-6


@pytest.mark.parametrize("fraction", [1.02, 1.5])
def test_lrs_beyond_the_bound_diverge(fraction):
    t = descend("bowl", (0.0, 1.0), "sgd", lr=fraction * BOUND, steps=2000)
    assert t.diverged
    assert classify_lr(t).label == "diverging"


def test_labels_on_the_bowl():
    steps = 400
    label = lambda lr: classify_lr(descend("bowl", (-2.5, 1.0), "sgd", lr=lr, steps=steps)).label  # noqa: E731
    assert label(BOUND / 2) == "converged"             # 1 / lambda_max: y gone in one step, x by 0.98 per step
    assert label(0.95 * BOUND) == "converged"          # the steep direction flips sign but shrinks by 0.9
    assert label(BOUND / 100) == "too_small"           # x shrinks by 0.9996 per step: still falling at the end
    assert label(BOUND / 20) == "too_small"
    assert label(BOUND) == "oscillating"               # y flips sign forever with the same size
    assert label(0.999 * BOUND) == "oscillating"       # flips that shrink by 0.998 per step: far from done
    assert label(1.1 * BOUND) == "diverging"
    assert label(1.001 * BOUND) == "diverging"         # grows by 1.002 per step: the loss ends higher


def test_verdict_figures():
    v = classify_lr(descend("bowl", (-2.5, 1.0), "sgd", lr=BOUND, steps=400))
    assert v.flip_share == 1.0 and v.lr == BOUND
    # at lr = 2 / lambda_max only x moves: the gap ends at 25 y0^2 out of 25 y0^2 + x0^2 / 2 (+ x's rest)
    assert v.gap_ratio == pytest.approx(25.0 / (25.0 + 0.5 * 2.5 ** 2), rel=1e-3)
    assert "turn back" in v.reason
    v = classify_lr(descend("bowl", (-2.5, 1.0), "sgd", lr=BOUND / 2, steps=400))
    assert v.gap_ratio < 1e-6 and v.flip_share == 0.0 and "fell to" in v.reason
    v = classify_lr(descend("bowl", (-2.5, 1.0), "sgd", lr=BOUND / 100, steps=400))
    assert v.window_change < 0 and v.gap_ratio > 1e-3 and "still falling" in v.reason


def test_stalled_and_rules():
    # from the maximum of the 1-D curve the gradient is zero: descent never moves
    t = descend("curve", (0.0,), "sgd", lr=0.01, steps=100)
    assert np.all(t.positions == 0.0)
    assert classify_lr(t).label == "stalled"
    # a stricter convergence threshold turns a converged run into a too-small one
    t = descend("bowl", (-2.5, 1.0), "sgd", lr=BOUND / 2, steps=400)
    assert classify_lr(t).label == "converged"
    assert classify_lr(t, LRRules(gap_rtol=1e-12)).label == "too_small"
    with pytest.raises(DescentError, match=r"rules.window must be in \(0, 1\], got 1.5"):
        classify_lr(t, LRRules(window=1.5))
    with pytest.raises(DescentTypeError, match="expected a Trajectory"):
        classify_lr([1.0, 2.0])


def test_triptych_default_lrs_and_labels():
    t = lr_triptych("bowl")
    assert t.lrs == pytest.approx((BOUND / 100, BOUND / 2, 1.1 * BOUND))
    assert [v.label for v in t.verdicts] == ["too_small", "converged", "diverging"]
    assert all(r.function == "bowl" and r.steps == 400 for r in t.runs)
    np.testing.assert_array_equal(t.runs[0].start, FUNCTIONS["bowl"].start)
    assert "2/lambda_max = 0.04" in t.summary()


def test_triptych_explicit_lrs_and_oscillation():
    t = lr_triptych("bowl", (0.0, 1.0), lrs=(1e-4, 0.02, 0.04), steps=200)
    assert [v.label for v in t.verdicts] == ["too_small", "converged", "oscillating"]
    with pytest.raises(DescentError, match="lrs must be three positive learning rates"):
        lr_triptych("bowl", lrs=(0.1, 0.2))
    with pytest.raises(DescentError, match="lrs must be three positive learning rates"):
        lr_triptych("bowl", lrs=(0.1, -0.2, 0.3))


def test_triptych_with_momentum_on_rosenbrock():
    # the bound comes from the Hessian at (1, 1); the labels are whatever the runs show
    t = lr_triptych("rosenbrock", optimizer="momentum", steps=300)
    assert t.bound.lambda_max == pytest.approx(1001.6, abs=0.1)
    assert t.verdicts[0].label == "too_small"
    assert t.verdicts[2].label == "diverging"
