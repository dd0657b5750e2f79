"""``gradwise run --report DIR``: the gradient monitor on the networks a script's optimizers train.

While the script runs, :class:`ScriptRecorder` keeps weak references to every ``nn.Module``
it creates (a wrapped ``Module.__init__``) and sees every optimizer it builds (a wrapped
``Optimizer.__init__``).  For each optimizer it finds the networks owning its parameters:
the created modules that are no other module's child (the *roots*) and contain one of them.
One root is monitored as it is; several (a GAN's generator and discriminator trained by one
optimizer, an encoder and a decoder) are put side by side in a container named after the
script's variables; tensors that belong to no module (``W1 = torch.randn(..., requires_grad=True)``)
each become a one-tensor layer under their variable's name.

The optimizer's ``step`` is wrapped: just before it the monitor records the gradients (for a
closure, as LBFGS takes, right after the closure's first evaluation), just after it the
update.  ``Tensor.backward`` on a one-element tensor records the loss, for the curves.  A
script that updates its tensors by hand (no optimizer, ``w -= lr * w.grad`` under ``no_grad``)
gets a monitor on the leaf tensors its first backward reaches, observed after every backward
(without update ratios); an optimizer built later takes over.
:meth:`ScriptRecorder.write` puts ``DIR/report.html`` (the first optimizer; further ones
``report-2.html``...) through :func:`gradwise.viz.html_report.report`, which writes atomically.
Every wrapper is removed by :meth:`ScriptRecorder.uninstall`.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.autograd.tensor import Tensor
from gradwise.insight.monitor import GradientMonitor
from gradwise.nn.module import Module
from gradwise.optim.optimizer import Optimizer
from gradwise.torch_compat.shim import patched
from gradwise.train.batches import global_grad_norm
from gradwise.train.history import History


class TensorLayer(Module):
    """A tensor that belongs to no module, shown as a one-parameter layer (``value``)."""

    def __init__(self, tensor: Tensor) -> None:
        super().__init__()
        # not a Parameter: the script's own tensor, watched in place (never copied)
        self._parameters["value"] = tensor  # type: ignore[assignment]


class ScriptNetworks(Module):
    """Several networks (or free tensors) trained by one optimizer, side by side."""


def _variable_names(objects: list[Any], skip: int) -> dict[int, str]:
    """``id(obj) -> name`` of the nearest script variable bound to each object (the callers'
    frames, innermost first), in the order the variables were first bound in their scope."""
    wanted = {id(o) for o in objects}
    names: dict[int, str] = {}
    frame: Any = sys._getframe(skip)
    scopes: list[dict[str, Any]] = []
    while frame is not None:
        scopes.append(frame.f_locals)
        frame = frame.f_back
    for scope in scopes:
        for k, v in list(scope.items()):
            if id(v) in wanted and id(v) not in names and not k.startswith("_") and k != "self":
                names[id(v)] = k
    return names


def _in_script_order(tensors: list[Tensor], names: dict[int, str]) -> list[Tensor]:
    """Named tensors in the order their variables were bound (``W1, b1, W2``), then the rest."""
    rank = {i: n for n, i in enumerate(names)}
    return sorted(tensors, key=lambda t: rank.get(id(t), len(rank)))


def _leaves(loss: Tensor) -> list[Tensor]:
    """The leaf tensors that require grad in the graph of ``loss`` (what a backward reaches),
    in the order first met; an iterative walk, so a long unrolled RNN graph is no problem."""
    out: list[Tensor] = []
    seen: set[int] = set()
    stack: list[Any] = [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Tensor):        # next_functions lists a leaf as the tensor itself
            if node.requires_grad:
                out.append(node)
            continue
        stack.extend(reversed([child for child, _ in getattr(node, "next_functions", ())]))
    return out


class _Watch:
    """One optimizer (or, for a script without one, its backward passes), its monitor and its
    step records."""

    def __init__(self, optimizer: Optimizer | None, params: list[Tensor], model: Module, label: str) -> None:
        self.optimizer, self.model, self.label, self._params = optimizer, model, label, params
        self.monitor = GradientMonitor(model, every=1, window=2000).attach()
        self.history = History()
        self.steps = 0
        self.failed: str | None = None
        self.start = time.perf_counter()

    def params(self) -> list[Tensor]:
        if self.optimizer is None:
            return self._params
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    def before_step(self) -> None:
        self.monitor.observe_gradients()

    def after_step(self, loss: float, updated: bool = True) -> None:
        """Log the step; ``updated``: an optimizer step was taken (else only a backward)."""
        if updated:
            self.monitor.observe_update()
        lr = self.optimizer.param_groups[0].get("lr", math.nan) if self.optimizer is not None else math.nan
        self.history.log_step(step=self.steps, epoch=0, loss=loss, lr=float(lr),
                              grad_norm=global_grad_norm(self.params()), samples_seen=0,
                              wall_time=time.perf_counter() - self.start)
        self.steps += 1


class ScriptRecorder:
    """Watches a script's modules and optimizers for the ``--report`` page (see the module doc)."""

    def __init__(self, script: str, args: list[str]) -> None:
        self.script, self.args = script, args
        self._modules: weakref.WeakValueDictionary[int, Module] = weakref.WeakValueDictionary()
        self._count = itertools.count()
        self._watches: list[_Watch] = []
        self._restore: list[Any] = []
        self._internal = False
        self.last_loss = math.nan
        self.notes: list[str] = []
        self._optimizers = 0
        self._manual: _Watch | None = None
        self._manual_tried = False

    # -------------------------------------------------------------- wrappers
    def install(self) -> ScriptRecorder:
        """Wrap ``Module.__init__``, ``Optimizer.__init__`` and ``Tensor.backward``."""
        recorder = self

        def module_init(original: Any) -> Any:
            def init(self: Module, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                if not recorder._internal:
                    recorder._modules[next(recorder._count)] = self
            return init

        def optimizer_init(original: Any) -> Any:
            def init(self: Optimizer, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                recorder._watch(self)
            return init

        def backward(original: Any) -> Any:
            def wrapped(self: Tensor, *args: Any, **kwargs: Any) -> Any:
                manual = recorder._manual_watch(self) if not recorder._optimizers else None
                out = original(self, *args, **kwargs)
                if self._data.size == 1:
                    recorder.last_loss = float(np.real(self._data.reshape(())))
                if manual is not None and manual.failed is None and not recorder._optimizers:
                    recorder._safely(manual, manual.before_step)
                    recorder._safely(manual, lambda: manual.after_step(recorder.last_loss, updated=False))
                return out
            return wrapped

        self._restore = [patched(Module, "__init__", module_init), patched(Optimizer, "__init__", optimizer_init),
                         patched(Tensor, "backward", backward)]
        return self

    def uninstall(self) -> None:
        """Remove the wrappers and the monitors' hooks (records stay)."""
        for restore in reversed(self._restore):
            restore()
        self._restore.clear()
        for w in self._watches + ([self._manual] if self._manual is not None else []):
            w.monitor.detach()

    # ------------------------------------------------------------ optimizers
    def _roots(self) -> list[Module]:
        modules = [m for _, m in sorted(self._modules.items())]
        children = {id(c) for m in modules for c in m.children()}
        return [m for m in modules if id(m) not in children]

    def _model_for(self, params: list[Tensor], script_order: bool = False) -> tuple[Module, str]:
        """The network(s) owning ``params``, and a label; ``script_order``: free tensors in the
        order the script named them (else in the optimizer's order)."""
        wanted = {id(p) for p in params}
        roots = [r for r in self._roots() if any(id(p) in wanted for p in r.parameters())]
        owned = {id(p) for r in roots for p in r.parameters()}
        free = [p for p in params if id(p) not in owned]
        names = _variable_names([*roots, *free], skip=4)
        if script_order:
            free = _in_script_order(free, names)
        if len(roots) == 1 and not free:
            kind = type(roots[0]).__name__
            return roots[0], f"{names[id(roots[0])]} ({kind})" if id(roots[0]) in names else kind
        self._internal = True
        try:
            box = ScriptNetworks()
            members: list[Module | Tensor] = [*roots, *free]
            for i, obj in enumerate(members):
                name = names.get(id(obj)) or (type(obj).__name__.lower() if isinstance(obj, Module) else "tensor")
                name = name if name not in box._modules else f"{name}_{i}"
                box.add_module(name, obj if isinstance(obj, Module) else TensorLayer(obj))
        finally:
            self._internal = False
        label = " + ".join(box._modules)
        return box, label

    def _manual_watch(self, loss: Tensor) -> _Watch | None:
        """For a script that updates its tensors by hand (no optimizer): a monitor on what the
        first backward reaches, observed after every backward (no update ratios)."""
        if self._manual is None and not self._manual_tried and loss.grad_fn is not None:
            self._manual_tried = True
            try:
                params = _leaves(loss)
                if params:
                    self._manual = _Watch(None, params, *self._model_for(params, script_order=True))
            except Exception as exc:    # the report is a bystander: never stop the script
                self.notes.append(f"the tensors of the first backward are not monitored ({exc})")
        return self._manual

    def _watch(self, optimizer: Optimizer) -> None:
        self._optimizers += 1
        if self._manual is not None:            # an optimizer after hand-made steps: it takes over
            self._manual.monitor.detach()
            self._manual = None
        try:
            params = [p for g in optimizer.param_groups for p in g["params"]]
            watch = _Watch(optimizer, params, *self._model_for(params))
        except Exception as exc:    # the report is a bystander: never stop the script
            self.notes.append(f"{type(optimizer).__name__}: not monitored ({exc})")
            return
        self._watches.append(watch)
        step = optimizer.step
        recorder = self

        def monitored_step(closure: Any = None, *args: Any, **kwargs: Any) -> Any:
            if watch.failed is not None:
                return step(closure, *args, **kwargs) if closure is not None else step(*args, **kwargs)
            if closure is None:
                recorder._safely(watch, watch.before_step)
                out = step(*args, **kwargs)
            else:
                seen = [False]

                def observed_closure() -> Any:
                    loss = closure()
                    if not seen[0]:         # gradients of the parameters the step starts from
                        seen[0] = True
                        recorder._safely(watch, watch.before_step)
                    return loss
                out = step(observed_closure, *args, **kwargs)
                if not seen[0]:
                    recorder._safely(watch, watch.before_step)
            recorder._safely(watch, lambda: watch.after_step(recorder.last_loss))
            return out

        optimizer.step = monitored_step  # type: ignore[method-assign]

    def _safely(self, watch: _Watch, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:    # a monitor failure stops monitoring, not the script
            watch.failed = f"{type(exc).__name__}: {exc}"
            watch.monitor.detach()

    # ---------------------------------------------------------------- report
    def write(self, out_dir: str | os.PathLike[str], outcome: str) -> list[Path]:
        """Write ``report.html`` (and ``report-<k>.html`` for further optimizers) into
        ``out_dir``; returns the pages written.  ``outcome`` says how the script ended."""
        from gradwise.viz.html_report import report

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        base = {"script": self.script, "arguments": " ".join(self.args) or "-", "outcome": outcome}
        watches = self._watches or ([self._manual] if self._manual is not None else [])
        if not watches:
            note = "the script built no torch.optim optimizer and ran no backward, so nothing was monitored"
            return [report(History(), None, out / "report.html", config={**base, "note": note},
                           title=f"gradwise run {Path(self.script).name}")]
        pages = []
        for k, w in enumerate(watches, start=1):
            if w.optimizer is not None:
                config = {**base, "optimizer": f"{type(w.optimizer).__name__} ({k} of {len(watches)})",
                          "lr": w.optimizer.param_groups[0].get("lr"), "optimizer steps": w.steps}
            else:
                config = {**base, "optimizer": "none: the script updates its tensors itself",
                          "backward passes": w.steps,
                          "note": "gradients observed after each backward; no update ratios without an optimizer"}
            config.update({"network": w.label, "parameters": int(sum(p.numel() for p in w.params()))})
            if w.failed:
                config["monitor"] = f"stopped: {w.failed}"
            monitor = w.monitor if w.monitor.steps_seen > 0 and w.failed is None else None
            name = "report.html" if k == 1 else f"report-{k}.html"
            pages.append(report(w.history, monitor, out / name, config=config,
                                title=f"gradwise run {Path(self.script).name}: {w.label}"))
        return pages
