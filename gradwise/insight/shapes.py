"""Dimension audit: trace one forward (and backward) pass and list every layer's shapes.

``shapes(model, example_input)`` runs the model once with forward hooks on its
leaf modules and returns, per layer in call order, the input and output shapes,
each parameter's shape and its gradient's shape (from one backward pass of the
output's sum), and the parameter counts.  When a layer rejects its input, the
audit stops there and says which layer, what it received and what would fit.

>>> import gradwise as gw
>>> from gradwise import nn
>>> audit = shapes(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), gw.zeros(5, 4))
>>> [(r.name, r.output_shape) for r in audit.layers]
[('0', (5, 8)), ('1', (5, 8)), ('2', (5, 2))]
>>> audit.total_parameters
58
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradwise.autograd.tensor import Tensor
from gradwise.errors import format_shape
from gradwise.insight.html_repr import shape_audit_html


@dataclass(frozen=True)
class LayerShapes:
    """One layer call: shapes in and out, parameter and gradient shapes, parameter count."""

    name: str
    kind: str
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...] | None
    parameter_shapes: dict[str, tuple[int, ...]]
    gradient_shapes: dict[str, tuple[int, ...] | None]
    parameters: int


@dataclass(frozen=True)
class ShapeFailure:
    """The first layer that could not take its input, with the error and a fix."""

    name: str
    kind: str
    input_shapes: tuple[tuple[int, ...], ...]
    message: str
    suggestion: str


@dataclass(frozen=True)
class ShapeAudit:
    """Layers in call order; ``failure`` is None when the whole pass went through."""

    layers: tuple[LayerShapes, ...]
    failure: ShapeFailure | None
    total_parameters: int

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_text(self) -> str:
        rows = [("layer", "type", "input", "output", "parameters (shape -> gradient shape)", "count")]
        for r in self.layers:
            params = "; ".join(f"{k} {format_shape(v)} -> {_gradient_text(r.gradient_shapes[k])}"
                               for k, v in r.parameter_shapes.items())
            rows.append((r.name, r.kind, ", ".join(format_shape(s) for s in r.input_shapes),
                         format_shape(r.output_shape) if r.output_shape is not None else "-", params or "-",
                         str(r.parameters)))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines.append(f"total parameters: {self.total_parameters}")
        if self.failure:
            f = self.failure
            lines += [f"FAILED at layer {f.name} ({f.kind}) with input "
                      f"{', '.join(format_shape(s) for s in f.input_shapes)}: {f.message}", f"fix: {f.suggestion}"]
        return "\n".join(lines)

    __str__ = to_text
    __repr__ = to_text

    def _repr_html_(self) -> str:
        """Jupyter's display: the table of shapes and the failure with its fix (self-contained HTML)."""
        return shape_audit_html(self)


def _gradient_text(shape: tuple[int, ...] | None) -> str:
    return format_shape(shape) if shape else "no grad"


def _suggest(module: Any, inputs: tuple[tuple[int, ...], ...]) -> str:
    """What the failing layer would need, for the layers whose fit is known."""
    kind = type(module).__name__
    shape = inputs[0] if inputs else ()
    if kind == "Linear" and shape:
        return (f"the previous layer gives {shape[-1]} features; use Linear(in_features={shape[-1]}, "
                f"out_features={module.out_features}) or change the previous layer to output {module.in_features}")
    if kind in ("Conv1d", "Conv2d", "ConvTranspose2d") and len(shape) >= 2:
        return (f"the input has {shape[1]} channels; use {kind}(in_channels={shape[1]}, ...) or give it "
                f"{module.in_channels} channels")
    if kind in ("BatchNorm1d", "BatchNorm2d") and len(shape) >= 2:
        return f"the input has {shape[1]} features/channels; use {kind}({shape[1]})"
    if kind in ("RNN", "LSTM", "GRU") and shape:
        return f"the input's last dimension is {shape[-1]}; use {kind}(input_size={shape[-1]}, ...)"
    return "make the previous layer's output shape match what this layer expects (see the message)"


def shapes(model: Any, *example_inputs: Any) -> ShapeAudit:
    """Trace ``model(*example_inputs)`` and a backward pass; see the module docstring."""
    records: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []
    names = {id(m): name for name, m in model.named_modules()}
    leaves = [m for m in model.modules() if not any(True for _ in m.children())] or [model]
    handles = []

    def shape_of(x: Any) -> tuple[int, ...] | None:
        return tuple(x.shape) if isinstance(x, Tensor) else None

    def pre(module: Any, args: tuple[Any, ...]) -> None:
        rec = {"module": module, "inputs": tuple(s for s in map(shape_of, args) if s is not None), "output": None}
        records.append(rec)
        stack.append(rec)

    def post(module: Any, args: tuple[Any, ...], out: Any) -> None:
        rec = stack.pop()
        first = out[0] if isinstance(out, (tuple, list)) else out
        rec["output"], rec["tensor"] = shape_of(first), first

    for m in leaves:
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    failure = None
    out = None
    # the audit leaves no trace: eval mode (no running-statistics update) and the gradients put back
    was_training = getattr(model, "training", False)
    saved_grads = [(p, p.grad) for p in model.parameters()]
    for p, _ in saved_grads:
        p.grad = None
    model.eval()
    try:
        out = model(*example_inputs)
    except (ValueError, TypeError, IndexError) as exc:
        rec = stack[-1] if stack else None
        if rec is None:
            raise
        m = rec["module"]
        failure = ShapeFailure(names.get(id(m)) or type(m).__name__, type(m).__name__, rec["inputs"], str(exc),
                               _suggest(m, rec["inputs"]))
        records = records[:records.index(rec)]
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if failure is None:
        first = out[0] if isinstance(out, (tuple, list)) else out
        if isinstance(first, Tensor) and first.requires_grad:
            first.sum().backward()
    rows = []
    for rec in records:
        m = rec["module"]
        params = dict(m.named_parameters(recurse=False)) if hasattr(m, "named_parameters") else {}
        rows.append(LayerShapes(
            names.get(id(m)) or type(m).__name__, type(m).__name__, rec["inputs"], rec["output"],
            {k: tuple(p.shape) for k, p in params.items()},
            {k: (tuple(p.grad.shape) if p.grad is not None else None) for k, p in params.items()},
            sum(p.numel() for p in params.values())))
    for p, g in saved_grads:
        p.grad = g
    total = sum(p.numel() for p in model.parameters())
    return ShapeAudit(tuple(rows), failure, total)
