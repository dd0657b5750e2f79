"""``Ring``: the last ``window`` rows of a fixed set of float fields, in preallocated arrays.

A push writes one row in place (no allocation per step); reading returns the rows
in chronological order as fresh arrays.
"""

from __future__ import annotations

import numpy as np


class Ring:
    """Fixed-size history of ``(step, field_1, ..., field_k)`` rows.

    >>> r = Ring(2, ("a", "b"))
    >>> for s in range(3):
    ...     r.push(s, (s * 1.0, s * 10.0))
    >>> r.steps().tolist(), r.column("b").tolist()
    ([1, 2], [10.0, 20.0])
    """

    __slots__ = ("fields", "window", "_values", "_steps", "_count")

    def __init__(self, window: int, fields: tuple[str, ...]) -> None:
        self.fields, self.window = fields, int(window)
        self._values = np.full((self.window, len(fields)), np.nan)
        self._steps = np.zeros(self.window, dtype=np.int64)
        self._count = 0

    def __len__(self) -> int:
        return min(self._count, self.window)

    def push(self, step: int, values: tuple[float, ...] | np.ndarray) -> None:
        i = self._count % self.window
        self._values[i] = values
        self._steps[i] = step
        self._count += 1

    def update_last(self, field: str, value: float) -> None:
        """Overwrite one field of the most recent row (the step being completed)."""
        if self._count == 0:
            raise IndexError("Ring.update_last on an empty ring")
        self._values[(self._count - 1) % self.window, self.fields.index(field)] = value

    def last(self, field: str) -> float:
        """One field of the most recent row."""
        if self._count == 0:
            raise IndexError("Ring.last on an empty ring")
        return float(self._values[(self._count - 1) % self.window, self.fields.index(field)])

    def _order(self) -> np.ndarray:
        n = len(self)
        start = self._count - n
        return (np.arange(start, start + n) % self.window) if n else np.zeros(0, dtype=np.int64)

    def steps(self) -> np.ndarray:
        return self._steps[self._order()]

    def column(self, field: str) -> np.ndarray:
        return self._values[self._order(), self.fields.index(field)]

    def clear(self) -> None:
        self._values.fill(np.nan)
        self._count = 0
