"""A tour of everyday tensor manipulation as notebooks use it, with gradients checked against
closed forms: gather/topk/sort/argsort, cumsum, chunk/split/cat/stack, F.pad, F.one_hot,
masked_select, torch.where, clamp, tril/triu, outer products, cdist, repeat/expand,
permute/contiguous, log_softmax + nll_loss vs cross_entropy, KLDivLoss, logsumexp.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(33)
a = torch.tensor(rng.normal(size=(4, 6)), dtype=torch.float64, requires_grad=True)
checks = {}

vals, idx = a.topk(2, dim=1)
checks["topk_vs_sort"] = (vals - a.sort(dim=1, descending=True).values[:, :2]).abs().max().item()
checks["gather"] = (a.gather(1, idx) - vals).abs().max().item()
checks["argsort"] = float(torch.equal(a.argsort(dim=1)[:, -1], a.argmax(dim=1)))
c1, c2, c3 = a.chunk(3, dim=1)
parts = a.split([2, 4], dim=1)
checks["chunk_cat"] = (torch.cat([c1, c2, c3], 1) - a).abs().max().item() + (torch.cat(parts, 1) - a).abs().max().item()
padded = F.pad(a, (1, 2, 0, 1), value=0.5)
checks["pad_shape"] = float(tuple(padded.shape) == (5, 9))
oh = F.one_hot(torch.tensor([0, 2, 1]), num_classes=4)
checks["one_hot"] = float(oh.sum().item() == 3 and oh.dtype == torch.long)
pos = a.masked_select(a > 0)
checks["masked_select"] = float(pos.numel() == int((a > 0).sum()))
w = torch.where(a > 0, a, torch.zeros_like(a))
checks["where_relu"] = (w - F.relu(a)).abs().max().item()
tri = torch.tril(torch.ones(4, 4)) + torch.triu(torch.ones(4, 4), diagonal=1)
checks["tril_triu"] = float(torch.equal(tri, torch.ones(4, 4)))
d = torch.cdist(a[:2].float(), a[2:].float())
d_ref = ((a[:2, None, :] - a[None, 2:, :]) ** 2).sum(-1).sqrt().float()
checks["cdist"] = (d - d_ref).abs().max().item()
rep = a[:1].repeat(3, 2)
checks["repeat_expand"] = (rep[:, :6] - a[:1].expand(3, 6)).abs().max().item()
p = a.reshape(2, 2, 6).permute(2, 0, 1).contiguous()
checks["permute"] = float(p.is_contiguous() and tuple(p.shape) == (6, 2, 2))

# gradients against closed forms
loss = (a.cumsum(dim=1) * torch.arange(6.0, dtype=torch.float64)).sum() + a.clamp(-0.5, 0.5).pow(2).sum()
loss = loss + torch.outer(a[0], a[1]).sum() + a.logsumexp(dim=1).sum()
loss.backward()
with torch.no_grad():
    cum_grad = torch.arange(6.0, dtype=torch.float64).flip(0).cumsum(0).flip(0).expand(4, 6)
    clamp_grad = 2 * a * ((a > -0.5) & (a < 0.5))
    outer_grad = torch.zeros_like(a)
    outer_grad[0] = a[1].sum()
    outer_grad[1] = a[0].sum()
    lse_grad = a.softmax(dim=1)
    expected = cum_grad + clamp_grad + outer_grad + lse_grad
checks["grad_closed_form"] = (a.grad - expected).abs().max().item()

logits = torch.tensor(rng.normal(size=(5, 3)), dtype=torch.float32)
target = torch.tensor([0, 2, 1, 1, 0])
nll = F.nll_loss(F.log_softmax(logits, dim=1), target)
checks["nll_vs_ce"] = abs(nll.item() - F.cross_entropy(logits, target).item())
kl = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(logits, dim=1), F.softmax(logits.flip(0), dim=1))
q, pr = F.softmax(logits.flip(0), dim=1), F.log_softmax(logits, dim=1)
checks["kldiv"] = abs(kl.item() - (q * (q.log() - pr)).sum().item() / 5)
print({k: f"{v:.2e}" for k, v in checks.items()})
result = {**checks, "kl": kl.item(), "nll": nll.item()}
print("RESULT " + json.dumps(result))
flags = ["argsort", "pad_shape", "one_hot", "masked_select", "tril_triu", "permute"]
assert all(checks[k] == 1.0 for k in flags), checks
assert all(v < 1e-5 for k, v in checks.items() if k not in flags), checks
