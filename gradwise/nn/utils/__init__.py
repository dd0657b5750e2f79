"""``gradwise.nn.utils``: gradient clipping, flat parameter vectors, and ``rnn`` (padded and
packed variable-length sequences), as ``torch.nn.utils``."""

from gradwise.nn.utils import rnn
from gradwise.nn.utils.clip_grad import NonFiniteGradientError, clip_grad_norm_, clip_grad_value_
from gradwise.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["NonFiniteGradientError", "clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "rnn",
           "vector_to_parameters"]
