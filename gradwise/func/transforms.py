"""Function transforms with JAX / torch.func semantics, built on reverse mode.

``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacrev``/``jacobian``,
``jacfwd``, ``hessian`` and ``hvp``.  Arguments and results may be pytrees
(nested tuples/lists/dicts of tensors; other leaves are constants passed
through unchanged).  Python numbers and NumPy arrays given as differentiated
arguments become tensors (numbers in the default float dtype).

Inputs are never mutated: each transform differentiates with respect to fresh
copies of the given tensors, so the user's ``requires_grad`` and ``.grad`` are
untouched, and an inner transform's variable is never confused with an outer
one's (``grad(lambda x: x * grad(lambda y: x + y)(x))`` is 1, as in JAX).

Cost and nesting.  A transform records its backward (``create_graph=True``,
about two to three times the cost of a plain backward and the memory of the
recorded rules) only when something outside it may differentiate the result:
when it runs inside another transform's function (nesting, including tensors
the inner function closes over), or when an input already requires grad and
grad mode is on (results then stay connected to the caller's graph, as with
torch.func).  Otherwise the backward runs on plain arrays at first-order speed
and results come back detached.

Forward mode (``jvp``, ``jacfwd``) uses the double-vjp trick: the pullback
``u -> J^T u`` is linear in the cotangent ``u``, so recording it once and
differentiating it with respect to ``u`` along ``v`` gives ``J v``.

This module holds ``grad``, ``value_and_grad``, ``vjp`` and ``jvp``; the Jacobians and
Hessians live in :mod:`gradwise.func.jacobians`, the shared argument handling in
``_args.py`` and the shared backward passes in ``_backward.py``.  Every transform (and
``TransformError``) stays importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gradwise.autograd.engine import grad as autograd_grad
from gradwise.autograd.grad_mode import enable_grad, is_grad_enabled
from gradwise.autograd.tensor import Tensor
from gradwise.func._args import (
    _DEPTH,
    TransformError,
    _argnums,
    _call,
    _check_argnums,
    _like,
    _prepare_with_tangents,
    _primals,
    _run,
    _scalar,
    _single,
    _split_aux,
)
from gradwise.func._backward import _finish, _linearize, _pullback, _regroup, _release, _zeros
from gradwise.func.jacobians import hessian, hvp, jacfwd, jacobian, jacrev
from gradwise.func.pytree import flatten, unflatten

__all__ = ["TransformError", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp",
           "value_and_grad", "vjp"]


def _value_and_grad(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int], has_aux: bool,
                    name: str) -> Callable[..., Any]:
    _check_argnums(argnums, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), name)
        grad_on = is_grad_enabled()
        with enable_grad():
            groups, out, aux, record = _run(f, args, kwargs, nums, has_aux, name, grad_on)
            out = _scalar(out, name)
            gs = _pullback([out], [None], [x for leaves, _ in groups for x in leaves], record)
        grads = _regroup(groups, gs, record)
        g = grads[0] if _single(argnums) else tuple(grads)
        value = _finish(out, record)
        return ((value, _release(aux, record)), g) if has_aux else (value, g)

    return wrapper


def value_and_grad(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int] = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """A function returning ``(f(*args), grad)``; ``((value, aux), grad)`` with ``has_aux``.

    ``f`` must return a scalar (a tensor of one element, shape ``()`` usually).
    ``grad`` is as in :func:`grad`: the structure and shapes of argument ``argnums``,
    or a tuple of those for a tuple ``argnums``.

    >>> import gradwise as gw
    >>> v, g = gw.func.value_and_grad(lambda x: (x ** 2).sum())(gw.tensor([1.0, 2.0]))
    >>> v.item(), g.tolist()
    (5.0, [2.0, 4.0])
    """
    return _value_and_grad(f, argnums, has_aux, "value_and_grad")


def grad(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int] = 0,
         has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of scalar-valued ``f`` with respect to argument(s) ``argnums``.

    Shapes: for ``x`` of shape ``S`` and ``f(x)`` of shape ``()``, ``grad(f)(x)`` has
    shape ``S``; a pytree argument (a dict of parameters) gives a gradient of the
    same structure; a tuple ``argnums`` gives a tuple, one entry per argument.
    Inputs that ``f`` does not use get zeros.  ``has_aux=True``: ``f`` returns
    ``(output, aux)`` and the result is ``(grad, aux)``.  Nests: ``grad(grad(f))``.

    >>> import gradwise as gw
    >>> d2 = gw.func.grad(gw.func.grad(lambda x: x ** 3))
    >>> d2(gw.tensor(2.0)).item()
    12.0
    """
    vg = _value_and_grad(f, argnums, has_aux, "grad")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(f(*primals), vjp_fn)`` (``(out, vjp_fn, aux)`` with ``has_aux``).

    ``vjp_fn(cotangents)``, with ``cotangents`` of the structure and shapes of the
    output, returns a tuple with one entry per primal (each of that primal's
    structure and shapes): ``cotangents @ J``.  It may be called many times.

    >>> import gradwise as gw
    >>> out, fn = gw.func.vjp(lambda x: x * 3, gw.ones(2))
    >>> fn(gw.tensor([1.0, 2.0]))[0].tolist()
    [3.0, 6.0]
    """
    nums = tuple(range(len(primals)))
    grad_on = is_grad_enabled()
    with enable_grad():
        groups, out, aux, record = _run(f, primals, {}, nums, has_aux, "vjp", grad_on)
    out_leaves, _ = flatten(out)
    inputs = [x for leaves, _ in groups for x in leaves]

    def vjp_fn(cotangents: Any) -> tuple[Any, ...]:
        cots = _like(cotangents, out_leaves, "vjp_fn", "cotangent", "output")
        create = is_grad_enabled() and (record or _DEPTH[0] > 0 or any(c.requires_grad for c in cots))
        with enable_grad():
            gs = _pullback(out_leaves, cots, inputs, create)
        return tuple(_regroup(groups, gs, create))

    shown = _release(out, record)
    return (shown, vjp_fn, _release(aux, record)) if has_aux else (shown, vjp_fn)


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> Any:
    """``(f(*primals), J @ tangents)``: the Jacobian-vector product (forward mode).

    ``primals`` and ``tangents`` are tuples, one entry per argument of ``f``, with
    matching structures and shapes; the second result has the structure and shapes
    of ``f``'s output.  Computed by the double-vjp trick (one forward, one recorded
    backward, one backward of that).  ``has_aux``: ``(out, jvp_out, aux)``.

    >>> import gradwise as gw
    >>> _, t = gw.func.jvp(lambda x: x ** 2, (gw.tensor([1.0, 3.0]),), (gw.ones(2),))
    >>> t.tolist()
    [2.0, 6.0]
    """
    primals, tangents = _primals(primals, tangents, "jvp")
    grad_on = is_grad_enabled()
    with enable_grad():
        new_args, groups, inputs, tans, record = _prepare_with_tangents(primals, tangents, "jvp", grad_on)
        out = _call(f, new_args, {})
        aux = None
        if has_aux:
            out, aux = _split_aux(out, "jvp")
        out_leaves, out_def = flatten(out)
        diff = [o for o in out_leaves if o.requires_grad]
        us, gs = _linearize(diff, inputs)
        keep = [(g, t) for g, t in zip(gs, tans) if g.requires_grad]
        jv: Sequence[Tensor | None] = [None] * len(us)
        if keep and us:
            jv = autograd_grad([g for g, _ in keep], us, grad_outputs=[t for _, t in keep],
                               retain_graph=True, create_graph=record, allow_unused=True)
    by_out = {id(o): j for o, j in zip(diff, jv) if j is not None}
    jv_out = [_finish(by_out[id(o)], record) if id(o) in by_out else _zeros(o) for o in out_leaves]
    res = (_release(out, record), unflatten(out_def, jv_out))
    return res + (_release(aux, record),) if has_aux else res
