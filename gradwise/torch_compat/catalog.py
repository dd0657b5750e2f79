"""What ``import torch`` resolves to under ``gradwise run``, and where the compatibility page
explains each part of torch.

:data:`SHIM_MODULES` maps each torch module a script may import to the gradwise module that
serves it (``None``: a namespace with only submodules, like ``torch.utils``).  A torch module
outside this table is refused at import.  :data:`CATEGORIES` names the sections of
``docs/pytorch_compatibility.md`` (one anchor each); :func:`anchor_for` picks the section an
error message points to.  :data:`UNSUPPORTED_REASONS` says why whole areas of torch are absent;
``tools/make_pytorch_compat.py`` writes the page from these tables and from gradwise itself.

>>> SHIM_MODULES["torch.nn.functional"]
'gradwise.nn.functional'
>>> anchor_for("torch.nn.TransformerEncoderLayer")
'nn-modules'
>>> reason_for("torch.jit")
'TorchScript/JIT: gradwise runs eagerly on NumPy and has no compiler'
"""

from __future__ import annotations

from dataclasses import dataclass

DOC_PAGE = "docs/pytorch_compatibility.md"

# torch module -> gradwise module (None: only a parent of other entries)
SHIM_MODULES: dict[str, str | None] = {
    "torch": "gradwise",
    "torch.nn": "gradwise.nn",
    "torch.nn.functional": "gradwise.nn.functional",
    "torch.nn.init": "gradwise.nn.init",
    "torch.nn.parameter": "gradwise.nn.parameter",
    "torch.nn.modules": "gradwise.nn",
    "torch.nn.utils": "gradwise.nn.utils",
    "torch.nn.utils.rnn": "gradwise.nn.utils.rnn",
    "torch.optim": "gradwise.optim",
    "torch.optim.lr_scheduler": "gradwise.optim.lr_scheduler",
    "torch.utils": None,
    "torch.utils.data": "gradwise.data",
    "torch.utils.data.dataset": "gradwise.data",
    "torch.utils.data.dataloader": "gradwise.data",
    "torch.utils.data.sampler": "gradwise.data",
    "torch.autograd": "gradwise.autograd",
    "torch.autograd.functional": "gradwise.func.autograd_functional",
    "torch.linalg": "gradwise.linalg",
    "torch.func": "gradwise.func",
    "torch.distributions": "gradwise.distributions",
    "torch.distributions.normal": "gradwise.distributions",
    "torch.distributions.categorical": "gradwise.distributions",
    "torch.distributions.bernoulli": "gradwise.distributions",
    "torch.distributions.kl": "gradwise.distributions",
    "torch.cuda": "gradwise.cuda",
    "torch.backends": "gradwise.backends",
    "torch.backends.cudnn": "gradwise.backends.cudnn",
    "torch.backends.mps": "gradwise.backends.mps",
    "torch.backends.cuda": "gradwise.backends.cuda",
}

# torch names that gradwise has under another module ("module:attribute"): torch.autograd.gradcheck
# lives in gradwise.func, above gradwise.autograd's layer, so gradwise.autograd cannot re-export it
ALIASES: dict[str, str] = {
    "torch.autograd.gradcheck": "gradwise.func.gradcheck:gradcheck",
    "torch.autograd.gradgradcheck": "gradwise.func.gradcheck:gradgradcheck",
    "torch.vmap": "gradwise.func:vmap",
    # torch.version is a module; a module object built here (a shim module cannot serve __version__)
    "torch.version": "gradwise.torch_compat.torch_version:VERSION",
}

# what `torch.__version__` says under the shim: the torch API generation gradwise follows (torch.func,
# the 2.x optimizer and scheduler arguments), with gradwise's own version as the local label, so
# that `version.parse(torch.__version__) >= version.parse("2.0")` takes the modern branch
TORCH_API_VERSION = "2.0.0"

# packages of the torch family that gradwise does not stand in for
SISTER_PACKAGES: dict[str, str] = {
    "torchvision": "gradwise.data has MNIST, Fashion-MNIST and bundled datasets (gradwise train --dataset); "
                   "convert images to arrays yourself",
    "torchaudio": "there is no audio support",
    "torchtext": "there is no text-dataset support; build vocabularies and tensors yourself",
}


@dataclass(frozen=True)
class Category:
    """One section of the compatibility page: its anchor, title and the torch prefix it covers."""

    anchor: str
    title: str
    prefix: str          # e.g. "torch.nn.functional." ("" for Tensor methods)


CATEGORIES: tuple[Category, ...] = (
    Category("torch-functions", "torch: functions, dtypes and tensor creation", "torch."),
    Category("tensor-methods", "Tensor methods and attributes", "torch.Tensor."),
    Category("nn-modules", "torch.nn: modules", "torch.nn."),
    Category("nn-functional", "torch.nn.functional", "torch.nn.functional."),
    Category("nn-init", "torch.nn.init and torch.nn.utils", "torch.nn.init."),
    Category("optim", "torch.optim", "torch.optim."),
    Category("lr-scheduler", "torch.optim.lr_scheduler", "torch.optim.lr_scheduler."),
    Category("autograd", "torch.autograd", "torch.autograd."),
    Category("func", "torch.func", "torch.func."),
    Category("distributions", "torch.distributions", "torch.distributions."),
    Category("utils-data", "torch.utils.data", "torch.utils.data."),
    Category("linalg", "torch.linalg", "torch.linalg."),
    Category("devices", "Devices: torch.cuda, torch.backends, torch.device", "torch.cuda."),
    Category("modules", "torch submodules", ""),
)

# longer prefixes first: the most specific category wins
_ANCHOR_PREFIXES: tuple[tuple[str, str], ...] = (
    ("torch.nn.utils.", "nn-init"),
    ("torch.backends.", "devices"),
    ("torch.cuda.", "devices"),
    *sorted(((c.prefix, c.anchor) for c in CATEGORIES if c.prefix), key=lambda pa: -len(pa[0])),
)

# why a part of torch is absent: (prefix of the torch name, reason); the first match wins
UNSUPPORTED_REASONS: tuple[tuple[str, str], ...] = (
    ("torch.jit", "TorchScript/JIT: gradwise runs eagerly on NumPy and has no compiler"),
    ("torch.compile", "TorchScript/JIT: gradwise runs eagerly on NumPy and has no compiler"),
    ("torch.fx", "graph capture (torch.fx) needs a tracer gradwise does not have"),
    ("torch.export", "graph export needs a tracer gradwise does not have"),
    ("torch.onnx", "ONNX export needs a traced graph; gradwise has none"),
    ("torch.cuda.amp", "mixed precision on CUDA: gradwise has no GPU"),
    ("torch.amp", "automatic mixed precision is a GPU feature; gradwise computes on the CPU"),
    ("torch.autocast", "automatic mixed precision is a GPU feature; gradwise computes on the CPU"),
    ("torch.cuda", "CUDA: gradwise computes on the CPU with NumPy"),
    ("torch.mps", "Apple GPUs (MPS): gradwise computes on the CPU with NumPy"),
    ("torch.sparse", "sparse tensors: gradwise stores dense NumPy arrays only"),
    ("torch.Tensor.to_sparse", "sparse tensors: gradwise stores dense NumPy arrays only"),
    ("torch.quantization", "quantization: gradwise computes in floating point only"),
    ("torch.ao", "quantization: gradwise computes in floating point only"),
    ("torch.quantize", "quantization: gradwise computes in floating point only"),
    ("torch.distributed", "torch.distributed: gradwise's data parallelism is gradwise.distributed (MPI)"),
    ("torch.multiprocessing", "tensors shared between processes: use separate processes with NumPy arrays"),
    ("torch.nn.parallel", "multi-GPU wrappers: gradwise has no GPU"),
    ("torch.nn.DataParallel", "multi-GPU wrappers: gradwise has no GPU"),
    ("torch.hub", "downloading models: gradwise loads no pickled torch models"),
    ("torch.fft", "FFTs are not in the op table yet"),
    ("torch.special", "torch.special is not in the op table yet"),
    ("torch.utils.tensorboard", "TensorBoard logging: use gradwise's HTML report (gradwise run --report DIR)"),
    ("torch.utils.checkpoint", "activation checkpointing is not implemented"),
    ("torch.profiler", "the profiler is not implemented; use Python's cProfile"),
    ("torch.testing", "torch.testing is not provided; compare with gradwise.allclose"),
)


# torch modules gradwise leaves out (listed, with SHIM_MODULES, in the page's "torch submodules")
UNSUPPORTED_MODULES: tuple[str, ...] = (
    "torch.jit", "torch.fx", "torch.export", "torch.onnx", "torch.amp", "torch.mps", "torch.sparse",
    "torch.quantization", "torch.ao", "torch.distributed", "torch.multiprocessing", "torch.nn.parallel",
    "torch.hub", "torch.fft", "torch.special", "torch.utils.tensorboard", "torch.utils.checkpoint",
    "torch.profiler", "torch.testing", "torch.cuda.amp",
)


def anchor_for(torch_name: str) -> str:
    """The compatibility page's section for a torch name (``torch.nn.Linear`` -> ``nn-modules``)."""
    if torch_name in SHIM_MODULES or torch_name in UNSUPPORTED_MODULES:
        return "modules"
    for prefix, anchor in _ANCHOR_PREFIXES:
        if torch_name.startswith(prefix):
            return anchor
    return "torch-functions"


def reason_for(torch_name: str) -> str | None:
    """Why ``torch_name`` is not supported, when it belongs to an area gradwise leaves out."""
    for prefix, reason in UNSUPPORTED_REASONS:
        if torch_name == prefix or torch_name.startswith(prefix + "."):
            return reason
    return None


def doc_link(torch_name: str, anchor: str | None = None) -> str:
    """``docs/pytorch_compatibility.md#<anchor>`` for a torch name."""
    return f"{DOC_PAGE}#{anchor or anchor_for(torch_name)}"
