"""What a run's report needs beyond its histories, saved in the run folder so that a report
rebuilt later (``gradwise report RUN``) shows everything the train-time report showed.

``run_facts.json`` holds the optimizer's settings as it really used them (read from its
``defaults`` and ``param_groups``, so Adam lists betas and eps and no momentum), the loss, the
parameter count, the sizes of the train/validation/test splits, the command line, the versions,
the chance level and, for classification, the test split's confusion matrix and its
worst-misclassified samples (with their pixels for image data sets).  ``monitor.json`` holds the
gradient monitor's records (:mod:`gradwise.insight.monitor_records`).  Both are JSON, written
atomically.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from gradwise.atomic_files import write_text_atomic
from gradwise.autograd.grad_mode import no_grad
from gradwise.insight.diagnosis import chance_level
from gradwise.insight.monitor_records import MONITOR_FILE, save_monitor_records

FACTS_FILE = "run_facts.json"
WORST_EXAMPLES = 12
IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28), "fashion_mnist": (28, 28)}
IMAGE_RANGES = {"digits": [0.0, 16.0], "mnist": [0.0, 1.0], "fashion_mnist": [0.0, 1.0]}   # ink values
FASHION = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def command_line(argv: list[str] | None = None) -> str:
    """The command that started this process: ``gradwise train ...`` when it was the gradwise
    command, else the Python command line."""
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("gradwise", "__main__.py"):
        return shlex.join(["gradwise"] + argv[1:])
    return shlex.join(["python"] + argv)


def optimizer_settings(optimizer: Any) -> dict[str, Any]:
    """The hyperparameters ``optimizer`` used, from its first parameter group (its ``defaults``
    for anything the group lacks), without the switches that were off: ``maximize`` False, and for
    momentum 0 no ``momentum``, ``dampening`` or ``nesterov``.

    >>> import gradwise as gw
    >>> w = gw.zeros(2, requires_grad=True)
    >>> optimizer_settings(gw.optim.Adam([w], lr=0.01))
    {'lr': 0.01, 'betas': [0.9, 0.999], 'eps': 1e-08, 'weight_decay': 0.0}
    >>> optimizer_settings(gw.optim.SGD([w], lr=0.1))
    {'lr': 0.1, 'weight_decay': 0.0}
    """
    group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    settings = {**getattr(optimizer, "defaults", {}), **group}
    out: dict[str, Any] = {}
    no_momentum = settings.get("momentum", None) == 0
    for k, v in settings.items():
        if v is None or v is False or (no_momentum and k in ("momentum", "dampening", "nesterov")):
            continue
        if k in ("foreach", "differentiable", "capturable", "fused", "initial_lr"):
            continue
        out[k] = list(v) if isinstance(v, tuple) else v
    return out


def _json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, (np.floating, np.integer)):
        return _json_safe(x.item())
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    return str(x)


def run_facts(cfg: Any, task: Any, model: Any, optimizer: Any, loss_fn: Any, argv: list[str] | None = None,
              worst: int = WORST_EXAMPLES) -> dict[str, Any]:
    """The facts of a trained run (see the module docstring), as JSON-ready data."""
    from gradwise.version import __version__

    params = list(model.parameters())
    facts: dict[str, Any] = {
        "task": task.kind,
        "optimizer": {"name": type(optimizer).__name__, "settings": optimizer_settings(optimizer)},
        "loss": {"name": type(loss_fn).__name__, "reduction": getattr(loss_fn, "reduction", None)},
        "parameters": {"total": int(sum(p.numel() for p in params)),
                       "trainable": int(sum(p.numel() for p in params if p.requires_grad))},
        "splits": {"train": len(task.y_train), "val": 0 if task.y_val is None else len(task.y_val),
                   "test": len(task.y_test)},
        "command": command_line(argv),
        "versions": {"gradwise": __version__, "numpy": np.__version__, "python": platform.python_version()},
        "model": repr(model),
        "model_summary": _model_summary(model, task),
    }
    if task.kind == "classification":
        facts["chance"] = chance_level(task.y_train._data)
        facts["classification"] = classification_facts(model, task, loss_fn, cfg.dataset, worst,
                                                       pixel_scale=_pixel_scale(cfg))
    return _json_safe(facts)


def _pixel_scale(cfg: Any) -> tuple[Any, Any] | None:
    """``(mean, std)`` per pixel that the run's data set was standardised with (digits), so the
    pictures show the pixels as they were; ``None`` when the features are the raw pixels (MNIST)."""
    if cfg.dataset != "digits":
        return None
    from gradwise.data.bundled import digits

    b = digits(seed=cfg.seed, standardize=True)     # the same call the data registry makes for a run
    if b.x_mean is None or b.x_std is None:
        return None
    return np.asarray(b.x_mean._data, dtype=np.float64), np.asarray(b.x_std._data, dtype=np.float64)


def _model_summary(model: Any, task: Any) -> dict[str, Any] | None:
    """``gradwise.insight.summary`` of ``model`` on one training sample (``None`` if it cannot run)."""
    from gradwise.insight.summary import SummaryError, summary

    try:
        return summary(model, example=task.x_train[:1]).to_dict()
    except SummaryError as exc:     # the report shows the model's printed structure instead
        print(f"note: no model summary in the report ({exc})")
        return None


def classification_facts(model: Any, task: Any, loss_fn: Any, dataset: str, worst: int = WORST_EXAMPLES,
                         pixel_scale: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """The test split's confusion matrix (rows: true class, columns: predicted) and the ``worst``
    misclassified samples by their cross-entropy loss, each with its pixels for image data
    (``pixel_scale = (mean, std)`` undoes a per-feature standardisation: ``x * std + mean``)."""
    x, y = task.x_test, np.asarray(task.y_test._data).reshape(-1)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            logits = np.asarray(model(x)._data, dtype=np.float64)
    finally:
        model.train(was_training)
    k = logits.shape[1]
    # per-sample cross-entropy, -log softmax(logits)[y], computed stably with log-sum-exp
    shifted = logits - logits.max(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    losses = -log_probs[np.arange(len(y)), y]
    pred = logits.argmax(axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-np.nan_to_num(losses[wrong], nan=np.inf), kind="stable")][:worst]
    shape = IMAGE_SHAPES.get(dataset)
    pixels = np.asarray(x._data, dtype=np.float64).reshape(len(y), -1)
    if pixel_scale is not None and np.shape(pixel_scale[0]) == pixels.shape[1:]:
        pixels = pixels * pixel_scale[1] + pixel_scale[0]
    if shape is not None and pixels.shape[1] != shape[0] * shape[1]:
        shape = None
    probs = np.exp(log_probs)
    examples = [{"index": int(i), "true": int(y[i]), "predicted": int(pred[i]), "loss": float(losses[i]),
                 "confidence": float(probs[i, pred[i]]),
                 "pixels": [round(float(v), 4) for v in pixels[i]] if shape is not None else None}
                for i in order]
    names = [str(c) for c in range(k)] if dataset != "fashion_mnist" else list(FASHION[:k])
    return {"classes": names, "confusion": confusion.tolist(), "split": "test", "image_shape": list(shape) if shape
            else None, "pixel_range": IMAGE_RANGES.get(dataset) if shape else None, "worst": examples,
            "misclassified": int(len(wrong)), "samples": int(len(y))}


def save_run_facts(run_dir: str | os.PathLike[str], facts: dict[str, Any]) -> Path:
    path = Path(run_dir) / FACTS_FILE
    write_text_atomic(path, json.dumps(facts, indent=1, allow_nan=False) + "\n")
    return path


def write_train_report(run_dir: Path, cfg: Any, task: Any, model: Any, optimizer: Any, loss_fn: Any,
                       history: Any, monitor: Any) -> None:
    """Save ``run_facts.json`` and ``monitor.json`` into ``run_dir``, then write ``report.html`` from
    them (what :func:`~gradwise.runs.train_run` calls at the end of a run)."""
    save_run_facts(run_dir, run_facts(cfg, task, model, optimizer, loss_fn))
    records = None
    if monitor is not None and monitor.steps_seen > 0:
        save_monitor_records(monitor, run_dir / MONITOR_FILE)
        from gradwise.insight.monitor_records import monitor_records

        records = monitor_records(monitor)
    try:
        from gradwise.viz import write_run_report  # deferred: matplotlib loads only when a run ends

        write_run_report(run_dir, history, records)
    except ImportError as exc:      # matplotlib is an extra: the run folder is complete without the HTML page
        print(f"note: report.html not written ({exc})")

