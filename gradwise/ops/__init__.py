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
    reorder,
    views,
)
from gradwise.ops.registry import REGISTRY, OpDef, all_ops

__all__ = ["REGISTRY", "OpDef", "all_ops"]
