"""Optimizer updates written into the plan as array lines instead of one opaque call.

Plain SGD (no momentum, weight decay or ``maximize``) is ``p += g * (-lr)`` per parameter
(``Optimizer._add_scaled``): the plan makes those calls itself, reading ``lr`` from the
parameter group at every replay, so a scheduler still takes effect without a retrace.  The
group's other hyper-parameters are guarded: a change traces again.  Every other optimizer
(and SGD with momentum, whose buffers are created on its first step) stays an opaque call
to its own ``_update``: exact by construction, with the per-parameter Python it costs.

>>> import gradwise as gw
>>> w = gw.nn.Parameter(gw.tensor([1.0, 2.0]))
>>> opt = gw.optim.SGD([w], lr=0.5)
>>> @gw.compile
... def step(x):
...     opt.zero_grad(); loss = (w * x).sum(); loss.backward(); opt.step(); return loss
>>> _ = step(gw.tensor([1.0, 1.0])); _ = step(gw.tensor([1.0, 1.0]))
>>> w.detach().numpy().tolist(), any("['lr']" in s for s in step.plan_source())
([0.0, 1.0], True)
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from gradwise.compile.tracer import Tracer
from gradwise.optim.sgd import SGD

# the hyper-parameters of an SGD group that shape its update (lr is read at every replay)
_SGD_STRUCTURE = ("momentum", "dampening", "weight_decay", "nesterov", "maximize")


def sgd_lines(tr: Tracer, opt: Any, group: dict[str, Any]) -> list[tuple[Any, str]] | None:
    """``[(parameter, gradient's plan name)]`` when this group's update can be plan lines."""
    if type(opt) is not SGD or group["momentum"] or group["weight_decay"] or group["maximize"]:
        return None
    entries = []
    for p in group["params"]:
        if p.grad is None:
            continue
        d, g = p._data, p.grad._data
        name = tr.names.get(id(g))
        if name is None or type(g) is not np.ndarray or g.dtype != d.dtype or g.shape != d.shape \
                or not d.flags.writeable or id(d) not in tr.names:
            return None
        entries.append((p, name))
    return entries


def emit_sgd(tr: Tracer, group: dict[str, Any], entries: list[tuple[Any, str]]) -> None:
    """The lines of :func:`sgd_lines`'s update; call after the eager update has run."""
    plan = tr.plan
    tr.structure.append((group, _SGD_STRUCTURE, tuple(group[k] for k in _SGD_STRUCTURE)))
    alpha = plan.emit("{} = -" + plan.const(group, "grp") + "['lr']", [])
    for p, gname in entries:
        # Optimizer._add_scaled: d += direction * alpha, then the version counter moves
        pname = tr.names[id(p._data)]
        plan.emit("@I(" + pname + ", {} * {})", [gname, alpha], ("@I", operator.iadd), n_out=0)
        plan.emit(plan.const(p, "p") + "._version[0] += 1", [], n_out=0)
