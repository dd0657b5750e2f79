"""Policy gradient on a 5x5 grid world (reach the goal corner, -0.05 per step), a policy
network over one-hot states with torch.distributions.Categorical, discounted returns computed
backwards, normalised with mean/std, gradient of sum(-log_prob * return); plus a Normal
policy (torch.distributions.Normal, rsample, log_prob, entropy) for a 1-D continuous target.
"""
import json

import torch
import torch.nn as nn
from torch.distributions import Categorical, Normal

torch.manual_seed(0)
SIZE, GOAL = 5, (4, 4)
MOVES = [(0, 1), (1, 0), (0, -1), (-1, 0)]


def step(state, action):
    r, c = state
    dr, dc = MOVES[action]
    nxt = (min(max(r + dr, 0), SIZE - 1), min(max(c + dc, 0), SIZE - 1))
    done = nxt == GOAL
    return nxt, (1.0 if done else -0.05), done


def one_hot(state):
    v = torch.zeros(SIZE * SIZE)
    v[state[0] * SIZE + state[1]] = 1.0
    return v


policy = nn.Sequential(nn.Linear(SIZE * SIZE, 32), nn.ReLU(), nn.Linear(32, 4))
optimizer = torch.optim.Adam(policy.parameters(), lr=0.02)
gamma = 0.95
lengths = []
for episode in range(150):
    state, log_probs, rewards = (0, 0), [], []
    for _ in range(30):
        dist = Categorical(logits=policy(one_hot(state)))
        action = dist.sample()
        log_probs.append(dist.log_prob(action))
        state, reward, done = step(state, action.item())
        rewards.append(reward)
        if done:
            break
    returns, g = [], 0.0
    for r in reversed(rewards):
        g = r + gamma * g
        returns.insert(0, g)
    returns = torch.tensor(returns)
    if len(returns) > 1:
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
    loss = (-torch.stack(log_probs) * returns).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    lengths.append(len(rewards))
    if episode % 50 == 0:
        print(f"episode {episode}: length {len(rewards)}")
recent = sum(lengths[-20:]) / 20

# a Gaussian policy with the reparameterisation trick: maximise -(a - 2)^2
mu = torch.zeros(1, requires_grad=True)
log_std = torch.zeros(1, requires_grad=True)
opt = torch.optim.Adam([mu, log_std], lr=0.05)
for _ in range(200):
    dist = Normal(mu, log_std.exp())
    a = dist.rsample((64,))
    loss = ((a - 2.0) ** 2).mean() - 0.01 * dist.entropy().sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
lp = Normal(mu, log_std.exp()).log_prob(torch.tensor([2.0])).item()
result = {"recent_length": recent, "mu": mu.item(), "std": log_std.exp().item(), "log_prob_at_2": lp}
print("RESULT " + json.dumps(result))
assert recent < 12 and abs(mu.item() - 2.0) < 0.2, result
