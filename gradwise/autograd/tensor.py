"""``Tensor``: a NumPy array plus what reverse-mode autodiff needs.

A tensor is a leaf (made by the user, ``grad_fn is None``) or the result of an
op (``grad_fn`` is the recorded :class:`~gradwise.autograd.node.Node`).  Leaves
with ``requires_grad=True`` receive ``.grad`` on backward.  Ops are reached
through :func:`gradwise.autograd.function.apply`; most methods are bound from
the op table by :mod:`gradwise.autograd.bind`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from gradwise.autograd.grad_mode import _STATE
from gradwise.errors import DtypeError, GraphError, ShapeError, format_shape


def _dtype_name(dtype: np.dtype) -> str:
    return np.dtype(dtype).name


class Tensor:
    """An n-dimensional array that records the ops applied to it.

    Args:
        data: array-like; Python floats become float32, ints int64, NumPy
            arrays keep their dtype (like ``torch.tensor``).  The data is copied.
        dtype: optional dtype (``gradwise.float64``, ``"float64"``, ``np.float64``).
        requires_grad: record ops on this tensor and fill ``.grad`` on backward.

    >>> import gradwise as gw
    >>> x = gw.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("data", "requires_grad", "grad", "grad_fn", "_version", "_hooks", "__weakref__")
    # ndarray <op> Tensor must defer to Tensor's reflected operator, not turn the
    # tensor into an array and drop the graph.
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        from gradwise.autograd.creation import as_array

        self.data = as_array(data, dtype, copy=True)
        self.grad: Tensor | None = None
        self.grad_fn: Any = None
        # Version counter, a one-element list shared with views; created on first need.
        self._version: list[int] | None = None
        self._hooks: list[Callable[..., Any]] | None = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray) -> Tensor:
        """Wrap an array without copying or checks (the hot path)."""
        t = object.__new__(cls)
        t.data = data
        t.requires_grad = False
        t.grad = None
        t.grad_fn = None
        t._version = None
        t._hooks = None
        return t

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user made (``grad_fn is None``), as in PyTorch."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802
        """Reverse all dimensions (like NumPy's ``.T``)."""
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """Swap the last two dimensions (batched matrix transpose)."""
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return self.data.shape
        from gradwise.ops.dims import normalize_dim

        return self.data.shape[normalize_dim(dim, self.data.ndim, "size")]

    def numel(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """Number of dimensions (PyTorch's spelling of ``ndim``)."""
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        """The underlying array, not a copy (changes show through both ways)."""
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): tensor of shape {format_shape(self.shape)} has "
                             f"{self.data.size} elements; only one-element tensors convert")
        return self.data.item()

    def tolist(self) -> Any:
        """Nested Python lists (a number for a 0-d tensor)."""
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {format_shape(self.shape)} "
                             "is ambiguous; use .any() or .all()")
        return bool(self.data.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.data.item())

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(",
                               precision=4, floatmode="maxprec_equal")
        extras = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_) or self.data.size == 0:
            extras.append(f"dtype={_dtype_name(self.data.dtype)}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ---------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (only on leaves, only for float dtypes)."""
        if requires_grad and self.data.dtype.kind not in "fc":
            raise DtypeError(
                f"only floating-point tensors can require gradients, this one is "
                f"{_dtype_name(self.data.dtype)}; convert first, e.g. x.float() or "
                "gradwise.tensor(data, dtype=gradwise.float32, requires_grad=True)")
        if not requires_grad and self.grad_fn is not None:
            raise GraphError("requires_grad_(False) on a non-leaf tensor; use .detach() "
                             "to get a tensor that is cut from the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        t = Tensor._make(self.data)
        if self._version is None:
            self._version = [0]
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place (it becomes a leaf)."""
        self.grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise GraphError("retain_grad() on a tensor that does not require grad")
        if self.grad_fn is None:
            return
        import weakref

        self.grad_fn.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.retained is not None

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        A hook that returns a tensor replaces the gradient.  Returns a function
        that removes the hook (PyTorch's handle has ``.remove()``, so does ours).

        >>> import gradwise as gw
        >>> x = gw.ones(2, requires_grad=True)
        >>> _ = x.register_hook(lambda g: g * 10)
        >>> x.sum().backward()
        >>> x.grad
        tensor([10., 10.])
        """
        if not self.requires_grad:
            raise GraphError("cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is not None:
            if self.grad_fn.hooks is None:
                self.grad_fn.hooks = []
            hooks = self.grad_fn.hooks
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` is required when ``self`` is not a scalar (it is the vector
        in the vector-Jacobian product).  See :func:`gradwise.autograd.backward`.
        """
        from gradwise.autograd.engine import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    # ----------------------------------------------------------------- dtypes
    def to(self, dtype: Any) -> Tensor:
        """Cast to ``dtype`` (differentiable between float dtypes)."""
        from gradwise.autograd.creation import resolve_dtype
        from gradwise.autograd.function import apply
        from gradwise.ops.broadcast import CAST

        dt = resolve_dtype(dtype)
        if dt == self.data.dtype:
            return self
        return apply(CAST, self, dtype=dt)

    astype = to

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def clone(self) -> Tensor:
        """A copy that stays in the graph (gradient flows back to ``self``)."""
        from gradwise.autograd.function import apply
        from gradwise.ops.broadcast import CLONE

        return apply(CLONE, self)

    def contiguous(self) -> Tensor:
        return self

    # --------------------------------------------------------------- in-place
    def _inplace(self, op: Any, *others: Any, **attrs: Any) -> Tensor:
        """Apply ``op(self, *others)`` and store the result in ``self``.

        Outside recording the array is overwritten in place and the version
        counter moves, so a backward that saved the old values raises instead
        of using the new ones.  When recording (grad mode on and some operand
        requires grad) ``self`` is rebound to the new graph node, as PyTorch
        does for in-place ops on non-leaf tensors; in-place on a leaf that
        requires grad is refused because its old value would be lost.
        """
        from gradwise.autograd.function import apply

        recording = _STATE[0] and (self.requires_grad or any(
            isinstance(o, Tensor) and o.requires_grad for o in others))
        if recording:
            if self.requires_grad and self.grad_fn is None:
                raise GraphError(
                    f"{op.name}_: a leaf tensor that requires grad (shape "
                    f"{format_shape(self.shape)}) is being modified in place. Wrap parameter "
                    "updates in `with gradwise.no_grad():`, or work on a copy (x = x.clone()).")
            res = apply(op, self, *others, **attrs)
            if res.shape != self.shape:
                raise ShapeError(
                    f"{op.name}_: the result has shape {format_shape(res.shape)} but an in-place "
                    f"op cannot change the shape {format_shape(self.shape)}")
            if res.dtype != self.dtype:
                res = res.to(self.dtype)
            self.data = res.data
            self.grad_fn = res.grad_fn
            self.requires_grad = res.requires_grad
            # self takes over the result's fresh version counter: the old array is
            # left untouched (nodes that saved it stay valid), so nothing to bump.
            self._version = res._version
            return self
        datas = [o.data if isinstance(o, Tensor) else o for o in others]
        result = op.forward(self.data, *datas, **attrs)
        if np.shape(result) != self.data.shape:
            raise ShapeError(
                f"{op.name}_: the result has shape {format_shape(np.shape(result))} but an "
                f"in-place op cannot change the shape {format_shape(self.shape)}")
        self._write(result)
        return self

    def _write(self, values: Any) -> None:
        """Overwrite the array in place (views see it) and bump the version."""
        if not self.data.flags.writeable:
            self.data = np.array(self.data)
        np.copyto(self.data, values, casting="unsafe")
        if self._version is None:
            self._version = [0]
        self._version[0] += 1

    def zero_(self) -> Tensor:
        """Fill with zeros in place."""
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        """Fill with ``value`` in place.  The result no longer depends on the graph."""
        if _STATE[0] and self.requires_grad:
            if self.grad_fn is None:
                raise GraphError("fill_/zero_: a leaf tensor that requires grad is being "
                                 "modified in place; wrap it in `with gradwise.no_grad():`")
            self.data = np.full_like(self.data, value)
            self.grad_fn = None
            self.requires_grad = False
            self._version = None
            return self
        self._write(value.data if isinstance(value, Tensor) else value)
        return self

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src`` (broadcast to ``self``'s shape, cast to its dtype) into ``self``."""
        from gradwise.ops.broadcast import COPY

        return self._inplace(COPY, src if isinstance(src, Tensor) else np.asarray(src))

    def __setitem__(self, key: Any, value: Any) -> None:
        from gradwise.ops.registry import REGISTRY

        op = REGISTRY["index_put"]
        inputs, attrs = op.prepare(self, value, key)
        self._inplace(op, *inputs[1:], **attrs)


class _HookHandle:
    """Removes a hook when called or when ``.remove()`` is called."""

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    __call__ = remove
