"""Devices under PyTorch's names, so that device-agnostic PyTorch code runs unchanged.

gradwise computes on the CPU with NumPy: every tensor lives on ``device('cpu')``.
``gradwise.device`` parses what ``torch.device`` parses (``"cpu"``, ``"cpu:0"``,
``("cpu", 0)``, ``"cuda:1"``...), so code that *names* an accelerator still runs; putting a
tensor or a module there (``device="cuda"``, ``.cuda()``, ``.to("mps")``) raises one
:class:`DeviceError` that says what to do instead.

>>> import gradwise as gw
>>> gw.device("cpu")
device(type='cpu')
>>> gw.device("cpu:0").index
0
>>> device = "cuda" if gw.cuda.is_available() else "cpu"   # the device-agnostic idiom
>>> gw.zeros(2, device=device).device
device(type='cpu')
"""

from __future__ import annotations

import builtins
from typing import Any

from gradwise.errors import GradwiseError


class DeviceError(GradwiseError, RuntimeError):
    """A tensor or a module was asked to live on a device gradwise does not have (CUDA, MPS...)."""


# The device types torch's parser knows, in its order: a string that starts with one is a device.
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
                "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")

ADVICE = ("gradwise computes on the CPU with NumPy and has no CUDA, MPS or other accelerator; use "
          "device='cpu', or write device-agnostic code: "
          "device = 'cuda' if gradwise.cuda.is_available() else 'cpu'")


class device:  # noqa: N801  (PyTorch's name)
    """A device: ``device("cpu")``, ``device("cpu", 0)``, ``device("cpu:0")`` or ``device(other)``.

    Like ``torch.device`` it has ``.type`` and ``.index``, is hashable, equals another device
    of the same type and index (and, as in PyTorch, never a string: compare ``d.type == "cpu"``),
    and works as a context manager that sets the default device.  Naming an accelerator is
    allowed (``device("cuda")``); placing a tensor there raises :class:`DeviceError`.

    >>> import gradwise as gw
    >>> d = gw.device("cpu", 0)
    >>> d, str(d), d.type, d.index
    (device(type='cpu', index=0), 'cpu:0', 'cpu', 0)
    >>> gw.device("cpu") == gw.device("cpu"), gw.device("cpu") == gw.device("cpu:0")
    (True, False)
    """

    __slots__ = ("_type", "_index")
    _type: str
    _index: builtins.int | None

    def __init__(self, type: Any, index: Any = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(device, index): give the index in the device, not twice")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, builtins.int) and not isinstance(type, builtins.bool):
            # torch reads a bare int as an accelerator index (device(0) is cuda:0)
            raise DeviceError(f"device({type}): a bare index names an accelerator (cuda:{type}); {ADVICE}")
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string, a device or an int, got {builtins.type(type).__name__}")
        kind, sep, rest = type.partition(":")
        if kind not in DEVICE_TYPES:
            raise DeviceError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device "
                              f"string: {type}")
        if sep:
            if not rest.isdigit() or not rest.isascii():
                raise DeviceError(f"Invalid device string: {type!r}")
            if index is not None:
                raise DeviceError(f"type (string) must not include an index because index was passed "
                                  f"explicitly: {type}")
            index = builtins.int(rest)
        if index is not None:
            if isinstance(index, builtins.bool) or not isinstance(index, builtins.int):
                raise TypeError(f"device(): the index must be an int, got {builtins.type(index).__name__}")
            if index < 0:
                raise DeviceError(f"Device index must not be negative, got {index}")
        self._type, self._index = kind, index

    def __eq__(self, other: object) -> builtins.bool:
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self) -> builtins.int:
        return hash((self._type, self._index))

    def __repr__(self) -> str:
        return f"device(type={self._type!r}" + ("" if self._index is None else f", index={self._index}") + ")"

    def __str__(self) -> str:
        return self._type + ("" if self._index is None else f":{self._index}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (device, (self._type, self._index))

    def __enter__(self) -> device:
        """``with gw.device("cpu"):`` makes it the default device inside the block."""
        _STACK.append(get_default_device())
        try:
            set_default_device(self)
        except DeviceError:
            _STACK.pop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        set_default_device(_STACK.pop())

    @property
    def index(self) -> builtins.int | None:
        """The index given (``device("cpu:0").index == 0``), else None."""
        return self._index

    @property
    def type(self) -> str:
        """The device type: ``"cpu"``, ``"cuda"``..."""
        return self._type


CPU = device("cpu")
_DEFAULT: list[device] = [CPU]
_STACK: list[device] = []


def resolve_device(dev: Any, what: str) -> device:
    """The device ``dev`` names (None: the default), or :class:`DeviceError` when it is not the CPU.

    ``what`` names the call in the message, e.g. ``"zeros(device=...)"``.
    """
    if dev is None or dev is CPU or (dev.__class__ is str and dev == "cpu"):
        return CPU
    try:
        d = dev if isinstance(dev, device) else device(dev)
    except DeviceError as e:
        raise DeviceError(f"{what}: {e}") from None
    if d._type != "cpu":
        raise DeviceError(f"{what}: device {str(d)!r} is not available; {ADVICE}")
    return d


def is_device_like(x: Any) -> builtins.bool:
    """True for what a positional ``to(x)`` reads as a device: a device, an int index, or a string
    that starts with a device type (``"cpu"``, ``"cuda:0"``); dtype strings (``"float64"``) are not."""
    if isinstance(x, device):
        return True
    if isinstance(x, str):
        return x.partition(":")[0] in DEVICE_TYPES
    return isinstance(x, builtins.int) and not isinstance(x, builtins.bool)


def get_default_device() -> device:
    """The device new tensors are made on: always ``device(type='cpu')`` in gradwise."""
    return _DEFAULT[0]


def set_default_device(dev: Any) -> None:
    """Set the device new tensors are made on: ``"cpu"`` (or a cpu device, or None to reset).

    Accepted for PyTorch code; an accelerator raises :class:`DeviceError` here, at the call
    that asks for it, rather than at the first tensor made later.
    """
    _DEFAULT[0] = resolve_device(dev, f"set_default_device({str(dev)!r})")
