"""Softmax regression from scratch (d2l style): a softmax function written with exp and
sum(keepdim=True), cross-entropy by picking y_hat[range(len(y_hat)), y], an Accumulator
class for metrics, an evaluate_accuracy helper; the data are 4 Gaussian classes in 5-D
served by a DataLoader.  Then the same model with nn.Linear and nn.CrossEntropyLoss.
"""
# d2l's own spelling, kept on purpose: `l` for a loss, `type(m) == nn.Linear`
# ruff: noqa: E741, E721
import json

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(20)
centers = rng.normal(scale=2.0, size=(4, 5))
labels = rng.integers(0, 4, size=600)
feats = centers[labels] + rng.normal(size=(600, 5))
X = torch.tensor(feats, dtype=torch.float32)
Y = torch.tensor(labels, dtype=torch.long)
train_iter = DataLoader(TensorDataset(X[:500], Y[:500]), batch_size=50, shuffle=True)
test_iter = DataLoader(TensorDataset(X[500:], Y[500:]), batch_size=50)


class Accumulator:
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition


W = torch.normal(0, 0.01, size=(5, 4), requires_grad=True)
b = torch.zeros(4, requires_grad=True)


def net(X):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


lr = 0.1
for epoch in range(5):
    metric = Accumulator(3)
    for Xb, yb in train_iter:
        y_hat = net(Xb)
        l = cross_entropy(y_hat, yb)
        l.sum().backward()
        with torch.no_grad():
            for p in (W, b):
                p -= lr * p.grad / Xb.shape[0]
                p.grad.zero_()
        metric.add(float(l.sum()), accuracy(y_hat, yb), yb.numel())
    print(f"epoch {epoch + 1}: loss {metric[0] / metric[2]:.4f}, train acc {metric[1] / metric[2]:.3f}")
scratch_acc = evaluate_accuracy(net, test_iter)

model = nn.Sequential(nn.Flatten(), nn.Linear(5, 4))


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


model.apply(init_weights)
loss = nn.CrossEntropyLoss(reduction="none")
trainer = torch.optim.SGD(model.parameters(), lr=0.1)
for _epoch in range(5):
    for Xb, yb in train_iter:
        l = loss(model(Xb), yb)
        trainer.zero_grad()
        l.mean().backward()
        trainer.step()
concise_acc = evaluate_accuracy(model, test_iter)
with torch.no_grad():
    concise_loss = loss(model(X[500:]), Y[500:]).mean().item()
result = {"scratch_train_loss": metric[0] / metric[2], "scratch_acc": scratch_acc, "concise_acc": concise_acc,
          "concise_loss": concise_loss}
print("RESULT " + json.dumps(result))
assert scratch_acc > 0.85 and concise_acc > 0.85, result
