"""Grad modes: whether ops record themselves for backward, per thread as in PyTorch.

``no_grad``, ``enable_grad``, ``set_grad_enabled`` and ``inference_mode`` work as
context managers and as decorators, like PyTorch's (``no_grad``, ``enable_grad`` and
``inference_mode`` also as bare decorators, ``@gw.no_grad``).

Each thread has its own mode (:data:`_MODE`, a ``threading.local``): one thread's
``no_grad`` (an evaluation loop, a data thread) does not stop another thread's training
from recording, and a new thread starts with grad mode on and inference mode off.

The recording path reads the mode on every op, so it must stay one index away.  Reading a
``threading.local`` attribute costs about three times a list index, so the hot readers
(``autograd/function.py``, ``tensor_methods.py``) test ``not _OFF or _MODE.enabled``:
:data:`_OFF` (the keys of the threads whose mode is off) is empty while **no** thread has
grad mode off, which is the whole of a plain training loop, and then the per-thread attribute
is never read.  ``set.add``/``discard`` are atomic, so no lock is needed.  Each thread that
turns its mode off keeps an :class:`_OffToken` in its ``threading.local``; its key is in
:data:`_OFF` while the mode is off, and the token's destruction at the thread's end removes
it, so a thread that ends inside ``no_grad`` does not leave the others on the slower test.  A
thread always sees its own change: it adds its key before its next op.

``_STATE`` is the old list-like interface (``_STATE[0]`` reads, ``_STATE[0] = flag`` sets
the calling thread's mode), kept for code that has not moved to :func:`_set_enabled`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _ThreadMode(threading.local):
    """The calling thread's modes; the class attributes are what a new thread starts with."""

    enabled: bool = True            # grad mode on
    inference: bool = False         # inside inference_mode() (read by is_inference_mode_enabled only)
    token: _OffToken | None = None  # made the first time this thread turns grad mode off


_MODE = _ThreadMode()
# the keys of the threads whose grad mode is off: empty (false) means every thread records.
# set.add/discard are atomic, so no lock is needed and the test ``not _OFF`` costs one length check
_OFF: set[object] = set()


class _OffToken:
    """One per thread that ever turned grad mode off; its ``key`` is in :data:`_OFF` while off.

    When the thread ends its ``threading.local`` is cleared and the token's destruction takes
    the key out, so a thread that ends inside ``no_grad`` does not keep the others on the
    slower test.
    """

    __slots__ = ("key",)

    def __init__(self) -> None:
        self.key = object()

    def __del__(self) -> None:
        try:
            _OFF.discard(self.key)
        except (TypeError, AttributeError):  # interpreter shutdown: the module's globals are gone
            pass


def _set_enabled(flag: bool) -> None:
    """Set the calling thread's grad mode (keeping :data:`_OFF` exact)."""
    mode = _MODE
    if flag:
        mode.enabled = True
        token = mode.token
        if token is not None:
            _OFF.discard(token.key)
    else:
        token = mode.token
        if token is None:
            token = mode.token = _OffToken()
        _OFF.add(token.key)     # before the mode: this thread's next op already sees it
        mode.enabled = False


def _enabled() -> bool:
    """The calling thread's grad mode, by the hot path's test."""
    return not _OFF or _MODE.enabled


class _ThreadFlag:
    """``_STATE[0]``: the calling thread's grad mode behind the old one-element-list interface."""

    __slots__ = ()

    def __getitem__(self, index: int) -> bool:
        if index != 0:
            raise IndexError(f"grad mode state has one element (index 0), got index {index}")
        return not _OFF or _MODE.enabled

    def __setitem__(self, index: int, flag: bool) -> None:
        if index != 0:
            raise IndexError(f"grad mode state has one element (index 0), got index {index}")
        _set_enabled(bool(flag))


_STATE = _ThreadFlag()


def is_grad_enabled() -> bool:
    """True when new ops are recorded for backward (in the calling thread).

    >>> import gradwise as gw
    >>> with gw.no_grad():
    ...     gw.is_grad_enabled()
    False
    """
    return not _OFF or _MODE.enabled


class _GradMode:
    """Base of the grad-mode context managers; also usable as a decorator."""

    _target: bool = True

    def __enter__(self) -> None:
        self._prev = _MODE.enabled
        _set_enabled(self._target)

    def __exit__(self, *exc: object) -> None:
        _set_enabled(self._prev)

    def __call__(self, fn: F) -> F:
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _MODE.enabled
            _set_enabled(target)
            try:
                return fn(*args, **kwargs)
            finally:
                _set_enabled(prev)

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
        self._prev = _MODE.enabled
        _set_enabled(self._target)

    def __enter__(self) -> None:  # mode already set in __init__
        pass


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``.

    >>> import gradwise as gw
    >>> with gw.inference_mode():
    ...     gw.is_inference_mode_enabled(), gw.is_grad_enabled()
    (True, False)
    """
    return _MODE.inference


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
        mode = _MODE
        self._prev, self._prev_inference = mode.enabled, mode.inference
        _set_enabled(self._target)
        mode.inference = self._mode

    def __exit__(self, *exc: object) -> None:
        _set_enabled(self._prev)
        _MODE.inference = self._prev_inference

    def __call__(self, fn: F) -> F:
        target, mode = self._target, self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = _MODE
            prev, prev_inference = state.enabled, state.inference
            _set_enabled(target)
            state.inference = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _set_enabled(prev)
                state.inference = prev_inference

        return wrapper  # type: ignore[return-value]
