"""Jacobians and Hessians: ``jacrev``/``jacobian`` (reverse mode, one vjp per output
element), ``jacfwd`` (forward mode by the double-vjp trick, one jvp per input element),
``hessian`` (reverse over reverse) and ``hvp`` (two backwards, no Hessian formed).

Arguments, results, pytrees, recording and nesting as in :mod:`gradwise.func.transforms`:
the Jacobian's layout is JAX's, the output's structure outside and the arguments' inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradwise.autograd.engine import grad as autograd_grad
from gradwise.autograd.function import call
from gradwise.autograd.grad_mode import enable_grad, is_grad_enabled
from gradwise.autograd.tensor import Tensor
from gradwise.func._args import (
    Groups,
    _argnums,
    _call,
    _check_argnums,
    _prepare_with_tangents,
    _primals,
    _run,
    _scalar,
    _single,
)
from gradwise.func._backward import _finish, _linearize, _pullback, _regroup, _release, _zeros
from gradwise.func.pytree import flatten, unflatten
from gradwise.ops.registry import REGISTRY


def _stack(parts: list[Tensor], axis: int, shape: tuple[int, ...], dtype: Any, record: bool) -> Tensor:
    """``parts`` stacked on ``axis`` and reshaped to ``shape`` (zeros when there are none)."""
    if not parts:
        return Tensor._make(np.zeros(shape, dtype=dtype))
    if record and any(p.requires_grad for p in parts):
        return call(REGISTRY["stack"], parts, axis).reshape(shape)
    return Tensor._make(np.stack([p._data for p in parts], axis=axis).reshape(shape))


def _basis(shape: tuple[int, ...], dtype: Any, k: int) -> Tensor:
    e = np.zeros(shape, dtype=dtype)
    e.reshape(-1)[k] = 1
    return Tensor._make(e)


def _jacobian_tree(out_def: Any, groups: Groups, blocks: list[list[Tensor]], single: bool,
                   record: bool) -> Any:
    """JAX's layout: the output's structure outside, the arguments' inside."""
    per_out = []
    for row in blocks:
        args = _regroup(groups, row, record)
        per_out.append(args[0] if single else tuple(args))
    return unflatten(out_def, per_out)


def _jacrev(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int], has_aux: bool,
            name: str) -> Callable[..., Any]:
    _check_argnums(argnums, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), name)
        grad_on = is_grad_enabled()
        with enable_grad():
            groups, out, aux, record = _run(f, args, kwargs, nums, has_aux, name, grad_on)
            out_leaves, out_def = flatten(out)
            inputs = [x for leaves, _ in groups for x in leaves]
            blocks = []
            for o in out_leaves:
                rows: list[list[Tensor]] = [[] for _ in inputs]
                if o.requires_grad:
                    for k in range(o._data.size):  # one vjp per output element: row k of J
                        gs = _pullback([o], [_basis(o.shape, o.dtype, k)], inputs, record)
                        for r, g in zip(rows, gs):
                            r.append(g)
                blocks.append([_stack(r, 0, tuple(o.shape) + tuple(x.shape), x.dtype, record)
                               for r, x in zip(rows, inputs)])
        jac = _jacobian_tree(out_def, groups, blocks, _single(argnums), record)
        return (jac, _release(aux, record)) if has_aux else jac

    return wrapper


def jacrev(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int] = 0,
           has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by reverse mode: one vjp per output element.

    Shapes: ``x`` of shape ``S`` and ``f(x)`` of shape ``T`` give a Jacobian of shape
    ``T + S`` (``J[i..., j...] = d f[i...] / d x[j...]``).  Pytrees as in JAX: the
    output's structure outside, the argument's inside (a tuple over a tuple
    ``argnums``).  Cheap when the output is small.  ``has_aux``: ``(jac, aux)``.

    >>> import gradwise as gw
    >>> gw.func.jacrev(lambda x: x * gw.tensor([1.0, 2.0]))(gw.ones(2)).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    return _jacrev(f, argnums, has_aux, "jacrev")


def jacobian(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int] = 0,
             has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian (reverse mode, like :func:`jacrev`): shape ``output.shape + input.shape``.

    >>> import gradwise as gw
    >>> gw.func.jacobian(lambda x: x.sum(0))(gw.ones(2, 3)).shape
    (3, 2, 3)
    """
    return _jacrev(f, argnums, has_aux, "jacobian")


def jacfwd(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int] = 0,
           has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by forward mode: one jvp per input element.

    Same shapes and pytree layout as :func:`jacrev` (``output.shape + input.shape``).
    ``f`` runs once and its pullback is recorded once; each input element then costs
    one backward through that record.  Cheap when the input is small.

    >>> import gradwise as gw
    >>> gw.func.jacfwd(lambda x: x ** 2)(gw.tensor([1.0, 3.0])).tolist()
    [[2.0, 0.0], [0.0, 6.0]]
    """
    _check_argnums(argnums, "jacfwd")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacfwd")
        grad_on = is_grad_enabled()
        with enable_grad():
            groups, out, aux, record = _run(f, args, kwargs, nums, has_aux, "jacfwd", grad_on)
            out_leaves, out_def = flatten(out)
            inputs = [x for leaves, _ in groups for x in leaves]
            diff = [o for o in out_leaves if o.requires_grad]
            us, gs = _linearize(diff, inputs)
            cols: dict[int, list[list[Tensor]]] = {id(o): [[] for _ in inputs] for o in diff}
            for j, (x, g) in enumerate(zip(inputs, gs)):
                if not (g.requires_grad and us):
                    continue
                for k in range(x._data.size):  # one jvp per input element: column k of J
                    cs = autograd_grad(g, us, grad_outputs=_basis(x.shape, g.dtype, k),
                                       retain_graph=True, create_graph=record, allow_unused=True)
                    for o, c in zip(diff, cs):
                        cols[id(o)][j].append(c if c is not None else _zeros(o))
            blocks = []
            for o in out_leaves:
                per_in = cols.get(id(o), [[] for _ in inputs])
                blocks.append([_stack(c, o.ndim, tuple(o.shape) + tuple(x.shape), x.dtype, record)
                               for c, x in zip(per_in, inputs)])
        jac = _jacobian_tree(out_def, groups, blocks, _single(argnums), record)
        return (jac, _release(aux, record)) if has_aux else jac

    return wrapper


def hessian(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int] = 0) -> Callable[..., Any]:
    """The Hessian of ``f``: the Jacobian of its Jacobian (computed reverse over reverse).

    Shape ``S + S`` for an argument of shape ``S`` and a scalar (one-element) output;
    for an output of shape ``T`` (a vector-valued ``f``), ``T + S + S``:
    ``H[i..., j..., k...] = d^2 f[i...] / dx[j...] dx[k...]``, as ``torch.func.hessian``
    (``jacfwd(jacrev(f))``).  Pytree outputs give the output's structure outside.  For a
    tuple ``argnums`` a tuple of tuples of blocks, ``H[a][b]`` of shape
    ``T + S_a + S_b`` (as in JAX).

    >>> import gradwise as gw
    >>> gw.func.hessian(lambda x: (x ** 3).sum())(gw.tensor([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    >>> gw.func.hessian(lambda x: x ** 3)(gw.tensor([1.0, 2.0])).shape
    (2, 2, 2)
    """
    _check_argnums(argnums, "hessian")

    def squeezed_f(*args: Any, **kwargs: Any) -> Any:
        out = f(*args, **kwargs)
        if isinstance(out, Tensor) and out._data.size == 1:
            return out.reshape(())  # one element: a scalar, Hessian of shape S + S
        return out

    return _jacrev(_jacrev(squeezed_f, argnums, False, "hessian"), argnums, False, "hessian")


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), H @ tangents)``: the Hessian-vector product of scalar-valued ``f``,
    as the gradient of ``<grad f, v>`` (two backwards, no Hessian formed).

    ``primals``/``tangents``: tuples, one entry per argument (all are differentiated).
    The product has the primal's structure and shapes (a tuple of them when there are
    several primals).

    >>> import gradwise as gw
    >>> _, hv = gw.func.hvp(lambda x: (x ** 3).sum(), (gw.tensor([1.0, 2.0]),), (gw.ones(2),))
    >>> hv.tolist()
    [6.0, 12.0]
    """
    primals, tangents = _primals(primals, tangents, "hvp")
    grad_on = is_grad_enabled()
    with enable_grad():
        new_args, groups, inputs, tans, record = _prepare_with_tangents(primals, tangents, "hvp", grad_on)
        out = _scalar(_call(f, new_args, {}), "hvp")
        gs = _pullback([out], [None], inputs, create=True)
        keep = [(g, t) for g, t in zip(gs, tans) if g.requires_grad]
        hv = [_zeros(x) for x in inputs]
        if keep:
            # H v = d<grad f, v>/dx: the gradients seeded with v, differentiated once more.
            hv = _pullback([g for g, _ in keep], [t for _, t in keep], inputs, record)
    res = _regroup(groups, hv, record)
    return _finish(out, record), (res[0] if len(res) == 1 else tuple(res))
