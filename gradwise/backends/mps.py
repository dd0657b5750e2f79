"""``gradwise.backends.mps``: Apple's Metal backend, which gradwise does not have."""

from __future__ import annotations


def is_available() -> bool:
    """False: gradwise computes on the CPU with NumPy."""
    return False


def is_built() -> bool:
    """False: gradwise is not built with MPS."""
    return False
