"""Second-order tools: torch.autograd.functional.jacobian / hessian and torch.func.hessian
/ jacrev on the Rosenbrock function, Newton's method with torch.linalg.solve, and a
Hessian-vector product by double backward (grad of (grad . v)).
"""
import json

import torch
from torch.func import hessian, jacrev

torch.manual_seed(0)


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


p = torch.tensor([-1.2, 1.0], dtype=torch.float64)
H_func = hessian(rosenbrock)(p)
g_func = jacrev(rosenbrock)(p)
H_autograd = torch.autograd.functional.hessian(rosenbrock, p)
J_autograd = torch.autograd.functional.jacobian(rosenbrock, p)
print("H =", H_func.tolist())
agree = max((H_func - H_autograd).abs().max().item(), (g_func - J_autograd).abs().max().item())

# Hessian-vector product by double backward
v = torch.tensor([0.3, -0.7], dtype=torch.float64)
q = p.clone().requires_grad_(True)
(g,) = torch.autograd.grad(rosenbrock(q), q, create_graph=True)
(hvp,) = torch.autograd.grad(g @ v, q)
hvp_err = (hvp - H_func @ v).abs().max().item()

# Newton's method with a simple backtracking line search
for it in range(30):  # noqa: B007 (read after the loop)
    g = jacrev(rosenbrock)(p)
    H = hessian(rosenbrock)(p)
    step = torch.linalg.solve(H, g)
    t = 1.0
    while rosenbrock(p - t * step) > rosenbrock(p) and t > 1e-4:
        t *= 0.5
    p = p - t * step
    if g.norm() < 1e-10:
        break
print(f"Newton converged in {it} iterations to {p.tolist()}")
result = {"x": p[0].item(), "y": p[1].item(), "f": rosenbrock(p).item(), "agree": agree, "hvp_err": hvp_err,
          "iterations": it}
print("RESULT " + json.dumps(result))
assert rosenbrock(p).item() < 1e-12 and agree < 1e-9 and hvp_err < 1e-9, result
