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
from gradwise.errors import GradwiseError, format_shape


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
                    p.grad._data = np.zeros_like(p.grad._data)

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
        g = p.grad._data
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
        d = p._data
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
        """Restore hyper-parameters and state saved by :meth:`state_dict` (same parameter layout).

        Everything is checked before anything changes: the number of groups and of parameters in
        each, the saved indices, the hyper-parameters, and every state array's shape (a per-parameter
        buffer has its parameter's shape; plain numbers such as ``step`` stay numbers).  A refused
        load raises :class:`OptimizerError` naming the group or parameter, the key and the shapes,
        and leaves the optimizer as it was."""
        groups, by_index = self._check_state_dict(state_dict)
        for saved, own in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    own[k] = v
        self.state = {}
        for i, st in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = {k: (np.array(v._data if isinstance(v, Tensor) else v, dtype=p.dtype)
                                 if isinstance(v, (Tensor, np.ndarray)) else v) for k, v in st.items()}

    def _state_shape(self, p: Tensor) -> tuple[int, ...]:
        """The shape every state array of ``p`` must have: ``p``'s own shape, or, for an optimizer that
        keeps one flat state over all its parameters (LBFGS: ``_flat_grad``), ``(total numel,)``."""
        if callable(getattr(self, "_flat_grad", None)):
            return (sum(int(q.numel()) for g in self.param_groups for q in g["params"]),)
        return tuple(p.shape)

    def _check_state_dict(self, state_dict: Any) -> tuple[list[dict[str, Any]], dict[int, Tensor]]:
        """``(saved groups, {saved index: parameter})`` for a state dict that fits this optimizer;
        :class:`OptimizerError` for the first thing that does not (nothing is changed here)."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise OptimizerError(f"{name}: expected a dict with 'state' and 'param_groups' (what state_dict() "
                                 f"returns), got {type(state_dict).__name__}"
                                 + (f" with keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict)
                                    else ""))
        groups, state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, (list, tuple)) or not all(
                isinstance(g, dict) and isinstance(g.get("params"), (list, tuple)) for g in groups):
            raise OptimizerError(f"{name}: 'param_groups' must be a list of dicts, each with a 'params' list of "
                                 "indices")
        own_sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in groups]
        if saved_sizes != own_sizes:
            raise OptimizerError(f"{name}: the saved parameter groups do not match this optimizer's "
                                 f"({saved_sizes} vs {own_sizes} parameters; saved: {len(groups)} group(s), "
                                 f"this optimizer: {len(own_sizes)}); load a state saved by an optimizer over the "
                                 "same parameters")
        by_index: dict[int, Tensor] = {}
        where: dict[int, tuple[int, int]] = {}
        for gi, (saved, own) in enumerate(zip(groups, self.param_groups)):
            for pi, (i, p) in enumerate(zip(saved["params"], own["params"])):
                if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or int(i) in by_index:
                    raise OptimizerError(f"{name}: group {gi} parameter {pi}: index {i!r} is not a new integer "
                                         "(each saved parameter index must appear once)")
                by_index[int(i)], where[int(i)] = p, (gi, pi)
            hyper = {k: v for k, v in saved.items() if k != "params"}
            try:
                self._validate({**own, **hyper})
            except OptimizerError as exc:
                raise OptimizerError(f"{name}: group {gi}: {exc}") from None
        if not isinstance(state, dict):
            raise OptimizerError(f"{name}: 'state' must be a dict {{parameter index: {{key: value}}}}, got "
                                 f"{type(state).__name__}")
        for i, st in state.items():
            try:
                index = int(i)
            except (TypeError, ValueError):
                index = -1
            if index not in by_index:
                raise OptimizerError(f"{name}: state for parameter index {i!r}, which no saved group holds; "
                                     f"valid indices: {sorted(by_index)}")
            gi, pi = where[index]
            if not isinstance(st, dict):
                raise OptimizerError(f"{name}: group {gi} parameter {pi} (index {index}): state must be a dict, "
                                     f"got {type(st).__name__}")
            p = by_index[index]
            expected = self._state_shape(p)
            for key, value in st.items():
                items = list(value) if isinstance(value, (list, tuple)) else [value]
                for j, item in enumerate(items):
                    label = f"{key!r}" if not isinstance(value, (list, tuple)) else f"{key!r}[{j}]"
                    self._check_state_value(name, gi, pi, index, label, item, expected)
        return list(groups), by_index

    @staticmethod
    def _check_state_value(name: str, gi: int, pi: int, index: int, label: str, value: Any,
                           expected: tuple[int, ...]) -> None:
        """A state value is a plain number (or None, a string...) or an array of the ``expected`` shape."""
        if not isinstance(value, (Tensor, np.ndarray)):
            return
        arr = value._data if isinstance(value, Tensor) else value
        where = f"{name}: group {gi} parameter {pi} (index {index}), state {label}"
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise OptimizerError(f"{where}: holds an array of dtype {arr.dtype}; valid: a numeric array of shape "
                                 f"{format_shape(expected)}")
        if tuple(arr.shape) != expected:
            raise OptimizerError(f"{where}: has shape {format_shape(arr.shape)}, but the parameter's state must "
                                 f"have shape {format_shape(expected)} (or be a plain number such as a step "
                                 "count); the state was saved for a different parameter")

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
