"""``gradwise.optim``: optimizers with PyTorch's names and update rules."""

from gradwise.optim.adadelta import Adadelta
from gradwise.optim.adam_family import Adamax, NAdam, RAdam
from gradwise.optim.adaptive import Adagrad, Adam, AdamW, RMSprop
from gradwise.optim.lbfgs import LBFGS
from gradwise.optim.optimizer import Optimizer, OptimizerError
from gradwise.optim.sgd import SGD
from gradwise.optim.sign_based import Lion, Rprop

__all__ = ["LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Lion", "NAdam", "Optimizer",
           "OptimizerError", "RAdam", "RMSprop", "Rprop"]

from gradwise.optim import lr_scheduler

__all__ += ["lr_scheduler"]
