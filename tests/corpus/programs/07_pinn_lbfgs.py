"""A physics-informed network (PINN) for the boundary-value problem
    u''(x) = -pi^2 sin(pi x) on [0, 1],  u(0) = u(1) = 0,   exact solution u = sin(pi x).

The residual needs u'' of the network with respect to its input: torch.autograd.grad with
create_graph=True twice, so the loss can be differentiated again for the parameters.
A few Adam steps, then LBFGS with a closure (the usual PINN recipe).
"""
import json
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(7)

net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
with torch.no_grad():
    for name, p in net.named_parameters():
        if "weight" in name:
            std = math.sqrt(2.0 / (p.shape[0] + p.shape[1]))  # Xavier normal
            p.copy_(torch.tensor(rng.normal(scale=std, size=tuple(p.shape))))
        else:
            p.zero_()

x_col = torch.linspace(0, 1, 32).reshape(-1, 1).requires_grad_(True)
x_bc = torch.tensor([[0.0], [1.0]])


def pde_loss():
    u = net(x_col)
    du = torch.autograd.grad(u, x_col, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    d2u = torch.autograd.grad(du.sum(), x_col, create_graph=True)[0]
    residual = d2u + math.pi ** 2 * torch.sin(math.pi * x_col)
    return residual.pow(2).mean() + 10.0 * net(x_bc).pow(2).mean()


adam = torch.optim.Adam(net.parameters(), lr=0.01)
for _ in range(100):
    adam.zero_grad()
    loss = pde_loss()
    loss.backward()
    adam.step()
print(f"after Adam: {loss.item():.3e}")

lbfgs = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=100, history_size=20,
                          tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")


def closure():
    lbfgs.zero_grad()
    loss = pde_loss()
    loss.backward()
    return loss


for outer in range(2):
    loss = lbfgs.step(closure)
    print(f"LBFGS round {outer}: {loss.item():.3e}")

x_test = torch.linspace(0, 1, 101).reshape(-1, 1)
with torch.no_grad():
    err = (net(x_test) - torch.sin(math.pi * x_test)).abs().max().item()
final = pde_loss().item()
result = {"loss": final, "max_err": err}
print("RESULT " + json.dumps(result))
assert final < 1e-3 and err < 1e-2, result
