"""REINFORCE on a 5-armed Gaussian bandit with a softmax policy over learned logits:
torch.distributions.Categorical to sample actions and get log-probabilities, a running-mean
baseline, the loss -(log_prob * advantage).mean(), and Adam.  Sampling differs between
libraries, so only the outcome (the best arm wins) is comparable.
"""
import json

import torch
from torch.distributions import Categorical

torch.manual_seed(0)
arm_means = torch.tensor([0.1, 0.5, -0.2, 0.9, 0.3])
logits = torch.zeros(5, requires_grad=True)
optimizer = torch.optim.Adam([logits], lr=0.1)
baseline = 0.0

for episode in range(200):
    dist = Categorical(logits=logits)
    actions = dist.sample((16,))
    rewards = arm_means[actions] + 0.5 * torch.randn(16)
    advantage = rewards - baseline
    loss = -(dist.log_prob(actions) * advantage).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    baseline = 0.9 * baseline + 0.1 * rewards.mean().item()
    if episode % 50 == 0:
        print(f"episode {episode}: mean reward {rewards.mean().item():.3f} entropy {dist.entropy().item():.3f}")

probs = torch.softmax(logits.detach(), dim=0)
best_prob = probs[3].item()
expected_reward = (probs * arm_means).sum().item()
result = {"best_prob": best_prob, "expected_reward": expected_reward, "best_arm": int(probs.argmax())}
print("RESULT " + json.dumps(result))
assert result["best_arm"] == 3 and best_prob > 0.8, result
