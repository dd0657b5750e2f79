"""Two moons with minibatches drawn by torch.randint (Karpathy's micrograd demo, in torch):
an SVM-style hinge loss with L2 regularisation written by hand, accuracy with .tolist(),
a learning rate decayed linearly by hand in param_groups.
"""
import json
import math

import torch
import torch.nn as nn

torch.manual_seed(1337)
n = 200
t = torch.rand(n) * math.pi
upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
labels = torch.randint(0, 2, (n,))
X = torch.where(labels.unsqueeze(1) == 1, upper, lower) + 0.1 * torch.randn(n, 2)
y = labels.float() * 2 - 1  # -1 / +1

model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
steps = 150
for k in range(steps):
    idx = torch.randint(0, n, (64,))
    scores = model(X[idx]).squeeze(1)
    data_loss = torch.relu(1 - y[idx] * scores).mean()
    reg_loss = 1e-4 * sum((p * p).sum() for p in model.parameters())
    total_loss = data_loss + reg_loss
    optimizer.zero_grad()
    total_loss.backward()
    for group in optimizer.param_groups:
        group["lr"] = 1.0 - 0.9 * k / steps
    optimizer.step()
    if k % 50 == 0:
        acc = ((scores > 0).float() * 2 - 1 == y[idx]).float().mean()
        print(f"step {k} loss {total_loss.item():.4f}, accuracy {acc.item() * 100:.1f}%")

with torch.no_grad():
    scores = model(X).squeeze(1)
    preds = [1 if s > 0 else -1 for s in scores.tolist()]
    acc = sum(int(p == t) for p, t in zip(preds, y.int().tolist())) / n
    full_loss = torch.relu(1 - y * scores).mean().item()
result = {"loss": full_loss, "acc": acc}
print("RESULT " + json.dumps(result))
assert acc > 0.95, result
