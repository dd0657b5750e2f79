"""Fine-tuning mechanics: a "pretrained" feature extractor frozen with requires_grad_(False),
a new head, per-parameter-group learning rates, forward hooks that record activations,
a tensor hook (register_hook) that scales a gradient, torch.autograd.grad with
allow_unused, torch.set_grad_enabled and torch.inference_mode, parameters_to_vector.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(30)

backbone = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU())
head = nn.Linear(8, 3)
model = nn.Sequential(backbone, head)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.normal(scale=0.5, size=tuple(p.shape)), dtype=torch.float32))
frozen_before = torch.nn.utils.parameters_to_vector(backbone.parameters()).clone()

x = torch.tensor(rng.normal(size=(150, 4)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 3, size=150))
y = torch.where(x[:, 0] > 0.5, torch.tensor(2), torch.where(x[:, 1] > 0, torch.tensor(1), torch.tensor(0)))

activations = {}


def save_activation(name):
    def hook(module, inputs, output):
        activations[name] = output.detach()
    return hook


handles = [backbone[1].register_forward_hook(save_activation("relu1")),
           backbone[3].register_forward_hook(save_activation("relu2"))]

# stage 1: train only the head
for p in backbone.parameters():
    p.requires_grad_(False)
optimizer = torch.optim.SGD(head.parameters(), lr=0.2, momentum=0.9)
for _ in range(100):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
stage1_loss = loss.item()
frozen_unchanged = torch.equal(frozen_before, torch.nn.utils.parameters_to_vector(backbone.parameters()))
print(f"stage 1 loss {stage1_loss:.4f}, backbone unchanged: {frozen_unchanged}")
dead_fraction = (activations["relu1"] == 0).float().mean().item()

# stage 2: unfreeze, smaller lr for the backbone (parameter groups)
for p in backbone.parameters():
    p.requires_grad_(True)
optimizer = torch.optim.SGD([{"params": backbone.parameters(), "lr": 0.02},
                             {"params": head.parameters()}], lr=0.1, momentum=0.9)
for _ in range(100):
    optimizer.zero_grad()
    out = model(x)
    out.register_hook(lambda g: g * 2.0)  # doubles every gradient that flows through the logits
    loss = F.cross_entropy(out, y) / 2.0
    loss.backward()
    optimizer.step()
stage2_loss = loss.item() * 2.0
for h in handles:
    h.remove()
activations.clear()

extra = torch.zeros(3, requires_grad=True)
with torch.set_grad_enabled(True):
    out = model(x[:5]).sum()
g_w, g_extra = torch.autograd.grad(out, [head.weight, extra], allow_unused=True)
with torch.inference_mode():
    probs = F.softmax(model(x), dim=1)
acc = (probs.argmax(1) == y).float().mean().item()
result = {"stage1_loss": stage1_loss, "stage2_loss": stage2_loss, "acc": acc, "frozen_unchanged": frozen_unchanged,
          "extra_grad_is_none": g_extra is None, "hooks_cleared": len(activations) == 0 and not probs.requires_grad,
          "dead_fraction": dead_fraction, "g_w_norm": g_w.norm().item()}
print("RESULT " + json.dumps(result))
assert frozen_unchanged and g_extra is None and stage2_loss < stage1_loss and acc > 0.85, result
