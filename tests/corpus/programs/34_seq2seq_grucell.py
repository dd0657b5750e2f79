"""A GRU encoder-decoder (the "seq2seq translation" tutorial shape) that reverses digit
sequences: nn.GRU encoder, an nn.GRUCell decoder loop with teacher forcing, nn.NLLLoss over
F.log_softmax with ignore_index for padding, gradient accumulation over two minibatches, and
a OneCycleLR schedule stepped per optimizer step; greedy decoding with argmax at the end.
"""
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(34)
SOS, PAD, n_digits, T = 10, 11, 10, 4
vocab = 12


class Seq2Seq(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, 16)
        self.encoder = nn.GRU(16, hidden, batch_first=True)
        self.decoder = nn.GRUCell(16, hidden)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, src, tgt=None, steps=T):
        _, h = self.encoder(self.embed(src))
        h = h.squeeze(0)
        token = torch.full((src.size(0),), SOS, dtype=torch.long)
        outputs = []
        for t in range(steps):
            h = self.decoder(self.embed(token), h)
            logits = self.out(h)
            outputs.append(F.log_softmax(logits, dim=-1))
            token = tgt[:, t] if tgt is not None else logits.argmax(-1)
        return torch.stack(outputs, 1)


model = Seq2Seq()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.2, 0.2, size=tuple(p.shape)), dtype=torch.float32))
src = torch.tensor(rng.integers(0, n_digits, size=(512, T)))
tgt = src.flip(1)
tgt_padded = tgt.clone()
tgt_padded[::7, -1] = PAD  # some targets end early: their last position is ignored
criterion = nn.NLLLoss(ignore_index=PAD)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
epochs, batch, accum = 16, 32, 2
steps_per_epoch = 512 // (batch * accum)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-2, total_steps=epochs * steps_per_epoch)
for epoch in range(epochs):
    optimizer.zero_grad()
    for i, start in enumerate(range(0, 512, batch)):
        logp = model(src[start:start + batch], tgt[start:start + batch])
        loss = criterion(logp.reshape(-1, vocab), tgt_padded[start:start + batch].reshape(-1)) / accum
        loss.backward()
        if (i + 1) % accum == 0:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    if epoch % 5 == 0:
        print(f"epoch {epoch}: loss {loss.item() * accum:.4f} lr {scheduler.get_last_lr()[0]:.5f}")

model.eval()
with torch.no_grad():
    test_src = torch.tensor(rng.integers(0, n_digits, size=(128, T)))
    pred = model(test_src).argmax(-1)
    token_acc = (pred == test_src.flip(1)).float().mean().item()
    seq_acc = (pred == test_src.flip(1)).all(dim=1).float().mean().item()
result = {"loss": loss.item() * accum, "token_acc": token_acc, "seq_acc": seq_acc}
print("RESULT " + json.dumps(result))
assert token_acc > 0.7, result
