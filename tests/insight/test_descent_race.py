"""The optimizer race: steps-to-tolerance ordering where theory makes it robust, the table,
suggested learning rates, and compare()."""

from __future__ import annotations

import math

import pytest

from gradwise.insight import RACE_OPTIMIZERS, Comparison, DescentError, compare, race, suggest_lr


def test_suggested_lrs_follow_the_rules():
    assert suggest_lr("bowl", "sgd") == 1 / 50                # one over the largest curvature, diag(1, 50)
    assert suggest_lr("booth", "momentum") == float(f"{1 / 18:.2g}")
    assert suggest_lr("rosenbrock", "adam") == 0.01 * 4       # 1 % of the longest side (4)
    assert suggest_lr("himmelblau", "adagrad") == 0.1 * 10
    assert suggest_lr("bowl", "rmsprop") == 0.002 * 6
    assert suggest_lr("bowl", "lbfgs") == 1.0
    # the curvature is measured where asked: Himmelblau's corner is much steeper than its minima
    assert suggest_lr("himmelblau", "sgd", points=[[5.0, 5.0]]) < suggest_lr("himmelblau", "sgd") / 2
    with pytest.raises(DescentError, match="<lambda> has no positive curvature at the given points"):
        suggest_lr(lambda p: -(p ** 2).sum(), "sgd", points=[[0.0, 0.0]])


def test_race_on_the_ill_conditioned_bowl():
    r = race("bowl", steps=800)
    assert isinstance(r, Comparison) and list(r.runs) == list(RACE_OPTIMIZERS)
    s = {k: t.steps_to_tol for k, t in r.runs.items()}
    assert all(v is not None for v in s.values())
    # with its safe step 1/L, plain SGD needs log(tol / 2.5) / log(1 - 1/50) steps along the shallow x
    assert s["sgd"] == math.ceil(math.log(1e-3 / 2.5) / math.log(1 - 1 / 50))
    # momentum carries speed along the shallow direction; Adam rescales each coordinate
    assert s["momentum"] < s["sgd"] and s["nesterov"] < s["sgd"] and s["adam"] < s["sgd"]
    assert r.ranking()[-1] == "sgd"


def test_momentum_beats_sgd_at_the_same_lr():
    # heavy ball at lr <= 1/L contracts the shallow direction by sqrt(0.9) ~ 0.95 per step, SGD by 1 - lr
    for lr in (0.005, 0.01, 0.02):
        r = race("bowl", optimizers=("sgd", "momentum"), lr=lr, steps=3000)
        assert r.runs["momentum"].steps_to_tol < r.runs["sgd"].steps_to_tol


def test_race_on_rosenbrock():
    r = race("rosenbrock", optimizers=("sgd", "momentum", "adam"), steps=3000, tol=1e-2)
    assert r.runs["adam"].at_minimum and r.runs["momentum"].at_minimum
    # plain SGD with the step its steepest curvature allows crawls along the flat valley floor
    assert r.runs["sgd"].steps_to_tol is None and r.runs["sgd"].distance > 0.5
    assert r.ranking()[-1] == "sgd"


def test_table_and_renderings():
    r = compare("bowl", (-2.5, 1.0), {"slow": ("sgd", {"lr": 1e-4}), "fast": ("momentum", {"lr": 0.02}),
                                      "boom": ("sgd", {"lr": 0.1})}, steps=300)
    rows = r.table()
    assert [row["run"] for row in rows] == ["fast", "slow", "boom"]
    assert rows[0]["steps_to_tol"] == r.runs["fast"].steps_to_tol and rows[2]["diverged"]
    md = r.to_markdown().splitlines()
    assert md[0] == "| run | lr | steps to 0.001 | final loss | distance to minimum |"
    assert md[1] == "|---|---:|---:|---:|---:|"
    assert md[2].startswith(f"| fast | 0.02 | {r.runs['fast'].steps_to_tol} |")
    assert "| slow | 0.0001 | not in 300 |" in md[3] and "| boom | 0.1 | diverged |" in md[4]
    text = r.to_text()
    assert text.splitlines()[0] == "bowl from (-2.5, 1), 300 steps, tolerance 0.001"
    assert str(r) == text


def test_compare_uses_suggested_lr_when_missing_and_checks_runs():
    c = compare("bowl", runs={"sgd": ("sgd", {}), "adam": ("adam", {"betas": (0.8, 0.99)})}, steps=50)
    assert c.runs["sgd"].lr == 0.02 and c.runs["adam"].lr == suggest_lr("bowl", "adam")
    assert c.runs["adam"].options["betas"] == (0.8, 0.99)
    with pytest.raises(DescentError, match="runs must map at least one label"):
        compare("bowl", runs={})
    with pytest.raises(DescentError, match=r"run 'x' must be \(optimizer, kwargs dict\)"):
        compare("bowl", runs={"x": "sgd"})
    with pytest.raises(DescentError, match="optimizers must name at least one"):
        race("bowl", optimizers=())
