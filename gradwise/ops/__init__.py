"""The op table, grouped by family.  Importing this package registers every op."""

from gradwise.ops import (  # noqa: F401  (each import registers its family)
    activations,
    arithmetic,
    broadcast,
    conv,
    elementwise,
    indexing,
    join,
    linalg,
    matmul,
    network,
    pooling,
    recurrent,
    reduce,
    reduce_stats,  # after reduce: var, std, median and norm build on its reductions
    reorder,
    sorting,
    views,
)
from gradwise.ops.registry import REGISTRY, OpDef


def all_ops() -> list[OpDef]:
    """Every op of the table, in declaration order (importing this package registered them all).

    >>> len(all_ops()) == len(REGISTRY) > 100
    True
    """
    return list(REGISTRY.values())


__all__ = ["REGISTRY", "OpDef", "all_ops"]
