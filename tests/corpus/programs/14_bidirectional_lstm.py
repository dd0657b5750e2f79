"""A bidirectional LSTM classifier (batch_first) on synthetic sequences: is the larger bump
in the first or the second half of the sequence?  The final forward and backward hidden
states are concatenated (h_n[-2], h_n[-1]) and fed to a Linear layer.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(14)


def make_data(n, T=12):
    x = 0.2 * rng.normal(size=(n, T, 1))
    labels = rng.integers(0, 2, size=n)
    for i, lab in enumerate(labels):
        big = rng.integers(0, T // 2) + (T // 2) * lab
        small = rng.integers(0, T // 2) + (T // 2) * (1 - lab)
        x[i, big, 0] += 2.0
        x[i, small, 0] += 1.0
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels)


class BiLSTMClassifier(nn.Module):
    def __init__(self, hidden=12):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, 2)

    def forward(self, x):
        out, (h_n, c_n) = self.lstm(x)
        h = torch.cat([h_n[-2], h_n[-1]], dim=1)
        return self.fc(h)


model = BiLSTMClassifier()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, size=tuple(p.shape)), dtype=torch.float32))
x_train, y_train = make_data(256)
x_test, y_test = make_data(128)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)

for epoch in range(12):
    for i in range(0, 256, 64):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train[i:i + 64]), y_train[i:i + 64])
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.4f}")

with torch.no_grad():
    out, _ = model.lstm(x_test)
    logits = model(x_test)
    acc = (logits.argmax(1) == y_test).float().mean().item()
    test_loss = F.cross_entropy(logits, y_test).item()
result = {"test_loss": test_loss, "acc": acc, "out_shape": list(out.shape)}
print("RESULT " + json.dumps(result))
assert out.shape == (128, 12, 24) and acc > 0.9, result
