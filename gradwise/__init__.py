"""gradwise: reverse-mode automatic differentiation on NumPy arrays.

>>> import gradwise as gw
>>> w = gw.tensor([1.0, -2.0], requires_grad=True)
>>> loss = ((w * 3.0 - 1.0) ** 2).sum()
>>> loss.backward()
>>> w.grad
tensor([ 12., -42.])
"""

from __future__ import annotations

import typing as _typing

# The op functions first: the names imported after them (creation, dtypes) take precedence.
from gradwise.api.functions import *  # noqa: F403  (the names: gradwise/api/functions.pyi)

# isort: split
from gradwise import (
    autograd,
    backends,
    cuda,
    func,
    linalg,
    nn,
    optim,
)
from gradwise.allocator import set_allocator_tuning
from gradwise.api.compat_runtime import dtype, finfo, iinfo
from gradwise.api.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from gradwise.api.legacy import BoolTensor, DoubleTensor, FloatTensor, IntTensor, LongTensor
from gradwise.api.random import Generator, default_generator, manual_seed
from gradwise.autograd import (
    Tensor,
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from gradwise.autograd.grad_mode import inference_mode, is_inference_mode_enabled
from gradwise.devices import DeviceError, device, get_default_device, set_default_device
from gradwise.dtypes import (
    bool,  # noqa: A004
    can_cast,
    complex64,
    complex128,
    double,
    float,  # noqa: A004
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,  # noqa: A004
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    result_type,
    set_default_dtype,
    short,
    uint8,
)
from gradwise.errors import (
    AnomalyError,
    DimError,
    DtypeError,
    GradwiseError,
    GraphError,
    IndexOutOfRangeError,
    ShapeError,
)
from gradwise.func.gradcheck import gradcheck, gradgradcheck
from gradwise.serialization import load, save
from gradwise.size import Size
from gradwise.version import __version__

_LAZY = ("data", "train", "insight", "viz", "distributed", "distributions", "runs")

if _typing.TYPE_CHECKING:   # what __getattr__ loads on first use, for type checkers and IDEs
    from gradwise import data, distributed, distributions, insight, runs, train, viz
    from gradwise.compile.compiled import compile  # noqa: A004  (torch.compile's name)
    from gradwise.insight.summary import summary


def __getattr__(name: str) -> object:
    # these subpackages pull in more modules: imported on first use to keep `import gradwise` fast
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"gradwise.{name}")
    if name == "compile":       # gw.compile(step): the package gradwise.compile is callable
        import importlib

        return importlib.import_module("gradwise.compile")
    if name == "summary":       # gw.summary(model, input_size=...): lives in insight, loaded on first use
        from gradwise.insight.summary import summary

        return summary
    raise AttributeError(f"module 'gradwise' has no attribute {name!r}")
