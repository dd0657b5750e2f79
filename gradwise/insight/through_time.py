"""Gradients through time: ``d loss / d h_t`` for every time step of a recurrent layer.

Backpropagation through time multiplies the gradient by one recurrent Jacobian per
step, ``dh_t / dh_{t-1} = diag(tanh'(.)) W_hh`` for a plain tanh RNN.  With PyTorch's
default initialisation ``W_hh`` has gain about ``sqrt(1/3)`` and ``tanh' <= 1``, so the
gradient reaching ``h_t`` from a loss at the last step shrinks geometrically with the
distance: the RNN cannot learn dependencies further back than a few steps.  An LSTM's
cell state carries the gradient additively (``dc_t / dc_{t-1} = f_t``, the forget gate),
so it decays only as fast as the forget gates close.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise.api import creation as _creation
from gradwise.api import functions as _ops
from gradwise.autograd.engine import grad as _grad
from gradwise.autograd.tensor import Tensor
from gradwise.insight.stats import l2_norm
from gradwise.insight.verdicts import MonitorError, MonitorTypeError, Thresholds
from gradwise.nn.modules.rnn import GRU, LSTM, RNN


@dataclass(frozen=True, eq=False)
class TimeGradients:
    """Per-time-step gradient norms of a recurrent layer (``t = 0`` is the first step).

    ``grad_norms[t] = ||d loss / d h_t||`` (over the batch), where ``h_t`` is the top layer's
    hidden state after step ``t``: the total derivative, through the output at ``t`` and
    through every later step.  ``cell_grad_norms`` (LSTM only, else ``None``) is the part of
    ``d loss / d c_t`` that the cell state carries back from step ``t + 1``, the LSTM's
    additive path (0 at the last step).  ``first_to_last_ratio = grad_norms[0] / grad_norms[-1]``;
    ``decay_per_step`` its geometric mean per step; ``memory_steps`` the number of final
    steps whose gradient stays above ``thresholds.vanishing_ratio`` x the last step's.
    """

    kind: str
    grad_norms: np.ndarray
    cell_grad_norms: np.ndarray | None
    first_to_last_ratio: float
    decay_per_step: float
    memory_steps: int
    verdict: str
    advice: tuple[str, ...]
    thresholds: Thresholds

    @property
    def steps(self) -> int:
        return int(self.grad_norms.size)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``json.dumps`` (non-finite numbers become ``None``)."""
        def clean(x: Any) -> Any:
            return float(x) if math.isfinite(x) else None

        return {"kind": self.kind, "grad_norms": [clean(v) for v in self.grad_norms],
                "cell_grad_norms": None if self.cell_grad_norms is None else [clean(v) for v in self.cell_grad_norms],
                "first_to_last_ratio": clean(self.first_to_last_ratio), "decay_per_step": clean(self.decay_per_step),
                "memory_steps": self.memory_steps, "verdict": self.verdict, "advice": list(self.advice)}

    def to_text(self, rows: int = 10) -> str:
        """A summary and about ``rows`` evenly spaced steps of the per-step norms."""
        n = self.steps
        lines = [f"{self.kind} gradient through time: {self.verdict.upper()} over {n} steps",
                 f"|dL/dh_0| / |dL/dh_last| = {self.first_to_last_ratio:.3g} (x{self.decay_per_step:.3g} per step); "
                 f"the gradient stays above {self.thresholds.vanishing_ratio:g} x the last step's for the last "
                 f"{self.memory_steps} steps",
                 "  step  |dL/dh_t|   x last" + ("     |dL/dc_t|" if self.cell_grad_norms is not None else "")]
        for t in sorted(set(np.linspace(0, n - 1, min(rows, n)).round().astype(int).tolist())):
            g = self.grad_norms[t]
            with np.errstate(all="ignore"):
                rel = g / self.grad_norms[-1]
            line = f"  {t:4d}  {g:9.3e}  {rel:9.3e}"
            if self.cell_grad_norms is not None:
                line += f"  {self.cell_grad_norms[t]:9.3e}"
            lines.append(line)
        lines += [f"  * {a}" for a in self.advice]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _advice(kind: str, verdict: str) -> tuple[str, ...]:
    if verdict == "vanishing":
        if kind == "LSTM":
            return ("the forget gates close too fast (f_t = sigmoid(b_f) is about 0.5 at the default initialisation, "
                    "so the cell path halves the gradient every step): initialise the forget-gate bias (the second "
                    "quarter of bias_ih + bias_hh) to 2 or 3 so that f_t starts near 0.9-0.95",)
        return ("a plain RNN multiplies the gradient by W_hh^T diag(1 - h_t^2) at every step: use nn.LSTM or nn.GRU, "
                "whose additive cell/gate path carries it back much further",
                "or initialise W_hh orthogonally (nn.init.orthogonal_) and keep units out of saturation")
    if verdict == "exploding":
        return ("the recurrent gain exceeds 1: clip the gradient norm (nn.utils.clip_grad_norm_ or "
                "fit(clip_grad_norm=...)), initialise W_hh orthogonally or with a smaller scale, or use an LSTM/GRU",)
    return ()


def gradient_through_time(rnn: RNN | LSTM | GRU, inputs: Tensor, hx: Any = None,
                          loss_fn: Callable[[Tensor], Tensor] | None = None,
                          thresholds: Thresholds | None = None) -> TimeGradients:
    """``||d loss / d h_t||`` for every step ``t`` of ``rnn`` run over ``inputs``.

    The layer is run one step at a time on the public API (``rnn(x_t, state)``, which is
    exactly the computation of one full-sequence call), and the gradient with respect to
    every step's state is taken with :func:`gradwise.autograd.grad`, so no ``.grad`` of the
    model changes.  The initial state (zeros when ``hx`` is None) is made a leaf that
    requires grad, so the graph exists even for frozen weights.

    Args:
        rnn: an ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``.
        inputs: ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``) or unbatched ``(L, H_in)``.
        hx: the initial state as ``rnn`` takes it (``(h0, c0)`` for an LSTM), or None.
        loss_fn: maps the top layer's states, stacked time-major ``(L, N, H)`` (or ``(L, H)``),
            to a scalar; default ``states[-1].sum()`` (then ``grad_norms[t]`` measures how much
            the final state depends on step ``t``).
        thresholds: the ``vanishing_ratio``/``exploding_ratio`` that decide the verdict.

    >>> import gradwise as gw
    >>> gen = gw.Generator().manual_seed(0)
    >>> tg = gradient_through_time(gw.nn.RNN(3, 16, generator=gen), gw.randn(30, 2, 3, generator=gen))
    >>> tg.grad_norms.shape, tg.verdict, bool(tg.first_to_last_ratio < 1e-3)
    ((30,), 'vanishing', True)
    """
    if not isinstance(rnn, (RNN, LSTM, GRU)):
        raise MonitorTypeError(f"gradient_through_time: rnn must be an nn.RNN, nn.LSTM or nn.GRU, got "
                               f"{type(rnn).__name__}")
    if not isinstance(inputs, Tensor) or inputs.ndim not in (2, 3):
        shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
        raise MonitorError(f"gradient_through_time: inputs must be a tensor of shape (L, N, H_in), (N, L, H_in) with "
                           f"batch_first, or (L, H_in); got {shape}")
    thresholds = Thresholds() if thresholds is None else thresholds
    time_dim = 1 if (inputs.ndim == 3 and rnn.batch_first) else 0
    steps = inputs.shape[time_dim]
    if steps < 1:
        raise MonitorError("gradient_through_time: inputs have no time steps (L = 0)")
    is_lstm = isinstance(rnn, LSTM)
    if hx is None:
        batch = () if inputs.ndim == 2 else (inputs.shape[0 if rnn.batch_first else 1],)
        shape = (rnn.num_layers, *batch, rnn.hidden_size)
        hx = tuple(_creation.zeros(*shape, dtype=inputs.dtype, requires_grad=True) for _ in range(2 if is_lstm else 1))
        hx = hx if is_lstm else hx[0]
    state = hx
    hs: list[Tensor] = []
    cs: list[Tensor] = []
    tops: list[Tensor] = []
    for t in range(steps):
        x_t = inputs[t:t + 1] if time_dim == 0 else inputs[:, t:t + 1]
        _, state = rnn(x_t, state)
        h = state[0] if is_lstm else state
        hs.append(h)
        if is_lstm:
            cs.append(state[1])
        tops.append(h[-1])
    if not hs[-1].requires_grad:
        raise MonitorError("gradient_through_time: the states do not require grad (a given hx without "
                           "requires_grad and frozen weights); pass hx=None or an hx that requires grad")
    top = _ops.stack(tops, 0)
    loss = top[-1].sum() if loss_fn is None else loss_fn(top)
    if not isinstance(loss, Tensor) or loss.ndim != 0:
        raise MonitorError(f"gradient_through_time: loss_fn must return a scalar tensor, got "
                           f"{getattr(loss, 'shape', type(loss).__name__)}")
    grads = _grad(loss, hs + cs, allow_unused=True)
    # the captured gradient of a state (num_layers, [N,] H) is exact for the top layer only: a
    # lower layer also feeds the layer above inside the step, a path that bypasses the state
    norms = np.array([0.0 if g is None else l2_norm(g._data[-1]) for g in grads])
    h_norms, c_norms = norms[:steps], (norms[steps:] if is_lstm else None)
    last = h_norms[-1]
    with np.errstate(all="ignore"):
        ratio = float(h_norms[0] / last) if last > 0 else math.nan
        decay = ratio ** (1.0 / (steps - 1)) if steps > 1 and math.isfinite(ratio) else math.nan
        below = np.nonzero(~(h_norms >= thresholds.vanishing_ratio * last))[0]
    memory = steps - 1 - int(below[-1]) if below.size else steps
    if not np.isfinite(norms).all() or (math.isfinite(ratio) and ratio >= thresholds.exploding_ratio):
        verdict = "exploding"
    elif math.isfinite(ratio) and ratio <= thresholds.vanishing_ratio:
        verdict = "vanishing"
    else:
        verdict = "healthy"
    kind = type(rnn).__name__
    return TimeGradients(kind, h_norms, c_norms, ratio, decay, memory, verdict, _advice(kind, verdict), thresholds)
