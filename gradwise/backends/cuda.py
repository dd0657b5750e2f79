"""``gradwise.backends.cuda``: ``torch.backends.cuda``'s matmul flags, settable and without effect."""

from __future__ import annotations


class _MatmulFlags:
    """``matmul.allow_tf32`` and friends: settable; no effect (NumPy computes in the dtype given)."""

    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    """False: gradwise is not built with CUDA."""
    return False
