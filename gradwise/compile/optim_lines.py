"""Optimizer updates written into the plan as array lines instead of one opaque call.

SGD (plain, momentum, Nesterov, dampening, weight decay, ``maximize``), Adam and AdamW
(with ``amsgrad``, L2 or decoupled weight decay) become one block of plan lines per
parameter group, the optimizer's own ``_update`` expression for expression, so the replay
is bit-identical to the eager step:

- hyper-parameters that only scale (``lr``, ``momentum``, ``dampening``, ``betas``,
  ``eps``, ``weight_decay``) are read from the group at every replay: a scheduler (also one
  that cycles momentum) takes effect without a retrace;
- what changes the *shape* of the update (whether momentum, dampening or weight decay is
  on, ``nesterov``, ``amsgrad``, ``maximize``) is guarded: a change traces again;
- the state arrays (``momentum_buffer``, ``exp_avg``...) and the ``step`` counter are looked
  up in ``optimizer.state`` at every replay (``load_state_dict`` replaces them) and updated
  in place, so ``state_dict()`` and checkpoints see the plan's work.  When the state is
  missing (a new ``load_state_dict``, a cleared ``state``), the block calls the
  optimizer's own ``_update`` instead, which creates it;
- each gradient is read as ``p.grad._data`` at the replay (it may be an accumulated one).

Other optimizers (and subclasses of these) stay an opaque call to their own ``_update``.

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

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from gradwise.compile.tracer import Tracer, _Call
from gradwise.optim.adaptive import Adam, AdamW
from gradwise.optim.sgd import SGD


def _sgd_shape(group: dict[str, Any]) -> tuple[Any, ...]:
    return (bool(group["momentum"]), bool(group["dampening"]), bool(group["weight_decay"]),
            group["nesterov"], group["maximize"])


def _adam_shape(group: dict[str, Any]) -> tuple[Any, ...]:
    return bool(group["weight_decay"]), group["amsgrad"], group["maximize"]


def update_lines(tr: Tracer, opt: Any, group: dict[str, Any]) -> list[Any] | None:
    """The group's parameters that have a gradient, when its update can be plan lines; else None."""
    if type(opt) not in (SGD, Adam, AdamW):
        return None
    params = []
    for p in group["params"]:
        if p.grad is None:
            continue
        d, g = p._data, p.grad._data
        if id(g) not in tr.names or type(g) is not np.ndarray or type(d) is not np.ndarray \
                or g.dtype != d.dtype or g.shape != d.shape or not d.flags.writeable \
                or p._version is None:
            return None
        params.append(p)
    return params


def emit_update(tr: Tracer, opt: Any, group: dict[str, Any], params: list[Any],
                update: Callable[..., Any]) -> None:
    """Write the block of :func:`update_lines`; call after the eager update has run
    (``update`` is the optimizer's own ``_update``, the block's fallback)."""
    plan = tr.plan
    if not params:
        return
    shape = _sgd_shape if type(opt) is SGD else _adam_shape
    tr.structure.append((group, shape, shape(group)))
    grp, o = plan.const(group, "grp"), plan.const(opt, "opt")
    fallback = plan.const(_Call(update, (opt, group), {}), "op")
    ps = [plan.const(p, "p") for p in params]
    ds = [tr.ref(p._data, p) for p in params]
    if type(opt) is SGD:
        lookups, body = _sgd_block(plan, group, grp, ps, ds)
    else:
        lookups, body = _adam_block(plan, group, grp, type(opt) is AdamW, ps, ds)
    if lookups:
        # every state lookup comes before any write: a missing entry leaves nothing half done
        code = ["try:", f"    S = {o}.state", *("    " + s for s in lookups),
                f"except KeyError: {fallback}()   # no state yet: the optimizer creates it", "else:",
                *("    " + s for s in body)]
    else:
        code = body
    plan.emit("\n    ".join(code), [], n_out=0)


def _grad(p: str, group: dict[str, Any]) -> str:
    # Optimizer._grad: the gradient, negated under maximize (a new array, as eager makes)
    return f"-{p}.grad._data" if group["maximize"] else f"{p}.grad._data"


def _sgd_block(plan: Any, group: dict[str, Any], grp: str, ps: list[str], ds: list[str]) -> tuple[list[str], list[str]]:
    """SGD._update: ``g += wd p``; ``b = mom b + (1 - damp) g``; ``g = g + mom b`` or ``b``;
    then ``Optimizer._add_scaled``: ``p += g * (-lr)`` in place, version moved."""
    mom, wd = bool(group["momentum"]), bool(group["weight_decay"])
    lookups = [f"B{i} = S[{p}]['momentum_buffer']" for i, p in enumerate(ps)] if mom else []
    iadd = plan.const(operator.iadd, "f")
    body = [f"Glr = {grp}['lr']", "Gnlr = -Glr"]
    if mom:
        body += [f"Gmom = {grp}['momentum']", f"Gdamp = {grp}['dampening']"]
    if wd:
        body.append(f"Gwd = {grp}['weight_decay']")
    for i, (p, d) in enumerate(zip(ps, ds)):
        body.append(f"g = {_grad(p, group)}")
        if wd:
            body.append(f"g = g + Gwd * {d}")
        if mom:
            body.append(f"B{i} *= Gmom")
            body.append(f"B{i} += (1 - Gdamp) * g" if group["dampening"] else f"B{i} += g")
            body.append(f"g = g + Gmom * B{i}" if group["nesterov"] else f"g = B{i}")
        body.append(f"{iadd}({d}, g * Gnlr)")   # ``d += ...`` would make d a local of the plan
        body.append(f"{p}._version[0] += 1")
    return lookups, body


def _adam_block(plan: Any, group: dict[str, Any], grp: str, decoupled: bool, ps: list[str],
                ds: list[str]) -> tuple[list[str], list[str]]:
    """Adam._update with AdamW's decoupled decay: ``m = b1 m + (1 - b1) g``,
    ``v = b2 v + (1 - b2) g^2`` (amsgrad: ``vmax = max(vmax, v)``), ``p = p - lr/(1 - b1^t)
    m / (sqrt(v)/sqrt(1 - b2^t) + eps)`` written into the parameter's array."""
    wd, ams = bool(group["weight_decay"]), bool(group["amsgrad"])
    sqrt, copyto, maximum, npsqrt = (plan.const(f, "f") for f in (math.sqrt, np.copyto, np.maximum, np.sqrt))
    lookups = []
    for i, p in enumerate(ps):
        lookups += [f"T{i} = S[{p}]", f"T{i}['step']", f"M{i} = T{i}['exp_avg']", f"V{i} = T{i}['exp_avg_sq']"]
        if ams:
            lookups.append(f"X{i} = T{i}['max_exp_avg_sq']")
    body = [f"Glr, (Gb1, Gb2), Geps, Gwd = {grp}['lr'], {grp}['betas'], {grp}['eps'], {grp}['weight_decay']"]
    for i, (p, d) in enumerate(zip(ps, ds)):
        body += [f"T{i}['step'] += 1", f"t = T{i}['step']", f"g = {_grad(p, group)}"]
        data = d
        if wd and decoupled:
            body.append(f"data = {d} * (1 - Glr * Gwd)")
            data = "data"
        elif wd:
            body.append(f"g = g + Gwd * {d}")
        body += [f"M{i} *= Gb1", f"M{i} += (1 - Gb1) * g", f"V{i} *= Gb2", f"V{i} += (1 - Gb2) * (g * g)"]
        v = f"V{i}"
        if ams:
            body.append(f"{maximum}(X{i}, V{i}, out=X{i})")
            v = f"X{i}"
        body += ["bc1 = 1 - Gb1 ** t", f"bc2_sqrt = {sqrt}(1 - Gb2 ** t)",
                 f"denom = {npsqrt}({v}) / bc2_sqrt + Geps",
                 # Optimizer._set -> Tensor._write: copy into the array, move the version
                 f"{copyto}({d}, {data} - (Glr / bc1) * M{i} / denom, casting='unsafe')",
                 f"{p}._version[0] += 1"]
    return lookups, body
