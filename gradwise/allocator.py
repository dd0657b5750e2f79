"""Keep freed array memory mapped between training steps (glibc's malloc on Linux).

A training step allocates and frees the same large temporaries every time: im2col
columns, activations, gradients, from 100 KiB to several MiB each.  With glibc's
defaults a large block is either its own ``mmap`` (unmapped on free) or carved from
the heap, whose top is returned to the operating system as soon as more than a few
MiB are free there.  Either way the next step touches fresh pages and the kernel
zero-fills them one page fault at a time: on the benchmark's small CNN (W4) that was
about 1,600 faults and 3 ms of kernel time in a 10 ms step, and in an LSTM step more
time than the arithmetic.

:func:`keep_freed_memory` raises two thresholds with ``mallopt``: blocks up to
``mmap_threshold`` come from the heap, and up to ``trim_threshold`` of free heap stays
mapped for reuse.

The trade-off: the process's resident size stays near its peak instead of shrinking
between steps (never above it), and the setting applies to every library in the
process, not only to gradwise.  So it is opt-in: ``import gradwise`` changes nothing,
and :func:`set_allocator_tuning` turns it on (the ``gradwise`` command's training
commands and the benchmarks do; a script or notebook may) or back off.  The environment
variable ``GRADWISE_MALLOC_TUNING=0`` vetoes it for a whole process tree (the
benchmarks' ``--malloc none``).  Other platforms and C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

DEFAULT_MMAP_THRESHOLD = 32 << 20   # glibc's largest allowed value on 64-bit systems
DEFAULT_TRIM_THRESHOLD = 256 << 20
# glibc's own static defaults (128 KiB each), restored by set_allocator_tuning(False)
GLIBC_MMAP_THRESHOLD = GLIBC_TRIM_THRESHOLD = 128 * 1024

_ENABLED = [False]


def keep_freed_memory(mmap_threshold: int = DEFAULT_MMAP_THRESHOLD,
                      trim_threshold: int = DEFAULT_TRIM_THRESHOLD) -> bool:
    """Ask glibc to serve blocks up to ``mmap_threshold`` bytes from the heap and to keep up
    to ``trim_threshold`` bytes of free heap mapped.  Returns True when both were applied
    (False on other platforms, or a C library without ``mallopt``).

    >>> keep_freed_memory() in (True, False)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt   # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 for a value it rejects (musl's stub always returns 0).
    return bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                                 int(trim_threshold)))


def _vetoed() -> bool:
    return os.environ.get("GRADWISE_MALLOC_TUNING", "1").strip().lower() in ("0", "false", "no", "off")


def set_allocator_tuning(enabled: bool = True) -> bool:
    """Turn the allocator tuning on (or off again) for this process; returns whether it is now on.

    On: freed blocks up to 32 MiB stay mapped, so each training step reuses the previous
    step's pages instead of faulting in fresh zeroed ones (up to 3x faster for a small CNN
    or an LSTM step on 2 cores); resident memory then stays near its peak, for every library
    in the process.  Off: glibc's static defaults (128 KiB thresholds) come back; glibc's
    dynamic adjustment of the mmap threshold stays off once any threshold was set.  Does
    nothing (returns False) off glibc, or when ``GRADWISE_MALLOC_TUNING=0`` is set.

    >>> import gradwise as gw
    >>> gw.set_allocator_tuning(False)
    False
    """
    if enabled:
        _ENABLED[0] = not _vetoed() and keep_freed_memory()
    else:
        if _ENABLED[0]:
            keep_freed_memory(GLIBC_MMAP_THRESHOLD, GLIBC_TRIM_THRESHOLD)
        _ENABLED[0] = False
    return _ENABLED[0]


def allocator_tuning_enabled() -> bool:
    """Whether :func:`set_allocator_tuning` turned the tuning on in this process."""
    return _ENABLED[0]
