"""docs/pytorch_compatibility.md is what tools/make_pytorch_compat.py writes from gradwise now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("make_pytorch_compat", ROOT / "tools" / "make_pytorch_compat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_compatibility_page_is_current():
    gen = _generator()
    page = ROOT / "docs" / "pytorch_compatibility.md"
    assert page.exists() and page.read_text(encoding="utf-8") == gen.generate(), (
        "docs/pytorch_compatibility.md is stale: run `python tools/make_pytorch_compat.py`")


def test_the_names_of_issue_13_are_listed():
    names = {n for section in _generator().NAMES.values() for n in section}
    for name in ("torch.device", "torch.cuda.is_available", "torch.nn.LSTMCell", "torch.nn.GRUCell",
                 "torch.nn.RNNCell", "torch.nn.Dropout2d", "torch.Tensor.mm", "torch.Tensor.bmm", "torch.Tensor.t",
                 "torch.Tensor.type", "torch.Tensor.nelement", "torch.Tensor.view_as", "torch.Tensor.expand_as",
                 "torch.Tensor.new_zeros", "torch.Tensor.topk", "torch.Tensor.sort", "torch.normal",
                 "torch.multinomial", "torch.mm", "torch.is_tensor", "torch.allclose", "torch.meshgrid",
                 "torch.inference_mode", "torch.Size", "torch.LongTensor", "torch.func.vmap",
                 "torch.func.functional_call", "torch.func.hessian", "torch.func.jacrev", "torch.func.jacfwd",
                 "torch.distributions.Categorical", "torch.distributions.Normal", "torch.distributions.Bernoulli",
                 "torch.nn.utils.rnn.pad_sequence", "torch.nn.utils.rnn.pack_padded_sequence",
                 "torch.nn.utils.rnn.pad_packed_sequence", "torch.backends.cudnn.benchmark", "torch.randint",
                 "torch.Tensor.normal_", "torch.Tensor.mT", "torch.Tensor.reshape_as", "torch.Tensor.new_full",
                 "torch.Tensor.masked_fill_", "torch.Tensor.scatter_add", "torch.Tensor.repeat_interleave",
                 "torch.einsum", "torch.isclose", "torch.equal", "torch.from_numpy", "torch.set_grad_enabled",
                 "torch.nn.functional.one_hot", "torch.nn.functional.interpolate", "torch.nn.functional.kl_div",
                 "torch.nn.functional.huber_loss", "torch.nn.Embedding", "torch.nn.Unflatten",
                 "torch.nn.ParameterDict", "torch.save", "torch.load", "torch.autograd.Function"):
        assert name in names, name


def test_every_row_has_a_status_and_missing_rows_say_why():
    gen = _generator()
    rows = [line for line in gen.generate().splitlines() if line.startswith("| `torch")]
    assert len(rows) == sum(len(v) for v in gen.NAMES.values())
    for row in rows:
        name, status, note = (c.strip() for c in row.strip("|").split("|"))
        assert status in ("supported", "partial", "not supported"), row
        if status != "supported":
            assert note, row


def test_each_name_is_listed_once():
    names = [n for section in _generator().NAMES.values() for n in section]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
