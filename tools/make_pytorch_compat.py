"""Write docs/pytorch_compatibility.md from gradwise itself.

    python tools/make_pytorch_compat.py            # rewrite the page
    python tools/make_pytorch_compat.py --check    # exit 1 if the page is stale

For every torch name in :data:`NAMES` (by section; the sections and anchors are
``gradwise.torch_compat.catalog.CATEGORIES``, which the ``gradwise run`` errors link to) the
name is looked up the way a script run by ``gradwise run`` sees it, through the torch shim:
present and without a note in :data:`PARTIAL` is *supported*; present with a note is
*partial* (the note says what differs); absent is *not supported*, with the reason from
:data:`NOT_SUPPORTED` or from ``catalog.UNSUPPORTED_REASONS``.  ``tests/test_pytorch_compat_doc.py``
fails when the page is not what this script writes.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from gradwise.torch_compat.catalog import (
    CATEGORIES,
    SHIM_MODULES,
    TORCH_API_VERSION,
    UNSUPPORTED_MODULES,
    reason_for,
)
from gradwise.torch_compat.shim import UnsupportedTorchError, torch_shim

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "pytorch_compatibility.md"

_T = "torch."
NAMES: dict[str, tuple[str, ...]] = {
    "torch-functions": tuple(_T + n for n in (
        "tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
        "empty_like", "full_like", "rand", "randn", "rand_like", "randn_like", "randint", "randint_like", "randperm",
        "arange", "linspace", "logspace", "eye", "normal", "bernoulli", "multinomial", "manual_seed", "seed",
        "Generator", "get_rng_state", "set_rng_state", "cat", "concat", "stack", "hstack", "vstack", "split",
        "chunk", "unbind", "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "movedim",
        "gather", "scatter", "index_select", "masked_select", "where", "tril", "triu", "flip", "roll",
        "repeat_interleave", "meshgrid", "cartesian_prod", "einsum", "matmul", "mm", "bmm", "outer", "dot", "cross",
        "sum", "mean", "prod", "std", "var", "max", "min", "amax", "amin", "argmax", "argmin", "maximum", "minimum",
        "sort", "argsort", "topk", "kthvalue", "median", "mode", "unique", "cumsum", "cumprod", "logsumexp",
        "softmax", "log_softmax", "sigmoid", "tanh", "relu", "exp", "log", "log1p", "sqrt", "rsqrt", "abs", "sign",
        "clamp", "clamp_min", "clip", "pow", "sin", "cos", "atan2", "floor", "ceil", "round", "lerp", "norm", "cdist",
        "diag",
        "trace", "isclose", "allclose", "equal", "isnan", "isinf", "isfinite", "nan_to_num", "is_tensor",
        "is_floating_point", "numel", "result_type", "promote_types", "can_cast", "no_grad", "enable_grad",
        "set_grad_enabled", "inference_mode", "is_grad_enabled", "set_default_dtype", "get_default_dtype",
        "set_default_device", "set_printoptions", "dtype", "finfo", "iinfo", "Size", "Tensor", "float32", "float64",
        "float16", "bfloat16", "int64", "int32", "uint8", "bool", "long", "float", "double", "half", "complex64",
        "FloatTensor", "LongTensor", "DoubleTensor", "IntTensor", "BoolTensor", "save", "load", "compile",
        "set_num_threads", "get_num_threads", "use_deterministic_algorithms", "autocast", "vmap")),
    "tensor-methods": tuple("torch.Tensor." + n for n in (
        "shape", "dtype", "device", "ndim", "T", "mT", "grad", "grad_fn", "requires_grad", "is_leaf", "data",
        "size", "dim", "numel", "nelement", "element_size", "item", "tolist", "numpy", "backward", "detach",
        "detach_", "requires_grad_", "retain_grad", "register_hook", "clone", "contiguous", "is_contiguous", "float",
        "double", "half", "long", "int", "bool", "type", "type_as", "view", "view_as",
        "reshape", "reshape_as", "expand", "expand_as", "repeat", "repeat_interleave", "flatten", "unflatten",
        "squeeze", "unsqueeze", "permute", "transpose", "t", "flip", "roll", "chunk", "split", "unbind", "gather",
        "scatter", "scatter_", "scatter_add", "scatter_add_", "index_select", "index_add_", "masked_fill",
        "masked_fill_", "tril", "triu", "argsort", "sort", "topk", "unique", "new_zeros", "new_ones", "new_full",
        "new_empty", "new_tensor", "fill_", "zero_", "normal_", "uniform_", "bernoulli_", "copy_", "add_", "mul_",
        "clamp_", "mm", "bmm", "matmul", "sum", "mean", "std", "var", "max", "min", "argmax", "norm", "abs",
        "exp", "log", "sqrt", "pow", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "all", "any", "eq", "ne",
        "lt", "gt", "allclose", "isnan", "clamp_min", "masked_select", "pin_memory", "share_memory_", "to_sparse",
        "apply_", "storage")),
    "nn-modules": tuple("torch.nn." + n for n in (
        "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
        "Linear", "Bilinear", "Identity", "Flatten", "Unflatten", "Embedding", "EmbeddingBag", "Conv1d", "Conv2d",
        "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
        "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Upsample", "BatchNorm1d", "BatchNorm2d",
        "LayerNorm", "GroupNorm", "InstanceNorm2d", "Dropout", "Dropout2d", "RNN", "LSTM", "GRU", "RNNCell",
        "LSTMCell", "GRUCell", "MultiheadAttention", "Transformer", "TransformerEncoder",
        "TransformerEncoderLayer", "TransformerDecoderLayer", "ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU",
        "SiLU", "Mish", "Sigmoid", "Tanh", "Softplus", "Softmax", "LogSoftmax", "Hardtanh", "MSELoss", "L1Loss",
        "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
        "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss", "DataParallel")),
    "nn-functional": tuple("torch.nn.functional." + n for n in (
        "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "sigmoid", "tanh", "softplus", "softmax",
        "log_softmax", "hardtanh", "linear", "bilinear", "conv1d", "conv2d", "conv_transpose2d", "max_pool1d",
        "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "dropout", "dropout2d", "batch_norm", "layer_norm",
        "group_norm", "embedding", "one_hot", "pad", "normalize", "cosine_similarity", "pairwise_distance",
        "interpolate", "grid_sample", "unfold", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
        "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
        "cosine_embedding_loss", "scaled_dot_product_attention", "gumbel_softmax")),
    "nn-init": ("torch.nn.init.xavier_uniform_", "torch.nn.init.xavier_normal_", "torch.nn.init.kaiming_uniform_",
                "torch.nn.init.kaiming_normal_", "torch.nn.init.normal_", "torch.nn.init.uniform_",
                "torch.nn.init.zeros_", "torch.nn.init.ones_", "torch.nn.init.constant_", "torch.nn.init.eye_",
                "torch.nn.init.orthogonal_", "torch.nn.init.trunc_normal_", "torch.nn.init.calculate_gain",
                "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
                "torch.nn.utils.parameters_to_vector", "torch.nn.utils.vector_to_parameters",
                "torch.nn.utils.weight_norm", "torch.nn.utils.spectral_norm", "torch.nn.utils.rnn.pad_sequence",
                "torch.nn.utils.rnn.pack_padded_sequence", "torch.nn.utils.rnn.pad_packed_sequence",
                "torch.nn.utils.rnn.pack_sequence", "torch.nn.utils.rnn.PackedSequence"),
    "optim": tuple("torch.optim." + n for n in (
        "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS",
        "SparseAdam", "ASGD", "Rprop")),
    "lr-scheduler": tuple("torch.optim.lr_scheduler." + n for n in (
        "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
        "ReduceLROnPlateau", "LambdaLR", "MultiplicativeLR", "OneCycleLR", "CyclicLR", "LinearLR", "ConstantLR",
        "SequentialLR", "PolynomialLR", "ChainedScheduler")),
    "autograd": tuple("torch.autograd." + n for n in (
        "grad", "backward", "Function", "Variable", "gradcheck", "gradgradcheck", "detect_anomaly",
        "set_detect_anomaly", "no_grad", "enable_grad", "set_grad_enabled", "forward_ad", "graph",
        "profiler")),
    "func": tuple("torch.func." + n for n in (
        "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "functional_call",
        "stack_module_state")),
    "distributions": tuple("torch.distributions." + n for n in (
        "Distribution", "Normal", "Categorical", "Bernoulli", "kl_divergence", "register_kl", "Uniform", "Beta",
        "MultivariateNormal", "OneHotCategorical", "Gumbel", "Independent", "MixtureSameFamily")),
    "utils-data": tuple("torch.utils.data." + n for n in (
        "Dataset", "TensorDataset", "DataLoader", "Subset", "random_split", "ConcatDataset", "IterableDataset",
        "Sampler", "RandomSampler", "SequentialSampler", "BatchSampler", "WeightedRandomSampler", "default_collate",
        "get_worker_info")),
    "linalg": tuple("torch.linalg." + n for n in (
        "norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve", "lstsq", "cholesky", "qr", "eigh",
        "eigvalsh", "eig", "svd", "svdvals", "pinv", "matrix_rank", "matrix_power", "cross", "multi_dot")),
    "devices": ("torch.cuda.is_available", "torch.cuda.device_count", "torch.cuda.manual_seed",
                "torch.cuda.manual_seed_all", "torch.cuda.empty_cache", "torch.cuda.synchronize",
                "torch.cuda.current_device", "torch.cuda.get_device_name",
                "torch.backends.cudnn.benchmark", "torch.backends.cudnn.deterministic",
                "torch.backends.cudnn.enabled", "torch.backends.mps.is_available", "torch.backends.mps.is_built",
                "torch.backends.cuda.matmul", "torch.device", "torch.Tensor.to", "torch.Tensor.cpu",
                "torch.Tensor.cuda", "torch.Tensor.is_cuda", "torch.nn.Module.to", "torch.nn.Module.cpu",
                "torch.nn.Module.cuda"),
    "modules": tuple(sorted({*SHIM_MODULES, *UNSUPPORTED_MODULES} - {"torch"})),
}

# present, but not quite torch's: what differs
PARTIAL: dict[str, str] = {
    "torch.manual_seed": "seeds gradwise's own NumPy generator: the same seed gives other numbers than torch",
    "torch.Generator": "gradwise's own generator (NumPy PCG64): streams differ from torch's",
    "torch.save": "gradwise's safetensors format: tensors, dicts, lists, tuples, numbers, strings, None; no "
                  "modules or other objects (no pickle)",
    "torch.load": "reads only gradwise's safe format (never a pickle, so no file written by PyTorch); "
                  "`map_location` may only name the CPU; `weights_only` is accepted and always holds",
    "torch.device": "the CPU only; naming an accelerator works, placing a tensor there raises",
    "torch.set_default_device": "the CPU only",
    "torch.Tensor.to": "dtypes and the CPU; an accelerator raises",
    "torch.nn.Module.to": "dtypes and the CPU; an accelerator raises",
    "torch.Tensor.cuda": "raises gradwise.DeviceError: there is no GPU (use the CPU, or drop the call)",
    "torch.nn.Module.cuda": "raises gradwise.DeviceError: there is no GPU (use the CPU, or drop the call)",
    "torch.Tensor.is_cuda": "always False",
    "torch.Tensor.half": "float16 computed by NumPy (slow, no tensor cores)",
    "torch.float16": "computed by NumPy in float16",
    "torch.half": "computed by NumPy in float16",
    "torch.cuda.is_available": "always False",
    "torch.cuda.device_count": "always 0",
    "torch.cuda.manual_seed": "accepted, does nothing (no CUDA generator)",
    "torch.cuda.manual_seed_all": "accepted, does nothing (no CUDA generator)",
    "torch.cuda.empty_cache": "accepted, does nothing",
    "torch.cuda.synchronize": "raises: there is no CUDA device",
    "torch.cuda.current_device": "raises: there is no CUDA device",
    "torch.backends.cudnn.benchmark": "accepted, no effect",
    "torch.backends.cudnn.deterministic": "accepted, no effect (gradwise is deterministic)",
    "torch.backends.cudnn.enabled": "accepted, no effect",
    "torch.backends.mps.is_available": "always False",
    "torch.backends.mps.is_built": "always False",
    "torch.func.vmap": "a Python loop over the mapped dimension: the same results, not the speed",
    "torch.vmap": "a Python loop over the mapped dimension: the same results, not the speed",
    "torch.func.jacfwd": "computed with reverse mode (the same values)",
    "torch.nn.Dropout": "masks from gradwise's own generator",
    "torch.utils.data.DataLoader": "no worker processes or pinned memory (`num_workers`, `pin_memory`)",
    "torch.distributions": "Normal, Categorical, Bernoulli and kl_divergence between them",
    "torch.distributions.normal": "the module's names are gradwise.distributions'",
    "torch.distributions.categorical": "the module's names are gradwise.distributions'",
    "torch.distributions.bernoulli": "the module's names are gradwise.distributions'",
    "torch.distributions.kl": "the module's names are gradwise.distributions'",
    "torch.nn.modules": "the names of torch.nn; torch.nn.modules.<file> submodules are not provided",
    "torch.utils.data.dataset": "the names of torch.utils.data",
    "torch.utils.data.dataloader": "the names of torch.utils.data",
    "torch.utils.data.sampler": "the names of torch.utils.data",
    "torch.backends": "cudnn, mps and cuda flags, accepted without effect",
    "torch.cuda": "reports no device; seeding and cache calls do nothing",
}

# absent, and why (beyond catalog.UNSUPPORTED_REASONS)
NOT_SUPPORTED: dict[str, str] = {
    "torch.bfloat16": "NumPy has no bfloat16",
    "torch.Tensor.pin_memory": "pinned memory is for GPU transfers; gradwise has no GPU",
    "torch.Tensor.share_memory_": "tensors shared between processes are not supported",
    "torch.Tensor.storage": "gradwise tensors hold NumPy arrays, not torch storages",
    "torch.autocast": "automatic mixed precision is a GPU feature; gradwise computes on the CPU",
    "torch.autograd.Variable": "deprecated in torch since 0.4: use tensors with requires_grad=True",
    "torch.optim.SparseAdam": "sparse tensors: gradwise stores dense NumPy arrays only",
}

STATUS = {"supported": "supported", "partial": "partial", "missing": "not supported"}


def _found(name: str) -> bool:
    """Whether a script under the shim gets ``name``: imported as a module when the shim
    table has it, else read as attributes from the longest module prefix it has."""
    parts = name.split(".")
    i = max(k for k in range(1, len(parts) + 1) if ".".join(parts[:k]) in SHIM_MODULES)
    try:
        obj = importlib.import_module(".".join(parts[:i]))
        for attr in parts[i:]:
            obj = getattr(obj, attr)
    except (UnsupportedTorchError, AttributeError):
        return False
    return True


def classify(name: str) -> tuple[str, str]:
    """``(status, note)`` of one torch name, looked up through the shim (call inside
    :func:`torch_shim`)."""
    if _found(name):
        return ("partial", PARTIAL[name]) if name in PARTIAL else ("supported", "")
    return "missing", NOT_SUPPORTED.get(name) or reason_for(name) or "not implemented in gradwise yet"


def generate() -> str:
    """The page's text."""
    missing_sections = set(NAMES) ^ {c.anchor for c in CATEGORIES}
    if missing_sections:
        raise SystemExit(f"NAMES and catalog.CATEGORIES disagree on the sections: {sorted(missing_sections)}")
    with torch_shim():
        rows = {c.anchor: [(n, *classify(n)) for n in NAMES[c.anchor]] for c in CATEGORIES}
    every = [row for section in rows.values() for row in section]
    counts = {k: sum(1 for row in every if row[1] == k) for k in STATUS}
    out = ["# PyTorch compatibility", "",
           "<!-- generated by tools/make_pytorch_compat.py from gradwise itself: do not edit by hand -->", "",
           "How far `import torch` gets you with gradwise. `gradwise run script.py` (or "
           "`python -m gradwise.run script.py`) runs a PyTorch script unchanged with `torch` and its submodules "
           "resolved to gradwise; when a script uses a name marked *not supported* below, it stops with one line "
           "naming the torch API and pointing to its section here. Each name was looked up through that same "
           "shim: **supported** means gradwise has it with torch's behaviour, **partial** says what differs, "
           "**not supported** says why.", "",
           f"{len(every)} names: {counts['supported']} supported, {counts['partial']} partial, "
           f"{counts['missing']} not supported.", "",
           "Things that hold everywhere: gradwise computes on the CPU with NumPy (there is never a GPU); random "
           "numbers come from gradwise's own generator, so a seeded script draws other numbers than under torch; "
           "`torch.save`/`torch.load` use a safetensors file and never pickle, so they hold tensors and plain "
           "data (a `state_dict`, a checkpoint dict), not whole modules; `torch.__version__` reads "
           f"`{TORCH_API_VERSION}+gradwise.<version>` (the torch API generation gradwise follows).", "",
           "`gradwise run --report DIR script.py` also watches the gradients of the networks the script's "
           "optimizers train and writes `DIR/report.html` (see docs/vanishing_exploding.md for reading it).", "",
           "## Sections", ""]
    out += [f"- [{c.title}](#{c.anchor})" for c in CATEGORIES]
    for c in CATEGORIES:
        out += ["", f'<a id="{c.anchor}"></a>', "", f"## {c.title}", "", "| torch | gradwise | notes |",
                "| --- | --- | --- |"]
        out += [f"| `{n}` | {STATUS[s]} | {note} |" for n, s, note in rows[c.anchor]]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python tools/make_pytorch_compat.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
