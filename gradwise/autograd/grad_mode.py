"""Grad modes: whether ops record themselves for backward.

``no_grad``, ``enable_grad`` and ``set_grad_enabled`` work as context managers
and as decorators, like PyTorch's.  The flag lives in a one-element list so that
the hot path reads it with a single index (``_STATE[0]``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# _STATE[0]: grad mode on.
_STATE: list[bool] = [True]


def is_grad_enabled() -> bool:
    """True when new ops are recorded for backward.

    >>> import gradwise as gw
    >>> with gw.no_grad():
    ...     gw.is_grad_enabled()
    False
    """
    return _STATE[0]


class _GradMode:
    """Base of the grad-mode context managers; also usable as a decorator."""

    _target: bool = True

    def __enter__(self) -> None:
        self._prev = _STATE[0]
        _STATE[0] = self._target

    def __exit__(self, *exc: object) -> None:
        _STATE[0] = self._prev

    def __call__(self, fn: F) -> F:
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _STATE[0]
            _STATE[0] = target
            try:
                return fn(*args, **kwargs)
            finally:
                _STATE[0] = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):  # noqa: N801  (PyTorch's name)
    """Context manager / decorator: ops inside record nothing.

    >>> import gradwise as gw
    >>> w = gw.ones(3, requires_grad=True)
    >>> with gw.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _target = False


class enable_grad(_GradMode):  # noqa: N801
    """Context manager / decorator: record ops even inside ``no_grad``."""

    _target = True


class set_grad_enabled(_GradMode):  # noqa: N801
    """Set grad mode to ``mode``; as a call it takes effect at once (like PyTorch),
    as a context manager it restores the previous mode on exit.

    >>> import gradwise as gw
    >>> with gw.set_grad_enabled(False):
    ...     gw.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool) -> None:
        self._target = bool(mode)
        self._prev = _STATE[0]
        _STATE[0] = self._target

    def __enter__(self) -> None:  # mode already set in __init__
        pass
