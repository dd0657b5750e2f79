"""Custom autograd Functions: a ReLU with a hand-written backward (the tutorial's MyReLU) and
a Legendre polynomial P3 with ctx.save_for_backward, fitted to sin(x) by manual updates.
"""
import json
import math

import numpy as np
import torch


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


torch.manual_seed(0)
dtype = torch.float64
x = torch.linspace(-math.pi, math.pi, 400, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

lr = 5e-6
P3 = LegendrePolynomial3.apply
for t in range(400):
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.4f}")
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= lr * p.grad
            p.grad = None

# the custom ReLU against the built-in one, values and gradients
rng = np.random.default_rng(3)
z = torch.tensor(rng.normal(size=(5, 7)), requires_grad=True)
MyReLU.apply(z).pow(2).sum().backward()
g_custom = z.grad.clone()
z.grad = None
torch.relu(z).pow(2).sum().backward()
relu_grad_diff = (g_custom - z.grad).abs().max().item()
check = torch.autograd.gradcheck(LegendrePolynomial3.apply, (torch.randn(4, dtype=torch.float64, requires_grad=True),))

result = {"loss": loss.item(), "a": a.item(), "b": b.item(), "c": c.item(), "d": d.item(),
          "relu_grad_diff": relu_grad_diff, "gradcheck": bool(check)}
print("RESULT " + json.dumps(result))
assert loss.item() < 50 and relu_grad_diff == 0.0 and check, result
