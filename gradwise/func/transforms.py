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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any

import numpy as np

from gradwise.api.creation import as_tensor
from gradwise.autograd.engine import grad as autograd_grad
from gradwise.autograd.function import call
from gradwise.autograd.grad_mode import enable_grad, is_grad_enabled
from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import get_default_dtype
from gradwise.errors import DtypeError, GradwiseError, ShapeError, format_shape
from gradwise.func.pytree import flatten, unflatten
from gradwise.ops.registry import REGISTRY


class TransformError(GradwiseError, ValueError):
    """A transform was given arguments it cannot work with."""


# How many transforms are evaluating a user function right now.  Inside one, every
# transform records its backward: the enclosing transform may differentiate through
# it, also through tensors that the inner function closes over.
_DEPTH = [0]


# ---------------------------------------------------------------------------- arguments

def _check_argnums(argnums: Any, name: str) -> None:
    def is_int(a: Any) -> bool:
        return isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))

    if not (is_int(argnums) or (isinstance(argnums, (tuple, list)) and argnums
                                and all(is_int(a) for a in argnums))):
        raise TransformError(f"{name}: argnums must be an int or a non-empty tuple of ints, "
                             f"got {argnums!r}")


def _argnums(argnums: int | tuple[int, ...] | list[int], nargs: int, name: str) -> tuple[int, ...]:
    nums = (int(argnums),) if not isinstance(argnums, (tuple, list)) else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            valid = f"valid: {-nargs} to {nargs - 1}" if nargs else "pass the argument to differentiate"
            raise TransformError(f"{name}: argnums {a} is out of range for a function called with "
                                 f"{nargs} positional argument{'' if nargs == 1 else 's'} ({valid})")
    norm = tuple(a % nargs for a in nums)
    if len(set(norm)) != len(norm):
        raise TransformError(f"{name}: argnums {tuple(nums)} names the same argument twice")
    return norm


def _single(argnums: Any) -> bool:
    return not isinstance(argnums, (tuple, list))


def _to_tensor(x: Any, dtype: Any = None) -> Tensor:
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else x.to(dtype)
    if dtype is None and isinstance(x, (int, float)):
        dtype = get_default_dtype()  # Python numbers: the default float dtype
    return as_tensor(x, dtype=dtype)


def _fresh(x: Tensor, record: bool, name: str, argnum: int) -> Tensor:
    """The tensor a transform differentiates with respect to, standing in for leaf ``x``."""
    if x.dtype.kind not in "fc":
        raise DtypeError(f"{name}: cannot differentiate with respect to a {x.dtype.name} tensor "
                         f"(argument {argnum}, shape {format_shape(x.shape)}); pass floating-point "
                         "tensors, e.g. x.float()")
    if record and x.requires_grad:
        # A new node: gradients with respect to it belong to this transform alone,
        # and flow on to ``x`` when the caller differentiates the result.
        return x.clone()
    return Tensor._make(x.data).requires_grad_(True)


Groups = list[tuple[list[Tensor], Any]]


def _prepare(args: Sequence[Any], nums: tuple[int, ...], name: str,
             grad_on: bool) -> tuple[list[Any], Groups, bool]:
    """Arguments with fresh differentiable copies at ``nums``, the copies per argument
    (with each argument's treedef), and whether the backward must be recorded."""
    new_args = list(args)
    found = []
    for a in nums:
        arg = new_args[a]
        if not isinstance(arg, (Tensor, tuple, list, dict)):
            if isinstance(arg, bool) or not isinstance(arg, (Number, np.ndarray, np.generic)):
                raise TransformError(f"{name}: argument {a} is a {type(arg).__name__}; differentiate "
                                     "with respect to tensors or tuples/lists/dicts of tensors")
            arg = _to_tensor(arg)
        found.append(flatten(arg))
    record = grad_on and (_DEPTH[0] > 0 or any(x.requires_grad for leaves, _ in found for x in leaves))
    groups: Groups = []
    for a, (leaves, treedef) in zip(nums, found):
        fresh = [_fresh(x, record, name, a) for x in leaves]
        new_args[a] = unflatten(treedef, fresh)
        groups.append((fresh, treedef))
    return new_args, groups, record


def _call(f: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    _DEPTH[0] += 1
    try:
        return f(*args, **kwargs)
    finally:
        _DEPTH[0] -= 1


def _primals(primals: Any, tangents: Any, name: str) -> tuple[tuple[Any, ...], Any]:
    if isinstance(primals, Tensor):
        primals, tangents = (primals,), (tangents,)
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TransformError(f"{name}: primals and tangents must be tuples with one entry per "
                             f"argument of the function, e.g. (x,) and (v,); got "
                             f"{type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise TransformError(f"{name}: {len(primals)} primals but {len(tangents)} tangents; "
                             "give one tangent per primal")
    return tuple(primals), tuple(tangents)


def _is_value(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray, np.generic)) or (isinstance(x, Number)
                                                               and not isinstance(x, bool))


def _like(tree: Any, refs: list[Tensor], name: str, what: str, of: str) -> list[Tensor]:
    """The leaves of ``tree`` as tensors matching ``refs`` in count, shape and dtype."""
    leaves, _ = flatten(tree, is_leaf=_is_value)
    if len(leaves) != len(refs):
        raise TransformError(f"{name}: got {len(leaves)} {what} tensor(s) for {len(refs)} {of} "
                             f"tensor(s); {what}s must have the structure of the {of}s")
    out = []
    for i, (t, r) in enumerate(zip(leaves, refs)):
        t = _to_tensor(t, r.dtype if r.dtype.kind in "fc" else None)
        if t.shape != r.shape:
            raise ShapeError(f"{name}: {what} {i} has shape {format_shape(t.shape)} but {of} {i} has "
                             f"shape {format_shape(r.shape)}; they must match")
        out.append(t)
    return out


def _split_aux(out: Any, name: str) -> tuple[Any, Any]:
    if not (isinstance(out, tuple) and len(out) == 2):
        got = f"a tuple of {len(out)}" if isinstance(out, tuple) else f"a {type(out).__name__}"
        raise TransformError(f"{name}(has_aux=True): the function must return a pair "
                             f"(output, aux), got {got}")
    return out


def _scalar(out: Any, name: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TransformError(f"{name}: the function must return a scalar tensor, got "
                             f"{type(out).__name__}")
    if out.data.size != 1:
        raise ShapeError(f"{name}: the function must return a scalar (one element) to take its "
                         f"gradient, got shape {format_shape(out.shape)}; use vjp or jacrev for "
                         "non-scalar outputs, or reduce it (e.g. .sum())")
    if out.dtype.kind not in "fc":
        raise DtypeError(f"{name}: the function returned a {out.dtype.name} scalar, which has no "
                         "gradient; return a floating-point tensor")
    return out


# ---------------------------------------------------------------------------- gradients

def _zeros(x: Tensor) -> Tensor:
    return Tensor._make(np.zeros(x.shape, dtype=x.dtype))


def _pullback(outs: list[Tensor], cots: list[Any], inputs: list[Tensor], create: bool) -> list[Tensor]:
    """``sum_i cot_i^T d out_i / d input`` for every input; zeros where unused (as in JAX)."""
    keep = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
    gs: Sequence[Tensor | None] = [None] * len(inputs)
    if keep and inputs:
        # retain_graph: the walk may reach graphs the caller built (closed-over tensors)
        # and must not free them; this transform's own graph goes with its tensors.
        gs = autograd_grad([o for o, _ in keep], inputs, grad_outputs=[c for _, c in keep],
                           retain_graph=True, create_graph=create, allow_unused=True)
    return [g if g is not None else _zeros(x) for g, x in zip(gs, inputs)]


def _linearize(outs: list[Tensor], inputs: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
    """Dummy cotangents ``us`` (one per output) and the recorded pullbacks
    ``gs[j] = sum_i J_ij^T u_i``, linear in ``us``: ``d<gs, v>/du_i = J_i v``."""
    us = [Tensor._make(np.zeros(o.shape, dtype=o.dtype)).requires_grad_(True) for o in outs]
    return us, _pullback(outs, us, inputs, create=True)


def _finish(t: Any, record: bool) -> Any:
    if record or not isinstance(t, Tensor) or (t.grad_fn is None and not t.requires_grad):
        return t
    return t.detach()


def _release(tree: Any, record: bool) -> Any:
    """``tree`` with its tensors detached unless the result must stay in the graph."""
    if record:
        return tree
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [_finish(t, False) for t in leaves])


def _regroup(groups: Groups, flat: list[Tensor], record: bool) -> list[Any]:
    """Per-argument pytrees from the flat list of per-leaf results."""
    res, k = [], 0
    for leaves, treedef in groups:
        res.append(unflatten(treedef, [_finish(t, record) for t in flat[k:k + len(leaves)]]))
        k += len(leaves)
    return res


def _stack(parts: list[Tensor], axis: int, shape: tuple[int, ...], dtype: Any, record: bool) -> Tensor:
    """``parts`` stacked on ``axis`` and reshaped to ``shape`` (zeros when there are none)."""
    if not parts:
        return Tensor._make(np.zeros(shape, dtype=dtype))
    if record and any(p.requires_grad for p in parts):
        return call(REGISTRY["stack"], parts, axis).reshape(shape)
    return Tensor._make(np.stack([p.data for p in parts], axis=axis).reshape(shape))


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


# ---------------------------------------------------------------------------- transforms

def _value_and_grad(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int], has_aux: bool,
                    name: str) -> Callable[..., Any]:
    _check_argnums(argnums, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), name)
        grad_on = is_grad_enabled()
        with enable_grad():
            new_args, groups, record = _prepare(args, nums, name, grad_on)
            out = _call(f, new_args, kwargs)
            aux = None
            if has_aux:
                out, aux = _split_aux(out, name)
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
        new_args, groups, record = _prepare(primals, nums, "vjp", grad_on)
        out = _call(f, new_args, {})
        aux = None
        if has_aux:
            out, aux = _split_aux(out, "vjp")
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
        new_args, groups, record = _prepare(primals, tuple(range(len(primals))), "jvp", grad_on)
        inputs = [x for leaves, _ in groups for x in leaves]
        tans = _like(tangents, inputs, "jvp", "tangent", "primal")
        record = record or (grad_on and any(t.requires_grad for t in tans))
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


def _jacrev(f: Callable[..., Any], argnums: int | tuple[int, ...] | list[int], has_aux: bool,
            name: str) -> Callable[..., Any]:
    _check_argnums(argnums, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), name)
        grad_on = is_grad_enabled()
        with enable_grad():
            new_args, groups, record = _prepare(args, nums, name, grad_on)
            out = _call(f, new_args, kwargs)
            aux = None
            if has_aux:
                out, aux = _split_aux(out, name)
            out_leaves, out_def = flatten(out)
            inputs = [x for leaves, _ in groups for x in leaves]
            blocks = []
            for o in out_leaves:
                rows: list[list[Tensor]] = [[] for _ in inputs]
                if o.requires_grad:
                    for k in range(o.data.size):  # one vjp per output element: row k of J
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
            new_args, groups, record = _prepare(args, nums, "jacfwd", grad_on)
            out = _call(f, new_args, kwargs)
            aux = None
            if has_aux:
                out, aux = _split_aux(out, "jacfwd")
            out_leaves, out_def = flatten(out)
            inputs = [x for leaves, _ in groups for x in leaves]
            diff = [o for o in out_leaves if o.requires_grad]
            us, gs = _linearize(diff, inputs)
            cols: dict[int, list[list[Tensor]]] = {id(o): [[] for _ in inputs] for o in diff}
            for j, (x, g) in enumerate(zip(inputs, gs)):
                if not (g.requires_grad and us):
                    continue
                for k in range(x.data.size):  # one jvp per input element: column k of J
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
        if isinstance(out, Tensor) and out.data.size == 1:
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
        new_args, groups, record = _prepare(primals, tuple(range(len(primals))), "hvp", grad_on)
        inputs = [x for leaves, _ in groups for x in leaves]
        tans = _like(tangents, inputs, "hvp", "tangent", "primal")
        record = record or (grad_on and any(t.requires_grad for t in tans))
        out = _scalar(_call(f, new_args, {}), "hvp")
        gs = _pullback([out], [None], inputs, create=True)
        keep = [(g, t) for g, t in zip(gs, tans) if g.requires_grad]
        hv = [_zeros(x) for x in inputs]
        if keep:
            # H v = d<grad f, v>/dx: the gradients seeded with v, differentiated once more.
            hv = _pullback([g for g, _ in keep], [t for _, t in keep], inputs, record)
    res = _regroup(groups, hv, record)
    return _finish(out, record), (res[0] if len(res) == 1 else tuple(res))
