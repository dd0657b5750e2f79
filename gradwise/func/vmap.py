"""``vmap``: map a function over a batch dimension, with ``torch.func.vmap``'s interface.

gradwise runs on NumPy and has no batching rules: ``vmap(f)(x)`` **is a loop**.  It
calls ``f`` once per index of the mapped dimension, on slices of the mapped inputs
(the unmapped ones passed whole), and stacks the outputs along ``out_dims``.  That is
correct for every function, including transforms of transforms (``vmap(grad(f))`` for
per-sample gradients, nested ``vmap``), and functions whose Python control flow
depends on the values; but it costs the loop's time (``B`` calls of ``f``, not one
call on the batch).  Write the batched code directly where speed matters.

Semantics as in PyTorch:

- ``in_dims``: an int, or a tuple with one entry per positional argument, each an int,
  ``None`` (not mapped: passed whole to every call) or a nested tuple/list/dict matching
  that argument's structure; an int or ``None`` applies to every tensor below it.
  Keyword arguments are never mapped.  Negative dims count from the end.
- ``out_dims``: an int, ``None`` or a pytree of them matching the output; where the
  batch dimension goes in each output.  ``None``: the output is not batched (the loop
  checks that every call returned the same value and returns it once).
- ``randomness``: ``'error'`` (the default) raises when ``f`` draws from gradwise's
  default generator, ``'different'`` gives every element its own draws (the loop's
  natural behaviour), ``'same'`` restores the default generator's state before every
  call so that all elements see the same draws.  Draws from an explicit ``generator=``
  are not watched.
- ``chunk_size`` is accepted and checked (``None`` or a positive int); the loop already
  runs one element at a time, so it changes nothing.

Not as in PyTorch: the mapped dimension may not have size 0 (there is no call to learn
the output's shape from), and an output of ``f`` whose shape depends on the element
cannot be stacked and raises.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from gradwise.api.random import default_generator
from gradwise.autograd.function import call
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError, format_shape
from gradwise.func._args import TransformError, _is_int
from gradwise.func.pytree import flatten, unflatten
from gradwise.ops.registry import REGISTRY

_RANDOMNESS = ("error", "different", "same")


class VmapRandomnessError(GradwiseError, RuntimeError):
    """``f`` drew random numbers inside ``vmap(..., randomness='error')``."""


class _MismatchError(Exception):
    """The dims pytree does not fit the structure it is matched against."""


def _name(func: Any) -> str:
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return str(getattr(func, "__name__", repr(func)))


def _structure(node: Any) -> str:
    """A short picture of a pytree for error messages: ``(Tensor, {'w': Tensor}, 3)``."""
    if isinstance(node, Tensor):
        return "Tensor"
    if isinstance(node, tuple):
        inner = ", ".join(_structure(v) for v in node)
        return f"({inner},)" if len(node) == 1 else f"({inner})"
    if isinstance(node, list):
        return "[" + ", ".join(_structure(v) for v in node) + "]"
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k!r}: {_structure(v)}" for k, v in node.items()) + "}"
    return type(node).__name__


def _match(dims: Any, tree: Any, non_tensor: Callable[[Any, Any], None]) -> list[Any]:
    """One dim per tensor leaf of ``tree``, in :func:`flatten`'s order.

    ``dims`` is a pytree prefix of ``tree``: an int or ``None`` at a node applies to
    every tensor below it.  ``non_tensor(dim, leaf)`` is called for every non-tensor
    leaf that gets an int dim (it raises).  Raises ``_MismatchError`` when the structures
    do not fit."""
    out: list[Any] = []

    def walk(d: Any, node: Any) -> None:
        container = isinstance(d, (tuple, list, dict))
        if isinstance(node, Tensor):
            if container:
                raise _MismatchError
            out.append(d)
        elif isinstance(node, (tuple, list)):
            if isinstance(d, dict) or (container and (isinstance(d, tuple) != isinstance(node, tuple)
                                                      or len(d) != len(node))):
                raise _MismatchError
            for dd, v in zip(d if container else [d] * len(node), node):
                walk(dd, v)
        elif isinstance(node, dict):
            if container and not (isinstance(d, dict) and set(d) == set(node)):
                raise _MismatchError
            for k, v in node.items():
                walk(d[k] if container else d, v)
        else:  # a constant: not a leaf of the flattened tree
            if container:
                raise _MismatchError
            if d is not None and node is not None:
                non_tensor(d, node)

    walk(dims, tree)
    return out


def _check_dims(dims: Any, check: Callable[[Any], None]) -> None:
    """Call ``check`` on every non-container entry of a dims pytree."""
    if isinstance(dims, (tuple, list)):
        for d in dims:
            _check_dims(d, check)
    elif isinstance(dims, dict):
        for d in dims.values():
            _check_dims(d, check)
    else:
        check(dims)


def _state() -> dict[str, Any]:
    return default_generator.get_state()


def vmap(func: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error",
         *, chunk_size: int | None = None) -> Callable[..., Any]:
    """``func`` mapped over a dimension of its inputs (``torch.func.vmap``), **as a loop**.

    ``vmap(f, in_dims, out_dims)(*args)`` calls ``f`` once per index ``i`` of the mapped
    dimension, with every mapped input sliced at ``i`` along its ``in_dims`` entry, and
    stacks the results along ``out_dims``.  Correct for any ``f`` (per-sample gradients
    with ``vmap(grad(loss), in_dims=(None, 0, 0))``, nested ``vmap``, data-dependent
    control flow), at the cost of ``B`` calls of ``f``: gradwise has no batching rules.
    See the module's docstring for ``in_dims``/``out_dims``/``randomness``.

    >>> import gradwise as gw
    >>> dot = lambda a, b: (a * b).sum()
    >>> gw.func.vmap(dot)(gw.ones(3, 2), gw.tensor([[1.0, 2.0]] * 3)).tolist()
    [3.0, 3.0, 3.0]
    >>> gw.func.vmap(dot, in_dims=(0, None))(gw.ones(3, 2), gw.tensor([1.0, 2.0])).shape
    (3,)
    """
    if randomness not in _RANDOMNESS:
        raise TransformError("Only allowed values for randomness are 'error', 'different', or 'same'. "
                             f"Got {randomness}")
    if chunk_size is not None and not (_is_int(chunk_size) and chunk_size > 0):
        raise TransformError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = _name(func)

    def check_out(d: Any) -> None:
        if d is not None and not _is_int(d):
            raise TransformError(f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, None "
                                 "or a python collection of ints representing where in the outputs the "
                                 "vmapped dimension should appear.")

    _check_dims(out_dims, check_out)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        head = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
        if not (_is_int(in_dims) or isinstance(in_dims, tuple)):
            raise TransformError(f"{head}: expected `in_dims` to be int or a (potentially nested) tuple "
                                 f"matching the structure of inputs, got: {type(in_dims)}.")
        if not args:
            raise TransformError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, "
                                 "or you are trying to vmap over a function with no inputs. The latter "
                                 "is unsupported.")

        def non_tensor(d: Any, leaf: Any) -> None:
            raise TransformError(f"{head}: Got in_dim={d} for an input but the input is of type "
                                 f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please use "
                                 "None as the respective in_dim")

        leaves, treedef = flatten(tuple(args))
        try:
            dims = _match(in_dims, tuple(args), non_tensor)
        except _MismatchError:
            raise TransformError(f"{head}: in_dims is not compatible with the structure of `inputs`. "
                                 f"in_dims has structure {in_dims} but inputs has structure "
                                 f"{_structure(tuple(args))}.") from None
        sizes = []
        for k, (x, d) in enumerate(zip(leaves, dims)):
            if d is None:
                continue
            if not _is_int(d):
                raise TransformError(f"{head}: Got in_dim={d} for an input but in_dim must be either an "
                                     "integer dimension or None.")
            if not -x.ndim <= d < x.ndim:
                raise TransformError(f"{head}: Got in_dim={d} for some input, but that input is a Tensor "
                                     f"of dimensionality {x.ndim} so expected in_dim to satisfy "
                                     f"-{x.ndim} <= in_dim < {x.ndim}.")
            dims[k] = int(d) % x.ndim
            sizes.append(x.shape[dims[k]])
        if not sizes:
            raise TransformError("vmap: Expected at least one Tensor to vmap over")
        if any(s != sizes[0] for s in sizes):
            raise TransformError("vmap: Expected all tensors to have the same size in the mapped "
                                 f"dimension, got sizes {sizes} for the mapped dimension")
        batch = sizes[0]
        if batch == 0:
            raise TransformError(f"vmap({name}): the mapped dimension has size 0; gradwise's vmap calls "
                                 f"{name} once per element and has no call to learn the output from")

        outs = []
        start = _state()
        for i in range(batch):
            sliced = [x if d is None else x[(slice(None),) * d + (i,)] for x, d in zip(leaves, dims)]
            if randomness == "same":
                default_generator.set_state(start)
            outs.append(func(*unflatten(treedef, sliced), **kwargs))
            if randomness == "error" and _state() != start:
                raise VmapRandomnessError("vmap: called random operation while in randomness error mode. "
                                          "Please either use the 'same' or 'different' randomness flags "
                                          "on vmap or perform the randomness operation out of vmap")
        return _stack_outputs(outs, out_dims, name)

    return wrapper


def _stack_outputs(outs: list[Any], out_dims: Any, name: str) -> Any:
    first = outs[0]
    leaves0, treedef = flatten(first)

    def non_tensor(d: Any, leaf: Any) -> None:
        raise TransformError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                             f"{type(leaf)}. Did you mean to set out_dims= to None for output?")

    def incompatible() -> TransformError:
        return TransformError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible "
                              f"with the structure of `outputs`. out_dims has structure {out_dims} but "
                              f"outputs has structure {_structure(first)}.")

    if isinstance(first, Tensor):
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            dims = [out_dims[0]]
        elif _is_int(out_dims) or out_dims is None:
            dims = [out_dims]
        else:
            raise incompatible()
    else:
        try:
            dims = _match(out_dims, first, non_tensor)
        except _MismatchError:
            raise incompatible() from None
    per_call = [leaves0]
    for out in outs[1:]:
        leaves, _ = flatten(out)
        if len(leaves) != len(leaves0):
            raise TransformError(f"vmap({name}): `{name}` returned {len(leaves0)} tensor(s) for element 0 "
                                 f"but {len(leaves)} for another; it must return the same structure "
                                 "for every element")
        per_call.append(leaves)
    result = []
    for k, d in enumerate(dims):
        parts = [leaves[k] for leaves in per_call]
        ref = parts[0]
        for i, p in enumerate(parts):
            if p.shape != ref.shape:
                raise TransformError(f"vmap({name}): output {k} has shape {format_shape(ref.shape)} for "
                                     f"element 0 but {format_shape(p.shape)} for element {i}; gradwise's "
                                     "vmap (a loop) stacks the outputs, so their shapes must not depend "
                                     "on the element")
        if d is None:
            if any(not np.array_equal(p._data, ref._data, equal_nan=ref.dtype.kind in "fc") for p in parts):
                raise TransformError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when "
                                     f"out_dim is None (output {k} differs between the elements of the "
                                     "batch; give it an int out_dim)")
            result.append(ref)
            continue
        nd = ref.ndim + 1
        if not -nd <= d < nd:
            raise TransformError(f"vmap({name}, ..., out_dims={out_dims}): Dimension out of range "
                                 f"(expected to be in range of [{-nd}, {nd - 1}], but got {d})")
        result.append(call(REGISTRY["stack"], parts, int(d) % nd))
    return unflatten(treedef, result)
