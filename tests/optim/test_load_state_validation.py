"""Optimizer.load_state_dict checks the whole state before changing anything (issue 15, item 11)."""

import copy

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.optim.optimizer import OptimizerError


def _model(seed=0, sizes=(3, 4, 2)):
    gen = gw.Generator().manual_seed(seed)
    return nn.Sequential(nn.Linear(sizes[0], sizes[1], generator=gen), nn.Tanh(),
                         nn.Linear(sizes[1], sizes[2], generator=gen))


def _data():
    rng = np.random.default_rng(0)
    return gw.tensor(rng.normal(size=(8, 3)).astype(np.float32)), gw.tensor(rng.normal(size=(8, 2)).astype(np.float32))


def _trained(make, steps=2, sizes=(3, 4, 2)):
    model = _model(sizes=sizes)
    opt = make(model.parameters())
    x, y = _data()

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure) if isinstance(opt, gw.optim.LBFGS) else (closure(), opt.step())
    return model, opt


def _snapshot(opt):
    return copy.deepcopy({"groups": [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups],
                          "state": {i: {k: (np.array(v) if isinstance(v, np.ndarray) else copy.deepcopy(v))
                                        for k, v in st.items()}
                                    for i, st in enumerate(opt.state.values())}})


def _same(a, b):
    assert a["groups"] == b["groups"]
    assert a["state"].keys() == b["state"].keys()
    for i in a["state"]:
        assert a["state"][i].keys() == b["state"][i].keys()
        for k in a["state"][i]:
            va, vb = a["state"][i][k], b["state"][i][k]
            if isinstance(va, np.ndarray):
                np.testing.assert_array_equal(va, vb)
            elif isinstance(va, list):
                assert len(va) == len(vb)
                for x, y in zip(va, vb):
                    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
            else:
                assert va == vb


OPTIMIZERS = {
    "sgd_momentum": lambda p: gw.optim.SGD(p, lr=0.1, momentum=0.9),
    "adam": lambda p: gw.optim.Adam(p, lr=0.01),
    "lbfgs": lambda p: gw.optim.LBFGS(p, lr=0.5, max_iter=3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_matching_state_still_loads_and_round_trips(name):
    _, opt = _trained(OPTIMIZERS[name])
    _, fresh = _trained(OPTIMIZERS[name], steps=0)
    fresh.load_state_dict(opt.state_dict())
    _same(_snapshot(fresh), _snapshot(opt))


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_a_state_of_another_models_shapes_is_refused_before_anything_changes(name):
    _, other = _trained(OPTIMIZERS[name], sizes=(3, 5, 2))     # same parameter count, other shapes
    _, opt = _trained(OPTIMIZERS[name])
    before = _snapshot(opt)
    key = "momentum_buffer" if name == "sgd_momentum" else "exp_avg"
    with pytest.raises(OptimizerError, match=rf"group 0 parameter 0 \(index 0\), state '{key}': has shape "
                                              r"\(5, 3\).*must have shape \(4, 3\)"):
        opt.load_state_dict(other.state_dict())
    _same(_snapshot(opt), before)


def test_a_bad_array_in_a_later_parameter_leaves_earlier_ones_untouched():
    model, opt = _trained(OPTIMIZERS["adam"])
    sd = opt.state_dict()
    sd["state"][3]["exp_avg_sq"] = gw.zeros(7)
    sd["param_groups"][0]["lr"] = 0.5
    before = _snapshot(opt)
    with pytest.raises(OptimizerError, match=r"parameter 3 \(index 3\), state 'exp_avg_sq': has shape \(7,\).*"
                                             r"shape \(2,\)"):
        opt.load_state_dict(sd)
    _same(_snapshot(opt), before)
    assert opt.param_groups[0]["lr"] == 0.01
    x, y = _data()
    opt.zero_grad()
    ((model(x) - y) ** 2).mean().backward()
    opt.step()      # the optimizer still works


def test_scalars_stay_numbers_and_unknown_indices_and_group_counts_are_named():
    _, opt = _trained(OPTIMIZERS["sgd_momentum"])
    sd = opt.state_dict()
    bad = copy.deepcopy(sd)
    bad["state"][9] = bad["state"].pop(0)
    with pytest.raises(OptimizerError, match=r"parameter index 9.*valid indices: \[0, 1, 2, 3\]"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["params"] = [0, 1, 2]
    with pytest.raises(OptimizerError, match=r"\[3\] vs \[4\] parameters"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(OptimizerError, match=r"group 0: invalid learning rate"):
        opt.load_state_dict(bad)
    with pytest.raises(OptimizerError, match=r"expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_adam_step_count_as_a_scalar_is_accepted_and_a_shaped_one_refused():
    _, opt = _trained(OPTIMIZERS["adam"])
    sd = opt.state_dict()
    assert isinstance(sd["state"][0]["step"], int)
    sd["state"][0]["exp_avg"] = gw.zeros(3)
    with pytest.raises(OptimizerError, match=r"'exp_avg': has shape \(3,\).*\(4, 3\)"):
        opt.load_state_dict(sd)


def test_lbfgs_history_lists_are_checked_against_the_flat_parameter_vector():
    _, opt = _trained(OPTIMIZERS["lbfgs"])
    sd = opt.state_dict()
    st = sd["state"][0]
    n = sum(p.numel() for p in opt.param_groups[0]["params"])
    assert tuple(st["d"].shape) == (n,) and len(st["old_dirs"]) >= 1
    before = _snapshot(opt)
    bad = copy.deepcopy(sd)
    bad["state"][0]["old_dirs"] = [*bad["state"][0]["old_dirs"][:-1], gw.zeros(n + 1)]
    last = len(sd["state"][0]["old_dirs"]) - 1
    with pytest.raises(OptimizerError, match=rf"state 'old_dirs'\[{last}\]: has shape \({n + 1},\).*\({n},\)"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["state"][0]["prev_flat_grad"] = gw.zeros(2, 2)
    with pytest.raises(OptimizerError, match=r"'prev_flat_grad': has shape \(2, 2\)"):
        opt.load_state_dict(bad)
    _same(_snapshot(opt), before)
