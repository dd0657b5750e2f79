"""``gradwise.optim``: optimizers with PyTorch's names and update rules."""

from gradwise.optim.adaptive import Adagrad, Adam, AdamW, RMSprop
from gradwise.optim.optimizer import Optimizer, OptimizerError
from gradwise.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "OptimizerError", "RMSprop"]
