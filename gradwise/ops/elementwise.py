"""Elementwise math: exp/log family, powers and roots, trigonometry, rounding.

Rules that need the op's own output read ``out`` (exp's derivative is exp
itself), which saves recomputing it.
"""

from __future__ import annotations

import numpy as np

from gradwise.ops.domain import unary
from gradwise.ops.registry import defop

EXP = defop(
    "exp", np.exp,
    # d exp(x) = exp(x)
    (lambda b, g, out, x: g * out,),
    unary("small"),
    saves_inputs=False, inplace=True,
    doc="``e ** input`` elementwise.\n\n"
        ">>> import gradwise as gw\n>>> gw.exp(gw.zeros(2)).tolist()\n[1.0, 1.0]",
)

LOG = defop(
    "log", np.log,
    # d log(x) = 1/x
    (lambda b, g, out, x: g / x,),
    unary("positive"),
    saves_out=False, inplace=True,
    doc="Natural logarithm elementwise (``-inf`` at 0, ``nan`` below).",
)
