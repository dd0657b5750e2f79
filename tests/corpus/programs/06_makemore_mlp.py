"""A character-level MLP language model in the makemore style (Bengio et al. 2003): a
block of 3 characters -> embedding table C -> tanh hidden layer -> logits over 27 characters,
F.cross_entropy, minibatches drawn with torch.randint, manual SGD with a learning-rate decay.
The word list is built in; the parameters come from a torch.Generator and are then
overwritten from NumPy so both libraries start from the same point.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

words = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily
elizabeth mila ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope
layla riley zoey nora lily eleanor hannah lillian addison aubrey ellie stella natalie zoe leah
hazel violet aurora savannah audrey brooklyn bella claire skylar lucy paisley everly anna
caroline nova genesis emilia kennedy samantha maya willow kinsley naomi aaliyah elena sarah
ariana allison gabriella alice madelyn cora ruby eva serenity autumn adeline hailey gianna
valentina isla eliana quinn nevaeh ivy sadie piper lydia alexa josephine emery julia delilah
arianna vivian kaylee sophie brielle madeline liam noah william james oliver benjamin elijah
lucas mason logan alexander ethan jacob michael daniel henry jackson sebastian aiden matthew
samuel david joseph carter owen wyatt john jack luke jayden dylan grayson levi isaac gabriel
julian mateo anthony jaxon lincoln joshua christopher andrew theodore caleb ryan asher nathan
thomas leo isaiah charles josiah hudson christian hunter connor eli ezra aaron landon adrian
jonathan nolan jeremiah easton elias colton cameron carson robert angel maverick nicholas
dominic jaxson greyson adam ian austin santiago jordan cooper brayden roman evan ezekiel""".split()

chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(stoi)
block_size = 3


def build_dataset(ws):
    X, Y = [], []
    for w in ws:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


Xtr, Ytr = build_dataset(words)
print("dataset", tuple(Xtr.shape), Ytr.dtype, "vocab", vocab_size)

g = torch.Generator().manual_seed(2147483647)
n_embd, n_hidden = 8, 64
C = torch.randn((vocab_size, n_embd), generator=g)
W1 = torch.randn((n_embd * block_size, n_hidden), generator=g)
b1 = torch.randn(n_hidden, generator=g)
W2 = torch.randn((n_hidden, vocab_size), generator=g)
b2 = torch.randn(vocab_size, generator=g)
parameters = [C, W1, b1, W2, b2]
rng = np.random.default_rng(6)
scales = [1.0, (5 / 3) / (n_embd * block_size) ** 0.5, 0.01, 0.01, 0.0]
for p, s in zip(parameters, scales):
    p.data = torch.tensor(rng.normal(size=tuple(p.shape)) * s, dtype=torch.float32)
for p in parameters:
    p.requires_grad = True
print("parameters:", sum(p.nelement() for p in parameters))

batches = rng.integers(0, Xtr.shape[0], size=(1500, 32))
for i in range(1500):
    ix = torch.tensor(batches[i]) if i % 2 else torch.randint(0, Xtr.shape[0], (32,), generator=g)
    emb = C[Xtr[ix]]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.2 if i < 1000 else 0.05
    for p in parameters:
        p.data += -lr * p.grad
    if i % 500 == 0:
        print(f"{i:5d}/1500: {loss.item():.4f}")


@torch.no_grad()
def split_loss(X, Y):
    emb = C[X]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
    return F.cross_entropy(h @ W2 + b2, Y).item()


train_loss = split_loss(Xtr, Ytr)
# sample a few names greedily-by-sampling from the model
samples = []
for _ in range(3):
    out, context = [], [0] * block_size
    while len(out) < 12:
        h = torch.tanh(C[torch.tensor([context])].view(1, -1) @ W1 + b1)
        probs = F.softmax(h @ W2 + b2, dim=1)
        ix = torch.multinomial(probs, num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        if ix == 0:
            break
        out.append(itos[ix])
    samples.append("".join(out))
print("samples:", samples)
result = {"train_loss": train_loss, "uniform_loss": float(np.log(vocab_size))}
print("RESULT " + json.dumps(result))
assert train_loss < 2.6, result
