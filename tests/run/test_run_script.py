"""``gradwise run`` / ``python -m gradwise.run``: unchanged torch scripts on gradwise."""

from __future__ import annotations

import json

TRAIN = """
    import sys
    import json
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 16)
            self.fc2 = nn.Linear(16, 2)

        def forward(self, x):
            return self.fc2(torch.tanh(self.fc1(x)))

    X = torch.randn(128, 2)
    y = (X[:, 0] * X[:, 1] > 0).long()
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    model = Net().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(sys.argv[1]))
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
    first = None
    for epoch in range(int(sys.argv[2])):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
        sched.step()
    with torch.no_grad():
        final = F.cross_entropy(model(X), y).item()
    print(json.dumps({"argv": sys.argv, "first": first, "final": final}))
"""


def test_a_training_script_runs_with_its_arguments(runner):
    runner.write("train.py", TRAIN)
    done = runner.module("train.py", "0.05", "40")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["argv"] == ["train.py", "0.05", "40"]
    assert out["final"] < 0.5 * out["first"]          # it trained


def test_options_after_the_script_are_the_scripts(runner):
    runner.write("argv.py", "import sys\nprint(sys.argv)\n")
    done = runner.module("argv.py", "--lr", "0.1", "-h", "--report", "x")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['argv.py', '--lr', '0.1', '-h', '--report', 'x']"
    assert not (runner.folder / "x").exists()


def test_the_cli_command_and_the_module_agree(runner):
    runner.write("train.py", TRAIN)
    a = runner.module("train.py", "0.05", "3")
    b = runner.cli("train.py", "0.05", "3")
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert json.loads(a.stdout)["final"] == json.loads(b.stdout)["final"]


def test_runs_from_another_folder_with_the_script_folder_on_sys_path(runner, tmp_path):
    runner.write("progs/helpers.py", "def double(x):\n    return 2 * x\n")
    runner.write("progs/main.py", """
        import os, sys
        import torch
        from helpers import double
        print(double(torch.ones(2)).tolist(), __name__, os.path.basename(__file__))
    """)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = runner.module(str(tmp_path / "progs" / "main.py"), cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[2.0,", "2.0]", "__main__", "main.py"]


def test_a_missing_torch_name_ends_with_one_line(runner):
    runner.write("tf.py", """
        import torch
        import torch.nn as nn

        layer = nn.TransformerEncoderLayer(d_model=8, nhead=2)
    """)
    done = runner.module("tf.py")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert "tf.py, line 5" in line
    assert "torch.nn.TransformerEncoderLayer is not supported in gradwise" in line
    assert "docs/pytorch_compatibility.md#nn-modules" in line
    assert "Traceback" not in done.stderr


def test_from_import_of_a_missing_name_names_it(runner):
    runner.write("imp.py", "from torch.nn import TransformerDecoder\n")
    done = runner.cli("imp.py")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "torch.nn.TransformerDecoder is not supported in gradwise" in done.stderr
    assert "docs/pytorch_compatibility.md#nn-modules" in done.stderr


def test_an_unsupported_torch_module_is_refused_at_import(runner):
    runner.write("jit.py", "import torch\nimport torch.jit\n")
    done = runner.module("jit.py")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "jit.py, line 2: torch.jit is not supported in gradwise (TorchScript/JIT" in done.stderr
    assert "#modules" in done.stderr


def test_a_missing_function_gets_its_section(runner):
    runner.write("compile.py", "import torch\nmodel = torch.compile(torch.nn.Linear(2, 2))\n")
    done = runner.module("compile.py")
    assert done.returncode == 1
    assert "torch.compile is not supported in gradwise" in done.stderr
    assert "#torch-functions" in done.stderr


def test_torch_version_names_the_api_generation_and_gradwise(runner):
    runner.write("version.py", "import torch\nprint(torch.__version__)\n")
    done = runner.module("version.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2.0.0+gradwise.")


def test_hasattr_on_a_missing_name_is_false_not_an_error(runner):
    runner.write("probe.py", """
        import torch
        print(hasattr(torch, "compile"), getattr(torch.backends, "mps", None) is not None,
              torch.backends.mps.is_available())
    """)
    done = runner.module("probe.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "False"]


def test_the_scripts_own_errors_keep_their_traceback(runner):
    runner.write("bug.py", """
        import torch

        def step(x):
            return x / undefined_name

        step(torch.ones(3))
    """)
    done = runner.module("bug.py")
    assert done.returncode == 1
    err = done.stderr
    assert err.startswith("Traceback (most recent call last):")
    assert 'bug.py", line 7, in <module>' in err and 'bug.py", line 5, in step' in err
    assert "NameError: name 'undefined_name' is not defined" in err
    assert "runpy" not in err and "gradwise/torch_compat" not in err     # the runner's frames are left out


def test_a_tensor_method_gradwise_lacks_keeps_the_traceback_and_points_to_the_page(runner):
    runner.write("method.py", "import torch\nx = torch.ones(2)\nprint(x.no_such_method())\n")
    done = runner.module("method.py")
    assert done.returncode == 1
    assert 'method.py", line 3, in <module>' in done.stderr
    assert "AttributeError: 'Tensor' object has no attribute 'no_such_method'" in done.stderr
    assert done.stderr.rstrip().endswith("if torch.Tensor.no_such_method is a torch method, gradwise does not "
                                         "support it (yet); see docs/pytorch_compatibility.md#tensor-methods")


def test_sys_exit_status_is_the_scripts(runner):
    runner.write("exit3.py", "import sys\nsys.exit(3)\n")
    runner.write("exitmsg.py", "import sys\nsys.exit('bad data')\n")
    assert runner.module("exit3.py").returncode == 3
    done = runner.cli("exitmsg.py")
    assert done.returncode == 1 and done.stderr.strip() == "bad data"


def test_a_missing_script_is_a_usage_error(runner):
    done = runner.cli("nope.py")
    assert done.returncode == 2
    assert "nope.py" in done.stderr and "no such file" in done.stderr


def test_torch_save_and_load_of_a_checkpoint_dict(runner):
    runner.write("ckpt.py", """
        import io
        import torch
        import torch.nn as nn

        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        model(torch.randn(5, 3)).sum().backward()
        opt.step()
        torch.save({"epoch": 7, "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "losses": [0.5, 0.25], "name": "run1", "best": None}, "ckpt.pt")
        ck = torch.load("ckpt.pt", map_location="cpu", weights_only=True)
        clone = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
        clone.load_state_dict(ck["model"])
        opt2 = torch.optim.SGD(clone.parameters(), lr=0.1, momentum=0.9)
        opt2.load_state_dict(ck["optimizer"])
        x = torch.randn(2, 3)
        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)
        buf.seek(0)
        again = torch.load(buf)
        same = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.values()))
        print(ck["epoch"], ck["losses"], ck["name"], ck["best"], torch.allclose(model(x), clone(x)), same)
    """)
    done = runner.module("ckpt.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "7 [0.5, 0.25] run1 None True True"


def test_saving_a_whole_module_is_refused_with_the_reason(runner):
    runner.write("savemodel.py", """
        import torch
        model = torch.nn.Linear(2, 2)
        torch.save({"model": model}, "model.pt")
    """)
    done = runner.module("savemodel.py")
    assert done.returncode == 1
    err = done.stderr.strip()
    assert err.count("\n") == 0
    assert "savemodel.py, line 4" in err
    assert "cannot store a whole nn.Module (Linear) at obj['model']" in err
    assert "pickle" in err and "model.state_dict()" in err
    assert not (runner.folder / "model.pt").exists()
