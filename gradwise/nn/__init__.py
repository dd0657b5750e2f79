"""``gradwise.nn``: modules, layers, losses, initialisation and functional API (PyTorch's names)."""

from gradwise.nn import functional, init, utils
from gradwise.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from gradwise.nn.module import Module, RemovableHandle, StateDictError
from gradwise.nn.modules.activation import (
    ELU,
    GELU,
    SELU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from gradwise.nn.modules.conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d
from gradwise.nn.modules.linear import Bilinear, Flatten, Identity, Linear, Unflatten
from gradwise.nn.modules.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
)
from gradwise.nn.modules.misc import Dropout, Dropout1d, Dropout2d, Dropout3d, Embedding
from gradwise.nn.modules.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from gradwise.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from gradwise.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from gradwise.nn.parameter import Parameter
