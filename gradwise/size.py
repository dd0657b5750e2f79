"""``Size``: the shape of a tensor as ``Tensor.size()`` returns it (PyTorch's ``torch.Size``).

A tuple of ints: it compares, hashes, indexes and unpacks as the tuple it holds, and adds
``numel()``.  Slicing it, adding a tuple to it (either side) or repeating it gives a
``Size`` again, as in PyTorch.

>>> from gradwise.size import Size
>>> s = Size([2, 3])
>>> s
gradwise.Size([2, 3])
>>> s == (2, 3), s[1:], s.numel()
(True, gradwise.Size([3]), 6)
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any, SupportsIndex, overload


class Size(tuple[int, ...]):
    """A shape: a tuple of non-negative ints with :meth:`numel`.

    ``Size()`` is the shape of a 0-d tensor; ``Size([2, 3])`` or ``Size((2, 3))`` build one
    from any iterable of ints (integer NumPy scalars and one-element integer tensors too).
    """

    __slots__ = ()

    def __new__(cls, sizes: Iterable[Any] = ()) -> Size:
        items = []
        for i, s in enumerate(sizes):
            try:
                items.append(operator.index(s))
            except TypeError:
                raise TypeError(f"Size() takes an iterable of ints (item {i} is "
                                f"{type(s).__name__})") from None
        return super().__new__(cls, items)

    def numel(self) -> int:
        """The number of elements of a tensor of this shape (1 for ``Size()``)."""
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"gradwise.Size({list(self)!r})"

    __str__ = __repr__

    @overload
    def __getitem__(self, key: SupportsIndex) -> int: ...
    @overload
    def __getitem__(self, key: slice) -> Size: ...
    def __getitem__(self, key: SupportsIndex | slice) -> int | Size:
        if isinstance(key, slice):
            return Size(tuple.__getitem__(self, key))
        return tuple.__getitem__(self, key)

    def __add__(self, other: tuple[Any, ...]) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other: tuple[Any, ...]) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n: SupportsIndex) -> Size:
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self) -> tuple[Any, ...]:
        return (Size, (tuple(self),))
