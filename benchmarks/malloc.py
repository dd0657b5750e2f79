"""The allocator setting the benchmark can give each framework (see ``run.py --malloc``).

``gradwise.set_allocator_tuning(True)`` raises glibc's mmap and trim thresholds
(gradwise/allocator.py) so that the large temporaries of a training step reuse
mapped pages instead of faulting in fresh ones every step; the benchmark turns it
on for gradwise, as the ``gradwise`` command's training commands do.  The
hand-written NumPy code, the ceiling for a NumPy engine, gets the same two
``mallopt`` calls, written out here so that it does not import gradwise; with
``--malloc all`` PyTorch gets them too.
"""

from __future__ import annotations

import ctypes
import sys

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20


def keep_freed_memory() -> bool:
    """glibc only: blocks up to 32 MiB from the heap, up to 256 MiB of free heap kept mapped."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(-3, MMAP_THRESHOLD)) and bool(mallopt(-1, TRIM_THRESHOLD))  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
