"""A GRU over variable-length sequences: pad_sequence, pack_padded_sequence
(enforce_sorted=False), pad_packed_sequence; the task is the sum of each sequence, read
from the last valid hidden state, so padding must not leak into the answer.
"""
import json

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)
rng = np.random.default_rng(15)

lengths = rng.integers(2, 9, size=128)
seqs = [torch.tensor(rng.uniform(-1, 1, size=(n, 1)), dtype=torch.float32) for n in lengths]
targets = torch.stack([s.sum(0) for s in seqs])
padded = pad_sequence(seqs, batch_first=True)
lengths_t = torch.tensor(lengths)
print("padded", tuple(padded.shape))


class SumGRU(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        packed_out, h_n = self.gru(packed)
        out, out_lengths = pad_packed_sequence(packed_out, batch_first=True)
        last = out[torch.arange(out.size(0)), out_lengths - 1]
        return self.head(last), self.head(h_n[-1])


model = SumGRU()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.25, 0.25, size=tuple(p.shape)), dtype=torch.float32))
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)

for epoch in range(60):
    optimizer.zero_grad()
    pred, _ = model(padded, lengths_t)
    loss = nn.functional.mse_loss(pred, targets)
    loss.backward()
    optimizer.step()
    if epoch % 20 == 0:
        print(f"epoch {epoch}: loss {loss.item():.4f}")

with torch.no_grad():
    pred_last, pred_hn = model(padded, lengths_t)
    final = nn.functional.mse_loss(pred_last, targets).item()
    agree = (pred_last - pred_hn).abs().max().item()
result = {"loss": final, "last_vs_h_n": agree}
print("RESULT " + json.dumps(result))
assert final < 0.05 and agree < 1e-5, result
