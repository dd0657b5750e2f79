"""A tiny GAN: a generator maps 2-D noise to samples of N(3, 0.5^2) in 1-D; a discriminator
tells them from real samples.  BCE losses, two Adam optimizers, detach() for the
discriminator step.  Noise and data come from NumPy so the run is the same in both libraries.
"""
import json

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(9)

G = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
D = nn.Sequential(nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())
for net in (G, D):
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.tensor(rng.normal(scale=0.3, size=tuple(p.shape)), dtype=torch.float32))

criterion = nn.BCELoss()
opt_g = torch.optim.Adam(G.parameters(), lr=0.01, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=0.01, betas=(0.5, 0.999))
batch = 64
ones = torch.ones(batch, 1)
zeros = torch.zeros(batch, 1)

for step in range(300):
    real = torch.tensor(rng.normal(3.0, 0.5, size=(batch, 1)), dtype=torch.float32)
    z = torch.tensor(rng.normal(size=(batch, 2)), dtype=torch.float32)
    fake = G(z)

    opt_d.zero_grad()
    d_loss = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
    d_loss.backward()
    opt_d.step()

    opt_g.zero_grad()
    g_loss = criterion(D(fake), ones)
    g_loss.backward()
    opt_g.step()
    if step % 100 == 0:
        print(f"step {step}: d_loss {d_loss.item():.3f} g_loss {g_loss.item():.3f}")

with torch.no_grad():
    samples = G(torch.tensor(rng.normal(size=(2000, 2)), dtype=torch.float32))
mean, std = samples.mean().item(), samples.std().item()
result = {"mean": mean, "std": std, "d_loss": d_loss.item(), "g_loss": g_loss.item()}
print("RESULT " + json.dumps(result))
assert abs(mean - 3.0) < 0.5 and 0.1 < std < 1.5, result
