"""A tiny GPT block trained to copy-with-shift: causal self-attention written out by hand
(q, k, v from one Linear, scores masked_fill(-inf) above the diagonal, softmax, dropout-free),
LayerNorm before each sub-block, residual connections, an MLP with GELU, token + position
embeddings, and a next-token cross-entropy.  nanoGPT style, at a size that runs in a second.
"""
import json
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(11)
vocab, block, n_embd, n_head = 8, 8, 16, 2


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.register_buffer("mask", torch.tril(torch.ones(block, block)).view(1, 1, block, block))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(n_embd, dim=2)
        q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
        k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
        v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention()
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class TinyGPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block, n_embd)
        self.block = Block()
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        pos = torch.arange(0, T, dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        logits = self.lm_head(self.ln_f(self.block(x)))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss


model = TinyGPT()
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("weight") and "ln" not in name:
            p.copy_(torch.tensor(rng.normal(scale=0.1, size=tuple(p.shape)), dtype=torch.float32))
        elif "ln" not in name:
            p.zero_()
print(f"{sum(p.numel() for p in model.parameters())} parameters")

# the task: each sequence repeats its first 4 tokens; the second half is predictable
first = rng.integers(0, vocab, size=(256, 4))
seqs = torch.tensor(np.concatenate([first, first, first[:, :1]], axis=1), dtype=torch.long)
x, y = seqs[:, :block], seqs[:, 1:block + 1]

optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
for step in range(120):
    idx = torch.tensor(rng.integers(0, 256, size=32))
    logits, loss = model(x[idx], y[idx])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if step % 40 == 0:
        print(f"step {step}: loss {loss.item():.4f}")

model.eval()
with torch.no_grad():
    logits, loss = model(x, y)
    pred = logits.argmax(-1)
    copy_acc = (pred[:, 3:] == y[:, 3:]).float().mean().item()
result = {"loss": loss.item(), "copy_acc": copy_acc}
print("RESULT " + json.dumps(result))
assert copy_acc > 0.9, result
