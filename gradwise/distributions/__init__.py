"""``gradwise.distributions``: probability distributions with ``torch.distributions``' names.

``log_prob``, ``entropy``, ``rsample`` and ``kl_divergence`` are built from gradwise ops,
so they are differentiable with respect to the parameters (REINFORCE, VAEs):

>>> import gradwise as gw
>>> from gradwise.distributions import Categorical
>>> logits = gw.zeros(2, requires_grad=True)
>>> pi = Categorical(logits=logits)
>>> action = pi.sample(generator=gw.Generator().manual_seed(0))
>>> (-pi.log_prob(action) * 1.0).backward()
>>> logits.grad.abs().sum().item()
1.0
"""

from gradwise.distributions.bernoulli import Bernoulli
from gradwise.distributions.categorical import Categorical
from gradwise.distributions.distribution import Distribution
from gradwise.distributions.kl import kl_divergence, register_kl
from gradwise.distributions.normal import Normal

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "kl_divergence", "register_kl"]
