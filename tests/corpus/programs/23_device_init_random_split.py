"""Device-agnostic training: torch.device("cuda" if available else "cpu"), model.to(device),
batches moved with .to(device); weights initialised with model.apply(init_fn) using
nn.init.kaiming_uniform_ / xavier_normal_ / constant_; the data split with random_split and a
torch.Generator; validation every epoch, with the best state_dict kept by copy.deepcopy.
"""
import copy
import json

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, random_split

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"Using {device} device")
torch.manual_seed(0)

X = torch.rand(600, 3) * 4 - 2
y = (X[:, 0] ** 2 + X[:, 1] * X[:, 2] - 1 > 0).long()
dataset = TensorDataset(X, y)
train_set, val_set, test_set = random_split(dataset, [400, 100, 100], generator=torch.Generator().manual_seed(42))
print("split sizes:", len(train_set), len(val_set), len(test_set))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=100)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, x):
        return self.layers(x)


def init_fn(m):
    if isinstance(m, nn.Linear):
        if m.out_features == 2:
            nn.init.xavier_normal_(m.weight)
        else:
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
        nn.init.constant_(m.bias, 0.01)


model = MLP().to(device)
model.apply(init_fn)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)


def evaluate(loader):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            loss_sum += loss_fn(logits, yb).item() * len(yb)
            correct += (logits.argmax(1) == yb).type(torch.float).sum().item()
            total += len(yb)
    return loss_sum / total, correct / total


best_acc, best_state = 0.0, None
for epoch in range(25):
    model.train()
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    val_loss, val_acc = evaluate(val_loader)
    if val_acc > best_acc:
        best_acc, best_state = val_acc, copy.deepcopy(model.state_dict())
    if epoch % 5 == 0:
        print(f"epoch {epoch:2d}: val loss {val_loss:>7f}, val acc {100 * val_acc:>0.1f}%")

model.load_state_dict(best_state)
test_loss, test_acc = evaluate(DataLoader(test_set, batch_size=50))
result = {"best_val_acc": best_acc, "test_acc": test_acc, "test_loss": test_loss}
print("RESULT " + json.dumps(result))
assert best_acc > 0.9 and test_acc > 0.85, result
