"""Random sampling with PyTorch's signatures: ``normal``, ``bernoulli``, ``multinomial``,
``randint``'s overloads, and the in-place fills ``normal_``, ``uniform_``, ``bernoulli_``.

Every function takes ``generator=`` (a :class:`gradwise.Generator`; default: gradwise's
default generator, never NumPy's global state).  The samples are new leaves: they are not
attached to the graph of their parameters (PyTorch attaches ``normal``'s and
``bernoulli``'s with a zero gradient; write ``mean + std * gw.randn_like(mean)`` for a
reparameterised, differentiable sample).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwise import dtypes
from gradwise.api import creation
from gradwise.api.leaves import leaf, size_arg
from gradwise.api.random import Generator, resolve
from gradwise.autograd.grad_mode import is_grad_enabled
from gradwise.autograd.tensor import Tensor
from gradwise.devices import resolve_device
from gradwise.dtypes import resolve_dtype
from gradwise.errors import DtypeError, GraphError, ShapeError, format_shape


def _float_array(x: Any, name: str, what: str) -> np.ndarray:
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if a.dtype.kind != "f":
        raise DtypeError(f"{name}: {what} must be a floating-point tensor, got {a.dtype.name}")
    return a


# ---------------------------------------------------------------------------- normal
def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Generator | None = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal samples, PyTorch's overloads:

    * ``normal(mean, std)`` with a tensor ``mean`` and/or ``std``: one sample per element of
      their broadcast shape, with the tensor's dtype (``mean``'s when both are tensors);
    * ``normal(mean, std, size)`` with two numbers: ``size`` samples of the default dtype
      (or ``dtype``).

    >>> import gradwise as gw
    >>> gw.normal(2.0, 3.0, size=(2, 3)).shape
    (2, 3)
    >>> gw.normal(gw.zeros(4), 1.0).shape
    (4,)
    """
    resolve_device(device, "normal(device=...)")
    rng = resolve(generator)
    tensors = isinstance(mean, Tensor) or isinstance(std, Tensor)
    if tensors:
        if size is not None:
            raise TypeError("normal(): size is only for numbers mean and std; with a tensor the "
                            "shape is the tensor's")
        m = _float_array(mean, "normal", "mean") if isinstance(mean, Tensor) else np.asarray(float(mean))
        s = _float_array(std, "normal", "std") if isinstance(std, Tensor) else np.asarray(float(std))
        dt = (mean if isinstance(mean, Tensor) else std)._data.dtype
        if dtype is not None:
            dt = resolve_dtype(dtype)
        try:
            shape = np.broadcast_shapes(m.shape, s.shape)
        except ValueError:
            raise ShapeError(f"normal: mean of shape {format_shape(m.shape)} and std of shape "
                             f"{format_shape(s.shape)} do not broadcast") from None
    else:
        if size is None:
            raise TypeError("normal(mean, std, size): with numbers for mean and std the size is required "
                            "(or pass a tensor mean or std)")
        m, s = np.asarray(float(mean)), np.asarray(float(std))
        shape = size_arg((size,), "normal")
        dt = dtypes.get_default_dtype() if dtype is None else resolve_dtype(dtype)
    if (s < 0).any():
        raise ValueError(f"normal: std must be >= 0, got {float(s.min())}")
    arr = m + s * rng.standard_normal(shape)
    return leaf(np.asarray(arr).astype(dt, copy=False), requires_grad)


# ------------------------------------------------------------------------- bernoulli
def bernoulli(input: Any, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """0/1 samples (the input's dtype), 1 with probability ``input`` elementwise, or with
    probability ``p`` everywhere when ``p`` is given.

    >>> import gradwise as gw
    >>> gw.bernoulli(gw.tensor([0.0, 1.0, 1.0])).tolist()
    [0.0, 1.0, 1.0]
    """
    a = _float_array(input, "bernoulli", "input")
    probs = a if p is None else np.asarray(float(p))
    _check_probability(probs, "bernoulli")
    draw = resolve(generator).random(a.shape) < probs
    return Tensor._make(draw.astype(a.dtype))


def _check_probability(p: np.ndarray, name: str) -> None:
    if p.size and not (np.all(p >= 0) and np.all(p <= 1)):
        raise ValueError(f"{name}: probabilities must lie in [0, 1], got values from {float(np.nanmin(p))} "
                         f"to {float(np.nanmax(p))}" + (" and NaN" if np.isnan(p).any() else ""))


# ----------------------------------------------------------------------- multinomial
def multinomial(input: Any, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Indices (int64) drawn from the categories of ``input``, whose rows are non-negative
    weights (1-D: one distribution; 2-D: one per row), ``num_samples`` per row.

    Without ``replacement`` each category is drawn at most once (``num_samples`` may not
    exceed the number of categories; once the categories with weight run out, those of
    weight 0 follow, as in PyTorch).

    >>> import gradwise as gw
    >>> gw.multinomial(gw.tensor([0.0, 0.0, 1.0]), 1).tolist()
    [2]
    >>> gw.multinomial(gw.ones(2, 4), 3).shape
    (2, 3)
    """
    w = _float_array(input, "multinomial", "input").astype(np.float64)
    if w.ndim not in (1, 2):
        raise ShapeError(f"multinomial: input must be 1-D or 2-D, got shape {format_shape(w.shape)}")
    k = int(num_samples)
    if k <= 0:
        raise ValueError(f"multinomial: num_samples must be positive, got {k}")
    rows = w.reshape(-1, w.shape[-1])
    n = rows.shape[1]
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise ValueError("multinomial: the weights must be finite and >= 0 (no inf, nan or negative values)")
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise ValueError("multinomial: every distribution needs a positive total weight (sum of weights <= 0)")
    if not replacement and k > n:
        raise ValueError(f"multinomial: cannot draw {k} samples without replacement from {n} categories")
    rng = resolve(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1) / totals[:, None]
        u = rng.random((rows.shape[0], k))
        out = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        out = np.minimum(out, n - 1)
    else:
        # weighted sampling without replacement: the k largest weight / Exp(1) keys
        # (weight 0 gives key 0: drawn only after every positive weight, in random order)
        keys = rows / rng.exponential(size=rows.shape)
        keys = np.where(rows > 0, keys, -rng.random(rows.shape))
        out = np.argsort(-keys, axis=1, kind="stable")[:, :k]
    out = out.astype(np.int64)
    return Tensor._make(out.reshape(k) if w.ndim == 1 else out)


# --------------------------------------------------------------------------- randint
def randint(*args: Any, low: int | None = None, high: int | None = None, size: Any = None,
            generator: Generator | None = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers in ``[low, high)``, PyTorch's overloads: ``randint(high, size)``,
    ``randint(low, high, size)`` (positional or keywords; ``low`` defaults to 0).  int64
    unless ``dtype``.  Without a size (which PyTorch requires) one 0-d sample.

    >>> import gradwise as gw
    >>> gw.randint(10, (3,)).shape, gw.randint(3, 10, (2, 2)).shape
    ((3,), (2, 2))
    """
    pos = list(args)
    if pos and isinstance(pos[-1], (tuple, list)):
        if size is not None:
            raise TypeError("randint(): size given both positionally and as size=")
        size = pos.pop()
    if len(pos) > 2:
        raise TypeError(f"randint() takes (high, size) or (low, high, size), got {len(args)} positional "
                        "arguments")
    if len(pos) == 2:
        if low is not None or high is not None:
            raise TypeError("randint(): low/high given both positionally and as keywords")
        low, high = pos
    elif len(pos) == 1:
        if high is None:
            high = pos[0]
        elif low is None:
            low = pos[0]
        else:
            raise TypeError("randint(): low and high given both positionally and as keywords")
    if high is None:
        raise TypeError("randint(): missing high (randint(high, size) or randint(low, high, size))")
    low = 0 if low is None else low
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f"randint(): {name} must be an int, got {type(v).__name__}")
    resolve_device(device, "randint(device=...)")
    out = creation.randint(int(low), int(high), () if size is None else size, generator=generator, dtype=dtype)
    if requires_grad:
        out.requires_grad_(True)
    return out


# -------------------------------------------------------------------- in-place fills
def _fill(self: Tensor, values: np.ndarray, name: str) -> Tensor:
    """Write ``values`` into ``self`` as ``fill_`` does (refused on a leaf that requires grad
    while recording; a non-leaf leaves the graph)."""
    if is_grad_enabled() and self.requires_grad and self.grad_fn is None:
        raise GraphError(f"{name}: a leaf tensor that requires grad is being modified in place; wrap "
                         "the initialisation in `with gradwise.no_grad():`")
    return self.fill_(values.astype(self._data.dtype, copy=False))


def _float_self(self: Tensor, name: str) -> None:
    if self._data.dtype.kind != "f":
        raise DtypeError(f"{name}: only floating-point tensors can be filled with {name[:-1]} samples, "
                         f"this one is {self._data.dtype.name}")


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill in place with samples of N(``mean``, ``std``²).

    >>> import gradwise as gw
    >>> gw.empty(3).normal_(0.0, 0.0).tolist()
    [0.0, 0.0, 0.0]
    """
    _float_self(self, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    values = float(mean) + float(std) * resolve(generator).standard_normal(self._data.shape)
    return _fill(self, values, "normal_")


def uniform_(self: Tensor, *args: float, generator: Generator | None = None, **kwargs: float) -> Tensor:
    """Fill in place with uniform samples on ``[from, to)`` (PyTorch's ``uniform_(from=0, to=1)``;
    positional, or the keywords ``from`` and ``to``).

    >>> import gradwise as gw
    >>> x = gw.empty(100).uniform_(-2, -1)
    >>> bool(((x >= -2) & (x < -1)).all())
    True
    """
    names = ("from", "to")
    if len(args) > 2:
        raise TypeError(f"uniform_() takes at most 2 positional arguments (from, to), got {len(args)}")
    bounds = {"from": 0.0, "to": 1.0}
    for name, v in zip(names, args):
        bounds[name] = v
    for name, v in kwargs.items():
        if name not in names:
            raise TypeError(f"uniform_() got an unexpected keyword argument {name!r}")
        if name in names[:len(args)]:
            raise TypeError(f"uniform_(): {name} given twice")
        bounds[name] = v
    _float_self(self, "uniform_")
    lo, hi = float(bounds["from"]), float(bounds["to"])
    if lo > hi:
        raise ValueError(f"uniform_: expects from <= to, got from={lo} > to={hi}")
    values = resolve(generator).uniform(lo, hi, self._data.shape)
    return _fill(self, values, "uniform_")


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    """Fill in place with 0/1 samples, 1 with probability ``p`` (a number or a tensor that
    broadcasts to this one)."""
    probs = p._data if isinstance(p, Tensor) else np.asarray(float(p))
    _check_probability(probs, "bernoulli_")
    draw = resolve(generator).random(self._data.shape) < probs
    return _fill(self, draw, "bernoulli_")


# public functions of this module; METHODS: those also bound as Tensor methods (by gradwise.api.bind)
FUNCTIONS = {"normal": normal, "bernoulli": bernoulli, "multinomial": multinomial, "randint": randint,
             "normal_": normal_, "uniform_": uniform_, "bernoulli_": bernoulli_}
METHODS = ("bernoulli", "multinomial", "normal_", "uniform_", "bernoulli_")
