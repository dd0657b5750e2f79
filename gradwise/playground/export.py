""""Copy as Python": the playground run as a standalone gradwise script, and the closest
``gradwise train`` command line.

The script makes the same calls as :mod:`gradwise.playground.recipe` and
:class:`~gradwise.playground.engine.Playground`, in the same order and from the same seed, so
after the same number of updates its ``model`` holds the same parameters as the playground's
(``tests/playground/test_export.py`` runs it and compares).

>>> from gradwise.playground.settings import Settings
>>> "optim.Adam(model.parameters(), lr=0.03" in python_script(Settings(), steps=10)
True
>>> train_command(Settings(dataset="moons", hidden=(8, 8)), steps=100).split(" --optimizer")[0]
'gradwise train --dataset moons --model mlp:8,8 --activation tanh'
"""

from __future__ import annotations

import math

from gradwise.playground import recipe
from gradwise.playground.settings import Settings

_FEATURE_CODE = {"x": "a", "y": "b", "x2": "a * a", "y2": "b * b", "xy": "a * b", "sinx": "np.sin(np.pi * a)",
                 "siny": "np.sin(np.pi * b)"}
_INIT_CODE = {
    "zeros": "nn.init.zeros_(m.weight)",
    "too_small": f"nn.init.normal_(m.weight, std={recipe.SMALL_STD!r}, generator=gen)",
    "too_large": f"nn.init.normal_(m.weight, std={recipe.LARGE_STD!r}, generator=gen)",
}


def _data_code(s: Settings) -> str:
    call = {
        "spirals": f"spirals({s.n_samples}, noise={s.noise!r}, generator=gen)",
        "moons": f"moons({s.n_samples}, noise={s.noise!r}, generator=gen)",
        "circles": f"circles({s.n_samples}, noise={s.noise!r}, generator=gen)",
        "xor": f"xor({s.n_samples}, noise={s.noise!r}, generator=gen)",
        "blobs": f"blobs({s.n_samples}, centers={[list(c) for c in recipe.BLOB_CENTERS]!r}, "
                 f"cluster_std={0.2 + s.noise!r}, generator=gen)",
    }[s.dataset]
    lines = [f"points, labels = {call}"]
    if s.dataset == "moons":
        lines.append(f"points = (points - gw.tensor({recipe.MOONS_SHIFT!r})) * {recipe.MOONS_SCALE!r}  # centred")
    return "\n".join(lines)


def _model_code(s: Settings) -> str:
    act = f"nn.{recipe.ACTIVATION_CLASSES[s.activation]}()"
    rows, width = [], len(s.features)
    for h in s.hidden:
        row = f"    nn.Linear({width}, {h}, generator=gen), {act},"
        if s.dropout > 0:
            row += f" nn.Dropout({s.dropout!r}, generator=gen),"
        rows.append(row)
        width = h
    rows.append(f"    nn.Linear({width}, 2, generator=gen),")
    code = "model = nn.Sequential(\n" + "\n".join(rows) + "\n)"
    if s.init != "default":
        gain = recipe.GAIN_NAMES[s.activation]
        weight = _INIT_CODE.get(s.init) or (
            f"nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain({gain!r}), generator=gen)"
            if s.init == "xavier" else f"nn.init.kaiming_normal_(m.weight, nonlinearity={gain!r}, generator=gen)")
        code += ("\nfor m in model.modules():                      # initialisation: " + s.init +
                 "\n    if isinstance(m, nn.Linear):\n        " + weight + "\n        nn.init.zeros_(m.bias)")
    return code


def _loss_code(s: Settings, out: str, y: str) -> str:
    if s.loss == "cross_entropy":
        return f"nn.functional.cross_entropy({out}, {y})"
    return f"nn.functional.mse_loss({out}, nn.functional.one_hot({y}, 2).float())"


def python_script(s: Settings, steps: int) -> str:
    """A script that trains the run ``s`` for ``steps`` updates from scratch and prints its losses."""
    cls, options = recipe.OPTIMIZER_SPECS[s.optimizer]
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    feats = ", ".join(_FEATURE_CODE[f] for f in s.features)
    return f'''"""A gradwise playground run, reproduced: {s.dataset}, hidden {list(s.hidden)}, {s.activation}, \
{s.optimizer} at lr {s.lr!r}, {s.batch_mode} batches, {steps} updates (seed {s.seed})."""

import numpy as np

import gradwise as gw
from gradwise import nn, optim
from gradwise.data import {s.dataset}

SEED = {s.seed}
STEPS = {steps}
BATCH = {recipe.batch_size(s, len(recipe.split(s.n_samples, s.val_fraction, s.seed)[0]))}
gen = gw.Generator().manual_seed(SEED)

# the data: {s.n_samples} points, noise {s.noise!r}, a seeded train/validation split
{_data_code(s)}
points, labels = points.numpy(), labels.numpy()


def features(xy):
    """The input features {list(s.features)} of points xy, shape (N, 2) -> (N, {len(s.features)})."""
    a, b = xy[:, 0], xy[:, 1]
    return np.stack([{feats}], axis=1).astype(np.float32)


perm = np.random.default_rng(SEED).permutation(len(labels))
n_val = int(round({s.val_fraction!r} * len(labels)))
train, val = perm[n_val:], perm[:n_val]
x = features(points)
x_train, y_train, x_val, y_val = x[train], labels[train], x[val], labels[val]

{_model_code(s)}
optimizer = optim.{cls}(model.parameters(), lr={s.lr!r}, weight_decay={s.l2!r}{extra})

# each epoch a fresh permutation of the training samples, cut into batches of BATCH
batch_rng = np.random.default_rng(SEED + 1)
order, pos = np.empty(0, dtype=np.int64), 0
for step in range(STEPS):
    if pos >= len(order):
        order, pos = batch_rng.permutation(len(y_train)), 0
    idx = order[pos:pos + BATCH]
    pos += BATCH
    model.train()
    loss = {_loss_code(s, "model(gw.from_numpy(x_train[idx]))", "gw.from_numpy(y_train[idx])")}
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

model.eval()
with gw.no_grad():
    train_loss = {_loss_code(s, "model(gw.from_numpy(x_train))", "gw.from_numpy(y_train)")}.item()
    print(f"after {{STEPS}} updates: train loss {{train_loss:.4f}}")
'''


def train_command(s: Settings, steps: int) -> str | None:
    """The closest ``gradwise train`` command line, or ``None`` where the run has no counterpart (it
    trains on its own 600-point spirals or moons with x, y as inputs, the default initialisation,
    cross-entropy and no dropout).  It is the same kind of run, not the same numbers: its points differ."""
    if (s.dataset not in ("spirals", "moons") or s.features != ("x", "y") or s.init != "default"
            or s.loss != "cross_entropy" or s.dropout > 0 or s.optimizer not in recipe.OPTIMIZER_SPECS):
        return None
    mode = {"full": "full", "stochastic": "sgd", "minibatch": "minibatch"}[s.batch_mode]
    model = "mlp:" + ",".join(str(h) for h in s.hidden) if s.hidden else "linear"
    n_train = 600 - int(round(600 * s.val_fraction))
    per_epoch = {"full": 1, "sgd": n_train, "minibatch": -(-n_train // s.batch_size)}[mode]
    epochs = max(1, math.ceil(steps / per_epoch))
    cmd = (f"gradwise train --dataset {s.dataset} --model {model} --activation {s.activation} "
           f"--optimizer {s.optimizer} --lr {s.lr!r} --mode {mode}")
    if mode == "minibatch":
        cmd += f" --batch-size {s.batch_size}"
    if s.l2 > 0:
        cmd += f" --weight-decay {s.l2!r}"
    return cmd + f" --epochs {epochs} --seed {s.seed} --val-fraction {s.val_fraction!r}"
