"""A BatchNorm1d + Dropout classifier switching model.train() / model.eval(): dropout is
random only in training, batch norm uses batch statistics in training and its running
averages in evaluation, and evaluation is deterministic.  Concentric rings, 2 classes.
"""
import json

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(16)


def rings(n):
    r = np.where(rng.random(n) < 0.5, 1.0, 2.0)
    theta = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([r * np.cos(theta), r * np.sin(theta)], 1) + 0.15 * rng.normal(size=(n, 2))
    return torch.tensor(pts, dtype=torch.float32), torch.tensor((r > 1.5).astype(np.float32)).unsqueeze(1)


model = nn.Sequential(
    nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(p=0.2),
    nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(p=0.2),
    nn.Linear(32, 1),
)
x_train, y_train = rings(512)
x_test, y_test = rings(256)
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

for _epoch in range(20):
    model.train()
    perm = torch.randperm(512)
    for i in range(0, 512, 64):
        idx = perm[i:i + 64]
        optimizer.zero_grad()
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()

bn = model[1]
print("running_mean[:3]", [round(v, 3) for v in bn.running_mean[:3].tolist()],
      "num_batches_tracked", int(bn.num_batches_tracked))

model.eval()
with torch.no_grad():
    logits_a = model(x_test)
    logits_b = model(x_test)
    acc = ((logits_a > 0).float() == y_test).float().mean().item()
    test_loss = loss_fn(logits_a, y_test).item()
eval_deterministic = torch.equal(logits_a, logits_b)
model.train()
with torch.no_grad():
    train_mode_differs = not torch.equal(model(x_test), model(x_test))
result = {"test_loss": test_loss, "acc": acc, "eval_deterministic": eval_deterministic,
          "train_mode_differs": train_mode_differs, "num_batches_tracked": int(bn.num_batches_tracked)}
print("RESULT " + json.dumps(result))
assert acc > 0.95 and eval_deterministic and train_mode_differs, result
