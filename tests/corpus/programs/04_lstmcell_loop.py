"""An nn.LSTMCell unrolled by hand over time: predict the next value of a noisy sine wave.

The classic "time sequence prediction" example: h, c carried across steps, outputs stacked
with torch.stack, trained with Adam.  Weights are copied in from NumPy.
"""
import json

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(4)


class Sequence(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.hidden = hidden
        self.cell = nn.LSTMCell(1, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, inputs):
        batch, steps = inputs.shape
        h = torch.zeros(batch, self.hidden, dtype=inputs.dtype)
        c = torch.zeros(batch, self.hidden, dtype=inputs.dtype)
        outputs = []
        for t in range(steps):
            h, c = self.cell(inputs[:, t].unsqueeze(1), (h, c))
            outputs.append(self.linear(h))
        return torch.stack(outputs, dim=1).squeeze(2)


model = Sequence()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.25, 0.25, size=tuple(p.shape)), dtype=torch.float32))

phase = rng.uniform(0, 2 * np.pi, size=(16, 1))
t = np.arange(21) * 0.3
wave = torch.tensor(np.sin(t + phase), dtype=torch.float32)
inputs, targets = wave[:, :-1], wave[:, 1:]

optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
loss_fn = nn.MSELoss()
for step in range(80):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(f"step {step:3d} loss {loss.item():.5f}")

with torch.no_grad():
    final = loss_fn(model(inputs), targets).item()
result = {"loss": final}
print("RESULT " + json.dumps(result))
assert final < 0.01, result
