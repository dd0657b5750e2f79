"""``gradwise.cuda``: the parts of ``torch.cuda`` that device-agnostic code calls.

gradwise computes on the CPU with NumPy, so there is never a CUDA device:
``is_available()`` is False and ``device_count()`` is 0, which sends code written as
``device = "cuda" if gw.cuda.is_available() else "cpu"`` down its CPU branch.  Seeding and
cache calls are accepted and do nothing (as in a PyTorch built without CUDA); calls that need
a device (``current_device``, ``synchronize``) raise :class:`gradwise.DeviceError`.

>>> import gradwise as gw
>>> gw.cuda.is_available(), gw.cuda.device_count()
(False, 0)
"""

from __future__ import annotations

from typing import Any

from gradwise.devices import ADVICE, DeviceError


def is_available() -> bool:
    """False: gradwise has no CUDA device."""
    return False


def device_count() -> int:
    """0: gradwise has no CUDA device."""
    return 0


def is_initialized() -> bool:
    """False: there is no CUDA state to initialise."""
    return False


def manual_seed(seed: int) -> None:
    """Does nothing: there is no CUDA generator (``gradwise.manual_seed`` seeds the CPU one)."""


def manual_seed_all(seed: int) -> None:
    """Does nothing: there is no CUDA generator (``gradwise.manual_seed`` seeds the CPU one)."""


def empty_cache() -> None:
    """Does nothing: there is no CUDA memory cache."""


def current_device() -> int:
    """Raises :class:`gradwise.DeviceError`: there is no CUDA device."""
    raise DeviceError(f"gradwise.cuda.current_device(): there is no CUDA device; {ADVICE}")


def synchronize(device: Any = None) -> None:
    """Raises :class:`gradwise.DeviceError`: there is no CUDA device to wait for."""
    raise DeviceError(f"gradwise.cuda.synchronize(): there is no CUDA device; {ADVICE}")
