"""Grad modes: whether ops record themselves for backward.

``no_grad``, ``enable_grad``, ``set_grad_enabled`` and ``inference_mode`` work as
context managers and as decorators, like PyTorch's (``no_grad``, ``enable_grad`` and
``inference_mode`` also as bare decorators, ``@gw.no_grad``).  The flag lives in a
one-element list so that the hot path reads it with a single index (``_STATE[0]``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# _STATE[0]: grad mode on.
_STATE: list[bool] = [True]
# _INFERENCE[0]: inside inference_mode() (read by is_inference_mode_enabled only)
_INFERENCE: list[bool] = [False]


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


class _BareDecorator(_GradMode):
    """A grad mode without arguments that also decorates bare: ``@no_grad`` as ``@no_grad()``."""

    def __new__(cls, orig_func: Callable[..., Any] | None = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments (or one function, as a bare "
                            f"decorator), got {type(orig_func).__name__}")
        return cls()(orig_func)

    def __init__(self, orig_func: Callable[..., Any] | None = None) -> None:
        pass


class no_grad(_BareDecorator):  # noqa: N801  (PyTorch's name)
    """Context manager / decorator: ops inside record nothing.

    >>> import gradwise as gw
    >>> w = gw.ones(3, requires_grad=True)
    >>> with gw.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _target = False


class enable_grad(_BareDecorator):  # noqa: N801
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


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``.

    >>> import gradwise as gw
    >>> with gw.inference_mode():
    ...     gw.is_inference_mode_enabled(), gw.is_grad_enabled()
    (True, False)
    """
    return _INFERENCE[0]


class inference_mode(_GradMode):  # noqa: N801  (PyTorch's name)
    """Context manager / decorator for code that never calls backward: ops record nothing.

    ``inference_mode()`` (or ``inference_mode(True)``) turns grad mode off and
    :func:`is_inference_mode_enabled` on; ``inference_mode(False)`` turns grad mode on and
    inference mode off (as PyTorch's does, even inside ``no_grad``).  Both are restored on
    exit.  Also a decorator, with or without the call: ``@inference_mode()``,
    ``@inference_mode``.

    In gradwise it is ``no_grad`` with a flag: PyTorch's inference tensors (which refuse to
    be saved for a later backward and skip version counting) do not exist here, and
    ``enable_grad()`` inside it records ops again.

    >>> import gradwise as gw
    >>> w = gw.ones(3, requires_grad=True)
    >>> @gw.inference_mode
    ... def predict(x):
    ...     return (w * x).sum()
    >>> predict(gw.ones(3)).requires_grad
    False
    """

    def __new__(cls, mode: Any = True) -> Any:
        if isinstance(mode, bool):
            return super().__new__(cls)
        if not callable(mode):
            raise TypeError(f"inference_mode(mode): mode must be a bool, got {type(mode).__name__}")
        return cls(True)(mode)

    def __init__(self, mode: Any = True) -> None:
        self._mode = bool(mode)
        self._target = not self._mode

    def __enter__(self) -> None:
        self._prev = _STATE[0]
        self._prev_inference = _INFERENCE[0]
        _STATE[0] = self._target
        _INFERENCE[0] = self._mode

    def __exit__(self, *exc: object) -> None:
        _STATE[0] = self._prev
        _INFERENCE[0] = self._prev_inference

    def __call__(self, fn: F) -> F:
        target, mode = self._target, self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev, prev_inference = _STATE[0], _INFERENCE[0]
            _STATE[0], _INFERENCE[0] = target, mode
            try:
                return fn(*args, **kwargs)
            finally:
                _STATE[0], _INFERENCE[0] = prev, prev_inference

        return wrapper  # type: ignore[return-value]
