"""How a playground run is built from its :class:`~gradwise.playground.settings.Settings`: the
points, the input features, the split, the network, its initialisation, the optimizer and the
order of the batches.  Every random draw comes from the seed, so the same settings give the same
run; :mod:`gradwise.playground.export` writes the same calls as a script (a test checks that the
two agree parameter for parameter).

>>> from gradwise.playground.settings import Settings
>>> data = make_data(Settings(dataset="xor", n_samples=40, val_fraction=0.25, features=("x", "y", "xy")),
...                  Generator().manual_seed(0))
>>> data.x_train.shape, data.x_val.shape, data.y_train.dtype.name
((30, 3), (10, 3), 'int64')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwise import nn, optim
from gradwise.api.creation import tensor
from gradwise.api.random import Generator
from gradwise.data.synthetic import blobs, circles, moons, spirals, xor
from gradwise.playground.settings import Settings

# The view box: every dataset is placed inside [-BOX, BOX]^2.
BOX = 1.5
# Moons span [-1, 2] x [-0.5, 1]; shifted by this and scaled by 2/3 they span [-1, 1] x [-0.5, 0.5].
MOONS_SHIFT = (0.5, 0.25)
MOONS_SCALE = 2 / 3
BLOB_CENTERS = ((-0.6, -0.6), (0.6, 0.6))
# optimizer name -> (class in gradwise.optim, the options the name implies)
OPTIMIZER_SPECS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
    "rmsprop": ("RMSprop", {}),
    "adagrad": ("Adagrad", {}),
}
ACTIVATION_CLASSES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "leaky_relu": "LeakyReLU", "gelu": "GELU"}
# the gain nn.init.calculate_gain uses for each activation (GELU behaves like ReLU for x >> 0)
GAIN_NAMES = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "leaky_relu": "leaky_relu", "gelu": "relu"}
# "too small" / "too large": normal weights of these standard deviations, whatever the fan-in
SMALL_STD, LARGE_STD = 1e-3, 3.0


@dataclass(frozen=True)
class Data:
    """The points (``xy_*``, shape ``(N, 2)``), their input features (``x_*``, ``(N, F)`` float32)
    and labels (``y_*``, ``(N,)`` int64), split into train and validation."""

    xy_train: np.ndarray
    xy_val: np.ndarray
    x_train: np.ndarray
    x_val: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray


def points(s: Settings, gen: Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(xy, y)``: the dataset's ``(N, 2)`` float32 points and ``(N,)`` int64 labels."""
    n, noise = s.n_samples, s.noise
    if s.dataset == "spirals":
        x, y = spirals(n, noise=noise, generator=gen)
    elif s.dataset == "moons":
        x, y = moons(n, noise=noise, generator=gen)
        x = (x - tensor(MOONS_SHIFT)) * MOONS_SCALE
    elif s.dataset == "circles":
        x, y = circles(n, noise=noise, generator=gen)
    elif s.dataset == "xor":
        x, y = xor(n, noise=noise, generator=gen)
    else:
        x, y = blobs(n, centers=[list(c) for c in BLOB_CENTERS], cluster_std=0.2 + noise, generator=gen)
    return x.numpy(), y.numpy()


def features(xy: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The input columns named by ``names`` for points ``xy`` of shape ``(N, 2)``: ``(N, len(names))``.

    >>> features(np.array([[1.0, 2.0]], dtype=np.float32), ("x", "y", "x2", "xy")).tolist()
    [[1.0, 2.0, 1.0, 2.0]]
    """
    a, b = xy[:, 0], xy[:, 1]
    # sin(pi x): over the box one period of sine, not the nearly straight piece sin x is on [-1, 1]
    cols = {"x": a, "y": b, "x2": a * a, "y2": b * b, "xy": a * b, "sinx": np.sin(np.pi * a),
            "siny": np.sin(np.pi * b)}
    return np.stack([cols[n] for n in names], axis=1).astype(np.float32)


def split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train indices, validation indices)``: a seeded permutation's last and first
    ``round(val_fraction * n)`` entries.

    >>> [len(p) for p in split(10, 0.2, 0)]
    [8, 2]
    """
    perm = np.random.default_rng(seed).permutation(n)
    n_val = int(round(val_fraction * n))
    return perm[n_val:], perm[:n_val]


def make_data(s: Settings, gen: Generator) -> Data:
    """The points, features and split of the run ``s`` (draws the points from ``gen``)."""
    xy, y = points(s, gen)
    train, val = split(len(y), s.val_fraction, s.seed)
    x = features(xy, s.features)
    return Data(xy[train], xy[val], x[train], x[val], y[train], y[val])


def make_model(s: Settings, gen: Generator) -> nn.Sequential:
    """Linear layers of widths ``s.hidden`` with the activation (and dropout) after each, then a
    2-unit output layer (one logit per class); initialised as ``s.init`` says."""
    layers: list[nn.Module] = []
    width = len(s.features)
    for h in s.hidden:
        layers += [nn.Linear(width, h, generator=gen), getattr(nn, ACTIVATION_CLASSES[s.activation])()]
        if s.dropout > 0:
            layers.append(nn.Dropout(s.dropout, generator=gen))
        width = h
    layers.append(nn.Linear(width, 2, generator=gen))
    model = nn.Sequential(*layers)
    initialise(model, s.init, s.activation, gen)
    return model


def initialise(model: nn.Module, init: str, activation: str, gen: Generator) -> None:
    """Re-initialise every Linear layer of ``model`` in order (``"default"`` keeps PyTorch's)."""
    if init == "default":
        return
    for m in model.modules():
        if not isinstance(m, nn.Linear):
            continue
        w = m.weight
        if init == "zeros":
            nn.init.zeros_(w)
        elif init == "too_small":
            nn.init.normal_(w, std=SMALL_STD, generator=gen)
        elif init == "too_large":
            nn.init.normal_(w, std=LARGE_STD, generator=gen)
        elif init == "xavier":
            nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(GAIN_NAMES[activation]), generator=gen)
        else:
            nn.init.kaiming_normal_(w, nonlinearity=GAIN_NAMES[activation], generator=gen)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def make_optimizer(s: Settings, model: nn.Module) -> optim.Optimizer:
    """The optimizer ``s.optimizer`` at ``s.lr`` with ``s.l2`` as its weight decay."""
    cls, options = OPTIMIZER_SPECS[s.optimizer]
    return getattr(optim, cls)(model.parameters(), lr=s.lr, weight_decay=s.l2, **options)


def batch_size(s: Settings, n_train: int) -> int:
    """Samples per update: all of them (full), one (stochastic) or ``s.batch_size`` (at most all)."""
    if s.batch_mode == "full":
        return n_train
    if s.batch_mode == "stochastic":
        return 1
    return min(s.batch_size, n_train)


class Batches:
    """Index arrays of the training samples for each update: a fresh permutation (seeded with
    ``seed + 1``) every epoch, cut into batches of ``size`` (the last one of an epoch may be short).

    >>> b = Batches(5, 2, seed=0)
    >>> sorted(np.concatenate([b.next() for _ in range(3)]).tolist())
    [0, 1, 2, 3, 4]
    """

    def __init__(self, n: int, size: int, seed: int) -> None:
        self.n, self.size = n, size
        self.rng = np.random.default_rng(seed + 1)
        self.order = np.empty(0, dtype=np.int64)
        self.pos = 0

    def next(self) -> np.ndarray:
        if self.pos >= len(self.order):
            self.order, self.pos = self.rng.permutation(self.n), 0
        idx = self.order[self.pos:self.pos + self.size]
        self.pos += self.size
        return idx


def loss_of(loss: str, out: Any, y: Any) -> Any:
    """Cross-entropy of the 2 logits, or the mean squared error between them and the one-hot labels."""
    if loss == "cross_entropy":
        return nn.functional.cross_entropy(out, y)
    return nn.functional.mse_loss(out, nn.functional.one_hot(y, 2).float())
