"""PyTorch scripts on gradwise: ``import torch`` resolved to gradwise for the length of one run.

* :mod:`~gradwise.torch_compat.catalog`: which torch modules map to which gradwise modules,
  the sections of ``docs/pytorch_compatibility.md`` and why whole areas of torch are absent;
* :mod:`~gradwise.torch_compat.shim`: the meta-path finder and the forwarding modules
  (:func:`torch_shim`), and the errors for torch names gradwise lacks;
* :mod:`~gradwise.torch_compat.checkpoint`: ``torch.save``/``torch.load`` in the safe format;
* :mod:`~gradwise.torch_compat.report`: ``--report``, the gradient monitor on the networks
  the script's optimizers train;
* :mod:`~gradwise.torch_compat.runner`: :func:`run_script`, what ``gradwise run`` and
  ``python -m gradwise.run`` call.

Importing this package installs nothing; only :func:`torch_shim` and :func:`run_script` do,
and they undo it when they end.
"""

from __future__ import annotations

from gradwise.torch_compat.checkpoint import TorchSaveError, torch_load, torch_save
from gradwise.torch_compat.runner import ScriptError, run_script
from gradwise.torch_compat.shim import (
    TorchShimModule,
    UnsupportedTorchAttributeError,
    UnsupportedTorchError,
    UnsupportedTorchModuleError,
    torch_shim,
)

__all__ = ["ScriptError", "TorchSaveError", "TorchShimModule", "UnsupportedTorchAttributeError",
           "UnsupportedTorchError", "UnsupportedTorchModuleError", "run_script", "torch_load", "torch_save",
           "torch_shim"]
