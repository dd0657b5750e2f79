"""An Elman nn.RNN (tanh) on a delayed-recall task with a large learning rate, kept stable
by torch.nn.utils.clip_grad_norm_ (its return value, the total norm before clipping, is
logged) and clip_grad_value_ on a second model.
"""
import json

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(22)
T, delay = 10, 3
x = torch.tensor(rng.choice([-1.0, 1.0], size=(128, T, 1)), dtype=torch.float32)
y = torch.zeros_like(x)
y[:, delay:] = x[:, :-delay]


class Recall(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.rnn = nn.RNN(1, hidden, batch_first=True, nonlinearity="tanh")
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h)


def train(clip):
    model = Recall()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.4, 0.4, size=tuple(p.shape)), dtype=torch.float32))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    norms = []
    for step in range(150):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x)[:, delay:], y[:, delay:])
        loss.backward()
        if clip == "norm":
            total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            norms.append(float(total))
        else:
            torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.1)
        optimizer.step()
        if step % 50 == 0:
            print(f"[{clip}] step {step} loss {loss.item():.4f}")
    return loss.item(), max(norms) if norms else 0.0


loss_norm, max_norm_seen = train("norm")
loss_value, _ = train("value")
result = {"loss_norm": loss_norm, "loss_value": loss_value, "max_grad_norm": max_norm_seen}
print("RESULT " + json.dumps(result))
assert loss_norm < 0.05 and loss_value < 0.2, result
