"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``step``, state dicts.

Updates run on the parameters' arrays in place (no graph is recorded) and move
each parameter's version counter, so a backward that still needs the old
values raises instead of silently using the new ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from gradwise.autograd.grad_mode import enable_grad
from gradwise.autograd.tensor import Tensor
from gradwise.errors import GradwiseError


class OptimizerError(GradwiseError, ValueError):
    """Bad optimizer arguments: no parameters, non-leaf tensors, invalid hyper-parameters."""


def check_hyper(name: str, value: Any, low: float = 0.0, high: float | None = None,
                inclusive_high: bool = False) -> None:
    """A hyper-parameter must be a finite number in ``[low, high)`` (or ``[low, high]``)."""
    bad = not isinstance(value, (int, float)) or math.isnan(value) or value < low
    if high is not None and not bad:
        bad = value > high if inclusive_high else value >= high
    if bad:
        rng = f"[{low}, {high}{']' if inclusive_high else ')'}" if high is not None else f">= {low}"
        raise OptimizerError(f"invalid {name}: {value!r} (expected a number {rng})")


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with ``'params'`` and hyper-parameters)
    and ``state`` (per parameter).  Subclasses implement ``_update(group)``."""

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise OptimizerError(f"{type(self).__name__}: params must be an iterable of tensors or "
                                 "dicts, got a single tensor; wrap it in a list")
        groups = list(params)
        if not groups:
            raise OptimizerError(f"{type(self).__name__} got an empty parameter list; pass "
                                 "model.parameters() of a model that has parameters")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (defaults fill the rest)."""
        group = dict(param_group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise OptimizerError(f"{type(self).__name__} can only optimize tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise OptimizerError(f"{type(self).__name__} can only optimize leaf tensors; this one is the "
                                     f"result of {p.grad_fn!r}. Optimize the tensors you created "
                                     "(e.g. model.parameters()), or call .detach().requires_grad_()")
            if not p.requires_grad:
                raise OptimizerError(f"{type(self).__name__}: a parameter does not require grad")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise OptimizerError("some parameters appear in more than one parameter group")
        group["params"] = params
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._validate(group)
        self.param_groups.append(group)

    def _validate(self, group: dict[str, Any]) -> None:
        check_hyper("learning rate (lr)", group.get("lr", 0.0))
        if "weight_decay" in group:
            check_hyper("weight_decay", group["weight_decay"])

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter (to None by default, like PyTorch)."""
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.data = np.zeros_like(p.grad.data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _grads(self, group: dict[str, Any]) -> Iterator[tuple[Tensor, np.ndarray]]:
        """Each parameter of ``group`` that has a gradient, with that gradient (negated under maximize)."""
        for p in group["params"]:
            g = self._grad(p, group)
            if g is not None:
                yield p, g

    @staticmethod
    def _grad(p: Tensor, group: dict[str, Any]) -> np.ndarray | None:
        if p.grad is None:
            return None
        g = p.grad.data
        if group.get("maximize", False):
            g = -g
        return g

    @staticmethod
    def _set(p: Tensor, values: np.ndarray) -> None:
        """Write new values into the parameter's array and move its version counter."""
        p._write(values)

    @staticmethod
    def _add_scaled(p: Tensor, alpha: float, direction: np.ndarray) -> None:
        """``p <- p + alpha * direction`` in place (one temporary instead of two plus a copy),
        moving the version counter as :meth:`_set` does.  Falls back to :meth:`_set` when the
        array is read-only or the direction has another dtype or shape."""
        d = p.data
        if type(direction) is np.ndarray and direction.dtype == d.dtype and direction.shape == d.shape \
                and d.flags.writeable:
            d += direction * alpha
            if p._version is None:
                p._version = [0]
            p._version[0] += 1
        else:
            p._write(d + alpha * direction)

    # ------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` (PyTorch's layout)."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: (Tensor(v) if isinstance(v, np.ndarray) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state saved by :meth:`state_dict` (same parameter layout)."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise OptimizerError("load_state_dict: the saved parameter groups do not match this optimizer's "
                                 f"({[len(g['params']) for g in groups]} vs "
                                 f"{[len(g['params']) for g in self.param_groups]} parameters)")
        by_index = {}
        for saved, own in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], own["params"]):
                by_index[i] = p
            for k, v in saved.items():
                if k != "params":
                    own[k] = v
        self.state = {}
        for i, st in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = {k: (np.array(v.data if isinstance(v, Tensor) else v, dtype=p.dtype)
                                 if isinstance(v, (Tensor, np.ndarray)) else v) for k, v in st.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k != "params"):
                lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines + [")"])


def apply_weight_decay(data: np.ndarray, g: np.ndarray, lr: float, wd: float,
                       decoupled: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(data, g)`` after weight decay ``wd``: L2 adds ``wd * p`` to the gradient; decoupled
    (AdamW, Loshchilov & Hutter) shrinks the parameter itself, ``p * (1 - lr * wd)``."""
    if not wd:
        return data, g
    if decoupled:
        return data * (1 - lr * wd), g
    return data, g + wd * data


def params_of(params: Iterable[Any]) -> list[Tensor]:
    """All parameters of an iterable of tensors or groups."""
    out: list[Tensor] = []
    for p in params:
        out.extend(p["params"] if isinstance(p, dict) else [p])
    return out
