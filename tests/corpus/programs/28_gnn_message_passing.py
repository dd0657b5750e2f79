"""A two-layer graph convolutional network (Kipf & Welling) on a synthetic two-community
graph, written without a graph library: edge_index, degree by torch.bincount, messages
gathered with index_select and summed with index_add_ / scatter_add, symmetric
normalisation deg^-1/2; semi-supervised: the loss only on a few labelled nodes (a mask).
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(28)
n = 40
community = np.repeat([0, 1], n // 2)
edges = []
for i in range(n):
    for j in range(i + 1, n):
        p = 0.3 if community[i] == community[j] else 0.02
        if rng.random() < p:
            edges += [(i, j), (j, i)]
edges += [(i, i) for i in range(n)]  # self loops
edge_index = torch.tensor(edges, dtype=torch.long).t().contiguous()
x = torch.tensor(rng.normal(size=(n, 8)), dtype=torch.float32)
y = torch.tensor(community)
train_mask = torch.zeros(n, dtype=torch.bool)
train_mask[[0, 1, 2, 20, 21, 22]] = True
print("edges:", edge_index.size(1), "labelled:", int(train_mask.sum()))


class GCNLayer(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(d_out))

    def forward(self, x, edge_index):
        src, dst = edge_index[0], edge_index[1]
        deg = torch.bincount(dst, minlength=x.size(0)).float()
        norm = deg[src].pow(-0.5) * deg[dst].pow(-0.5)
        h = self.lin(x)
        messages = h.index_select(0, src) * norm.unsqueeze(1)
        out = torch.zeros_like(h).index_add_(0, dst, messages)
        return out + self.bias


class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GCNLayer(8, 16)
        self.conv2 = GCNLayer(16, 2)

    def forward(self, x, edge_index):
        h = F.relu(self.conv1(x, edge_index))
        return self.conv2(h, edge_index)


model = GCN()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.normal(scale=0.3, size=tuple(p.shape)), dtype=torch.float32))
optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=5e-4)
for _epoch in range(100):
    optimizer.zero_grad()
    out = model(x, edge_index)
    loss = F.cross_entropy(out[train_mask], y[train_mask])
    loss.backward()
    optimizer.step()

model.eval()
with torch.no_grad():
    out = model(x, edge_index)
    pred = out.argmax(dim=1)
    acc = int((pred[~train_mask] == y[~train_mask]).sum()) / int((~train_mask).sum())
    # the same aggregation with scatter_add on an expanded index
    h = model.conv1.lin(x)
    src, dst = edge_index
    deg = torch.bincount(dst, minlength=n).float()
    msg = h[src] * (deg[src] * deg[dst]).rsqrt().unsqueeze(1)
    agg = torch.zeros_like(h).scatter_add(0, dst.unsqueeze(1).expand(-1, h.size(1)), msg)
    ref = model.conv1(x, edge_index) - model.conv1.bias
    scatter_vs_index_add = (agg - ref).abs().max().item()
result = {"loss": loss.item(), "acc": acc, "scatter_vs_index_add": scatter_vs_index_add}
print("RESULT " + json.dumps(result))
assert acc > 0.85 and scatter_vs_index_add < 1e-5, result
