"""The torch shim in-process: what ``import torch`` gives, and that everything is put back."""

from __future__ import annotations

import sys
import types

import pytest

import gradwise as gw
from gradwise.torch_compat import (
    TorchShimModule,
    UnsupportedTorchAttributeError,
    UnsupportedTorchError,
    UnsupportedTorchModuleError,
    torch_shim,
)
from gradwise.torch_compat.catalog import SHIM_MODULES, anchor_for


def test_torch_and_its_submodules_forward_to_gradwise():
    with torch_shim():
        import torch
        import torch.nn.functional as F
        import torch.optim.lr_scheduler as sched
        from torch.utils.data import DataLoader

        assert torch.Tensor is gw.Tensor and torch.float32 is gw.float32
        assert torch.nn.Linear is gw.nn.Linear
        assert F.relu is gw.nn.functional.relu
        assert sched.StepLR is gw.optim.lr_scheduler.StepLR
        assert DataLoader is gw.data.DataLoader
        assert isinstance(torch.nn, TorchShimModule) and torch.nn.functional is F
        assert torch.cuda.is_available() is False


def test_every_listed_module_imports_or_is_refused_clearly():
    import importlib

    with torch_shim():
        for name in SHIM_MODULES:
            try:
                module = importlib.import_module(name)
            except UnsupportedTorchModuleError as exc:    # a table entry this gradwise lacks
                assert name in str(exc)
                continue
            assert isinstance(module, TorchShimModule), name


def test_missing_names_raise_a_named_attribute_error():
    with torch_shim():
        import torch

        with pytest.raises(UnsupportedTorchAttributeError) as info:
            torch.nn.TransformerEncoderLayer      # noqa: B018
        assert isinstance(info.value, AttributeError)
        assert str(info.value) == ("torch.nn.TransformerEncoderLayer is not supported in gradwise; see "
                                   "docs/pytorch_compatibility.md#nn-modules")
        assert not hasattr(torch, "compile")


def test_gradwise_modules_outside_the_table_are_not_torch_modules():
    with torch_shim():
        import torch

        for name in ("distributed", "data", "train", "insight", "ops"):
            with pytest.raises(UnsupportedTorchAttributeError, match=f"torch.{name} is not supported"):
                getattr(torch, name)


def test_unknown_submodules_and_sister_packages_are_refused_at_import():
    with torch_shim():
        with pytest.raises(UnsupportedTorchModuleError, match=r"torch\.fft is not supported in gradwise") as info:
            import torch.fft  # noqa: F401
        assert isinstance(info.value, ImportError) and not isinstance(info.value, ModuleNotFoundError)
        with pytest.raises(UnsupportedTorchModuleError, match="torchvision is not supported"):
            import torchvision  # noqa: F401


def test_sys_modules_and_meta_path_are_restored():
    before_modules = {k for k in sys.modules if k == "torch" or k.startswith("torch.")}
    before_path = list(sys.meta_path)
    with torch_shim():
        import torch
        import torch.nn  # noqa: F401
        assert isinstance(sys.modules["torch"], TorchShimModule)
    assert {k for k in sys.modules if k == "torch" or k.startswith("torch.")} == before_modules
    assert sys.meta_path == before_path
    assert not any(isinstance(m, TorchShimModule) for m in sys.modules.values())


def test_a_real_torch_already_imported_is_set_aside_and_put_back(monkeypatch):
    fake = types.ModuleType("torch")
    monkeypatch.setitem(sys.modules, "torch", fake)
    with torch_shim():
        import torch
        assert torch is not fake and isinstance(torch, TorchShimModule)
    assert sys.modules["torch"] is fake


def test_flags_set_through_the_shim_are_undone():
    from gradwise.backends import cudnn

    before = cudnn.benchmark
    with torch_shim():
        import torch
        torch.backends.cudnn.benchmark = not before
        assert cudnn.benchmark is (not before)
    assert cudnn.benchmark is before


def test_the_shim_does_not_install_itself_on_import():
    import gradwise.torch_compat  # noqa: F401

    assert not any(type(f).__name__ == "TorchFinder" for f in sys.meta_path)


@pytest.mark.parametrize("name, anchor", [
    ("torch.nn.functional.gumbel_softmax", "nn-functional"), ("torch.nn.utils.weight_norm", "nn-init"),
    ("torch.optim.lr_scheduler.CyclicLR", "lr-scheduler"), ("torch.optim.SparseAdam", "optim"),
    ("torch.cuda.get_device_name", "devices"), ("torch.fft", "modules"), ("torch.logspace", "torch-functions")])
def test_error_messages_link_to_the_section_of_the_name(name, anchor):
    assert anchor_for(name) == anchor
    assert str(UnsupportedTorchError(name)).endswith(f"docs/pytorch_compatibility.md#{anchor}")


def test_every_anchor_exists_on_the_page():
    from pathlib import Path

    from gradwise.torch_compat.catalog import CATEGORIES

    page = (Path(__file__).resolve().parents[2] / "docs" / "pytorch_compatibility.md").read_text()
    for c in CATEGORIES:
        assert f'<a id="{c.anchor}"></a>' in page


def test_names_gradwise_keeps_elsewhere_are_found_under_torchs_name():
    from gradwise.func import gradcheck, gradgradcheck, vmap

    with torch_shim():
        import torch

        assert torch.autograd.gradcheck is gradcheck and torch.autograd.gradgradcheck is gradgradcheck
        assert torch.vmap is vmap
        x = torch.randn(3, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
