"""``gradwise run --report DIR``: the gradient monitor on the networks a script's optimizers train."""

from __future__ import annotations

import html
import re


def _verdict_rows(page: str) -> list[list[str]]:
    """The cells of the verdicts table (layer label, verdict, ...)."""
    table = re.search(r'<table id="verdicts"[^>]*>(.*?)</table>', page, re.S)
    assert table, "the report has no verdicts table"
    rows = [r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S) if "<td" in r]
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def _text(cell: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()


def _config(page: str) -> dict[str, str]:
    block = re.search(r'id="config"[^>]*>(.*?)</table>', page, re.S)
    assert block, "the report has no configuration table"
    cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", block.group(1), re.S)]
    return dict(zip(cells[::2], cells[1::2]))


MLP = """
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(64, 4)
    y = x.sum(dim=1, keepdim=True)
    for step in range(30):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
    print("done", round(loss.item(), 4))
"""


def test_the_report_shows_the_layers_the_optimizer_trains(runner, tmp_path):
    runner.write("mlp.py", MLP)
    done = runner.cli("--report", str(tmp_path / "rep"), "mlp.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("done ")
    assert "report written to" in done.stderr
    page = (tmp_path / "rep" / "report.html").read_text()
    labels = [row[0] for row in _verdict_rows(page)]
    assert labels == ["0 (Linear+ReLU)", "2 (Linear+Tanh)", "4 (Linear)"]
    cfg = _config(page)
    assert cfg["optimizer"] == "SGD (1 of 1)" and cfg["optimizer steps"] == "30"
    assert cfg["network"] == "model (Sequential)" and cfg["outcome"] == "finished"
    assert cfg["parameters"] == str(4 * 16 + 16 + 16 * 16 + 16 + 16 + 1)
    assert 'id="curves"' in page                  # the loss recorded at each backward


def test_the_report_is_the_same_through_python_m_gradwise_run(runner, tmp_path):
    runner.write("mlp.py", MLP)
    done = runner.module("--report", str(tmp_path / "rep"), "mlp.py")
    assert done.returncode == 0, done.stderr
    assert len(_verdict_rows((tmp_path / "rep" / "report.html").read_text())) == 3


def test_two_optimizers_two_networks_two_pages(runner, tmp_path):
    runner.write("gan.py", """
        import torch
        import torch.nn as nn

        torch.manual_seed(0)
        generator = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
        critic = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
        opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3)
        opt_d = torch.optim.Adam(critic.parameters(), lr=1e-3)
        bce = nn.BCEWithLogitsLoss()
        for step in range(10):
            real = torch.randn(16, 2) + 3
            fake = generator(torch.randn(16, 2))
            opt_d.zero_grad()
            d_loss = bce(critic(real), torch.ones(16, 1)) + bce(critic(fake.detach()), torch.zeros(16, 1))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = bce(critic(fake), torch.ones(16, 1))
            g_loss.backward()
            opt_g.step()
    """)
    done = runner.module("--report", str(tmp_path / "rep"), "gan.py")
    assert done.returncode == 0, done.stderr
    first = (tmp_path / "rep" / "report.html").read_text()
    second = (tmp_path / "rep" / "report-2.html").read_text()
    assert _config(first)["optimizer"] == "Adam (1 of 2)" and _config(second)["optimizer"] == "Adam (2 of 2)"
    assert [r[0] for r in _verdict_rows(first)] == ["0 (Linear+ReLU)", "2 (Linear)"]
    assert [r[0] for r in _verdict_rows(second)] == ["0 (Linear+LeakyReLU)", "2 (Linear)"]
    assert _config(first)["optimizer steps"] == _config(second)["optimizer steps"] == "10"


def test_tensors_without_a_module_are_named_after_their_variables(runner, tmp_path):
    runner.write("manual.py", """
        import torch

        torch.manual_seed(0)
        W1 = torch.randn(3, 8, requires_grad=True)
        b1 = torch.zeros(8, requires_grad=True)
        W2 = torch.randn(8, 1, requires_grad=True)
        opt = torch.optim.SGD([W1, b1, W2], lr=0.01)
        x = torch.randn(32, 3)
        for _ in range(5):
            opt.zero_grad()
            loss = (torch.tanh(x @ W1 + b1) @ W2).pow(2).mean()
            loss.backward()
            opt.step()
    """)
    done = runner.module("--report", str(tmp_path / "rep"), "manual.py")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "rep" / "report.html").read_text()
    assert [r[0] for r in _verdict_rows(page)] == ["W1 (TensorLayer)", "b1 (TensorLayer)", "W2 (TensorLayer)"]
    assert _config(page)["network"] == "W1 + b1 + W2"


def test_a_failing_script_still_gets_its_report(runner, tmp_path):
    runner.write("crash.py", MLP.replace('    print("done"', '    raise RuntimeError("diverged")\n    print("done"'))
    done = runner.module("--report", str(tmp_path / "rep"), "crash.py")
    assert done.returncode == 1
    assert "RuntimeError: diverged" in done.stderr
    page = (tmp_path / "rep" / "report.html").read_text()
    assert _config(page)["outcome"] == "failed: RuntimeError: diverged"
    assert len(_verdict_rows(page)) == 3


def test_lbfgs_with_a_closure_is_observed(runner, tmp_path):
    runner.write("lbfgs.py", """
        import torch

        model = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5)
        x = torch.linspace(-1, 1, 32).reshape(-1, 1)
        y = torch.sin(3 * x)

        def closure():
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        for _ in range(4):
            opt.step(closure)
    """)
    done = runner.module("--report", str(tmp_path / "rep"), "lbfgs.py")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "rep" / "report.html").read_text()
    rows = _verdict_rows(page)
    assert [r[0] for r in rows] == ["0 (Linear+Tanh)", "2 (Linear)"]
    assert all(r[2] != "-" for r in rows)         # a gradient norm was measured for every layer


def test_a_script_that_updates_by_hand_is_monitored_at_each_backward(runner, tmp_path):
    runner.write("byhand.py", """
        import torch

        torch.manual_seed(0)
        w = torch.randn(3, 1, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        x = torch.randn(64, 3)
        y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
        for _ in range(40):
            loss = ((x @ w + b - y) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
                b -= 0.1 * b.grad
                w.grad.zero_()
                b.grad.zero_()
        print(round(loss.item(), 3))
    """)
    done = runner.module("--report", str(tmp_path / "rep"), "byhand.py")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "rep" / "report.html").read_text()
    rows = _verdict_rows(page)
    assert [r[0] for r in rows] == ["w (TensorLayer)", "b (TensorLayer)"]
    assert [r[1] for r in rows] == ["healthy", "healthy"]     # the gradients before the zero_() are seen
    cfg = _config(page)
    assert cfg["backward passes"] == "40" and cfg["optimizer"].startswith("none")


def test_a_script_without_gradients_gets_a_page_that_says_so(runner, tmp_path):
    runner.write("plain.py", "import torch\nprint(torch.ones(2).sum().item())\n")
    done = runner.module("--report", str(tmp_path / "rep"), "plain.py")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "no torch.optim optimizer and ran no backward" in _config(page)["note"]
