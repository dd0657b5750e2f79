"""Custom autograd functions: ``gw.autograd.Function`` (as ``torch.autograd.Function``)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import gradwise as gw
from gradwise.autograd import Function, FunctionCtx, once_differentiable
from gradwise.errors import AnomalyError, GraphError, ShapeError


def make_functions(lib):
    """The same custom Functions written for ``lib`` (gradwise or torch): both spell these ops alike."""

    class MyExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class TwoOut(lib.autograd.Function):
        """(a * b, sin(a) + b * k): two inputs, two outputs, one constant."""

        @staticmethod
        def forward(ctx, a, b, k):
            ctx.save_for_backward(a, b)
            ctx.k = k
            return a * b, a.sin() + b * k

        @staticmethod
        def backward(ctx, g1, g2):
            a, b = ctx.saved_tensors
            return g1 * b + g2 * a.cos(), g1 * a + g2 * ctx.k, None

    class Cube(lib.autograd.Function):
        """The setup_context style: forward without ctx."""

        @staticmethod
        def forward(x, scale=1.0):
            return x * x * x * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, scale = inputs
            ctx.save_for_backward(x)
            ctx.scale = scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x * ctx.scale, None

    return MyExp, TwoOut, Cube


MyExp, TwoOut, Cube = make_functions(gw)


def _leaves(*arrays):
    return [gw.tensor(a, requires_grad=True) for a in arrays]


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- values, graph, names
def test_exp_values_gradient_and_node():
    a = _rng().standard_normal(4)
    (x,) = _leaves(a)
    y = MyExp.apply(x)
    assert np.allclose(y.detach().numpy(), np.exp(a)) and y.requires_grad
    assert y.grad_fn.name() == "MyExpBackward" and repr(y.grad_fn) == "<MyExpBackward>"
    assert "grad_fn=<MyExpBackward>" in repr(y)
    assert y.grad_fn.next_functions == ((x, 0),)
    z = y * 2
    assert z.grad_fn.next_functions[0][0] is y.grad_fn   # an edge like any other node
    z.sum().backward()
    assert np.allclose(x.grad.numpy(), 2 * np.exp(a))


def test_two_outputs_values_and_gradients():
    a, b = _rng(1).standard_normal((2, 3))
    x, w = _leaves(a, b)
    p, q = TwoOut.apply(x, w, 2.0)
    assert p.grad_fn is not q.grad_fn and p.grad_fn.name() == q.grad_fn.name() == "TwoOutBackward"
    assert p.grad_fn.next_functions == q.grad_fn.next_functions == ((x, 0), (w, 0), (None, 0))
    (p * q).sum().backward()            # both outputs reach one mul node
    qv, pv = np.sin(a) + 2 * b, a * b
    assert np.allclose(x.grad.numpy(), qv * b + pv * np.cos(a))
    assert np.allclose(w.grad.numpy(), qv * a + pv * 2)


def test_setup_context_style_and_keyword_arguments():
    a = _rng(2).standard_normal(3)
    (x,) = _leaves(a)
    y = Cube.apply(x, scale=2.0)
    y.sum().backward()
    assert np.allclose(y.detach().numpy(), 2 * a ** 3) and np.allclose(x.grad.numpy(), 6 * a ** 2)
    x.grad = None
    Cube.apply(x).sum().backward()     # the default scale is bound as an input
    assert np.allclose(x.grad.numpy(), 3 * a ** 2)


def test_keyword_argument_becomes_an_input_in_ctx_style():
    seen = {}

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, scale=2.0):
            seen["needs"] = ctx.needs_input_grad
            ctx.scale = scale
            return x * scale

        @staticmethod
        def backward(ctx, g):
            return g * ctx.scale, None

    x = gw.ones(3, requires_grad=True)
    Scale.apply(x, scale=3.0).sum().backward()
    assert seen["needs"] == (True, False) and x.grad.tolist() == [3.0, 3.0, 3.0]


def test_forward_is_not_recorded():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            h = x * 2
            seen["mode"] = gw.is_grad_enabled()
            seen["h"] = (h.requires_grad, h.grad_fn)
            return h

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = gw.ones(2, requires_grad=True)
    y = Probe.apply(x)
    assert seen == {"mode": False, "h": (False, None)}
    assert gw.is_grad_enabled() and y.grad_fn.name() == "ProbeBackward"


def test_no_recording_without_grad():
    x = gw.ones(2)                       # no input requires grad
    y = MyExp.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    w = gw.ones(2, requires_grad=True)
    with gw.no_grad():
        y = MyExp.apply(w)
    assert not y.requires_grad and y.grad_fn is None


def test_non_tensor_outputs_pass_through_and_returned_input_is_an_alias():
    class Pass(Function):
        @staticmethod
        def forward(ctx, x):
            return x, "note", 3

        @staticmethod
        def backward(ctx, g, g_note, g_three):
            assert g_note is None and g_three is None
            return g * 5

    x0 = gw.ones(2, requires_grad=True)
    x = x0 * 1.0
    node = x.grad_fn
    y, note, three = Pass.apply(x)
    assert (note, three) == ("note", 3)
    assert y is not x and x.grad_fn is node and y.grad_fn.name() == "PassBackward"
    assert np.shares_memory(y.detach().numpy(), x.detach().numpy())
    y.sum().backward()
    assert x0.grad.tolist() == [5.0, 5.0]


# ---------------------------------------------------------------- several outputs
def test_gradient_from_one_of_two_outputs_materializes_zeros():
    received = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            received.append((g1, g2))
            return g1 * 2 + g2 * 3

    x = gw.ones(3, requires_grad=True)
    a, b = Two.apply(x)
    b.sum().backward()
    ((g1, g2),) = received
    assert g1.tolist() == [0.0, 0.0, 0.0] and g2.tolist() == [1.0, 1.0, 1.0]
    assert x.grad.tolist() == [3.0, 3.0, 3.0]


def test_set_materialize_grads_false_passes_none():
    received = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            received.append((g1, g2))
            return (0 if g1 is None else g1 * 2) + (0 if g2 is None else g2 * 3)

    x = gw.ones(3, requires_grad=True)
    a, b = Two.apply(x)
    a.sum().backward(retain_graph=True)
    b.sum().backward()
    assert received[0][1] is None and received[0][0].tolist() == [1.0] * 3
    assert received[1][0] is None and received[1][1].tolist() == [1.0] * 3
    assert x.grad.tolist() == [5.0, 5.0, 5.0]


def test_backward_runs_once_per_walk_for_several_outputs():
    calls = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y, x * y

        @staticmethod
        def backward(ctx, g1, g2):
            calls.append(1)
            return g1, g1

    x, y = _leaves(np.ones(2), np.ones(2))
    a, b = Two.apply(x, y)
    gw.autograd.backward([a.sum(), b.sum()])   # both outputs are roots
    assert len(calls) == 1 and x.grad.tolist() == [1.0, 1.0]


def test_many_parallel_multi_output_functions():
    # several groups wait in the heap at once: the group visit removes exactly its own members
    a, b = _rng(3).standard_normal((2, 4))
    x, w = _leaves(a, b)
    loss = 0
    for k in range(1, 6):
        p, q = TwoOut.apply(x * k, w, 1.5)
        loss = loss + p.sum() + (q * k).sum()
    loss.backward()
    gx = sum(k * b + k * np.cos(k * a) * k for k in range(1, 6))
    gw_ = sum(k * a + 1.5 * k for k in range(1, 6))
    assert np.allclose(x.grad.numpy(), gx) and np.allclose(w.grad.numpy(), gw_)


def test_grad_with_respect_to_outputs_of_a_multi_output_function():
    a = _rng(4).standard_normal(3)
    (x,) = _leaves(a)
    h = x * 1.0
    p, q = TwoOut.apply(h, h, 2.0)
    loss = (p * 3).sum() + (q * 5).sum()
    gp, gq, gh = gw.autograd.grad(loss, [p, q, h])
    assert gp.tolist() == [3.0] * 3 and gq.tolist() == [5.0] * 3
    assert np.allclose(gh.numpy(), 3 * a + 5 * np.cos(a) + 3 * a + 10)


# ---------------------------------------------------------------- second order
def test_exp_second_order_and_checks():
    x = gw.randn(4, dtype=gw.float64, requires_grad=True)
    (dx,) = gw.autograd.grad(MyExp.apply(x).sum(), x, create_graph=True)
    assert dx.requires_grad and np.allclose(dx.detach().numpy(), np.exp(x.detach().numpy()))
    (ddx,) = gw.autograd.grad(dx.sum(), x)
    assert np.allclose(ddx.detach().numpy(), np.exp(x.detach().numpy()))
    assert gw.gradcheck(MyExp.apply, (x,)) and gw.gradgradcheck(MyExp.apply, (x,))


def test_two_input_two_output_gradcheck_and_gradgradcheck():
    a, b = (gw.randn(3, dtype=gw.float64, requires_grad=True) for _ in range(2))

    def fn(a, b):
        return TwoOut.apply(a, b, 0.7)

    assert gw.gradcheck(fn, (a, b)) and gw.gradgradcheck(fn, (a, b))
    assert gw.gradcheck(lambda a, b: TwoOut.apply(a, b, 0.7)[1], (a, b))   # one output only
    assert gw.gradgradcheck(lambda a: Cube.apply(a, scale=1.5), (a,))


def test_chain_of_custom_functions_second_order():
    x = gw.tensor([0.3, -0.2], dtype=gw.float64, requires_grad=True)
    y = MyExp.apply(MyExp.apply(x))                # exp(exp(x))
    (d1,) = gw.autograd.grad(y.sum(), x, create_graph=True)
    (d2,) = gw.autograd.grad(d1.sum(), x)
    e = np.exp(x.detach().numpy())
    assert np.allclose(d1.detach().numpy(), np.exp(e) * e)
    assert np.allclose(d2.numpy(), np.exp(e) * e * e + np.exp(e) * e)


def test_once_differentiable():
    class OnceExp(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.exp()

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert not gw.is_grad_enabled()
            return g * x.exp()

    x = gw.tensor([0.0, 1.0], dtype=gw.float64, requires_grad=True)
    OnceExp.apply(x).sum().backward()
    assert np.allclose(x.grad.numpy(), np.exp([0.0, 1.0]))
    assert gw.gradcheck(OnceExp.apply, (x,))
    (dx,) = gw.autograd.grad(OnceExp.apply(x).sum(), x, create_graph=True)
    assert np.allclose(dx.detach().numpy(), np.exp([0.0, 1.0]))
    with pytest.raises(GraphError, match=r"differentiate twice OnceExp\.backward.*once_differentiable"):
        gw.autograd.grad(dx.sum(), x)
    with pytest.raises(GraphError, match="once_differentiable"):
        gw.gradgradcheck(OnceExp.apply, (x,))


# ---------------------------------------------------------------- ctx
def test_needs_input_grad():
    seen = []

    class Mul(Function):
        @staticmethod
        def forward(ctx, x, w, k):
            seen.append(ctx.needs_input_grad)
            ctx.save_for_backward(x, w)
            return x * w * k

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            gx = g * w if ctx.needs_input_grad[0] else None
            gw_ = g * x if ctx.needs_input_grad[1] else None
            return gx, gw_, None

    x = gw.ones(2, requires_grad=True)
    w = gw.full((2,), 3.0)
    Mul.apply(x, w, 2).sum().backward()
    assert seen == [(True, False, False)] and x.grad.tolist() == [3.0, 3.0]
    with gw.no_grad():
        Mul.apply(x, w, 2)
    assert seen[1] == (False, False, False)


def test_ctx_attributes_and_type():
    seen = {}

    class Attr(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.k = 3
            ctx.shape = x.shape
            return x * 3

        @staticmethod
        def backward(ctx, g):
            seen["ctx"] = ctx
            return g * ctx.k

    x = gw.ones(2, requires_grad=True)
    Attr.apply(x).sum().backward()
    assert isinstance(seen["ctx"], FunctionCtx) and seen["ctx"].shape == (2,)
    assert x.grad.tolist() == [3.0, 3.0]


def test_mark_non_differentiable():
    received = []

    class SortIdx(Function):
        @staticmethod
        def forward(ctx, x):
            values = x * 1.0
            flags = x > 0
            scaled = x * 2.0
            ctx.mark_non_differentiable(scaled)
            return values, flags, scaled

        @staticmethod
        def backward(ctx, g, gflags, gscaled):
            received.append((gflags, gscaled))
            return g

    x = gw.tensor([-1.0, 2.0], requires_grad=True)
    v, flags, scaled = SortIdx.apply(x)
    assert v.requires_grad and not flags.requires_grad and not scaled.requires_grad
    assert flags.grad_fn is None and scaled.grad_fn is None
    with pytest.raises(GraphError, match="does not require grad"):
        scaled.sum().backward()
    (v.sum() + (scaled * 1.0).sum()).backward()     # no gradient flows through `scaled`
    assert x.grad.tolist() == [1.0, 1.0]
    ((gflags, gscaled),) = received
    assert gflags.tolist() == [False, False] and gscaled.tolist() == [0.0, 0.0]


def test_mark_dirty():
    class DoubleInPlace(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    leaf = gw.tensor([1.0, 2.0], requires_grad=True)
    x = leaf * 1.0
    arr = x.detach().numpy()
    y = DoubleInPlace.apply(x)
    assert y is x and x.detach().numpy() is arr and x.tolist() == [2.0, 4.0]
    assert x.grad_fn.name() == "DoubleInPlaceBackward" and x.grad_fn.next_functions[0][0].name() == "MulBackward0"
    (x * x).sum().backward()
    assert leaf.grad.tolist() == [8.0, 16.0]        # d/dl (2l)^2 = 8 l
    with pytest.raises(GraphError, match="leaf tensor that requires grad"):
        DoubleInPlace.apply(gw.tensor([1.0], requires_grad=True))


def test_mark_dirty_must_return_the_input():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(GraphError, match="marked dirty .* did not return it"):
        Bad.apply(gw.ones(2, requires_grad=True) * 1.0)


def test_in_place_change_after_save_raises_like_builtin_ops():
    class Mul(Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return g * w, g * x

    x = gw.ones(3)
    w = gw.ones(3, requires_grad=True)
    y = Mul.apply(x, w)
    x.add_(1)
    with pytest.raises(GraphError, match=r"saved by Mul\.forward.*saved tensor 0, input 0.*shape \(3,\).*"
                                         r"modified by an in-place operation.*version 1.*needs version 0"):
        y.sum().backward()
    # the same kind of error as for a built-in op
    x2 = gw.ones(3)
    y2 = x2 * w
    x2.add_(1)
    with pytest.raises(GraphError, match="modified by an in-place operation"):
        y2.sum().backward()


def test_in_place_change_of_a_saved_output_raises():
    y = MyExp.apply(gw.ones(2, requires_grad=True))
    with gw.no_grad():
        y.mul_(2)
    with pytest.raises(GraphError, match="saved tensor 0, output 0"):
        y.sum().backward()


def test_saved_tensors_are_freed_after_backward():
    x = gw.ones(2, requires_grad=True)
    y = MyExp.apply(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), 2 * np.e)
    with pytest.raises(GraphError, match="MyExpBackward a second time"):
        y.sum().backward()
    p, q = TwoOut.apply(x, x * 1.0, 1.0)
    p.sum().backward()
    with pytest.raises(GraphError, match="TwoOutBackward a second time"):
        q.sum().backward()          # one node per output, but one backward: both are freed


def test_no_reference_cycle_keeps_a_function_graph_alive():
    x = gw.ones(2, requires_grad=True)
    p, q = TwoOut.apply(x, x * 1.0, 1.0)
    ref = weakref.ref(p.grad_fn)
    gc.disable()
    try:
        del p, q
        assert ref() is None            # freed by reference counting alone
    finally:
        gc.enable()


# ---------------------------------------------------------------- error messages
def test_wrong_number_of_gradients():
    class Two(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = _leaves(np.ones(2), np.ones(2))
    with pytest.raises(GraphError, match=r"function TwoBackward returned an incorrect number of gradients "
                                         r"\(expected 2, got 1\)"):
        Two.apply(x, y).sum().backward()


def test_extra_none_gradients_are_allowed():
    class Extra(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x = gw.ones(2, requires_grad=True)
    Extra.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_gradient_of_the_wrong_shape():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum(0)

        @staticmethod
        def backward(ctx, g):
            return gw.ones(2, 5)

    x = gw.ones(3, 4, requires_grad=True)
    with pytest.raises(ShapeError, match=r"function BadBackward returned an invalid gradient at index 0: got "
                                         r"shape \(2, 5\) but expected a shape compatible with \(3, 4\)"):
        Bad.apply(x).sum().backward()


def test_broadcast_gradient_is_summed_to_the_input_shape():
    class Spread(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return g * gw.ones(5, 3)         # shape (5, 3) for an input of shape (3,)

    x = gw.ones(3, requires_grad=True)
    Spread.apply(x).backward()
    assert x.grad.tolist() == [5.0, 5.0, 5.0]


def test_gradient_for_a_non_tensor_input_and_non_tensor_gradient():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, n):
            return x * n

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = gw.ones(2, requires_grad=True)
    with pytest.raises(GraphError, match=r"BadBackward returned a gradient different than None at index 1, "
                                         r"but input 1 of Bad\.forward is not a tensor"):
        Bad.apply(x, 2).sum().backward()

    class Bad2(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return [1.0, 2.0]

    with pytest.raises(TypeError, match="Bad2Backward returned a list as the gradient of input 0"):
        Bad2.apply(x).sum().backward()


def test_missing_forward_and_base_apply():
    class NoForward(Function):
        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(NotImplementedError, match="forward"):
        NoForward.apply(gw.ones(1))
    with pytest.raises(TypeError, match="subclass"):
        Function.apply(gw.ones(1))


def test_none_gradient_for_an_input_that_requires_grad_is_zero():
    class Half(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, None

    x, y = _leaves(np.ones(2), np.ones(2))
    Half.apply(x, y).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and y.grad.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- hooks, retain_grad, anomaly
def test_hooks_and_retain_grad_on_outputs():
    a, b = _rng(5).standard_normal((2, 3))
    x, w = _leaves(a, b)
    p, q = TwoOut.apply(x, w, 1.0)
    p.retain_grad()
    q.retain_grad()
    q.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)
    (p * 2 + q).sum().backward()
    assert p.grad.tolist() == [2.0] * 3 and q.grad.tolist() == [10.0] * 3
    assert np.allclose(x.grad.numpy(), 2 * b + 10 * np.cos(a) + 1)
    assert np.allclose(w.grad.numpy(), 2 * a + 10)


def test_detect_anomaly_through_a_custom_node():
    class BadGrad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g / (x * 0.0)      # inf where g != 0

    x = gw.ones(2, requires_grad=True)
    with gw.detect_anomaly():
        y = BadGrad.apply(x)
        with pytest.raises(AnomalyError, match="'BadGrad'"):
            y.sum().backward()
        # an ordinary custom function is fine under anomaly mode, first and second order
        z = gw.tensor([0.5], dtype=gw.float64, requires_grad=True)
        (dz,) = gw.autograd.grad(MyExp.apply(z).sum(), z, create_graph=True)
        (ddz,) = gw.autograd.grad(dz.sum(), z)
        assert np.allclose(ddz.numpy(), np.exp(0.5))


def test_detect_anomaly_forward_output_of_raw_numpy():
    class RawLog(Function):
        @staticmethod
        def forward(ctx, x):
            with np.errstate(divide="ignore"):
                return gw.tensor(np.log(x.detach().numpy()))

        @staticmethod
        def backward(ctx, g):
            return g

    x = gw.tensor([0.0, 1.0], requires_grad=True)
    with gw.detect_anomaly(), pytest.raises(AnomalyError, match="'RawLog' produced -Inf"):
        RawLog.apply(x)


def test_user_error_in_backward_names_the_forward_line_in_anomaly_mode():
    class Boom(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    with gw.detect_anomaly():
        y = Boom.apply(gw.ones(1, requires_grad=True))
        with pytest.raises(ValueError, match="boom") as info:
            y.sum().backward()
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "gradient of 'Boom'" in notes and "test_custom_function.py" in notes


def test_long_chain_is_iterative():
    x = gw.tensor([0.001], dtype=gw.float64, requires_grad=True)

    class Id(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g

    y = x
    for _ in range(3000):
        y = Id.apply(y)
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


# ---------------------------------------------------------------- torch oracle
def test_same_functions_match_torch():
    torch = pytest.importorskip("torch")
    t_exp, t_two, t_cube = make_functions(torch)
    a, b = _rng(6).standard_normal((2, 4))
    cases = [
        (lambda x, w: MyExp.apply(x * w).sum(), lambda x, w: t_exp.apply(x * w).sum()),
        (lambda x, w: (TwoOut.apply(x, w, 0.5)[0] * TwoOut.apply(x, w, 0.5)[1]).sum(),
         lambda x, w: (t_two.apply(x, w, 0.5)[0] * t_two.apply(x, w, 0.5)[1]).sum()),
        (lambda x, w: TwoOut.apply(x, w, 2.0)[1].sum(), lambda x, w: t_two.apply(x, w, 2.0)[1].sum()),
        (lambda x, w: (Cube.apply(x, scale=0.5) * w).sum(), lambda x, w: (t_cube.apply(x, scale=0.5) * w).sum()),
    ]
    for gfn, tfn in cases:
        gx, gw_ = _leaves(a, b)
        tx, tw = (torch.tensor(v, requires_grad=True) for v in (a, b))
        go, to = gfn(gx, gw_), tfn(tx, tw)
        assert np.allclose(go.item(), to.item())
        g1 = gw.autograd.grad(go, [gx, gw_], create_graph=True)
        t1 = torch.autograd.grad(to, [tx, tw], create_graph=True)
        for g, t in zip(g1, t1):
            assert np.allclose(g.detach().numpy(), t.detach().numpy())
        g2 = gw.autograd.grad((g1[0] * g1[1]).sum(), [gx, gw_])
        t2 = torch.autograd.grad((t1[0] * t1[1]).sum(), [tx, tw])
        for g, t in zip(g2, t2):
            assert np.allclose(g.numpy(), t.numpy())


def test_mark_dirty_and_materialize_match_torch():
    torch = pytest.importorskip("torch")

    def make(lib):
        class Dirty(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                x.mul_(y)
                ctx.mark_dirty(x)
                ctx.save_for_backward(x, y)
                ctx.set_materialize_grads(False)
                return x, y * 2

            @staticmethod
            def backward(ctx, gx, gy2):
                x, y = ctx.saved_tensors      # x is the output (modified) value
                gin = None if gx is None else gx * y
                gy = None if gx is None else gx * x / y
                if gy2 is not None:
                    gy = gy2 * 2 if gy is None else gy + gy2 * 2
                return gin, gy

        return Dirty

    a, b = _rng(7).standard_normal((2, 3)) + 2.0
    results = []
    for lib, dirty in ((gw, make(gw)), (torch, make(torch))):
        x0 = lib.tensor(a, requires_grad=True)
        y = lib.tensor(b, requires_grad=True)
        x = x0 * 1.0
        out, y2 = dirty.apply(x, y)
        (out * out).sum().backward()
        results.append((out.detach().numpy().copy(), x0.grad.numpy().copy(), y.grad.numpy().copy()))
    for g, t in zip(*results):
        assert np.allclose(g, t)
