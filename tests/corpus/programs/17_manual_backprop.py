"""Backprop by hand through an MLP with BatchNorm, checked tensor by tensor against autograd
(the "become a backprop ninja" exercise): every intermediate keeps its gradient with
retain_grad(), then each hand-derived gradient is compared with .grad.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(17)
n, d_in, d_h, n_cls = 32, 10, 24, 5
X = torch.tensor(rng.normal(size=(n, d_in)), dtype=torch.float32)
Y = torch.tensor(rng.integers(0, n_cls, size=n))
W1 = torch.tensor(rng.normal(size=(d_in, d_h)) / np.sqrt(d_in), dtype=torch.float32, requires_grad=True)
b1 = torch.tensor(rng.normal(size=d_h) * 0.1, dtype=torch.float32, requires_grad=True)
bngain = torch.tensor(1 + 0.1 * rng.normal(size=(1, d_h)), dtype=torch.float32, requires_grad=True)
bnbias = torch.tensor(0.1 * rng.normal(size=(1, d_h)), dtype=torch.float32, requires_grad=True)
W2 = torch.tensor(rng.normal(size=(d_h, n_cls)) * 0.1, dtype=torch.float32, requires_grad=True)
b2 = torch.tensor(rng.normal(size=n_cls) * 0.1, dtype=torch.float32, requires_grad=True)
parameters = [W1, b1, bngain, bnbias, W2, b2]

# forward pass, chunked into small steps
hprebn = X @ W1 + b1
bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff ** 2
bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)  # Bessel's correction
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdim=True)
counts_sum_inv = counts_sum ** -1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Y].mean()

for p in parameters:
    p.grad = None
intermediates = [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes, logits,
                 h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani]
for t in intermediates:
    t.retain_grad()
loss.backward()

# the same gradients by hand
dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Y] = -1.0 / n
dprobs = (1.0 / probs) * dlogprobs
dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
dcounts = counts_sum_inv * dprobs
dcounts_sum = (-counts_sum ** -2) * dcounts_sum_inv
dcounts += torch.ones_like(counts) * dcounts_sum
dnorm_logits = counts * dcounts
dlogits = dnorm_logits.clone()
dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpreact = (1.0 - h ** 2) * dh
dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
dbnraw = bngain * dhpreact
dbnbias = dhpreact.sum(0, keepdim=True)
dbndiff = bnvar_inv * dbnraw
dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
dbndiff += (2 * bndiff) * dbndiff2
dhprebn = dbndiff.clone()
dbnmeani = (-dbndiff).sum(0)
dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
dW1 = X.T @ dhprebn
db1 = dhprebn.sum(0)

# the fused cross-entropy backward: softmax - one_hot, over n
dlogits_fused = F.softmax(logits, 1)
dlogits_fused[range(n), Y] -= 1
dlogits_fused /= n

checks = {"logprobs": (dlogprobs, logprobs), "probs": (dprobs, probs),
          "counts_sum_inv": (dcounts_sum_inv, counts_sum_inv), "counts": (dcounts, counts),
          "logits": (dlogits, logits), "logits_fused": (dlogits_fused.detach(), logits),
          "h": (dh, h), "W2": (dW2, W2), "b2": (db2, b2), "hpreact": (dhpreact, hpreact), "bngain": (dbngain, bngain),
          "bnbias": (dbnbias, bnbias), "bnvar": (dbnvar, bnvar), "bndiff": (dbndiff, bndiff),
          "hprebn": (dhprebn, hprebn), "W1": (dW1, W1), "b1": (db1, b1)}
max_err = 0.0
for name, (mine, t) in checks.items():
    err = (mine - t.grad).abs().max().item()
    exact = torch.all(mine == t.grad).item()
    approx = torch.allclose(mine, t.grad, atol=1e-6)
    print(f"{name:15s} | exact: {str(exact):5s} | approximate: {str(approx):5s} | maxdiff: {err:.2e}")
    max_err = max(max_err, err)
result = {"loss": loss.item(), "max_err": max_err}
print("RESULT " + json.dumps(result))
assert max_err < 1e-5, result
