"""``gradwise.backends.cudnn``: ``torch.backends.cudnn``'s flags, settable and without effect.

There is no cuDNN in gradwise (it computes on the CPU with NumPy).  The flags keep
PyTorch's defaults so that code which reads them sees what it expects.
"""

from __future__ import annotations

enabled = True
"""Settable; no effect (there is no cuDNN)."""
benchmark = False
"""Settable; no effect (there are no cuDNN algorithms to choose between)."""
deterministic = False
"""Settable; no effect (gradwise is deterministic for a given seed)."""
allow_tf32 = True
"""Settable; no effect (NumPy computes in the dtype given)."""


def is_available() -> bool:
    """False: there is no cuDNN."""
    return False


def version() -> None:
    """None, as ``torch.backends.cudnn.version()`` is without cuDNN."""
    return None
