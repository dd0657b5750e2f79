"""``summary(model, input_size=...)``: a model's layers, output shapes, parameter counts and memory, as
``torchinfo.summary`` shows them.

One forward pass runs with a hook on every module, under ``no_grad`` and in eval mode (so
BatchNorm's running statistics and the random generators are left alone), and each module's
train/eval flag is put back afterwards.  Per module call, in call order, it records the name
and kind (``0 (Linear)``), the nesting depth, the output shapes (every tensor of a tuple such
as LSTM's ``(output, (h, c))``) and the parameters first counted there, trainable or not.  A
module called twice, or weights tied between modules, are counted once: later calls show them
as shared.

The memory estimate is what one forward and backward pass at the given batch needs, from the
tensors this pass produced:

- parameters: their bytes, and as much again for the trainable ones' gradients (optimizer state
  is not included: SGD with momentum adds one copy, Adam two);
- activations: the bytes of every leaf module's outputs (what the backward pass keeps), and as
  much again for their gradients, divided by the batch size: the part that grows with each
  sample of a batch.

>>> import gradwise as gw
>>> from gradwise import nn
>>> s = summary(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), input_size=(1, 4))
>>> [(row.label, row.output_shapes[0], row.parameters) for row in s.layers]
[('0 (Linear)', (1, 8), 40), ('1 (ReLU)', (1, 8), 0), ('2 (Linear)', (1, 2), 18)]
>>> s.total_parameters, s.activation_bytes_per_sample
(58, 72)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gradwise.autograd.grad_mode import no_grad
from gradwise.autograd.tensor import Tensor
from gradwise.dtypes import get_default_dtype, resolve_dtype
from gradwise.errors import GradwiseError, format_shape
from gradwise.train.html_repr import box, esc, paragraph, table, text_table

Shape = tuple[int, ...]


class SummaryError(GradwiseError, ValueError):
    """``summary`` could not run the model: a bad ``input_size``/``example``, or the forward pass
    failed (the message names the layer, what it was given and the model's input shapes)."""


@dataclass(frozen=True)
class LayerSummary:
    """One module call: its path in the model (``name``), class (``kind``), nesting ``depth`` (0 for
    the model's children), every output tensor's shape, and the parameters first counted here
    (``parameters`` trainable, ``non_trainable`` frozen: the table's ``frozen`` column, shown when
    any is) or already counted elsewhere (``shared``).
    ``expanded``: the rows below show its children, and this row counts only its own parameters;
    otherwise it counts all of its sub-modules' too."""

    name: str
    kind: str
    depth: int
    output_shapes: tuple[Shape, ...]
    parameters: int
    non_trainable: int
    shared: int
    expanded: bool

    @property
    def label(self) -> str:
        """``name (Kind)``, e.g. ``0 (Linear)``."""
        return f"{self.name} ({self.kind})" if self.name else self.kind


@dataclass(frozen=True)
class ModelSummary:
    """What :func:`summary` found; ``str()``/``repr()`` is a text table and Jupyter shows it as HTML.

    Bytes are for the pass that was run: ``input_shapes`` at ``batch_size`` samples.
    ``activation_bytes`` counts every leaf module's outputs once; ``activation_bytes_per_sample``
    is ``activation_bytes / batch_size``; :attr:`memory_per_sample` adds their gradients."""

    model: str
    input_shapes: tuple[Shape, ...]
    dtype: str
    batch_size: int
    depth: int
    layers: tuple[LayerSummary, ...]
    output_shapes: tuple[Shape, ...]
    total_parameters: int
    trainable_parameters: int
    non_trainable_parameters: int
    uncalled_parameters: int        # parameters of modules the forward pass never called
    parameter_bytes: int
    gradient_bytes: int             # the trainable parameters' bytes: what their gradients take
    buffer_bytes: int
    activation_bytes: int
    activation_bytes_per_sample: int

    @property
    def memory_per_sample(self) -> int:
        """Bytes one more sample of a batch costs in training: its activations and their gradients."""
        return 2 * self.activation_bytes_per_sample

    def training_bytes(self, batch_size: int | None = None) -> int:
        """Estimated bytes of one training step at ``batch_size`` (default: the summarised batch):
        parameters and their gradients, buffers, activations and their gradients (no optimizer state)."""
        n = self.batch_size if batch_size is None else batch_size
        return self.parameter_bytes + self.gradient_bytes + self.buffer_bytes + n * self.memory_per_sample

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: every field, each layer with its ``label``, and the memory figures."""
        data = asdict(self)
        data["input_shapes"] = [list(s) for s in self.input_shapes]
        data["output_shapes"] = [list(s) for s in self.output_shapes]
        data["layers"] = [{**asdict(r), "label": r.label, "output_shapes": [list(s) for s in r.output_shapes]}
                          for r in self.layers]
        data["memory_per_sample"] = self.memory_per_sample
        data["training_bytes"] = self.training_bytes()
        return data

    # ------------------------------------------------------------------ display
    def _rows(self) -> list[list[str]]:
        rows = []
        for r in self.layers:
            shapes = ", ".join(format_shape(s) for s in r.output_shapes) or "-"
            params = "--" if r.expanded and not (r.parameters or r.non_trainable) else f"{r.parameters:,}"
            if r.shared:
                own = r.parameters or r.non_trainable
                params = f"{params} (+{r.shared:,} shared)" if own else f"{r.shared:,} shared"
            frozen = [f"{r.non_trainable:,}" if r.non_trainable else "-"] if self.non_trainable_parameters else []
            rows.append([r.label, shapes, params, *frozen])
        return rows

    def _head(self) -> list[str]:
        # the frozen column only when something is frozen: the table stays narrow in a notebook
        return ["layer (kind)", "output shape", "parameters"] + (["frozen"] if self.non_trainable_parameters else [])

    def _memory_lines(self) -> list[str]:
        return [f"parameters: {_bytes(self.parameter_bytes)}, their gradients {_bytes(self.gradient_bytes)}"
                + (f"; buffers {_bytes(self.buffer_bytes)}" if self.buffer_bytes else ""),
                f"activations: {_bytes(self.activation_bytes_per_sample)} per sample (every leaf layer's outputs), "
                f"{_bytes(self.memory_per_sample)} with their gradients",
                f"one training step at batch {self.batch_size}: about {_bytes(self.training_bytes())} "
                "(no optimizer state: momentum adds a copy of the parameters, Adam two)"]

    def _totals(self) -> str:
        extra = f"; {self.uncalled_parameters:,} in modules forward never called" if self.uncalled_parameters else ""
        return (f"total parameters: {self.total_parameters:,} (trainable {self.trainable_parameters:,}, "
                f"non-trainable {self.non_trainable_parameters:,}{extra})")

    def _title(self) -> str:
        inputs = ", ".join(format_shape(s) for s in self.input_shapes)
        return f"Model summary: {self.model}, input {inputs} {self.dtype}"

    def to_text(self) -> str:
        """The table: one row per module call (nested modules indented), then totals and memory."""
        head = self._head()
        rows = [["  " * r.depth + row[0], *row[1:]] for r, row in zip(self.layers, self._rows())]
        lines = [self._title(), text_table(head, rows, left=2), self._totals(), "memory estimate:"]
        lines += [f"  {line}" for line in self._memory_lines()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        """Jupyter's display: the same table, indented by depth, as self-contained HTML."""
        head = self._head()
        titles = ["the module's path in the model and its class", "shape of each tensor it returned",
                  "trainable parameters first counted here (shared: counted at an earlier row)",
                  "non-trainable parameters (requires_grad=False)"]
        body = table(head, self._rows(), left=2, indents=[r.depth for r in self.layers], titles=titles[:len(head)])
        body += paragraph(self._totals())
        items = "".join(f"<li>{esc(line)}</li>" for line in self._memory_lines())
        body += (f'<div style="margin-top:4px">memory estimate:<ul style="margin:2px 0 0 18px;padding:0">{items}'
                 '</ul></div>')
        return box(self._title(), body)


def _bytes(n: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"     # pragma: no cover


def _tensors(obj: Any) -> list[Tensor]:
    """Every Tensor in ``obj`` (nested tuples, lists and dict values), in order."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _tensors(item)]
    return []


def _check_shape(shape: Any, what: str) -> Shape:
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise SummaryError(f"summary: {what} must be a tuple of non-negative ints such as (1, 4) (the batch "
                           f"dimension first), got {shape!r}")
    return tuple(int(d) for d in shape)


def _inputs(input_size: Any, example: Any, dtype: Any) -> tuple[Any, ...]:
    """The forward's positional arguments: ``example`` as given, or tensors of ``input_size``."""
    if (input_size is None) == (example is None):
        raise SummaryError("summary: give exactly one of input_size (a shape such as (1, 4), or a list of shapes "
                           "for several inputs) and example (a tensor, or a tuple of tensors)")
    if example is not None:
        args = tuple(example) if isinstance(example, (tuple, list)) else (example,)
        return tuple(Tensor(np.asarray(a)) if isinstance(a, np.ndarray) else a for a in args)
    shapes = [input_size] if not input_size or not isinstance(input_size[0], (tuple, list)) else list(input_size)
    dt = get_default_dtype() if dtype is None else resolve_dtype(dtype)
    gen = np.random.default_rng(0)      # its own generator: the global ones are not touched
    out = []
    for k, shape in enumerate(shapes):
        s = _check_shape(shape, "input_size" if len(shapes) == 1 else f"input_size[{k}]")
        # integer inputs (token ids for an Embedding) are zeros, a valid index for any table
        value = gen.standard_normal(s).astype(dt) if np.issubdtype(dt, np.floating) else np.zeros(s, dt)
        out.append(Tensor(value))
    return tuple(out)


def summary(model: Any, input_size: Any = None, *, example: Any = None, dtype: Any = None, depth: int = 3,
            batch_dim: int | None = 0) -> ModelSummary:
    """Summarise ``model`` by running one forward pass on ``example`` or on random data of ``input_size``.

    ``input_size`` includes the batch dimension, as in torchinfo: ``(1, 4)`` for an MLP on 4
    features, ``(8, 3, 28, 28)`` for a CNN, a list of shapes for a model with several inputs; its
    tensors are standard normal draws of ``dtype`` (the default dtype; zeros for an integer dtype,
    say for an Embedding).  ``example`` is a tensor (or a tuple of them) passed to the model as it
    is.  ``depth`` is how deeply nested modules are listed (deeper ones count in their listed
    parent's row).  ``batch_dim`` says which dimension of the first input is the batch (``None``:
    one sample), for the per-sample memory.  A forward pass that fails raises :class:`SummaryError`
    naming the layer, the shapes it was given and the model's input shapes.
    """
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise SummaryError(f"summary: depth must be an int >= 0, got {depth!r}")
    if not hasattr(model, "named_modules") or not callable(model):
        raise SummaryError(f"summary: model must be a gradwise nn.Module, got {type(model).__name__}")
    args = _inputs(input_size, example, dtype)
    in_shapes = tuple(tuple(a.shape) for a in args if isinstance(a, Tensor))
    names = {id(m): name for name, m in model.named_modules()}
    calls: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []

    def pre(module: Any, call_args: tuple[Any, ...]) -> None:
        rec = {"module": module, "depth": len(stack), "inputs": [tuple(t.shape) for t in _tensors(call_args)],
               "outputs": None, "bytes": 0}
        calls.append(rec)
        stack.append(rec)

    def post(module: Any, call_args: tuple[Any, ...], out: Any) -> None:
        rec = stack.pop()
        tensors = _tensors(out)
        rec["outputs"] = tuple(tuple(t.shape) for t in tensors)
        rec["bytes"] = sum(int(t._data.nbytes) for t in tensors)

    modes = [(m, m.training) for m in model.modules()]
    handles = []
    # the model's own row only when it has no sub-modules (a bare nn.Linear): otherwise its children are the rows
    for m in [m for m in model.modules() if m is not model] or [model]:
        handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    out: Any = None
    try:
        model.eval()
        with no_grad():
            out = model(*args)
    except Exception as exc:
        given = ", ".join(format_shape(s) for s in in_shapes)
        if stack:
            failed = stack[-1]
            m = failed["module"]
            where = (f"in layer {names.get(id(m), '?')!r} ({type(m).__name__}), which was given "
                     f"{', '.join(format_shape(s) for s in failed['inputs']) or 'no tensors'}")
        else:
            where = f"in the model's own forward ({type(model).__name__})"
        raise SummaryError(f"summary: the forward pass failed {where}; the model's input was {given}: {exc}") from exc
    finally:
        for h in handles:
            h.remove()
        for m, training in modes:
            m.training = training
    return _build(model, names, calls, args, in_shapes, _tensors(out), depth, batch_dim)


def _build(model: Any, names: dict[int, str], calls: list[dict[str, Any]], args: tuple[Any, ...],
           in_shapes: tuple[Shape, ...], outputs: list[Tensor], depth: int, batch_dim: int | None) -> ModelSummary:
    seen: set[int] = set()
    rows = []
    for rec in calls:
        m = rec["module"]
        if rec["depth"] > depth:
            continue
        has_children = any(True for _ in m.children())
        expanded = has_children and rec["depth"] < depth and any(
            c["depth"] == rec["depth"] + 1 for c in calls if _is_child(c["module"], m))
        params = list(m.parameters(recurse=not expanded))
        new = [p for p in params if id(p) not in seen]
        new_ids = {id(p) for p in new}
        seen.update(new_ids)
        rows.append(LayerSummary(
            names.get(id(m), type(m).__name__), type(m).__name__, rec["depth"], rec["outputs"] or (),
            sum(p.numel() for p in new if p.requires_grad), sum(p.numel() for p in new if not p.requires_grad),
            sum(p.numel() for p in params if id(p) not in new_ids), expanded))
    every = list(model.parameters())
    leaves = [rec for rec in calls if not any(True for _ in rec["module"].children())]
    first = next((a for a in args if isinstance(a, Tensor)), None)
    batch = 1
    if batch_dim is not None and first is not None and first.ndim > batch_dim:
        batch = max(int(first.shape[batch_dim]), 1)
    activation = sum(rec["bytes"] for rec in leaves)
    dtype = str(first.dtype) if first is not None else "-"
    return ModelSummary(
        type(model).__name__, in_shapes, dtype, batch, depth, tuple(rows), tuple(tuple(t.shape) for t in outputs),
        sum(p.numel() for p in every), sum(p.numel() for p in every if p.requires_grad),
        sum(p.numel() for p in every if not p.requires_grad),
        sum(p.numel() for p in every if id(p) not in seen),
        sum(int(p._data.nbytes) for p in every), sum(int(p._data.nbytes) for p in every if p.requires_grad),
        sum(int(b._data.nbytes) for _, b in model.named_buffers()) if hasattr(model, "named_buffers") else 0,
        activation, -(-activation // batch))


def _is_child(candidate: Any, parent: Any) -> bool:
    return any(c is candidate for c in parent.children())
