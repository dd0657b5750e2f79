"""Random number generation: ``Generator`` and ``manual_seed``.

Library code never touches NumPy's global random state: every random function
takes ``generator=`` and otherwise uses gradwise's default generator, which
``manual_seed`` resets.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Generator:
    """A seeded source of random numbers (wraps ``numpy.random.Generator``, PCG64).

    >>> import gradwise as gw
    >>> g = gw.Generator().manual_seed(0)
    >>> gw.rand(2, generator=g).shape
    (2,)
    """

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self.np = np.random.default_rng(seed)

    def manual_seed(self, seed: int) -> Generator:
        """Reset to a fixed seed; returns ``self`` for chaining."""
        self._seed = int(seed)
        self.np = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """The bit generator state (a plain dict, safe to store as JSON)."""
        # NumPy's stubs say Mapping; the property returns a new dict on every read
        return self.np.bit_generator.state  # type: ignore[return-value]

    def set_state(self, state: dict[str, Any]) -> None:
        self.np.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed gradwise's default generator (not NumPy's global state)."""
    return default_generator.manual_seed(seed)


def resolve(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (or the default one)."""
    if generator is None:
        return default_generator.np
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a gradwise.Generator, got {type(generator).__name__}")
    return generator.np
