"""Save and resume training from a checkpoint dict (model state_dict, optimizer state_dict,
epoch, loss) with torch.save/torch.load in a temporary directory; the resumed run must
continue exactly where an uninterrupted run would be.
"""
import json
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(8)
X = torch.tensor(rng.normal(size=(128, 4)), dtype=torch.float32)
y = (X[:, :1] * 1.5 - X[:, 1:2] + 0.3 * X[:, 2:3] * X[:, 3:4])
init = {k: rng.normal(scale=0.4, size=s) for k, s in
        [("0.weight", (8, 4)), ("0.bias", (8,)), ("2.weight", (1, 8)), ("2.bias", (1,))]}


def make_model():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    model.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in init.items()})
    return model


def train(model, optimizer, epochs):
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
    return loss.item()


# an uninterrupted run of 60 epochs
ref = make_model()
ref_opt = torch.optim.Adam(ref.parameters(), lr=0.02)
ref_loss = train(ref, ref_opt, 60)

# 30 epochs, checkpoint, a fresh model + optimizer, resume for 30 more
model = make_model()
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
loss = train(model, optimizer, 30)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "checkpoint.pt")
    torch.save({"epoch": 30, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss}, path)
    print("saved", os.path.basename(path), os.path.getsize(path) > 0)
    checkpoint = torch.load(path)

model2 = make_model()
optimizer2 = torch.optim.Adam(model2.parameters(), lr=0.02)
model2.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
start_epoch = checkpoint["epoch"]
print(f"resuming at epoch {start_epoch}, loss {checkpoint['loss']:.4f}")
model2.train()
resumed_loss = train(model2, optimizer2, 60 - start_epoch)

max_diff = max((a - b).abs().max().item() for a, b in zip(ref.parameters(), model2.parameters()))
result = {"loss": resumed_loss, "ref_loss": ref_loss, "max_param_diff": max_diff, "epoch": start_epoch}
print("RESULT " + json.dumps(result))
assert max_diff < 1e-6 and resumed_loss < 0.1, result
