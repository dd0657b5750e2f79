"""Metrics that accumulate over batches: accuracy, top-k accuracy, MSE, MAE, R^2, confusion matrix.

A metric sees ``update(output, target)`` once per batch and gives the value over
everything it saw with ``compute()``, so an epoch's figure is exact (not a mean of
per-batch means, which would weigh a short last batch wrongly).  Each keeps plain
sums (float64) in ``state_dict()`` so that a checkpoint taken mid-epoch resumes them.

Shapes: classification outputs are logits or probabilities ``(N, C)`` (or ``(N,)``
/ ``(N, 1)`` scores for binary problems, thresholded at 0.5 for probabilities in
[0, 1] and at 0 otherwise) with integer targets ``(N,)``; regression outputs and
targets share a shape such as ``(N,)`` or ``(N, 1)``.

>>> import numpy as np
>>> m = Accuracy()
>>> m.update(np.array([[2.0, 0.1], [0.2, 1.0]]), np.array([0, 0]))
>>> m.compute()
0.5
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import numpy as np

from gradwise.errors import GradwiseError, format_shape


class MetricError(GradwiseError, ValueError):
    """An unknown metric name, or outputs and targets that a metric cannot compare."""


def _array(x: Any) -> np.ndarray:
    return np.asarray(x._data if hasattr(x, "_data") and not isinstance(x, np.ndarray) else x)


class Metric:
    """Base class: ``reset()``, ``update(output, target)``, ``compute()`` and a plain ``state_dict()``.

    ``higher_is_better`` tells EarlyStopping and ModelCheckpoint which way is an improvement.
    """

    name = "metric"
    higher_is_better = True

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._sums: dict[str, Any] = {}

    def update(self, output: Any, target: Any) -> None:
        raise NotImplementedError

    def compute(self) -> Any:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self._sums.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._sums = {k: (np.array(v) if isinstance(v, (list, np.ndarray)) else v) for k, v in state.items()}

    def _add(self, **values: SupportsFloat) -> None:
        for k, v in values.items():
            self._sums[k] = self._sums.get(k, 0.0) + float(v)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def predicted_classes(output: np.ndarray, op: str) -> np.ndarray:
    """Class indices from logits/probabilities ``(N, C)`` or binary scores ``(N,)``/``(N, 1)``."""
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    scores = output.reshape(len(output)) if output.ndim else output.reshape(1)
    threshold = 0.5 if scores.size and scores.min() >= 0.0 and scores.max() <= 1.0 else 0.0
    return (scores > threshold).astype(np.int64)


def _check_targets(output: np.ndarray, target: np.ndarray, op: str) -> np.ndarray:
    target = target.reshape(-1) if target.ndim == 2 and target.shape[1] == 1 else target
    if target.ndim != 1 or len(target) != len(output):
        raise MetricError(f"{op}: expected integer class targets of shape ({len(output)},) for outputs of shape "
                          f"{format_shape(output.shape)}, got targets of shape {format_shape(target.shape)}")
    return target.astype(np.int64, copy=False)


class Accuracy(Metric):
    """Fraction of samples whose predicted class (argmax of the outputs) equals the target."""

    name = "accuracy"

    def update(self, output: Any, target: Any) -> None:
        out = _array(output)
        t = _check_targets(out, _array(target), self.name)
        self._add(correct=np.count_nonzero(predicted_classes(out, self.name) == t), total=len(t))

    def compute(self) -> float:
        return self._sums.get("correct", 0.0) / max(self._sums.get("total", 0.0), 1.0)


class TopKAccuracy(Metric):
    """Fraction of samples whose target is among the ``k`` highest-scoring classes.

    >>> import numpy as np
    >>> m = TopKAccuracy(2)
    >>> m.update(np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1]]), np.array([2, 1]))
    >>> m.compute()
    1.0
    """

    def __init__(self, k: int = 5) -> None:
        if int(k) < 1:
            raise MetricError(f"TopKAccuracy: k must be >= 1, got {k}")
        self.k = int(k)
        self.name = f"top{self.k}_accuracy"
        super().__init__()

    def update(self, output: Any, target: Any) -> None:
        out = _array(output)
        if out.ndim != 2:
            raise MetricError(f"{self.name}: expected class scores of shape (N, C), got {format_shape(out.shape)}")
        t = _check_targets(out, _array(target), self.name)
        k = min(self.k, out.shape[1])
        top = np.argpartition(-out, k - 1, axis=1)[:, :k]
        self._add(correct=np.count_nonzero((top == t[:, None]).any(axis=1)), total=len(t))

    def compute(self) -> float:
        return self._sums.get("correct", 0.0) / max(self._sums.get("total", 0.0), 1.0)

    def __repr__(self) -> str:
        return f"TopKAccuracy(k={self.k})"


def _regression_pair(output: Any, target: Any, op: str) -> tuple[np.ndarray, np.ndarray]:
    out, t = _array(output).astype(np.float64), _array(target).astype(np.float64)
    if out.size != t.size or (out.shape != t.shape and out.reshape(-1).shape != t.reshape(-1).shape):
        raise MetricError(f"{op}: outputs of shape {format_shape(out.shape)} and targets of shape "
                          f"{format_shape(t.shape)} hold different numbers of values")
    return out.reshape(t.shape), t


class MeanSquaredError(Metric):
    """``mean((output - target)^2)`` over every value seen."""

    name = "mse"
    higher_is_better = False

    def update(self, output: Any, target: Any) -> None:
        out, t = _regression_pair(output, target, self.name)
        self._add(sse=np.sum((out - t) ** 2), n=t.size)

    def compute(self) -> float:
        return self._sums.get("sse", 0.0) / max(self._sums.get("n", 0.0), 1.0)


class MeanAbsoluteError(Metric):
    """``mean(|output - target|)`` over every value seen."""

    name = "mae"
    higher_is_better = False

    def update(self, output: Any, target: Any) -> None:
        out, t = _regression_pair(output, target, self.name)
        self._add(sae=np.sum(np.abs(out - t)), n=t.size)

    def compute(self) -> float:
        return self._sums.get("sae", 0.0) / max(self._sums.get("n", 0.0), 1.0)


class R2Score(Metric):
    """Coefficient of determination ``1 - SS_res / SS_tot`` over every value seen (1 is perfect,
    0 is no better than predicting the mean).  Sums of ``t`` and ``t^2`` give ``SS_tot`` in one pass."""

    name = "r2"

    def update(self, output: Any, target: Any) -> None:
        out, t = _regression_pair(output, target, self.name)
        self._add(ss_res=np.sum((t - out) ** 2), sum_t=np.sum(t), sum_t2=np.sum(t * t), n=t.size)

    def compute(self) -> float:
        n = self._sums.get("n", 0.0)
        if n == 0:
            return float("nan")
        ss_tot = self._sums["sum_t2"] - self._sums["sum_t"] ** 2 / n
        return 1.0 - self._sums["ss_res"] / ss_tot if ss_tot > 0 else float("nan")


class ConfusionMatrix(Metric):
    """``counts[i, j]`` = number of samples of true class ``i`` predicted as class ``j``.

    >>> import numpy as np
    >>> m = ConfusionMatrix(2)
    >>> m.update(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), np.array([0, 1, 1]))
    >>> m.compute().tolist()
    [[1, 0], [1, 1]]
    """

    name = "confusion_matrix"

    def __init__(self, num_classes: int) -> None:
        if int(num_classes) < 2:
            raise MetricError(f"ConfusionMatrix: num_classes must be >= 2, got {num_classes}")
        self.num_classes = int(num_classes)
        super().__init__()

    def reset(self) -> None:
        self._sums = {"counts": np.zeros((self.num_classes, self.num_classes), dtype=np.int64)}

    def update(self, output: Any, target: Any) -> None:
        out = _array(output)
        t = _check_targets(out, _array(target), self.name)
        pred = predicted_classes(out, self.name)
        if t.size and (t.min() < 0 or t.max() >= self.num_classes or pred.max() >= self.num_classes):
            raise MetricError(f"{self.name}: classes must lie in [0, {self.num_classes}), got targets in "
                              f"[{t.min()}, {t.max()}] and predictions up to {pred.max()}")
        np.add.at(self._sums["counts"], (t, pred), 1)

    def compute(self) -> np.ndarray:
        return self._sums["counts"].copy()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._sums = {"counts": np.array(state["counts"], dtype=np.int64)}

    def __repr__(self) -> str:
        return f"ConfusionMatrix(num_classes={self.num_classes})"


_BY_NAME = {"accuracy": Accuracy, "acc": Accuracy, "mse": MeanSquaredError, "mae": MeanAbsoluteError,
            "r2": R2Score}


def get_metric(spec: str | Metric) -> Metric:
    """A metric from its name (``"accuracy"``, ``"top5_accuracy"``, ``"mse"``, ``"mae"``, ``"r2"``)
    or a :class:`Metric` instance (returned as is).

    >>> get_metric("top3_accuracy")
    TopKAccuracy(k=3)
    """
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
        if key.startswith("top") and key.endswith("_accuracy") and key[3:-9].isdigit():
            return TopKAccuracy(int(key[3:-9]))
    raise MetricError(f"unknown metric {spec!r}; valid: a Metric instance or one of "
                      f"{sorted(set(_BY_NAME) - {'acc'}) + ['topK_accuracy (e.g. top5_accuracy)']}")


def _functional(metric: type[Metric] | Metric, output: Any, target: Any) -> Any:
    m = metric() if isinstance(metric, type) else metric
    m.update(output, target)
    return m.compute()


def accuracy(output: Any, target: Any) -> float:
    """Accuracy of one batch of outputs ``(N, C)`` against class targets ``(N,)``."""
    return _functional(Accuracy, output, target)


def top_k_accuracy(output: Any, target: Any, k: int = 5) -> float:
    """Top-``k`` accuracy of outputs ``(N, C)`` against class targets ``(N,)``."""
    return _functional(TopKAccuracy(k), output, target)


def mse(output: Any, target: Any) -> float:
    """Mean squared error."""
    return _functional(MeanSquaredError, output, target)


def mae(output: Any, target: Any) -> float:
    """Mean absolute error."""
    return _functional(MeanAbsoluteError, output, target)


def r2_score(output: Any, target: Any) -> float:
    """Coefficient of determination R^2."""
    return _functional(R2Score, output, target)


def confusion_matrix(output: Any, target: Any, num_classes: int | None = None) -> np.ndarray:
    """Confusion matrix ``(C, C)``; ``num_classes`` defaults to the outputs' width (or 2 for binary scores)."""
    out = _array(output)
    if num_classes is None:
        num_classes = out.shape[1] if out.ndim == 2 and out.shape[1] > 1 else 2
    return _functional(ConfusionMatrix(num_classes), output, target)


__all__ = ["Accuracy", "ConfusionMatrix", "MeanAbsoluteError", "MeanSquaredError", "Metric", "MetricError",
           "R2Score", "TopKAccuracy", "accuracy", "confusion_matrix", "get_metric", "mae", "mse",
           "r2_score", "top_k_accuracy"]
