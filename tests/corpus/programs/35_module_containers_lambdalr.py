"""Module containers and bookkeeping: nn.ModuleList of experts, nn.ModuleDict of heads,
nn.ParameterList of gates, a mixture-of-experts regression with F.softplus scales and a
Gaussian negative log-likelihood (torch.distributions.Normal and nn.GaussianNLLLoss agree),
LambdaLR warmup, named_parameters/state_dict keys, count of trainable parameters, and a
dict of tensors round-tripped through torch.save/torch.load in memory (io.BytesIO).
"""
import io
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal

torch.manual_seed(0)
rng = np.random.default_rng(35)
x = torch.tensor(rng.uniform(-2, 2, size=(256, 1)), dtype=torch.float32)
y = torch.where(x < 0, torch.sin(3 * x), 0.5 * x) + 0.1 * torch.tensor(rng.normal(size=(256, 1)), dtype=torch.float32)


class MixtureOfExperts(nn.Module):
    def __init__(self, n_experts=3, hidden=16):
        super().__init__()
        self.experts = nn.ModuleList([nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, 1))
                                      for _ in range(n_experts)])
        self.heads = nn.ModuleDict({"gate": nn.Linear(1, n_experts), "scale": nn.Linear(1, 1)})
        self.temperatures = nn.ParameterList([nn.Parameter(torch.ones(1)) for _ in range(n_experts)])

    def forward(self, x):
        outs = torch.cat([e(x) for e in self.experts], dim=1)             # (N, E)
        temps = torch.cat(list(self.temperatures))                          # (E,)
        gate = F.softmax(self.heads["gate"](x) * temps, dim=1)             # (N, E)
        mean = (gate * outs).sum(1, keepdim=True)
        std = F.softplus(self.heads["scale"](x)) + 1e-3
        return mean, std


model = MixtureOfExperts()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.normal(scale=0.5, size=tuple(p.shape)), dtype=torch.float32))
n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
keys = list(model.state_dict().keys())
print(n_trainable, "parameters;", keys[:3], "...")
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda step: min(1.0, (step + 1) / 20))
gnll = nn.GaussianNLLLoss(full=True)
for step in range(200):
    mean, std = model(x)
    loss = -Normal(mean, std).log_prob(y).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step % 50 == 0:
        print(f"step {step}: nll {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.4f}")
with torch.no_grad():
    mean, std = model(x)
    nll = -Normal(mean, std).log_prob(y).mean().item()
    nll_module = gnll(mean, y, std ** 2).item()
    mse = F.mse_loss(mean, y).item()
buffer = io.BytesIO()
torch.save({"mean": mean, "std": std, "step": torch.tensor(200)}, buffer)
buffer.seek(0)
loaded = torch.load(buffer)
roundtrip = torch.equal(loaded["mean"], mean) and int(loaded["step"]) == 200
result = {"nll": nll, "nll_module": nll_module, "mse": mse, "n_trainable": n_trainable, "n_keys": len(keys),
          "roundtrip": roundtrip, "mean_std": std.mean().item()}
print("RESULT " + json.dumps(result))
assert nll < 0.0 and abs(nll - nll_module) < 1e-4 and roundtrip and mse < 0.03, result
