"""A variational autoencoder on 8-D data that lies near a 2-D plane: encoder -> (mu, logvar),
the reparameterisation trick z = mu + eps * exp(logvar / 2), decoder, and the loss
reconstruction + KL(q(z|x) || N(0, I)) summed over the batch, as in the PyTorch VAE example.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(10)

latent = rng.normal(size=(512, 2))
mixing = rng.normal(size=(2, 8))
data = torch.tensor(np.tanh(latent @ mixing) + 0.05 * rng.normal(size=(512, 8)), dtype=torch.float32)


class VAE(nn.Module):
    def __init__(self, d_in=8, d_hidden=32, d_latent=2):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.fc_mu = nn.Linear(d_hidden, d_latent)
        self.fc_logvar = nn.Linear(d_hidden, d_latent)
        self.fc3 = nn.Linear(d_latent, d_hidden)
        self.fc4 = nn.Linear(d_hidden, d_in)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x, eps):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    recon = F.mse_loss(recon_x, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return recon + kld, recon, kld


model = VAE()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, size=tuple(p.shape)), dtype=torch.float32))
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
loader = DataLoader(TensorDataset(data), batch_size=64)

for epoch in range(25):
    train_loss = 0.0
    for (x,) in loader:
        eps = torch.tensor(rng.normal(size=(x.shape[0], 2)), dtype=torch.float32)
        optimizer.zero_grad()
        recon, mu, logvar = model(x, eps)
        loss, _, _ = loss_function(recon, x, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    if epoch % 5 == 0:
        print(f"====> Epoch: {epoch} Average loss: {train_loss / len(loader.dataset):.4f}")

model.eval()
with torch.no_grad():
    recon, mu, logvar = model(data, torch.zeros(512, 2))
    _, rec, kld = loss_function(recon, data, mu, logvar)
result = {"loss": train_loss / len(loader.dataset), "recon_per_sample": rec.item() / 512,
          "kld_per_sample": kld.item() / 512}
print("RESULT " + json.dumps(result))
assert result["recon_per_sample"] < 1.0, result
