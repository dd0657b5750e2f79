"""Sorting: ``argsort``, the index op (no gradient) behind ``sort`` and ``topk``.

``sort``/``topk`` return ``(values, indices)``; every graph node has one output, so their
public functions (:mod:`gradwise.api.sorting`) are an ``argsort`` plus a
``take_along_dim`` of the values: the gradient reaches exactly the selected elements, as
in PyTorch.  The order is stable (ties keep their order, descending too) and NaN counts
as the largest value, as in PyTorch on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise.ops.dims import normalize_dim, shape_of
from gradwise.ops.domain import Domain
from gradwise.ops.registry import Prepared, defop


def _prepare_argsort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> Prepared:
    nd = len(shape_of(input))
    return (input,), {"dim": normalize_dim(dim, nd, "argsort"), "descending": bool(descending)}


def _argsort(x: Any, dim: int, descending: bool) -> Any:
    x = np.asarray(x)
    if x.ndim == 0:
        return np.zeros((), dtype=np.int64)
    if not descending:
        return np.argsort(x, axis=dim, kind="stable").astype(np.int64, copy=False)
    # descending and stable: sort the reversed array, map back, reverse the order (NaN first)
    n = x.shape[dim]
    r = np.argsort(np.flip(x, dim), axis=dim, kind="stable")
    return np.ascontiguousarray(np.flip(n - 1 - r, dim)).astype(np.int64, copy=False)


ARGSORT = defop(
    "argsort", _argsort, (None,),
    Domain(("distinct",), (((3, 4),),), attrs=({"dim": 1, "descending": False},
                                              {"dim": 0, "descending": True})),
    prepare=_prepare_argsort, saves_inputs=False, saves_out=False,
    doc="Indices (int64) that sort ``input`` along ``dim`` (ascending unless ``descending``).\n"
        "Always stable: ties keep their order; NaN sorts as the largest value.\n\n"
        ">>> import gradwise as gw\n>>> gw.tensor([3.0, 1.0, 3.0, 2.0]).argsort(descending=True).tolist()\n"
        "[0, 2, 3, 1]",
)
