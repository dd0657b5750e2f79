"""An nn.Module subclass trained with SGD (momentum, weight decay) and a StepLR scheduler.

PyTorch tutorial style: class Net(nn.Module) with __init__/forward, optimizer.zero_grad(),
loss.backward(), optimizer.step(), scheduler.step() once per epoch.  The regression target
is a smooth function of two inputs; weights and data are drawn with NumPy and copied in.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(1)


class Net(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        x = torch.tanh(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.out(x)


model = Net(2, 32, 1)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(scale=0.3, size=tuple(p.shape)).astype(np.float32)))

x = torch.from_numpy(rng.uniform(-1, 1, size=(256, 2)).astype(np.float32))
y = (torch.sin(3 * x[:, 0]) * x[:, 1]).unsqueeze(1)

criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=40, gamma=0.5)

for epoch in range(120):
    model.train()
    for i in range(0, 256, 64):
        xb, yb = x[i:i + 64], y[i:i + 64]
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    scheduler.step()
    if epoch % 40 == 0:
        print(f"epoch {epoch:3d} loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.4f}")

model.eval()
with torch.no_grad():
    final = criterion(model(x), y).item()
result = {"loss": final, "lr": optimizer.param_groups[0]["lr"]}
print("RESULT " + json.dumps(result))
assert final < 0.02, result
