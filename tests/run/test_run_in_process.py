"""``run_script`` in this process: the interpreter is left as it was found."""

from __future__ import annotations

import sys

from gradwise.autograd.tensor import Tensor
from gradwise.nn.module import Module
from gradwise.optim.optimizer import Optimizer
from gradwise.torch_compat import run_script


def test_everything_is_put_back_after_a_run_with_a_report(tmp_path, capsys):
    script = tmp_path / "fit.py"
    script.write_text("import torch\n"
                      "import torch.nn as nn\n"
                      "model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))\n"
                      "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
                      "for _ in range(3):\n"
                      "    opt.zero_grad()\n"
                      "    model(torch.randn(8, 2)).pow(2).mean().backward()\n"
                      "    opt.step()\n"
                      "torch.backends.cudnn.deterministic = True\n"
                      "print('trained')\n")
    argv, path = sys.argv[:], sys.path[:]
    meta = list(sys.meta_path)
    torch_before = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    inits = Module.__dict__["__init__"], Optimizer.__dict__["__init__"], Tensor.__dict__["backward"]
    main = sys.modules["__main__"]

    assert run_script(script, ["x"], report_dir=tmp_path / "rep") == 0

    assert "trained" in capsys.readouterr().out
    assert (tmp_path / "rep" / "report.html").is_file()
    assert sys.argv == argv and sys.path == path and sys.meta_path == meta
    assert {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")} == torch_before
    assert (Module.__dict__["__init__"], Optimizer.__dict__["__init__"], Tensor.__dict__["backward"]) == inits
    assert sys.modules["__main__"] is main
    from gradwise.backends import cudnn

    assert cudnn.deterministic is False


def test_ctrl_c_gives_130_and_still_writes_the_report(tmp_path, capsys):
    script = tmp_path / "stop.py"
    script.write_text("import torch\n"
                      "net = torch.nn.Linear(2, 1)\n"
                      "opt = torch.optim.Adam(net.parameters())\n"
                      "net(torch.ones(1, 2)).sum().backward()\n"
                      "opt.step()\n"
                      "raise KeyboardInterrupt\n")
    assert run_script(script, report_dir=tmp_path / "rep") == 130
    assert "KeyboardInterrupt" in capsys.readouterr().err
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "interrupted (Ctrl-C)" in page
