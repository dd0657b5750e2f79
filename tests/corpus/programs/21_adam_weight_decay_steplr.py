"""Polynomial-feature ridge fit with Adam(weight_decay=...) and StepLR, plus an
AdamW run on the same problem: the weight decay keeps the high-order coefficients small.
The loop prints the learning rate from optimizer.param_groups, as tutorials do.
"""
import json

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(21)
x = torch.tensor(rng.uniform(-1, 1, size=(200, 1)), dtype=torch.float32)
y = torch.tensor(np.cos(2.5 * x.numpy()) + 0.05 * rng.normal(size=(200, 1)), dtype=torch.float32)
powers = torch.arange(1, 9, dtype=torch.float32)
features = x.pow(powers)  # (200, 8): x, x^2, ..., x^8


def run(opt_name):
    model = nn.Linear(8, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(rng.normal(scale=0.1, size=(1, 8)), dtype=torch.float32))
        model.bias.zero_()
    if opt_name == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-3)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100, gamma=0.3)
    for epoch in range(300):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(features), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if epoch % 100 == 0:
            print(f"{opt_name} epoch {epoch} loss {loss.item():.5f} lr {optimizer.param_groups[0]['lr']:.4f}")
    return loss.item(), model.weight.detach().abs().max().item(), optimizer.param_groups[0]["lr"]


adam_loss, adam_wmax, lr_end = run("adam")
adamw_loss, adamw_wmax, _ = run("adamw")
result = {"adam_loss": adam_loss, "adamw_loss": adamw_loss, "adam_wmax": adam_wmax, "adamw_wmax": adamw_wmax,
          "lr_end": lr_end}
print("RESULT " + json.dumps(result))
assert adam_loss < 0.01 and adamw_loss < 0.01, result
