"""Linear regression from scratch, d2l style: synthetic_data(w, b, n), a data_iter generator
that shuffles indices with random.shuffle and yields minibatches, linreg/squared_loss/sgd
functions with the update under torch.no_grad(); then the concise version with nn.Linear,
normal_/fill_ initialisation, nn.MSELoss and optim.SGD over a DataLoader.
"""
# d2l's own spelling, kept on purpose: `l` for a loss, `type(m) == nn.Linear`
# ruff: noqa: E741, E721
import json
import random

import torch
from torch import nn
from torch.utils import data


def synthetic_data(w, b, num_examples):
    """y = Xw + b + noise."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


torch.manual_seed(0)
random.seed(0)
true_w = torch.tensor([2, -3.4])
true_b = 4.2
features, labels = synthetic_data(true_w, true_b, 1000)
print("features:", features[0].tolist(), "\nlabel:", labels[0].item())

w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr, num_epochs, batch_size = 0.03, 3, 10
for epoch in range(num_epochs):
    for X, y in data_iter(batch_size, features, labels):
        l = squared_loss(linreg(X, w, b), y)
        l.sum().backward()
        sgd([w, b], lr, batch_size)
    with torch.no_grad():
        train_l = squared_loss(linreg(features, w, b), labels)
        print(f"epoch {epoch + 1}, loss {float(train_l.mean()):f}")
scratch_loss = float(train_l.mean())
w_err = (true_w - w.reshape(true_w.shape)).abs().max().item()

# the concise implementation
dataset = data.TensorDataset(features, labels)
data_loader = data.DataLoader(dataset, batch_size, shuffle=True)
net = nn.Sequential(nn.Linear(2, 1))
net[0].weight.data.normal_(0, 0.01)
net[0].bias.data.fill_(0)
loss = nn.MSELoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.03)
for epoch in range(num_epochs):
    for X, y in data_loader:
        l = loss(net(X), y)
        trainer.zero_grad()
        l.backward()
        trainer.step()
    l = loss(net(features), labels)
    print(f"epoch {epoch + 1}, loss {l:f}")
concise_loss = l.item()
b_err = abs(true_b - net[0].bias.data.item())
result = {"scratch_loss": scratch_loss, "concise_loss": concise_loss, "w_err": w_err, "b_err": b_err}
print("RESULT " + json.dumps(result))
assert scratch_loss < 1e-3 and concise_loss < 1e-3 and w_err < 0.01, result
