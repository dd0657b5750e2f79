"""A small CNN (Conv2d, ReLU, MaxPool2d, Flatten, Linear) on synthetic 12x12 images: tell
horizontal bars from vertical bars from crosses, with a TensorDataset and a DataLoader.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(5)


def make_images(n):
    images = rng.normal(scale=0.3, size=(n, 1, 12, 12)).astype(np.float32)
    labels = rng.integers(0, 3, size=n)
    for i, k in enumerate(labels):
        r, c = rng.integers(2, 10, size=2)
        if k in (0, 2):
            images[i, 0, r, :] += 1.0
        if k in (1, 2):
            images[i, 0, :, c] += 1.0
    return torch.from_numpy(images), torch.from_numpy(labels).long()


model = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(6, 8, kernel_size=3),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(8 * 2 * 2, 3),
)
with torch.no_grad():
    for p in model.parameters():
        fan_in = p[0].numel() if p.dim() > 1 else p.numel()
        p.copy_(torch.from_numpy(rng.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32) / np.sqrt(fan_in)))

x_train, y_train = make_images(192)
x_test, y_test = make_images(96)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=False)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

for epoch in range(15):
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.size(0)
    print(f"epoch {epoch} train loss {total / len(loader.dataset):.4f}")

model.eval()
with torch.no_grad():
    logits = model(x_test)
    test_loss = F.cross_entropy(logits, y_test).item()
    acc = (logits.argmax(dim=1) == y_test).float().mean().item()
result = {"train_loss": total / len(loader.dataset), "test_loss": test_loss, "acc": acc}
print("RESULT " + json.dumps(result))
assert acc > 0.9, result
