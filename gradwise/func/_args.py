"""What the function transforms share about their arguments: checking ``argnums``,
fresh differentiable copies of the arguments, calling the user's function (and counting
how deep transforms nest), splitting ``(output, aux)``, and matching tangents or
cotangents to the tensors they go with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any

import numpy as np

from gradwise.api.creation import as_tensor
from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import get_default_dtype
from gradwise.errors import DtypeError, GradwiseError, ShapeError, format_shape
from gradwise.func.pytree import flatten, unflatten


class TransformError(GradwiseError, ValueError):
    """A transform was given arguments it cannot work with."""


# How many transforms are evaluating a user function right now.  Inside one, every
# transform records its backward: the enclosing transform may differentiate through
# it, also through tensors that the inner function closes over.
_DEPTH = [0]


def _is_int(a: Any) -> bool:
    """An int (Python or NumPy), not a bool."""
    return isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))


def _check_argnums(argnums: Any, name: str) -> None:
    if not (_is_int(argnums) or (isinstance(argnums, (tuple, list)) and argnums
                                 and all(_is_int(a) for a in argnums))):
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
    return Tensor._make(x._data).requires_grad_(True)


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


def _prepare_with_tangents(primals: Sequence[Any], tangents: Sequence[Any], name: str,
                           grad_on: bool) -> tuple[list[Any], Groups, list[Tensor], list[Tensor], bool]:
    """:func:`_prepare` for ``jvp``/``hvp``, which differentiate every primal: the new
    arguments, the copies per argument, all copies in one list, the tangents as tensors
    matching them, and whether the backward must be recorded (also when a tangent
    requires grad).  ``primals``/``tangents`` as :func:`_primals` returns them."""
    new_args, groups, record = _prepare(primals, tuple(range(len(primals))), name, grad_on)
    inputs = [x for leaves, _ in groups for x in leaves]
    tans = _like(tangents, inputs, name, "tangent", "primal")
    record = record or (grad_on and any(t.requires_grad for t in tans))
    return new_args, groups, inputs, tans, record


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
    if out._data.size != 1:
        raise ShapeError(f"{name}: the function must return a scalar (one element) to take its "
                         f"gradient, got shape {format_shape(out.shape)}; use vjp or jacrev for "
                         "non-scalar outputs, or reduce it (e.g. .sum())")
    if out.dtype.kind not in "fc":
        raise DtypeError(f"{name}: the function returned a {out.dtype.name} scalar, which has no "
                         "gradient; return a floating-point tensor")
    return out


def _run(f: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], nums: tuple[int, ...],
         has_aux: bool, name: str, grad_on: bool) -> tuple[Groups, Any, Any, bool]:
    """``f`` called on fresh differentiable copies of ``args`` at ``nums``: the copies per
    argument (as :func:`_prepare` gives them), the output, the aux (``None`` without
    ``has_aux``) and whether the backward must be recorded.  Call it under
    ``enable_grad()``, with ``grad_on`` the grad mode the caller saw before entering it."""
    new_args, groups, record = _prepare(args, nums, name, grad_on)
    out = _call(f, new_args, kwargs)
    aux = None
    if has_aux:
        out, aux = _split_aux(out, name)
    return groups, out, aux, record
