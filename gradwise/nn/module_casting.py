"""``ModuleCasting``: the device and dtype methods of :class:`gradwise.nn.Module`.

``to``, ``cpu``, ``cuda``, ``double``, ``half``, ``float`` and ``type`` cast a module's
parameters and buffers in place, as PyTorch's do.  They live in this mixin, apart from the
registration and walking of ``Module``, so that their names (``float``, ``type``) never shadow
the builtins in ``Module``'s class body.
"""

from __future__ import annotations

import builtins
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.autograd.tensor_methods import parse_to, resolve_type
from gradwise.devices import ADVICE, DeviceError
from gradwise.errors import DtypeError


class ModuleCasting:
    """The casting methods of ``Module``; the class that mixes them in provides the stores
    and walks declared below."""

    if TYPE_CHECKING:
        _parameters: OrderedDict[str, Any]
        _buffers: OrderedDict[str, Tensor | None]

        def modules(self) -> Iterator[ModuleCasting]: ...

        def named_parameters(self) -> Iterator[tuple[builtins.str, Tensor]]: ...

    def to(self, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False) -> Self:
        """Cast the floating-point parameters and buffers in place, with ``Tensor.to``'s overloads.

        ``model.to(device)``, ``model.to(gw.float64)``, ``model.to(device, dtype)``,
        ``model.to(tensor)``, ``model.to(device=..., dtype=...)``.  The device is always the CPU:
        an accelerator raises :class:`gradwise.DeviceError` before anything changes.  The dtype
        must be floating point (integer buffers, like batch norm's counter, keep theirs).
        Parameters keep their identity (their ``.data`` and ``.grad`` are cast, as in PyTorch),
        so an optimizer built before still holds them.  Returns ``self``.

        >>> import gradwise as gw
        >>> model = gw.nn.Linear(2, 1)
        >>> w = model.weight
        >>> model.to("cpu", gw.float64) is model, model.weight is w, w.dtype
        (True, True, dtype('float64'))
        """
        dt, _ = parse_to("Module.to", args, dtype, device, non_blocking)
        if dt is None:
            return self
        if dt.kind not in "fc":
            raise DtypeError(f"Module.to only accepts floating point or complex dtypes, got {dt.name}")
        return self._cast_tensors(dt, "fc")

    def cpu(self) -> Self:
        """``self``: gradwise modules always live on the CPU."""
        return self

    def cuda(self, device: Any = None) -> Self:
        """Raises :class:`gradwise.DeviceError`: gradwise has no CUDA device."""
        name = "cuda" if device is None else device if isinstance(device, str) else f"cuda:{device}"
        raise DeviceError(f"Module.cuda(): device {name!r} is not available; {ADVICE}")

    def double(self) -> Self:
        """Cast floating-point parameters and buffers to float64 in place; returns ``self``."""
        return self._cast_tensors(np.dtype(np.float64), "f")

    def half(self) -> Self:
        """Cast floating-point parameters and buffers to float16 in place; returns ``self``."""
        return self._cast_tensors(np.dtype(np.float16), "f")

    def float(self) -> Self:
        """Cast floating-point parameters and buffers to float32 in place; returns ``self``."""
        return self._cast_tensors(np.dtype(np.float32), "f")

    def type(self, dst_type: Any) -> Self:
        """Cast every parameter and buffer (integer ones too, as PyTorch does) to ``dst_type``.

        ``dst_type`` is a dtype or a type name (``'torch.DoubleTensor'``); returns ``self``.
        """
        return self._cast_tensors(resolve_type("Module.type", dst_type), "")

    def _cast_tensors(self, dt: np.dtype, kinds: builtins.str) -> Self:
        """Cast in place the parameters and buffers whose dtype kind is in ``kinds`` (all if empty)."""
        found = {id(t): t for m in self.modules() for store in (m._parameters, m._buffers)
                 for t in store.values() if t is not None}
        chosen = [t for t in found.values() if not kinds or t._data.dtype.kind in kinds]
        if dt.kind not in "fc":
            named = {id(t): n for n, t in self.named_parameters()}
            for t in chosen:
                if t.requires_grad:
                    raise DtypeError(f"cannot cast {named.get(id(t), 'a tensor')!r}, which requires grad, "
                                     f"to {dt.name}: only floating-point tensors can require gradients")
        for t in chosen:
            if t._data.dtype != dt:
                t._data = t._data.astype(dt)
            if t.grad is not None and t.grad._data.dtype != dt:
                t.grad._data = t.grad._data.astype(dt)
        return self
