"""Linear regression with autograd by hand: updates under torch.no_grad() and through .data.

The style of the PyTorch "Learning PyTorch with Examples" tutorial: raw tensors with
requires_grad, loss.backward(), then a manual step and grad.zero_().  Data and initial
weights come from NumPy with a fixed seed, so torch and gradwise see the same numbers.
"""
import json

import numpy as np
import torch

torch.manual_seed(0)
rng = np.random.default_rng(0)

N, D = 64, 3
X = torch.tensor(rng.normal(size=(N, D)), dtype=torch.float32)
true_w = torch.tensor([[2.0], [-3.4], [0.5]])
y = X @ true_w + 4.2 + 0.01 * torch.tensor(rng.normal(size=(N, 1)), dtype=torch.float32)

# first half: w, b updated under torch.no_grad()
w = torch.tensor(rng.normal(scale=0.01, size=(D, 1)), dtype=torch.float32, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.1
for step in range(60):
    y_pred = X.mm(w) + b
    loss = (y_pred - y).pow(2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
    if step % 20 == 0:
        print(f"no_grad step {step:3d} loss {loss.item():.6f}")
loss_no_grad = loss.item()

# second half: the same model trained through .data (old-style tutorials)
w2 = torch.tensor(rng.normal(scale=0.01, size=(D, 1)), dtype=torch.float32, requires_grad=True)
b2 = torch.zeros(1, requires_grad=True)
for _step in range(60):
    loss2 = ((X @ w2 + b2 - y) ** 2).mean()
    loss2.backward()
    w2.data -= lr * w2.grad.data
    b2.data -= lr * b2.grad.data
    w2.grad.zero_()
    b2.grad.data.zero_()
loss_data = loss2.item()

w_err = (w.detach() - true_w).abs().max().item()
print("learned w:", [round(v, 3) for v in w.detach().flatten().tolist()], "b:", round(b.item(), 3))
result = {"loss_no_grad": loss_no_grad, "loss_data": loss_data, "w_err": w_err, "b": b.item()}
print("RESULT " + json.dumps(result))
assert loss_no_grad < 1e-3 and loss_data < 1e-3, result
