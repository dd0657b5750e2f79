"""Function transforms with JAX / torch.func semantics, built on reverse mode.

``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacrev``/``jacobian``,
``jacfwd``, ``hessian`` and ``hvp``.  Arguments and results may be pytrees
(nested tuples/lists/dicts of tensors).  Inputs are never mutated: each
transform differentiates with respect to fresh copies of them.

Nesting works (``grad(grad(f))``): when an input is itself being tracked by an
outer transform (it requires grad and grad mode is on), the inner transform
records its backward (``create_graph=True``) so the outer one can
differentiate through it; otherwise the backward runs on plain arrays, at
first-order speed.

Forward mode (``jvp``, ``jacfwd``) uses the double-vjp trick: ``u -> J^T u``
is linear in ``u``, so differentiating ``<J^T u, v>`` with respect to ``u``
gives ``J v``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradwise.autograd.creation import as_tensor
from gradwise.autograd.engine import grad as autograd_grad
from gradwise.autograd.grad_mode import enable_grad, is_grad_enabled
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError, ShapeError, format_shape
from gradwise.func.pytree import flatten, unflatten


class TransformError(GradwiseError, ValueError):
    """A transform was given arguments it cannot work with."""


def _argnums(argnums: int | Sequence[int], nargs: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise TransformError(f"{name}: argnums {argnums} is out of range for a function called "
                                 f"with {nargs} positional argument{'s' if nargs != 1 else ''}")
    return tuple(a % nargs for a in nums)


def _track(x: Any, name: str) -> tuple[Tensor, bool]:
    """A differentiable stand-in for input leaf ``x``; True when an outer transform tracks x."""
    if not isinstance(x, Tensor):
        x = as_tensor(np.asarray(x, dtype=np.float32) if isinstance(x, (int, float)) else x)
    if x.dtype.kind not in "fc":
        raise TransformError(f"{name}: cannot differentiate with respect to a {x.dtype.name} input; "
                             "pass floating-point tensors")
    if x.requires_grad and is_grad_enabled():
        return x.clone(), True  # stays connected to the outer graph
    return Tensor._make(x.data).requires_grad_(True), False


def _prepare(args: tuple[Any, ...], nums: tuple[int, ...],
             name: str) -> tuple[list[Any], list[list[Tensor]], list[Any], bool]:
    args = list(args)
    leaves_per_arg = []
    defs = []
    nested = False
    for a in nums:
        leaves, treedef = flatten(args[a] if not isinstance(args[a], (int, float, np.ndarray))
                                  else as_tensor(np.asarray(args[a], dtype=np.float32)
                                                 if isinstance(args[a], (int, float)) else args[a]))
        tracked = []
        for leaf in leaves:
            t, outer = _track(leaf, name)
            nested = nested or outer
            tracked.append(t)
        args[a] = unflatten(treedef, tracked)
        leaves_per_arg.append(tracked)
        defs.append(treedef)
    return args, leaves_per_arg, defs, nested


def _grads(outputs: list[Tensor], inputs: list[Tensor], cotangents: list[Any] | None,
           create_graph: bool) -> list[Tensor]:
    """Gradients of the outputs w.r.t. the inputs; unused inputs get zeros (as in JAX)."""
    outs = [o for o in outputs if o.requires_grad]
    gos = None
    if cotangents is not None:
        gos = [c for o, c in zip(outputs, cotangents) if o.requires_grad]
    if not outs or not inputs:
        return [_zeros(x) for x in inputs]
    gs = autograd_grad(outs, inputs, grad_outputs=gos, retain_graph=True, create_graph=create_graph,
                       allow_unused=True)
    return [g if g is not None else _zeros(x) for g, x in zip(gs, inputs)]


def _zeros(x: Tensor) -> Tensor:
    return Tensor._make(np.zeros_like(x.data))


def _detach(t: Any, keep: bool) -> Any:
    if keep or not isinstance(t, Tensor):
        return t
    return t.detach()


def _scalar(out: Any, name: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TransformError(f"{name}: the function must return a tensor, got {type(out).__name__}")
    if out.data.size != 1:
        raise ShapeError(f"{name}: the function must return a scalar (one element) to take its "
                         f"gradient, got shape {format_shape(out.shape)}; use vjp or jacrev for "
                         "non-scalar outputs, or reduce (e.g. .sum())")
    return out


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """A function returning ``(f(*args), grad)`` (``((value, aux), grad)`` with ``has_aux``).

    >>> import gradwise as gw
    >>> v, g = gw.func.value_and_grad(lambda x: (x ** 2).sum())(gw.tensor([1.0, 2.0]))
    >>> v.item(), g.tolist()
    (5.0, [2.0, 4.0])
    """
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "grad")
        with enable_grad():
            new_args, leaves, defs, nested = _prepare(args, nums, "grad")
            out = f(*new_args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise TransformError("grad(has_aux=True): the function must return (output, aux)")
                out, aux = out
            out = _scalar(out, "grad")
            flat = [x for group in leaves for x in group]
            gs = _grads([out], flat, None, create_graph=nested)
        results = []
        k = 0
        for group, treedef in zip(leaves, defs):
            results.append(unflatten(treedef, [_detach(g, nested) for g in gs[k:k + len(group)]]))
            k += len(group)
        g_out = results[0] if isinstance(argnums, int) else tuple(results)
        value = _detach(out, nested)
        return ((value, aux), g_out) if has_aux else (value, g_out)

    return wrapper


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
         has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of scalar-valued ``f`` with respect to argument(s) ``argnums``.

    The result has the structure of the argument (a tuple of them for tuple argnums);
    ``has_aux=True``: ``f`` returns ``(output, aux)`` and the result is ``(grad, aux)``.

    >>> import gradwise as gw
    >>> d2 = gw.func.grad(gw.func.grad(lambda x: x ** 3))
    >>> d2(gw.tensor(2.0)).item()
    12.0
    """
    vg = value_and_grad(f, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` returns one gradient per primal,
    ``cotangents`` having the structure of the output (``(out, vjp_fn, aux)`` with has_aux).

    >>> import gradwise as gw
    >>> out, fn = gw.func.vjp(lambda x: x * 3, gw.ones(2))
    >>> fn(gw.tensor([1.0, 2.0]))[0].tolist()
    [3.0, 6.0]
    """
    nums = tuple(range(len(primals)))
    with enable_grad():
        new_args, leaves, defs, nested = _prepare(primals, nums, "vjp")
        out = f(*new_args)
        aux = None
        if has_aux:
            out, aux = out
    out_leaves, out_def = flatten(out)

    def vjp_fn(cotangents: Any) -> tuple[Any, ...]:
        cot_leaves, _ = flatten(cotangents)
        if len(cot_leaves) != len(out_leaves):
            raise TransformError(f"vjp_fn: got {len(cot_leaves)} cotangent tensors for "
                                 f"{len(out_leaves)} outputs")
        for c, o in zip(cot_leaves, out_leaves):
            if c.shape != o.shape:
                raise ShapeError(f"vjp_fn: cotangent of shape {format_shape(c.shape)} for an output "
                                 f"of shape {format_shape(o.shape)}")
        create = nested or any(c.requires_grad for c in cot_leaves)
        with enable_grad():
            gs = _grads(out_leaves, [x for g in leaves for x in g], cot_leaves, create_graph=create)
        res = []
        k = 0
        for group, treedef in zip(leaves, defs):
            res.append(unflatten(treedef, [_detach(g, create) for g in gs[k:k + len(group)]]))
            k += len(group)
        return tuple(res)

    shown = unflatten(out_def, [_detach(o, nested) for o in out_leaves])
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J v)``: the Jacobian-vector product with ``tangents`` (forward mode
    by the double-vjp trick).

    >>> import gradwise as gw
    >>> _, t = gw.func.jvp(lambda x: x ** 2, (gw.tensor([1.0, 3.0]),), (gw.ones(2),))
    >>> t.tolist()
    [2.0, 6.0]
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise TransformError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    nums = tuple(range(len(primals)))
    with enable_grad():
        new_args, leaves, _, nested = _prepare(primals, nums, "jvp")
        out = f(*new_args)
        out_leaves, out_def = flatten(out)
        flat_in = [x for g in leaves for x in g]
        tan_leaves = [t for tan in tangents for t in flatten(tan)[0]]
        if len(tan_leaves) != len(flat_in):
            raise TransformError("jvp: tangents must have the structure of primals")
        for t, x in zip(tan_leaves, flat_in):
            if t.shape != x.shape:
                raise ShapeError(f"jvp: tangent of shape {format_shape(t.shape)} for a primal of "
                                 f"shape {format_shape(x.shape)}")
        # u -> J^T u is linear in u; its derivative along v in u-space gives J v.
        us = [Tensor._make(np.zeros_like(o.data)).requires_grad_(True) for o in out_leaves]
        gs = _grads(out_leaves, flat_in, us, create_graph=True)
        dot_terms = [(g * t).sum() for g, t in zip(gs, tan_leaves) if g.requires_grad]
        if dot_terms:
            total = dot_terms[0]
            for term in dot_terms[1:]:
                total = total + term
            jv = autograd_grad(total, us, retain_graph=True, create_graph=nested, allow_unused=True)
        else:
            jv = [None] * len(us)
    jv_out = [_detach(j, nested) if j is not None else _zeros(o) for j, o in zip(jv, out_leaves)]
    return (unflatten(out_def, [_detach(o, nested) for o in out_leaves]), unflatten(out_def, jv_out))


def _single_out(out: Any, name: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TransformError(f"{name}: the function must return one tensor, got {type(out).__name__}")
    return out


def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Jacobian by reverse mode (one vjp per output element): shape
    ``output.shape + input.shape`` (a tuple of them for tuple argnums).

    >>> import gradwise as gw
    >>> gw.func.jacrev(lambda x: x * gw.tensor([1.0, 2.0]))(gw.ones(2)).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    def wrapper(*args: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacrev")
        with enable_grad():
            new_args, leaves, _, nested = _prepare(args, nums, "jacrev")
            out = _single_out(f(*new_args), "jacrev")
            inputs = [g[0] if len(g) == 1 else None for g in leaves]
            if any(x is None for x in inputs):
                raise TransformError("jacrev: each differentiated argument must be a single tensor")
            rows: list[list[Tensor]] = [[] for _ in inputs]
            for k in range(out.data.size):
                seed = np.zeros(out.shape, dtype=out.dtype)
                seed.reshape(-1)[k] = 1.0
                gs = _grads([out], inputs, [Tensor._make(seed)], create_graph=nested)
                for r, g in zip(rows, gs):
                    r.append(g)
        from gradwise.autograd.function import call
        from gradwise.ops.registry import REGISTRY

        jacs = []
        for r, x in zip(rows, inputs):
            if r:
                j = call(REGISTRY["stack"], r, 0).reshape(tuple(out.shape) + tuple(x.shape))
            else:
                j = Tensor._make(np.zeros(tuple(out.shape) + tuple(x.shape), dtype=x.dtype))
            jacs.append(_detach(j, nested))
        return jacs[0] if isinstance(argnums, int) else tuple(jacs)

    return wrapper


jacobian = jacrev


def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Jacobian by forward mode (one jvp per input element); same shape as jacrev.

    >>> import gradwise as gw
    >>> gw.func.jacfwd(lambda x: x ** 2)(gw.tensor([1.0, 3.0])).tolist()
    [[2.0, 0.0], [0.0, 6.0]]
    """
    def wrapper(*args: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacfwd")
        from gradwise.autograd.function import call
        from gradwise.ops.registry import REGISTRY

        jacs = []
        for a in nums:
            x = args[a] if isinstance(args[a], Tensor) else as_tensor(args[a])
            cols = []
            out_shape: tuple[int, ...] = ()
            for k in range(x.data.size):
                tangent = np.zeros(x.shape, dtype=x.dtype)
                tangent.reshape(-1)[k] = 1.0

                def fa(xa: Tensor, a: int = a) -> Any:
                    call_args = list(args)
                    call_args[a] = xa
                    return f(*call_args)

                out, jv = jvp(fa, (x,), (Tensor._make(tangent),))
                out = _single_out(out, "jacfwd")
                out_shape = tuple(out.shape)
                cols.append(jv)
            if cols:
                j = call(REGISTRY["stack"], cols, -1 if out_shape else 0)
                j = j.reshape(out_shape + tuple(x.shape))
            else:
                j = Tensor._make(np.zeros(tuple(x.shape), dtype=x.dtype))
            jacs.append(j)
        return jacs[0] if isinstance(argnums, int) else tuple(jacs)

    return wrapper


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Hessian of scalar ``f``: shape ``input.shape + input.shape`` (jacrev of jacrev).

    >>> import gradwise as gw
    >>> gw.func.hessian(lambda x: (x ** 3).sum())(gw.tensor([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    def scalar_f(*args: Any) -> Any:
        out = f(*args)
        return _scalar(out, "hessian").reshape(())

    return jacrev(jacrev(scalar_f, argnums), argnums)


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), H v)``: the Hessian-vector product of scalar ``f`` without forming H
    (the gradient of ``<grad f, v>``).

    >>> import gradwise as gw
    >>> _, hv = gw.func.hvp(lambda x: (x ** 3).sum(), (gw.tensor([1.0, 2.0]),), (gw.ones(2),))
    >>> hv.tolist()
    [6.0, 12.0]
    """
    primals, tangents = tuple(primals), tuple(tangents)
    nums = tuple(range(len(primals)))
    with enable_grad():
        new_args, leaves, defs, nested = _prepare(primals, nums, "hvp")
        out = _scalar(f(*new_args), "hvp")
        flat = [x for g in leaves for x in g]
        gs = _grads([out], flat, None, create_graph=True)
        tan = [t for tt in tangents for t in flatten(tt)[0]]
        if len(tan) != len(flat):
            raise TransformError("hvp: tangents must have the structure of primals")
        terms = [(g * t).sum() for g, t in zip(gs, tan) if g.requires_grad]
        if terms:
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            hv = _grads([total], flat, None, create_graph=nested)
        else:
            hv = [_zeros(x) for x in flat]
    res = []
    k = 0
    for group, treedef in zip(leaves, defs):
        res.append(unflatten(treedef, [_detach(h, nested) for h in hv[k:k + len(group)]]))
        k += len(group)
    return _detach(out, nested), (res[0] if len(res) == 1 else tuple(res))
