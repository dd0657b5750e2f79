"""A custom torch.utils.data.Dataset subclass (__len__/__getitem__ returning a dict), a
DataLoader with a collate_fn, and an undercomplete autoencoder trained with
ReduceLROnPlateau on the validation reconstruction error.
"""
import json

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
rng = np.random.default_rng(26)


class WaveDataset(Dataset):
    """Sums of two sinusoids sampled at 16 points, with random amplitudes and phases."""

    def __init__(self, n):
        t = np.linspace(0, 1, 16)
        a = rng.uniform(0.5, 1.5, size=(n, 2))
        phase = rng.uniform(0, 2 * np.pi, size=(n, 2))
        self.x = (a[:, :1] * np.sin(2 * np.pi * t + phase[:, :1]) + a[:, 1:] * np.sin(4 * np.pi * t + phase[:, 1:]))
        self.x = self.x.astype(np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return {"signal": torch.from_numpy(self.x[idx]), "index": idx}


def collate(batch):
    return torch.stack([item["signal"] for item in batch]), torch.tensor([item["index"] for item in batch])


train_ds, val_ds = WaveDataset(384), WaveDataset(96)
train_loader = DataLoader(train_ds, batch_size=32, shuffle=False, collate_fn=collate)
val_loader = DataLoader(val_ds, batch_size=96, collate_fn=collate)

model = nn.Sequential(nn.Linear(16, 12), nn.Tanh(), nn.Linear(12, 4), nn.Linear(4, 12), nn.Tanh(), nn.Linear(12, 16))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, size=tuple(p.shape)), dtype=torch.float32))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=2)
criterion = nn.MSELoss()

for epoch in range(30):
    model.train()
    for signals, _ in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(signals), signals)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(s), s).item() for s, _ in val_loader) / len(val_loader)
    scheduler.step(val_loss)
    if epoch % 10 == 0:
        print(f"epoch {epoch}: val {val_loss:.5f} lr {optimizer.param_groups[0]['lr']:.5f}")
result = {"val_loss": val_loss, "lr": optimizer.param_groups[0]["lr"], "n_batches": len(train_loader)}
print("RESULT " + json.dumps(result))
assert val_loss < 0.05, result
