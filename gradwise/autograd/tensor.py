"""``Tensor``: a NumPy array plus what reverse-mode autodiff needs.

A tensor is a leaf (made by the user, ``grad_fn is None``) or the result of an
op (``grad_fn`` is the recorded :class:`~gradwise.autograd.node.Node`).  Leaves
with ``requires_grad=True`` receive ``.grad`` on backward.  This module imports
nothing that records ops: the methods that do (``backward``, ``to``, ``clone``, the
in-place ops) are in :mod:`gradwise.autograd.tensor_methods`, and the op methods
(``sigmoid``, ``sum``, the operators...) are bound from the op table by
:mod:`gradwise.api.bind`.  Type checkers see both through the generated stubs
``tensor_ops.pyi`` (``BoundMethods``, the base class they see; ``object`` at run time).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from gradwise.dtypes import get_default_dtype, resolve_dtype
from gradwise.errors import DtypeError, GraphError, format_shape
from gradwise.ops.dims import normalize_dim
from gradwise.size import Size


def _dtype_name(dtype: np.dtype) -> str:
    return np.dtype(dtype).name


if TYPE_CHECKING:   # the methods bound from the op table, as generated stubs
    from gradwise.autograd.tensor_ops import BoundMethods
else:
    BoundMethods = object


class Tensor(BoundMethods):
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

    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_version", "_hooks", "__weakref__")
    # ndarray <op> Tensor must defer to Tensor's reflected operator, not turn the
    # tensor into an array and drop the graph.
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self._data = as_array(data, dtype, copy=True)
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
        t._data = data
        t.requires_grad = False
        t.grad = None
        t.grad_fn = None
        t._version = None
        t._hooks = None
        return t

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape as a plain tuple of ints.

        PyTorch returns ``torch.Size`` here; gradwise returns the array's own tuple, because
        ``shape`` is read on every op and a ``Size`` would cost a new object per read.  It
        compares, indexes and unpacks the same; ``size()`` gives the :class:`~gradwise.size.Size`
        (with ``numel()``).
        """
        return self._data.shape

    @property
    def data(self) -> Tensor:
        """The values as a new tensor that shares memory and has no history (torch's ``.data``).

        Changes made through it are invisible to autograd: they record nothing and do not
        bump the version counter that guards saved tensors, which is what the classic manual
        update ``p.data -= lr * p.grad`` relies on.  Assigning ``p.data = t`` makes ``p`` use
        ``t``'s values (shape and dtype included) and keeps ``p``'s identity and ``.grad``.

        >>> import gradwise as gw
        >>> w = gw.ones(2, requires_grad=True)
        >>> w.data.add_(1.0)
        tensor([2., 2.])
        >>> w.data.requires_grad, w
        (False, tensor([2., 2.], requires_grad=True))
        """
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Tensor):
            self._data = value._data
        elif isinstance(value, np.ndarray):
            self._data = value
        else:
            raise TypeError(f"data: assigned a {type(value).__name__}; assign a Tensor "
                            "(or a NumPy array), e.g. p.data = p.data * 0.5")

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

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

    @overload
    def size(self, dim: None = None) -> Size: ...
    @overload
    def size(self, dim: int) -> int: ...
    def size(self, dim: int | None = None) -> Size | int:
        """The shape as a :class:`~gradwise.size.Size` (a tuple with ``numel()``), or the length
        of dimension ``dim``.  ``.shape`` is the same shape as a plain tuple (see ``shape``).

        >>> import gradwise as gw
        >>> x = gw.zeros(2, 3)
        >>> x.size(), x.size(1), x.size() == (2, 3), x.size().numel()
        (gradwise.Size([2, 3]), 3, True, 6)
        """
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[normalize_dim(dim, self._data.ndim, "size")]

    def numel(self) -> int:
        """Number of elements."""
        return int(self._data.size)

    def nelement(self) -> int:
        """Number of elements (PyTorch's older spelling of ``numel``)."""
        return int(self._data.size)

    def element_size(self) -> int:
        """Bytes per element (4 for float32)."""
        return int(self._data.itemsize)

    def is_floating_point(self) -> bool:
        """True for float16/32/64 tensors (not complex, not integer or bool), as in PyTorch."""
        return self._data.dtype.kind == "f"

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """True when the elements lie in row-major order without gaps (False for a transposed
        view, as in PyTorch).  ``memory_format`` is accepted and ignored (one layout only)."""
        return bool(self._data.flags.c_contiguous)

    def dim(self) -> int:
        """Number of dimensions (PyTorch's spelling of ``ndim``)."""
        return self._data.ndim

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        """The underlying array, not a copy (changes show through both ways).

        As in PyTorch, a tensor that requires grad refuses: a writable view of a weight
        would let changes bypass autograd.  ``x.detach().numpy()`` shares the memory
        knowingly.

        >>> import gradwise as gw
        >>> gw.tensor([1.0, 2.0]).numpy()
        array([1., 2.], dtype=float32)
        """
        if self.requires_grad:
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy() instead")
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item(): tensor of shape {format_shape(self.shape)} has "
                             f"{self._data.size} elements; only one-element tensors convert")
        return self._data.item()

    def tolist(self) -> Any:
        """Nested Python lists (a number for a 0-d tensor)."""
        return self._data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {format_shape(self.shape)} "
                             "is ambiguous; use .any() or .all()")
        return bool(self._data.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__

    def __format__(self, format_spec: str) -> str:
        """``f"{x:.3f}"`` formats the number of a 0-d tensor; any other tensor takes only the
        empty spec (its ``str``), and a spec raises TypeError, as in PyTorch.

        >>> import gradwise as gw
        >>> f"{gw.tensor(3.14159):+.2f}", "{:05d}".format(gw.tensor(7))
        ('+3.14', '00007')
        """
        if self._data.ndim == 0:
            return format(self._data.item(), format_spec)
        if format_spec:
            raise TypeError(f"unsupported format string passed to {type(self).__name__}.__format__: "
                            f"only 0-d tensors take a format spec (this one has shape "
                            f"{format_shape(self.shape)}); use x.item() for a one-element tensor")
        return str(self)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(",
                               precision=4, floatmode="maxprec_equal")
        extras = []
        if self._data.dtype not in (np.float32, np.int64, np.bool_) or self._data.size == 0:
            extras.append(f"dtype={_dtype_name(self._data.dtype)}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ---------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (only on leaves, only for float dtypes)."""
        if requires_grad and self._data.dtype.kind not in "fc":
            raise DtypeError(
                f"only floating-point tensors can require gradients, this one is "
                f"{_dtype_name(self._data.dtype)}; convert first, e.g. x.float() or "
                "gradwise.tensor(data, dtype=gradwise.float32, requires_grad=True)")
        if not requires_grad and self.grad_fn is not None:
            raise GraphError("requires_grad_(False) on a non-leaf tensor; use .detach() "
                             "to get a tensor that is cut from the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        t = Tensor._make(self._data)
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

    def contiguous(self) -> Tensor:
        """Self when already row-major (C-contiguous), else a row-major copy that keeps the graph.

        >>> import gradwise as gw
        >>> gw.ones(2, 3).t().contiguous().is_contiguous()
        True
        """
        if self._data.flags.c_contiguous:
            return self
        out: Tensor = self.clone()
        out._data = np.ascontiguousarray(out._data)
        return out

    # --------------------------------------------------------------- in-place
    def _write(self, values: Any) -> None:
        """Overwrite the array in place (views see it) and bump the version."""
        if not self._data.flags.writeable:
            self._data = np.array(self._data)
        np.copyto(self._data, values, casting="unsafe")
        if self._version is None:
            self._version = [0]
        self._version[0] += 1

def as_array(data: Any, dtype: Any = None, copy: bool = False) -> np.ndarray:
    """The array a new tensor holds for ``data`` (see the module docstring for dtypes)."""
    if isinstance(data, Tensor):
        data = data._data
    dt = None if dtype is None else resolve_dtype(dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data, dtype=dt, copy=copy or None)
    else:
        try:
            arr = np.array(data, dtype=dt)
        except ValueError as exc:
            raise ValueError(f"tensor(): cannot make a tensor from this data ({exc}); nested "
                             "lists must be rectangular") from None
        if dt is None and arr.dtype == np.float64:
            arr = arr.astype(get_default_dtype())
        elif dt is None and arr.dtype.kind == "i" and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
    if arr.dtype.kind not in "biufc":
        raise DtypeError(f"tensor(): unsupported data of dtype {arr.dtype}; use numbers or booleans")
    return arr


class _HookHandle:
    """Removes a hook when called or when ``.remove()`` is called."""

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    __call__ = remove
