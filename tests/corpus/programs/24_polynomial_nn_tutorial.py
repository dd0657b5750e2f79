"""The "PyTorch: nn" tutorial step: fit sin(x) on [-pi, pi] with y = a + b x + c x^2 + d x^3
written as x.unsqueeze(-1).pow(p) -> nn.Linear(3, 1) -> nn.Flatten(0, 1), loss
nn.MSELoss(reduction="sum"), updates `param -= learning_rate * param.grad` over
model.parameters() under torch.no_grad(), then model.zero_grad(); then RMSprop for the same.
"""
import json
import math

import torch

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)


def make_model():
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -0.2, 0.05]]))
        model[0].bias.fill_(0.0)
    return model


model = make_model()
loss_fn = torch.nn.MSELoss(reduction="sum")
learning_rate = 1e-6
for t in range(1000):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 250 == 99:
        print(t, loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
sgd_loss = loss.item()
linear_layer = model[0]
print(f"Result: y = {linear_layer.bias.item():.4f} + {linear_layer.weight[:, 0].item():.4f} x + "
      f"{linear_layer.weight[:, 1].item():.4f} x^2 + {linear_layer.weight[:, 2].item():.4f} x^3")

model = make_model()
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for _ in range(1000):
    loss = loss_fn(model(xx), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
result = {"sgd_loss": sgd_loss, "rmsprop_loss": loss.item(), "d": model[0].weight[0, 2].item()}
print("RESULT " + json.dumps(result))
assert sgd_loss < 50 and loss.item() < 20, result
