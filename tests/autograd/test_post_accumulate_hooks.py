"""Tensor.register_post_accumulate_grad_hook and the engine's early finishing of leaves."""

from __future__ import annotations

import numpy as np
import pytest

import gradwise as gw
from gradwise import nn
from gradwise.autograd.post_accumulate_hooks import POST_HOOKS
from gradwise.errors import GraphError


def _mlp(seed: int = 0) -> nn.Module:
    gen = gw.Generator().manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8, generator=gen), nn.Tanh(), nn.Linear(8, 8, generator=gen), nn.Tanh(),
                         nn.Linear(8, 3, generator=gen))


def _data() -> tuple[gw.Tensor, gw.Tensor]:
    rng = np.random.default_rng(0)
    return gw.tensor(rng.standard_normal((5, 4))), gw.tensor(rng.standard_normal((5, 3)))


def _grads(m: nn.Module) -> list[np.ndarray]:
    return [p.grad.detach().numpy().copy() for p in m.parameters()]


def test_last_layer_is_final_before_first_and_hook_sees_final_grad() -> None:
    m = _mlp().double()
    x, y = _data()
    names = [n for n, _ in m.named_parameters()]
    seen: list[tuple[str, np.ndarray]] = []
    handles = [p.register_post_accumulate_grad_hook(lambda q, n=n: seen.append((n, q.grad.detach().numpy().copy())))
               for n, p in m.named_parameters()]
    ((m(x.double()) - y.double()) ** 2).mean().backward()
    order = [n for n, _ in seen]
    assert sorted(order) == sorted(names) and len(order) == len(names)      # each hook exactly once
    assert order.index("4.weight") < order.index("2.weight") < order.index("0.weight")
    params = dict(m.named_parameters())
    for n, g in seen:                                                          # the grad seen is the final one
        np.testing.assert_array_equal(g, params[n].grad.detach().numpy())
    for h in handles:
        h.remove()
    assert not POST_HOOKS


def _run(early: bool, create_graph: bool = False, twice: bool = False, pre_hook: bool = False) -> list[np.ndarray]:
    m = _mlp(3).double()
    x, y = _data()
    handles = []
    if early:
        handles = [p.register_post_accumulate_grad_hook(lambda q: None) for p in m.parameters()]
    w0 = next(iter(m.parameters()))
    if pre_hook:
        handles.append(w0.register_hook(lambda g: g * 3))
    h = m[0](x.double())
    h.retain_grad()
    shared = (m[4](m[3](m[2](m[1](h)))) - y.double())
    loss = (shared ** 2).mean() + (m[0].weight ** 2).sum() * 0.1       # a leaf used by two nodes
    loss.backward(create_graph=create_graph, retain_graph=True)
    if twice:                                                           # accumulation into an existing .grad
        loss.backward(create_graph=create_graph)
    out = _grads(m) + [h.grad.detach().numpy().copy()]
    for hd in handles:
        hd.remove() if hasattr(hd, "remove") else hd()
    return out


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("twice", [False, True])
@pytest.mark.parametrize("pre_hook", [False, True])
def test_early_path_is_bit_identical_to_late_path(create_graph: bool, twice: bool, pre_hook: bool) -> None:
    late = _run(False, create_graph, twice, pre_hook)
    early = _run(True, create_graph, twice, pre_hook)
    for a, b in zip(late, early):
        np.testing.assert_array_equal(a, b)


def test_early_grad_does_not_alias_and_can_be_written() -> None:
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    grads = []
    h = w.register_post_accumulate_grad_hook(lambda p: grads.append(p.grad))
    (w * 3).sum().backward()
    assert grads[0] is w.grad
    w.grad.zero_()                  # .grad is its own memory: writing it changes nothing else
    (w * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]
    h.remove()


def test_hook_can_step_in_place_and_autograd_grad_does_not_call_it() -> None:
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def sgd(p: gw.Tensor) -> None:
        calls.append(1)
        with gw.no_grad():
            p -= 0.5 * p.grad

    h = w.register_post_accumulate_grad_hook(sgd)
    gw.autograd.grad((w * w).sum(), w)
    assert calls == []
    (w * w).sum().backward()
    assert calls == [1] and w.detach().tolist() == [0.0, 0.0]
    v = gw.tensor([1.0], requires_grad=True)
    (w.sum() * v).sum().backward(inputs=[w])     # backward(inputs=...) accumulates: the hook runs
    assert calls == [1, 1]
    h.remove()
    h.remove()                                   # idempotent


def test_errors() -> None:
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(GraphError, match="does not require grad"):
        gw.tensor([1.0]).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(TypeError, match="callable"):
        x.register_post_accumulate_grad_hook(3)  # type: ignore[arg-type]
    h = x.register_post_accumulate_grad_hook(lambda p: p)
    with pytest.raises(GraphError, match="must return None"):
        (x * 2).sum().backward()
    h.remove()


def test_dead_leaf_forgets_its_hooks() -> None:
    x = gw.tensor([1.0], requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda p: None)
    assert id(x) in POST_HOOKS
    key = id(x)
    del x
    assert key not in POST_HOOKS


def test_semantics_match_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a_np, b_np = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def run(lib, make):
        a, b = make(a_np), make(b_np)
        log = []
        for name, t in (("a", a), ("b", b)):
            t.register_post_accumulate_grad_hook(lambda p, n=name: log.append((n, p.grad.sum().item())))
        y = (a * b).tanh().sum() + (b * 2).sum()     # b is used by two ops
        y.backward()
        y2 = (a * b).sum()
        y2.backward()                                # second backward: accumulated .grad seen by the hook
        return log

    ours = run(gw, lambda v: gw.tensor(v, requires_grad=True))
    theirs = run(torch, lambda v: torch.tensor(v, requires_grad=True))
    assert sorted(n for n, _ in ours) == sorted(n for n, _ in theirs)
    assert len(ours) == len(theirs) == 4
    np.testing.assert_allclose(sorted(v for _, v in ours), sorted(v for _, v in theirs), rtol=1e-12)
    with pytest.raises(RuntimeError):
        (torch.ones(1, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda p: None)


class _Split(gw.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * 2 + gb * 3


def test_custom_function_with_two_outputs_finishes_its_input_once() -> None:
    def run(hooked: bool) -> tuple[list[int], np.ndarray]:
        x = gw.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
        calls: list[int] = []
        h = x.register_post_accumulate_grad_hook(lambda p: calls.append(1)) if hooked else None
        a, b = _Split.apply(x)
        (a * b + x).sum().backward()
        if h is not None:
            h.remove()
        return calls, x.grad.detach().numpy()

    calls, early = run(True)
    _, late = run(False)
    assert calls == [1]
    np.testing.assert_array_equal(early, late)
    np.testing.assert_array_equal(late, 12 * np.array([1.0, -2.0]) + 1)     # d/dx (6 x^2 + x)


def test_leaf_edge_counts_match_the_graph() -> None:
    from gradwise.autograd.early_leaves import count_leaf_edges
    x = gw.tensor([1.0], requires_grad=True)
    w = gw.tensor([2.0], requires_grad=True)
    y = (x * w + x * x).sum()
    assert count_leaf_edges({y.grad_fn: None}) == {id(x): 3, id(w): 1}
