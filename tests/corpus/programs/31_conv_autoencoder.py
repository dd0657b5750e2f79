"""A convolutional autoencoder on 16x16 blob images: Conv2d with stride 2 down, then
ConvTranspose2d up (output_padding), BatchNorm2d, a sigmoid output and F.binary_cross_entropy;
AdaptiveAvgPool2d + Conv1d read a small summary, torch.einsum checks a channel mix.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(31)
yy, xx = np.mgrid[0:16, 0:16]
centres = rng.uniform(3, 13, size=(128, 2))
radius = rng.uniform(1.5, 3.5, size=128)
images = np.exp(-(((xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2)
                  / (2 * radius[:, None, None] ** 2)))
data = torch.tensor(images[:, None], dtype=torch.float32)

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, stride=2, padding=1),   # 16 -> 8
    nn.BatchNorm2d(8), nn.ReLU(),
    nn.Conv2d(8, 8, 3, stride=2, padding=1),   # 8 -> 4
    nn.ReLU(),
    nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1),  # 4 -> 8
    nn.ReLU(),
    nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1),  # 8 -> 16
    nn.Sigmoid(),
)
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            p.copy_(torch.tensor(rng.normal(scale=0.3, size=tuple(p.shape)), dtype=torch.float32))
        elif name.endswith("bias"):
            p.zero_()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(30):
    for i in range(0, 128, 32):
        optimizer.zero_grad()
        recon = model(data[i:i + 32])
        loss = F.binary_cross_entropy(recon, data[i:i + 32])
        loss.backward()
        optimizer.step()
    if epoch % 10 == 0:
        print(f"epoch {epoch}: bce {loss.item():.4f}")
model.eval()
with torch.no_grad():
    recon = model(data)
    mse = F.mse_loss(recon, data).item()
    features = model[:5](data)                       # (128, 8, 4, 4)
    pooled = nn.AdaptiveAvgPool2d(1)(features).flatten(1)
    mix = torch.einsum("bc,dc->bd", pooled, torch.ones(2, 8))
    mix_err = (mix - pooled.sum(1, keepdim=True).expand(-1, 2)).abs().max().item()
    conv1d = nn.Conv1d(1, 2, kernel_size=3, padding=1, bias=False)
    conv1d.weight.copy_(torch.tensor([[[1.0, 0.0, -1.0]], [[1.0, 1.0, 1.0]]]))
    profile = conv1d(recon.mean(dim=2).reshape(128, 1, 16))
result = {"mse": mse, "bce": loss.item(), "mix_err": mix_err, "profile_mean": profile.mean().item(),
          "profile_shape": list(profile.shape)}
print("RESULT " + json.dumps(result))
assert mse < 0.01 and mix_err < 1e-5, result
