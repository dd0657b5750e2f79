"""``torch.autograd.functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``.

PyTorch's older, tensor-in/tensor-out interface to the transforms of :mod:`gradwise.func`.
``inputs`` is a Tensor or a tuple of Tensors and the results mirror it: with a Tensor you get a
Tensor, with a tuple a tuple (one entry per input; for ``jacobian``/``hessian`` of a function
with several outputs, one tuple per output).  The results carry no history unless
``create_graph=True``, which makes them differentiable.  ``strict``, ``vectorize`` and the
``strategy`` options are accepted: gradwise always computes in reverse mode, row by row
(``strict=True`` is not checked: an input the output does not depend on gets zeros).

Shapes: ``jacobian`` of ``f: (*in) -> (*out)`` is ``(*out, *in)``; ``hessian`` of a scalar
function of ``(*in)`` is ``(*in, *in)``; ``vjp``'s ``v`` has the output's shape, ``jvp``'s,
``hvp``'s and ``vhp``'s the input's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradwise.autograd.tensor import Tensor
from gradwise.func.jacobians import jacrev
from gradwise.func.pytree import tree_map
from gradwise.func.transforms import TransformError, grad
from gradwise.func.transforms import jvp as _jvp
from gradwise.func.transforms import vjp as _vjp


def _inputs(name: str, inputs: Any) -> tuple[tuple[Tensor, ...], bool]:
    single = isinstance(inputs, Tensor)
    items = (inputs,) if single else tuple(inputs) if isinstance(inputs, (tuple, list)) else None
    if items is None or not all(isinstance(t, Tensor) for t in items):
        raise TransformError(f"autograd.functional.{name}: inputs must be a Tensor or a tuple of Tensors, got "
                             f"{type(inputs).__name__}")
    return tuple(items), single


def _finish(result: Any, create_graph: bool) -> Any:
    return result if create_graph else tree_map(lambda t: t.detach() if isinstance(t, Tensor) else t, result)


def _v(name: str, v: Any, like: Any, single: bool, what: str) -> Any:
    """``v`` as a tuple matching ``like`` (a tuple of Tensors); ones when ``v`` is None and
    every entry of ``like`` has one element (torch's rule)."""
    if v is None:
        if any(t._data.size != 1 for t in like):
            raise TransformError(f"autograd.functional.{name}: v can only be omitted when the {what} has a single "
                                 f"element; pass v with the {what}'s shape")
        return tuple(Tensor._make(t._data * 0 + 1) for t in like)
    vs = (v,) if isinstance(v, Tensor) else tuple(v)
    if len(vs) != len(like) or any(a.shape != b.shape for a, b in zip(vs, like)):
        raise TransformError(f"autograd.functional.{name}: v must match the {what}'s shapes "
                             f"{[tuple(t.shape) for t in like]}, got {[tuple(t.shape) for t in vs]}")
    return vs


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``: ``(*out, *in)`` per (output, input) pair.

    >>> import gradwise as gw
    >>> from gradwise.func.autograd_functional import jacobian
    >>> jacobian(lambda x: x ** 2, gw.tensor([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    items, single = _inputs("jacobian", inputs)
    argnums: int | tuple[int, ...] = 0 if single else tuple(range(len(items)))
    return _finish(jacrev(func, argnums=argnums)(*items), create_graph)


def hessian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``: ``(*in_i, *in_j)`` per pair of inputs.

    >>> import gradwise as gw
    >>> from gradwise.func.autograd_functional import hessian
    >>> hessian(lambda x: (x ** 3).sum(), gw.tensor([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    items, single = _inputs("hessian", inputs)
    argnums: int | tuple[int, ...] = 0 if single else tuple(range(len(items)))
    return _finish(jacrev(jacrev(func, argnums=argnums), argnums=argnums)(*items), create_graph)


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), vᵀJ)``: ``v`` has the output's shape, the result the inputs'.

    >>> import gradwise as gw
    >>> from gradwise.func.autograd_functional import vjp
    >>> out, g = vjp(lambda x: x ** 2, gw.tensor([1.0, 2.0]), gw.tensor([1.0, 1.0]))
    >>> g.tolist()
    [2.0, 4.0]
    """
    items, single = _inputs("vjp", inputs)
    out, back = _vjp(func, *items)
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    vs = _v("vjp", v, outs, isinstance(out, Tensor), "output")
    grads = back(vs[0] if isinstance(out, Tensor) else vs)
    return _finish(out, create_graph), _finish(grads[0] if single else tuple(grads), create_graph)


def jvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: ``v`` has the inputs' shapes, the result the output's.

    >>> import gradwise as gw
    >>> from gradwise.func.autograd_functional import jvp
    >>> jvp(lambda x: x ** 2, gw.tensor([1.0, 2.0]), gw.tensor([1.0, 0.0]))[1].tolist()
    [2.0, 0.0]
    """
    items, single = _inputs("jvp", inputs)
    vs = _v("jvp", v, items, single, "input")
    out, tangent = _jvp(func, items, vs)
    return _finish(out, create_graph), _finish(tangent, create_graph)


def vhp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), vᵀH)`` for a scalar ``func``; ``v`` has the inputs' shapes.

    >>> import gradwise as gw
    >>> from gradwise.func.autograd_functional import vhp
    >>> vhp(lambda x: (x ** 3).sum(), gw.tensor([1.0, 2.0]), gw.tensor([1.0, 1.0]))[1].tolist()
    [6.0, 12.0]
    """
    items, single = _inputs("vhp", inputs)
    vs = _v("vhp", v, items, single, "input")
    argnums: int | tuple[int, ...] = 0 if single else tuple(range(len(items)))
    value = func(*items)
    if not isinstance(value, Tensor) or value._data.size != 1:
        raise TransformError("autograd.functional.vhp: func must return a Tensor with a single element")
    # vᵀH is the vector-Jacobian product of the gradient function
    _, back = _vjp(grad(func, argnums=argnums), *items)
    res = back(vs[0] if single else vs)
    return _finish(value, create_graph), _finish(res[0] if single else tuple(res), create_graph)


def hvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(inputs), H v)`` for a scalar ``func``: equal to ``vᵀH`` since a Hessian of a twice
    continuously differentiable function is symmetric.

    >>> import gradwise as gw
    >>> from gradwise.func.autograd_functional import hvp
    >>> hvp(lambda x: (x ** 3).sum(), gw.tensor([1.0, 2.0]), gw.tensor([1.0, 0.0]))[1].tolist()
    [6.0, 0.0]
    """
    try:
        return vhp(func, inputs, v, create_graph, strict)
    except TransformError as exc:
        raise TransformError(str(exc).replace("functional.vhp", "functional.hvp")) from None


__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]
