"""``torch.func.grad_and_value``: :func:`gradwise.func.value_and_grad` with PyTorch's order."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gradwise.func.transforms import value_and_grad


def grad_and_value(func: Callable[..., Any], argnums: int | tuple[int, ...] | list[int] = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """A function returning ``(grad, func(*args))``; ``(grad, (value, aux))`` with ``has_aux``.

    ``grad`` has the structure and shapes of argument ``argnums`` (a tuple of those for a
    tuple ``argnums``); ``func`` must return a one-element tensor.

    >>> import gradwise as gw
    >>> g, v = gw.func.grad_and_value(lambda x: (x ** 2).sum())(gw.tensor([1.0, 2.0]))
    >>> g.tolist(), v.item()
    ([2.0, 4.0], 5.0)
    """
    inner = value_and_grad(func, argnums=argnums, has_aux=has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        value, grads = inner(*args, **kwargs)
        return grads, value

    return wrapper
