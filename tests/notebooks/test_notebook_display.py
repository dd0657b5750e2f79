"""Runs a notebook in a real Jupyter kernel (nbclient + ipykernel) and checks what it displayed:
fit's tqdm widget bar, and the HTML of History, GradientReport, the LR range test, the model
summary, the dimension audit and the hand derivation."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")
pytest.importorskip("tqdm")

ROOT = Path(__file__).resolve().parents[2]
WIDGET = "application/vnd.jupyter.widget-view+json"

CELLS = {
    "setup": """
import gradwise as gw
from gradwise import nn
from gradwise.train import fit
from gradwise.insight.monitor import GradientMonitor
gen = gw.Generator().manual_seed(0)
x = gw.randn(64, 4, generator=gen); y = (x[:, 0] + x[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(4, 8, generator=gen), nn.Tanh(), nn.Linear(8, 2, generator=gen))
monitor = GradientMonitor(model)
""",
    "fit": """
history = fit(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.5), (x, y), epochs=3,
              batch_size=16, metrics=["accuracy"], callbacks=[monitor], progress=True, generator=gen)
print("LAST_LOSS", repr(float(history.last("loss"))))
""",
    "history": "history",
    "report": "monitor.report()",
    "lr_find": """
from gradwise.data import DataLoader, TensorDataset
from gradwise.insight.lr_finder import lr_find
loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=gen)
lr_find(model, nn.CrossEntropyLoss(), gw.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=40)
""",
    "summary": "gw.summary(model, input_size=(1, 4))",
    "shapes": """
from gradwise.insight.shapes import shapes
shapes(model, x[:5])
""",
    "derive": """
from gradwise.insight.derivations import derive
derive("two_layer_batch", seed=0)
""",
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    # a kernelspec of this interpreter, so the kernel runs this venv's Python whatever else is installed
    kernels = tmp_path_factory.mktemp("kernels")
    spec = kernels / "gradwise-test"
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gradwise test", "language": "python",
        "env": {"PYTHONPATH": str(ROOT)}}))
    km = KernelManager(kernel_name="gradwise-test", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.strip(), metadata={"name": name}) for name, src in CELLS.items()]
    client = nbclient.NotebookClient(nb, km=km, timeout=120, allow_errors=False,
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    outputs: dict[str, Any] = {cell.metadata["name"]: cell.outputs for cell in nb.cells}
    outputs["widget state"] = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return outputs


def _html(outputs: list[dict[str, Any]]) -> str:
    results = [o for o in outputs if o["output_type"] == "execute_result"]
    assert len(results) == 1, outputs
    assert "text/html" in results[0]["data"], results[0]["data"].keys()
    return str(results[0]["data"]["text/html"])


def test_no_cell_failed(executed: dict[str, Any]) -> None:
    for name, outputs in executed.items():
        if name == "widget state":
            continue
        assert not [o for o in outputs if o["output_type"] == "error"], name


def test_fit_shows_a_widget_bar_and_a_summary_line(executed: dict[str, Any]) -> None:
    outputs = executed["fit"]
    widgets = [o for o in outputs if o["output_type"] == "display_data" and WIDGET in o["data"]]
    assert len(widgets) == 1        # one bar for the whole run, not one per epoch
    text = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")
    assert re.search(r"fit: 3 epochs, 12 steps, .*loss \d", text)
    assert "epoch 3/3:" in text
    # the kernel's last state of the bar: a progress widget that reached all 12 steps
    bars = [m["state"] for m in executed["widget state"]["state"].values() if m["model_name"] == "FloatProgressModel"]
    assert [(b["value"], b["max"]) for b in bars] == [(12, 12)]


def test_history_html_shows_the_epochs_and_the_last_loss(executed: dict[str, Any]) -> None:
    text = "".join(o.get("text", "") for o in executed["fit"] if o["output_type"] == "stream")
    last_loss = float(re.search(r"LAST_LOSS (\S+)", text).group(1))    # type: ignore[union-attr]
    page = _html(executed["history"])
    assert "History: 3 epochs, 12 steps" in page
    assert f"{last_loss:.4f}" in page
    assert "<svg" in page and "<script" not in page


def test_gradient_report_html(executed: dict[str, Any]) -> None:
    page = _html(executed["report"])
    assert "Gradient health:" in page
    assert "0 (Linear+Tanh)" in page and "2 (Linear)" in page
    assert "coefficient of variation" in page           # the cv column explained in place


def test_lr_finder_html(executed: dict[str, Any]) -> None:
    page = _html(executed["lr_find"])
    assert "LR range test" in page and "40 iterations" in page
    for rule in ("steepest", "valley", "minimum/10"):
        assert rule in page


def test_summary_html(executed: dict[str, Any]) -> None:
    page = _html(executed["summary"])
    assert "Model summary: Sequential" in page
    assert "0 (Linear)" in page and "(1, 8)" in page
    assert "total parameters: 58" in page                 # 4*8 + 8 + 8*2 + 2


def test_shape_audit_and_derivation_html(executed: dict[str, Any]) -> None:
    page = _html(executed["shapes"])
    assert "Dimension audit: ok" in page and "(5, 8)" in page
    page = _html(executed["derive"])
    assert "Derivation two_layer_batch" in page and "closed form vs autograd" in page
    assert "dE/dW1" in page
