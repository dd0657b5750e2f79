"""A traced step as generated Python: the plan's lines, its names and its replay function.

A plan is straight-line code over NumPy arrays: one line per op forward, gradient rule,
reduction to an input's shape, gradient sum, ``.grad`` store or optimizer call, in the
order the eager run did them.  Values are local variables (``v0``, ``v1``...), the
inputs are the parameters ``a0``, ``a1``... and everything else (the op forwards, the
rules, parameters' arrays, Python constants) is a global of the generated function.

Liveness: after the last line that reads a local, a ``del`` drops it, so its array can
be freed (and its memory reused by the next allocation) as early as in the eager run,
where the backward walk frees each node's saved arrays once used.

>>> import numpy as np
>>> b = PlanBuilder()
>>> x = b.new_input()
>>> v = b.emit("{} = @N({})", [x], ("@N", np.negative))
>>> b.outputs([v])
>>> fn = b.build("demo")
>>> fn(np.array([1.0, -2.0]))
(array([-1.,  2.]),)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class PlanBuilder:
    """Collects the lines of a plan; :meth:`build` compiles them into one function."""

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self._by_id: dict[int, str] = {}   # id(global value) -> its name (one name per object)
        self._keep: list[Any] = []         # keeps every global alive, so ids stay unique
        self.lines: list[tuple[str, list[str], list[str]]] = []  # (code, defined, used)
        self.n_inputs = 0
        self._n = 0
        self._outputs: list[str] = []

    def new_input(self) -> str:
        name = f"a{self.n_inputs}"
        self.n_inputs += 1
        return name

    def new_var(self) -> str:
        name = f"v{self._n}"
        self._n += 1
        return name

    def const(self, value: Any, hint: str = "c") -> str:
        """The global name holding ``value`` (the same object always gets the same name)."""
        if value is None:
            return "None"
        if value is True or value is False:
            return repr(value)
        key = id(value)
        name = self._by_id.get(key)
        if name is None:
            name = f"{hint}{len(self.globals)}"
            self.globals[name] = value
            self._by_id[key] = name
            self._keep.append(value)
        return name

    def emit(self, template: str, uses: list[str], func: tuple[str, Any] | None = None,
             n_out: int = 1) -> Any:
        """Add one line; ``template`` has one ``{}`` per output then one per use.

        ``func`` is ``(hint, callable)``: the callable becomes a global and its name
        replaces the token ``hint`` in the template.  Returns the new variable (or a
        list of ``n_out`` of them; none when ``n_out`` is 0)."""
        outs = [self.new_var() for _ in range(n_out)]
        code = template.format(*outs, *uses)
        if func is not None:
            code = code.replace(func[0], self.const(func[1], "f"), 1)
        self.lines.append((code, outs, [u for u in uses if is_local(u)]))
        if n_out == 1:
            return outs[0]
        return outs

    def outputs(self, names: list[str]) -> None:
        self._outputs = list(names)

    def source(self, name: str) -> str:
        """The plan as Python source, with ``del`` after each local's last use."""
        last: dict[str, int] = {}
        for i, (_, _, uses) in enumerate(self.lines):
            for u in uses:
                last[u] = i
        keep = set(self._outputs)
        body = []
        for i, (code, defined, uses) in enumerate(self.lines):
            body.append("    " + code)
            dead = sorted({u for u in uses if last.get(u) == i and u not in keep})
            # a value never read again (a rule result nothing sums) is dropped at once
            dead += [d for d in defined if d not in last and d not in keep and is_local(d)]
            if dead:
                body.append("    del " + ", ".join(dead))
        args = ", ".join(f"a{i}" for i in range(self.n_inputs))
        ret = "".join(o + ", " for o in self._outputs)
        return f"def {name}({args}):\n" + "\n".join(body) + f"\n    return ({ret})\n"

    def build(self, name: str = "plan") -> Callable[..., tuple[Any, ...]]:
        src = self.source(name)
        env = dict(self.globals)
        exec(compile(src, f"<gradwise.compile plan {name}>", "exec"), env)  # noqa: S102 - our own generated code
        fn: Callable[..., tuple[Any, ...]] = env[name]
        fn.__doc__ = src
        return fn


def is_local(name: str) -> bool:
    return name[:1] in ("v", "a") and name[1:].isdigit()
