"""Handing a leaf its gradient without a copy, when nothing else can see the array.

At the end of a backward walk each leaf has one gradient array: a rule's result, a sum
of rule results, the seed, or what a hook returned.  Storing it as ``.grad`` must not
let ``.grad`` share memory with anything the user or the graph still holds, because
``.grad`` is written in place afterwards (``x.grad._data[...] = 0``, an optimizer's
``p.grad._data *= ...``, the next backward's accumulation).  The simple way is a copy per
leaf per backward; for a small model that copy is a measurable part of the step.

**Adoption.** :func:`unshared` says whether the array can become ``.grad`` as it is.
It asks three things of the array ``g`` that the caller holds in one local variable:

1. ``type(g) is np.ndarray`` and ``g.flags.writeable``: a plain, writeable array (not a
   subclass, not a read-only cached constant or a ``broadcast_to`` view).
2. ``g.flags.owndata``: ``g`` owns its memory.  Then any other array that shares that
   memory is a view of ``g``, and a NumPy view keeps a reference to its base (``.base``),
   so every such view shows up in ``g``'s reference count.  An array that does not own its
   memory (a reshape or transpose of an incoming gradient, for example) is always copied:
   its base may be held by anyone.
3. ``sys.getrefcount(g)`` equals what it reports for an array held by one local only:
   every holder (a node's saved inputs or output, a pending gradient, the list of seeds,
   the user's ``grad_output`` array, a tensor a hook kept, another leaf's ``.grad`` that
   adopted the same rule result first, a view) adds one reference, so an equal count means
   the caller's variable is the only one and nobody else can ever observe the array.

Why the count is calibrated rather than a literal 2: ``sys.getrefcount`` also counts the
interpreter's own temporary references (its argument, the parameter of the function that
calls it), and how many of those exist differs between CPython versions (3.14, for one,
can pass some references borrowed).  :func:`_sole_count` measures it once, at import,
with a call of exactly the same shape as the real one (a caller's local, passed to a
one-argument function, passed to ``sys.getrefcount``), so the interpreter's temporaries
are the same on both sides of the comparison.  A count higher than expected (a reference
we did not foresee: a debugger holding a frame, say) only means a copy, which is always
correct.  A count too low would need something holding the array without owning a
reference to it; in CPython the only such holders are the interpreter's temporaries of
the call itself, which the calibration includes.  The engine makes the check after the
walk over the nodes has returned, so none of the walk's variables still hold the array.

**Fallback to copying.** :func:`owned` makes the copy (or adds into the previous
``.grad``).  It is used, and nothing is adopted, when:

* ``sys.getrefcount`` does not exist (PyPy, some other interpreters): ``_SOLE_COUNT`` is
  ``None`` and :func:`unshared` is always False, so every gradient is copied;
* the array fails any of the three tests above;
* the leaf already has a ``.grad`` (the new gradient is added into a fresh array,
  ``prev._data + g``, so nothing is aliased either way);
* ``create_graph=True`` (gradients are graph Tensors, kept as they are, as in PyTorch);
* ``retain_grad`` on a non-leaf, and ``backward(inputs=...)``: always :func:`owned`.

Gradients are the same values whichever path is taken; only whether a copy is made
differs.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor


def _count(a: Any) -> int:
    """``sys.getrefcount(a)``, called the way :func:`unshared` calls it (see :func:`_sole_count`)."""
    return sys.getrefcount(a)


def _sole_count() -> int | None:
    """What :func:`_count` reports for an array held by one local variable of its caller.

    This is the calibration of :func:`unshared`: the same call structure, so the
    interpreter's own temporary references are the same.  None where reference counts
    are not available (e.g. PyPy): every gradient is then copied.
    """
    if not hasattr(sys, "getrefcount"):
        return None
    probe = np.empty(1)
    return _count(probe)


_SOLE_COUNT = _sole_count()


def unshared(g: Any) -> bool:
    """Whether the array ``g`` (a local of the caller) can become a leaf's ``.grad`` as it is.

    True only for a plain writeable ndarray that owns its memory (so any other array
    sharing that memory is a view, which holds a reference to ``g``) and that nothing
    references but the caller's local variable: not a saved array, not the
    ``grad_output`` passed to backward, not a tensor a hook kept, not another leaf's
    ``.grad``.  Otherwise the leaf gets a copy (:func:`owned`), so ``.grad`` never
    aliases anything.  The caller must pass its own local variable directly (not an
    expression, not an attribute): the count is compared against that call shape.
    """
    if _SOLE_COUNT is None or type(g) is not np.ndarray or not g.flags.owndata \
            or not g.flags.writeable:
        return False
    return sys.getrefcount(g) == _SOLE_COUNT


def owned(g: Any, create_graph: bool, prev: Tensor | None, accumulate: bool) -> Tensor:
    """A ``.grad`` tensor that shares memory with nothing else in the walk.

    ``prev`` is the current ``.grad``; with ``accumulate`` the result is ``prev + g``
    (into ``prev`` itself, as PyTorch does, so a reference to ``.grad`` stays valid),
    otherwise it replaces it.  Under ``create_graph`` ``g`` is a graph Tensor and is
    kept (or added) as a Tensor, so it can be differentiated again.
    """
    if create_graph:
        return g if (prev is None or not accumulate) else prev + g
    if prev is None or not accumulate:
        return Tensor._make(np.array(g, copy=True))
    prev._data = prev._data + g  # a fresh array: neither prev's old array nor g is aliased
    return prev
